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
 */
import { errorCodeOf } from '../../../core/protocol/errors.ts';
import type { GroupRecordingInfo, GroupSpecParams } from '../../../core/protocol/messages.ts';
import { explain } from '../explain.ts';
import { useApp } from '../store.ts';
import { refreshDelay } from './group-rows.ts';
import { initialGroupState, useGroup } from './store.ts';

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

/** Opens the group view on a group (replacing any open one) and scans it. */
export function openGroup(spec: GroupSpecParams): Promise<void> {
  stopTimer();
  const gen = ++generation;
  useGroup.setState({ ...initialGroupState(), spec });
  return scanOnce(gen);
}

/** Closes the group view: no more scans. */
export function closeGroup(): void {
  stopTimer();
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
