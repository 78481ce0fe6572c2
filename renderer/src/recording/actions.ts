/**
 * What the recording UI asks of the host (protocol/recording.ts), beside actions.ts: open a
 * recording (the served file, the host's dialog, or an upload in chunks) as the current session,
 * play, pause, scrub and change speed; record a live session, take snapshots, download the file;
 * compare two ticks; fetch the analytics. A replay session is set up as a session like any other
 * (the same store fields), so the heatmap, memory map, legend and timeline need nothing new; its
 * whole history is loaded for the timeline, and the timeline's scrub position drives the replay.
 */
import type { SessionInfo } from '../../../core/protocol/messages.ts';
import { MAX_TICKS_PER_REQUEST, UPLOAD_CHUNK_BYTES } from '../../../core/protocol/constants.ts';
import type { RecordingSummary } from '../../../core/protocol/recording.ts';
import { detach } from '../actions.ts';
import { explain } from '../explain.ts';
import { openGroupReplay } from '../group/actions.ts';
import { frameHub, type TickRecord } from '../frames.ts';
import { diffFrame } from '../heatmap/diff-frame.ts';
import { initialState, notify, useApp } from '../store.ts';
import { downloadBlob } from './csv.ts';
import { clearRecordingSession, useRecording } from './store.ts';
import { indexAtOrBefore, parseTick } from './ticks.ts';

function bridgeOrNull() {
  return useApp.getState().bridge;
}

async function run<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
  useRecording.setState({ busy: what });
  try {
    return await fn();
  } catch (err) {
    notify('error', explain(err, what));
    return undefined;
  } finally {
    useRecording.setState({ busy: null });
  }
}

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000)
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(b64: string): Uint8Array<ArrayBuffer> {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** Index of the recorded tick with session tick number `tick` (or the last before it). */
export function indexOfTickIn(history: readonly TickRecord[], tick: number): number {
  let lo = 0;
  let hi = history.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (history[mid].counters.tick <= tick) lo = mid;
    else hi = mid - 1;
  }
  return Math.max(0, lo);
}

/** Asks what the host offers; opens the file `pagescope serve FILE` was given. */
export async function initRecordings(): Promise<void> {
  const bridge = bridgeOrNull();
  if (!bridge) return;
  try {
    const host = await bridge.request('recordingHost', {});
    useRecording.setState({ host });
    if (host.served && !useApp.getState().session && !servedOpened) {
      servedOpened = true;
      await openRecording('served');
    }
  } catch {
    // A host without recordings: the buttons stay hidden.
  }
}
let servedOpened = false;

/** The ticks the timeline shows: every recorded one. */
async function loadHistory(sessionId: number): Promise<void> {
  const bridge = bridgeOrNull();
  if (!bridge) return;
  const records: TickRecord[] = [];
  for (let from = 0; ; from += MAX_TICKS_PER_REQUEST) {
    const r = await bridge.request('recordingTicks', {
      sessionId,
      from,
      count: MAX_TICKS_PER_REQUEST,
    });
    for (const t of r.ticks)
      records.push({ counters: t.counters, written: Float64Array.from(t.written) });
    if (from + MAX_TICKS_PER_REQUEST >= r.total) break;
  }
  if (frameHub.sessionId !== sessionId) return;
  frameHub.loadHistory(records);
  const replayTicks = records.map((r) => r.counters.tick);
  const replay = useRecording.getState().replay;
  const f = frameHub.latest;
  useRecording.setState({
    replayTicks,
    ...(replay && replay.state.sessionId === sessionId && f
      ? {
          replay: {
            ...replay,
            state: { ...replay.state, index: indexAtOrBefore(replayTicks, f.tick), tick: f.tick },
          },
        }
      : {}),
  });
}

function adoptReplay(info: SessionInfo & { recording: RecordingSummary }): void {
  frameHub.reset(info.sessionId);
  // The first frame of this recording must move the views even when its tick number is the one
  // the last recording was left at.
  shownTick = null;
  const s = useApp.getState();
  useApp.setState({
    ...initialState(),
    processes: s.processes,
    mode: s.mode === 'diff' ? 'residency' : s.mode,
    session: info,
    paused: true,
    intervalMs: info.intervalMs,
  });
  clearRecordingSession();
  useRecording.setState({
    replay: {
      summary: info.recording,
      state: {
        sessionId: info.sessionId,
        index: 0,
        // Unknown until the first frame or the history: shown as nothing, never as a made-up 0.
        tick: -1,
        ticks: info.recording.ticks,
        playing: false,
        speed: 1,
      },
    },
  });
  if (info.recording.truncated)
    notify('warning', `This recording was cut short: ${info.recording.truncated}.`, 'session');
}

/** Opens a recording: the served file, the host's file dialog ('pick'), or a File to upload. */
export async function openRecording(source: 'served' | 'pick' | File): Promise<void> {
  const bridge = bridgeOrNull();
  if (!bridge) return;
  const name = source instanceof File ? source.name : 'the recording';
  await run(`Opening ${name}`, async () => {
    let params: { source: 'served' | 'pick' | { uploadId: number } };
    if (source instanceof File) {
      const bytes = new Uint8Array(await source.arrayBuffer());
      let uploadId: number | undefined;
      let off = 0;
      do {
        const chunk = bytes.subarray(off, off + UPLOAD_CHUNK_BYTES);
        const r = await bridge.request('uploadRecording', {
          uploadId,
          name: source.name,
          size: bytes.length,
          offset: off,
          data: toBase64(chunk),
        });
        uploadId = r.uploadId;
        off += UPLOAD_CHUNK_BYTES;
      } while (off < bytes.length);
      params = { source: { uploadId: uploadId! } };
    } else params = { source };
    if (useApp.getState().session) await detach();
    const info = await bridge.request('openRecording', params);
    if ('group' in info) {
      // A group recording: the group view steps through it, no replay session.
      openGroupReplay(info.group);
      return;
    }
    adoptReplay(info);
    await loadHistory(info.sessionId);
  });
}

/** Playback requests sent and not answered yet, and the newest one's number. */
let controlsInFlight = 0;
let controlSeq = 0;

/**
 * Sends a playback request. A move shows at once on the slider (the tick asked for), so key
 * presses faster than the host answers add up instead of each starting again from the tick on
 * screen; only the newest request's answer sets the position (an older one's would step back).
 */
export async function replayControl(p: { index?: number; playing?: boolean; speed?: number }) {
  const bridge = bridgeOrNull();
  const replay = useRecording.getState().replay;
  if (!bridge || !replay) return;
  const seq = ++controlSeq;
  const ticks = useRecording.getState().replayTicks;
  if (p.index !== undefined && p.index < ticks.length)
    useRecording.setState({
      replay: { ...replay, state: { ...replay.state, index: p.index, tick: ticks[p.index] } },
    });
  controlsInFlight++;
  try {
    const state = await bridge.request('replayControl', {
      sessionId: replay.state.sessionId,
      ...p,
    });
    if (seq !== controlSeq) return;
    const now = useRecording.getState().replay;
    if (now && now.state.sessionId === state.sessionId)
      useRecording.setState({ replay: { ...now, state } });
    useApp.setState({ paused: !state.playing });
  } catch (err) {
    notify('error', explain(err, 'Playback'));
    // The move did not happen: back to the tick on screen.
    const now = useRecording.getState().replay;
    const f = frameHub.latest;
    if (seq === controlSeq && now && f)
      useRecording.setState({
        replay: {
          ...now,
          state: { ...now.state, index: indexOfTickIn(frameHub.history, f.tick), tick: f.tick },
        },
      });
  } finally {
    controlsInFlight--;
  }
}

export const seekIndex = (index: number) => replayControl({ index, playing: false });

/** Shows the tick typed (a tick number, as everywhere), or says why it is not one. */
export async function seekTick(text: string): Promise<boolean> {
  const r = parseTick(text, useRecording.getState().replayTicks);
  if ('error' in r) {
    notify('error', r.error);
    return false;
  }
  await seekIndex(r.index);
  return true;
}

/** Frames of a replay move the timeline's position; the user's scrubs move the replay. */
let shownTick: number | null = null;
export function installReplaySync(): () => void {
  const u1 = frameHub.subscribe((hub) => {
    const replay = useRecording.getState().replay;
    const f = hub.latest;
    if (!replay || !f || hub.sessionId !== replay.state.sessionId || f.tick === shownTick) return;
    shownTick = f.tick;
    useApp.setState({ scrubTick: f.tick });
    // While a move is on its way, its answer sets the position (this frame may be an older one).
    if (controlsInFlight > 0) return;
    const index = indexOfTickIn(hub.history, f.tick);
    const last = index >= replay.state.ticks - 1;
    useRecording.setState({
      replay: {
        ...replay,
        state: { ...replay.state, index, tick: f.tick, playing: replay.state.playing && !last },
      },
    });
    if (last) useApp.setState({ paused: true });
  });
  const u2 = useApp.subscribe((s, p) => {
    const replay = useRecording.getState().replay;
    if (
      s.session?.sessionId !== p.session?.sessionId &&
      replay?.state.sessionId !== s.session?.sessionId
    ) {
      clearRecordingSession();
      return;
    }
    if (!replay || s.scrubTick === p.scrubTick || s.scrubTick === shownTick) return;
    const history = frameHub.history;
    if (!history.length) return;
    // "Live" on the timeline means the end of the recording.
    const index = s.scrubTick === null ? history.length - 1 : indexOfTickIn(history, s.scrubTick);
    void seekIndex(index);
  });
  return () => {
    u1();
    u2();
  };
}

/** Leaves the recording (its session ends like a detach). */
export async function closeRecording(): Promise<void> {
  clearRecordingSession();
  await detach();
}

// ---- live sessions -------------------------------------------------------------------------

async function liveCall(
  what: string,
  method: 'startRecording' | 'stopRecording' | 'takeSnapshot',
): Promise<void> {
  const bridge = bridgeOrNull();
  const session = useApp.getState().session;
  if (!bridge || !session) return;
  const live = await run(what, () => bridge.request(method, { sessionId: session.sessionId }));
  if (live && useApp.getState().session?.sessionId === live.sessionId)
    useRecording.setState({ live });
}

export const startRecording = () => liveCall('Starting the recording', 'startRecording');
export const stopRecording = () => liveCall('Stopping the recording', 'stopRecording');
export const takeSnapshot = () => liveCall('Taking a snapshot', 'takeSnapshot');

/** Fetches a recording the web host wrote, in chunks, and saves it through the browser. */
export async function downloadRecording(name: string): Promise<void> {
  const bridge = bridgeOrNull();
  if (!bridge) return;
  await run(`Downloading ${name}`, async () => {
    const parts: Uint8Array<ArrayBuffer>[] = [];
    let offset = 0;
    for (;;) {
      const r = await bridge.request('downloadRecording', { name, offset });
      const b = fromBase64(r.data);
      if (b.length === 0) break;
      parts.push(b);
      offset += b.length;
      if (offset >= r.size) break;
    }
    downloadBlob(new Blob(parts, { type: 'application/octet-stream' }), name);
  });
}

// ---- compare and analytics -----------------------------------------------------------------

/**
 * Compares the replay's ticks typed as A and B (tick numbers), or says in a sentence why one is
 * not a tick of the recording.
 */
export async function compareTickNumbers(a: string, b: string): Promise<void> {
  const ticks = useRecording.getState().replayTicks;
  const ta = parseTick(a, ticks);
  const tb = parseTick(b, ticks);
  if ('error' in ta) return notify('error', `Tick A: ${ta.error}`);
  if ('error' in tb) return notify('error', `Tick B: ${tb.error}`);
  await compare(ta.index, tb.index);
}

/** Compares positions a and b of the recording (a replay, or the live session's recording). */
export async function compare(a: number, b: number): Promise<void> {
  const bridge = bridgeOrNull();
  const session = useApp.getState().session;
  if (!bridge || !session) return;
  const d = await run('Comparing', () =>
    bridge.request('compareTicks', { sessionId: session.sessionId, a, b }),
  );
  if (!d || useApp.getState().session?.sessionId !== session.sessionId) return;
  // The comparison is laid out as tick B: show B, so the memory map matches.
  if (useRecording.getState().replay) await seekIndex(d.indexB);
  frameHub.setDiff(diffFrame(d, session.sessionId));
  useRecording.setState({ diff: d });
  useApp.setState({ mode: 'diff' });
}

export function clearDiff(): void {
  frameHub.setDiff(null);
  useRecording.setState({ diff: null });
  if (useApp.getState().mode === 'diff') useApp.setState({ mode: 'residency' });
}

export async function loadAnalytics(): Promise<void> {
  const bridge = bridgeOrNull();
  const session = useApp.getState().session;
  if (!bridge || !session) return;
  const a = await run('Computing the analytics', () =>
    bridge.request('recordingAnalytics', { sessionId: session.sessionId }),
  );
  if (a && useApp.getState().session?.sessionId === session.sessionId)
    useRecording.setState({ analytics: a });
}
