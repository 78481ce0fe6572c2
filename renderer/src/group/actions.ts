/**
 * Opening, refreshing and closing a group view; listing the cgroups for the picker.
 *
 * Strategy: a group view asks the host for one scan (scanGroup) when it opens and again while it
 * stays open, one request at a time: the next is asked refreshDelay() after the last answer
 * (at least 2 s, and 5x the scan's own time, so a big group is never scanned back to back). Each
 * open group has a generation: an answer for a group closed or replaced meanwhile is dropped.
 * A failed refresh keeps the last good scan and says why (a tree's root that exited). 'busy' (the
 * link has too many requests in flight) is retried after BUSY_RETRY_MS without a word. A group
 * recording (openGroupReplay) is all in the store already: stepping through it asks nothing.
 *
 * "Watch writes" (startGroupWatch) asks the host to watch the open group (watchGroup); its ticks
 * come as groupTick events. A start answered after the view was closed or the watch stopped is
 * stopped at once (its own generation, watchGeneration). Stop, closing the view and opening
 * another group stop it (stopGroupWatch; the host releases every member before it answers);
 * the host also stops it when this window goes away.
 */
import { errorCodeOf } from '../../../core/protocol/errors.ts';
import type {
  GroupRecordingInfo,
  GroupSpecParams,
  GroupWatchTick,
  HostEvent,
} from '../../../core/protocol/messages.ts';
import { explain } from '../explain.ts';
import { useApp } from '../store.ts';
import { refreshDelay } from './group-rows.ts';
import { initialGroupState, useGroup } from './store.ts';
import { applyTick, startedWatch, startingWatch } from './watch-rows.ts';

/** How soon to ask again when the host is still busy with an earlier scan. */
export const BUSY_RETRY_MS = 500;

let generation = 0;
let timer: ReturnType<typeof setTimeout> | null = null;

function stopTimer(): void {
  if (timer !== null) clearTimeout(timer);
  timer = null;
}

async function scanOnce(gen: number): Promise<void> {
  const { bridge } = useApp.getState();
  const { spec } = useGroup.getState();
  if (!bridge || !spec || gen !== generation) return;
  useGroup.setState({ scanning: true });
  let delay = refreshDelay(0);
  try {
    const scan = await bridge.request('scanGroup', { group: spec });
    if (gen !== generation) return;
    delay = refreshDelay(scan.scanMs);
    useGroup.setState({ scan, error: null, scannedAt: Date.now() });
  } catch (err) {
    if (gen !== generation) return;
    // Too many requests in flight on this link just now: ask again soon, say nothing.
    if (errorCodeOf(err) === 'busy') delay = BUSY_RETRY_MS;
    else useGroup.setState({ error: explain(err, 'Scanning the group') });
  } finally {
    if (gen === generation) {
      useGroup.setState({ scanning: false });
      stopTimer();
      timer = setTimeout(() => void scanOnce(gen), delay);
    }
  }
}

let watchGeneration = 0;
/** Ticks and ends that came before watchGroup's answer (events may overtake it), by watch id. */
const early = new Map<number, { tick?: GroupWatchTick; ended?: string }>();
const EARLY_MAX = 8;

/** Asks the host to stop watch `watchId`; a watch that already ended is no error. */
async function stopOnHost(watchId: number): Promise<string | null> {
  const { bridge } = useApp.getState();
  if (!bridge) return null;
  try {
    await bridge.request('stopGroupWatch', { watchId });
    return null;
  } catch (err) {
    if (errorCodeOf(err) === 'unknown-session' || errorCodeOf(err) === 'closed') return null;
    return explain(err, 'Stopping the watch');
  }
}

/** Ends the open group's watch, if any, without waiting (closing or replacing the view). */
function dropWatch(): void {
  watchGeneration++;
  early.clear();
  const w = useGroup.getState().watch;
  if (w?.watchId != null && (w.state === 'watching' || w.state === 'stopping'))
    void stopOnHost(w.watchId);
}

/** "Watch writes": watches the open group's writes, tick by tick. */
export async function startGroupWatch(): Promise<void> {
  const { bridge } = useApp.getState();
  const { spec, watch } = useGroup.getState();
  if (!bridge || !spec || (watch && watch.state !== 'stopped')) return;
  const gen = ++watchGeneration;
  early.clear();
  useGroup.setState({ watch: startingWatch() });
  try {
    const start = await bridge.request('watchGroup', { group: spec });
    if (gen !== watchGeneration) {
      void stopOnHost(start.watchId); // closed or stopped meanwhile
      return;
    }
    let w = startedWatch(useGroup.getState().watch ?? startingWatch(), start);
    const before = early.get(start.watchId);
    early.clear();
    if (before?.tick) w = applyTick(w, before.tick);
    if (before?.ended) w = { ...w, state: 'stopped', ended: `Watching stopped: ${before.ended}` };
    useGroup.setState({ watch: w });
  } catch (err) {
    if (gen !== watchGeneration) return;
    useGroup.setState({
      watch: { ...startingWatch(), state: 'stopped', ended: explain(err, 'Watching the writes') },
    });
  }
}

/** Stop: the host releases every member (as it was before), then answers. */
export async function stopGroupWatch(): Promise<void> {
  const w = useGroup.getState().watch;
  if (!w || w.watchId === null || w.state !== 'watching') return;
  const gen = ++watchGeneration;
  useGroup.setState({ watch: { ...w, state: 'stopping' } });
  const failed = await stopOnHost(w.watchId);
  if (gen !== watchGeneration) return;
  const now = useGroup.getState().watch;
  if (!now) return;
  useGroup.setState({
    watch: {
      ...now,
      state: 'stopped',
      ended: failed ?? 'Stopped watching writes: every member was released as it was.',
    },
  });
}

/** groupTick and groupWatchEnded events (renderer/src/actions.ts hands them here). */
export function onGroupWatchEvent(
  ev: Extract<HostEvent, { event: 'groupTick' | 'groupWatchEnded' }>,
): void {
  const w = useGroup.getState().watch;
  if (!w) return;
  if (w.state === 'starting') {
    if (!early.has(ev.watchId) && early.size >= EARLY_MAX) return;
    const e = early.get(ev.watchId) ?? {};
    if (ev.event === 'groupTick') e.tick = ev.tick;
    else e.ended = ev.reason;
    early.set(ev.watchId, e);
    return;
  }
  if (w.watchId !== ev.watchId) return;
  if (ev.event === 'groupTick') {
    if (w.state === 'watching') useGroup.setState({ watch: applyTick(w, ev.tick) });
  } else if (w.state === 'watching')
    useGroup.setState({
      watch: { ...w, state: 'stopped', ended: `Watching stopped: ${ev.reason}` },
    });
}

/** Opens the group view on a group (replacing any open one) and scans it. */
export function openGroup(spec: GroupSpecParams): Promise<void> {
  stopTimer();
  dropWatch();
  const gen = ++generation;
  useGroup.setState({ ...initialGroupState(), spec });
  return scanOnce(gen);
}

/** Closes the group view: no more scans. */
export function closeGroup(): void {
  stopTimer();
  dropWatch();
  generation++;
  useGroup.setState(initialGroupState());
}

/** Shows a group recording (openRecording's `group` answer) at its first tick; no scans. */
export function openGroupReplay(info: GroupRecordingInfo): void {
  closeGroup();
  useGroup.setState({ replay: { info, index: 0 } });
}

/** Shows tick `index` of the open group recording (clamped to its ticks). */
export function stepGroupReplay(index: number): void {
  const r = useGroup.getState().replay;
  if (!r) return;
  const i = Math.max(0, Math.min(r.info.ticks.length - 1, Math.round(index)));
  if (i !== r.index) useGroup.setState({ replay: { ...r, index: i } });
}

/** Lists the cgroups of the listed processes (hosts without groups: the list stays empty). */
export async function refreshCgroups(): Promise<void> {
  const { bridge } = useApp.getState();
  if (!bridge) return;
  try {
    const { cgroups } = await bridge.request('listCgroups', {});
    useGroup.setState({ cgroups, cgroupsError: null });
  } catch (err) {
    useGroup.setState({ cgroups: [], cgroupsError: explain(err, 'Listing the cgroups') });
  }
}
