/**
 * Everything the UI asks of the host, in one place: each action calls the Bridge, updates the
 * store, and turns a failure into a sentence the user can act on (explain.ts).
 */
import type { Bridge } from '../../core/protocol/bridge.ts';
import { PROTOCOL_VERSION } from '../../core/protocol/constants.ts';
import { errorCodeOf } from '../../core/protocol/errors.ts';
import type { HostEvent, SessionInfo } from '../../core/protocol/messages.ts';
import { vmaName } from '../../core/protocol/vma-name.ts';
import { superviseLink } from './connection.ts';
import { demoSpan } from './demo.ts';
import { onGroupWatchEvent } from './group/actions.ts';
import { handleWhoEvent } from './who/actions.ts';
import { explain } from './explain.ts';
import { frameHub } from './frames.ts';
import {
  addressRanges,
  initialState,
  lastingNotices,
  notify,
  requestZoom,
  useApp,
} from './store.ts';

let unsubscribers: Array<() => void> = [];

/**
 * Use a bridge: subscribe, say hello, list processes, and watch the link (reconnecting through
 * `reopen`, the page's bridge factory, when the host goes away).
 */
export async function connect(
  bridge: Bridge,
  reopen: (() => Promise<Bridge>) | null = null,
): Promise<void> {
  try {
    await adopt(bridge, reopen);
  } catch (err) {
    notify('error', explain(err, 'Connecting to the host'));
  }
}

async function adopt(bridge: Bridge, reopen: (() => Promise<Bridge>) | null): Promise<void> {
  for (const u of unsubscribers) u();
  useApp.setState({ bridge });
  unsubscribers = [bridge.onFrame((f) => frameHub.push(f)), bridge.onEvent(onEvent)];
  const hello = await bridge.request('hello', { version: PROTOCOL_VERSION });
  useApp.setState({
    connected: true,
    lost: null,
    hostWarnings: hello.warnings,
    launchDisabled:
      hello.launch && !hello.launch.enabled
        ? (hello.launch.reason ?? 'This host does not allow launching commands.')
        : null,
  });
  superviseLink(bridge, { lost: linkLost, reopen, adopt: (b) => adopt(b, reopen) });
  await refreshProcesses();
}

/** The host went away: its sessions ended with the connection. */
function linkLost(): void {
  const s = useApp.getState();
  frameHub.reset(null);
  pendingDemoView = null;
  useApp.setState({
    ...initialState(),
    mode: s.mode,
    connected: false,
    notices: lastingNotices(s.notices),
    ended: s.session
      ? `${s.session.name} (pid ${s.session.pid}): the connection to the host was lost.`
      : s.ended,
  });
}

/** The latest VMA table per session, kept even before the attach answer arrives. */
const pendingVmas = new Map<number, Extract<HostEvent, { event: 'vmas' }>>();

function onEvent(ev: HostEvent): void {
  if (ev.event === 'groupTick' || ev.event === 'groupWatchEnded') {
    onGroupWatchEvent(ev); // a group's, not a session's
    return;
  }
  const s = useApp.getState();
  if (ev.event === 'vmas' && (!s.session || ev.sessionId !== s.session.sessionId)) {
    pendingVmas.set(ev.sessionId, ev);
    return;
  }
  if (!s.session || ev.sessionId !== s.session.sessionId) return;
  if (ev.event === 'vmas') {
    frameHub.resize(ev.totalPages);
    useApp.setState({ vmas: ev.vmas, totalPages: ev.totalPages });
    showDemo();
  } else if (ev.event === 'warning') {
    notify('warning', ev.message, 'session');
  } else if (ev.event === 'sessionEnded') {
    endSession(ev.reason);
  } else if (ev.event === 'who') {
    handleWhoEvent(ev);
  }
}

function endSession(reason: string): void {
  const s = useApp.getState();
  const name = s.session ? `${s.session.name} (pid ${s.session.pid})` : 'The process';
  frameHub.reset(null);
  useApp.setState({
    ...initialState(),
    processes: s.processes,
    mode: s.mode,
    ended: `${name}: ${reason.replace(/\.?$/, '.')}`,
  });
  notify('error', `Session ended — ${name}: ${reason.replace(/\.?$/, '.')}`);
  void refreshProcesses();
}

export async function refreshProcesses(): Promise<void> {
  const { bridge } = useApp.getState();
  if (!bridge) return;
  useApp.setState({ loadingProcesses: true });
  try {
    const { processes } = await bridge.request('listProcesses', {});
    processes.sort((a, b) => b.rssKiB - a.rssKiB);
    useApp.setState({ processes });
  } catch (err) {
    notify('error', explain(err, 'Listing processes'));
  } finally {
    useApp.setState({ loadingProcesses: false });
  }
}

/** The demo session whose first view has not been set yet (see showDemo). */
let pendingDemoView: number | null = null;

/**
 * The first view of the demo shows the demo: once its labelled regions are in the VMA table,
 * zoom to the stretch that holds them (not the whole process, which is mostly the runtime's
 * reservations).
 */
function showDemo(): void {
  const { session, vmas } = useApp.getState();
  if (pendingDemoView === null || session?.sessionId !== pendingDemoView) return;
  const span = demoSpan(vmas);
  if (!span) return;
  pendingDemoView = null;
  requestZoom(span);
}

async function startSession(label: string, run: (b: Bridge) => Promise<SessionInfo>, demo = false) {
  const { bridge, session } = useApp.getState();
  if (!bridge) return;
  useApp.setState({ busy: label });
  try {
    if (session) await detach();
    const info = await run(bridge);
    frameHub.reset(info.sessionId);
    useApp.setState({
      ...initialState(),
      processes: useApp.getState().processes,
      mode: useApp.getState().mode,
      session: info,
      paused: info.paused,
      intervalMs: info.intervalMs,
    });
    pendingDemoView = demo ? info.sessionId : null;
    const early = pendingVmas.get(info.sessionId);
    pendingVmas.clear();
    if (early) {
      frameHub.resize(early.totalPages);
      useApp.setState({ vmas: early.vmas, totalPages: early.totalPages });
      showDemo();
    }
    for (const w of info.warnings) notify('warning', w, 'session');
  } catch (err) {
    notify('error', explain(err, label));
    void refreshProcesses();
  } finally {
    useApp.setState({ busy: null });
  }
}

export const attach = (pid: number) =>
  startSession(`Attaching to ${pid}`, (b) => b.request('attach', { pid }));
export const launchDemo = () =>
  startSession('Launching the demo', (b) => b.request('launchDemo', {}), true);
export const launchCommand = (command: string[]) =>
  startSession(`Launching ${command[0]}`, (b) => b.request('launch', { command }));

export async function detach(): Promise<void> {
  const { bridge, session } = useApp.getState();
  if (!bridge || !session) return;
  frameHub.reset(null);
  pendingDemoView = null;
  useApp.setState((s) => ({
    session: null,
    vmas: [],
    totalPages: 0,
    watching: false,
    focusedVma: null,
    selection: null,
    notices: lastingNotices(s.notices),
  }));
  try {
    await bridge.request('detach', { sessionId: session.sessionId });
  } catch (err) {
    // The session ended on the host's side first: nothing left to detach, nothing to say.
    if (errorCodeOf(err) !== 'unknown-session') notify('error', explain(err, 'Detaching'));
  }
}

/** Run a session request; failures become notices. Returns the result or undefined. */
async function sessionCall<T>(what: string, fn: (b: Bridge, id: number) => Promise<T>) {
  const { bridge, session } = useApp.getState();
  if (!bridge || !session) return undefined;
  try {
    return await fn(bridge, session.sessionId);
  } catch (err) {
    notify('error', explain(err, what));
    return undefined;
  }
}

export async function watchWrites(): Promise<void> {
  const { selection, focusedVma, vmas } = useApp.getState();
  let params: { ranges?: Array<{ start: string; end: string }>; vmaIndices?: number[] };
  if (selection) {
    params = { ranges: addressRanges(vmas, selection.start, selection.end) };
  } else if (focusedVma !== null && vmas.some((v) => v.start === focusedVma)) {
    // By address, not by index: the VMA table may change between the click and the request.
    const v = vmas.find((x) => x.start === focusedVma)!;
    params = { ranges: [{ start: v.start, end: v.end }] };
  } else {
    notify(
      'info',
      'Pick a region in the memory map or Shift-drag on the heatmap to choose what to watch.',
    );
    return;
  }
  const res = await sessionCall('Watching writes', (b, sessionId) =>
    b.request('watch', { sessionId, ...params }),
  );
  if (!res) return;
  useApp.setState({
    vmas: res.vmas,
    watching: res.vmas.some((v) => v.watched === 'yes' || v.watched === 'partial'),
    mode: 'writes',
  });
  for (const v of res.vmas) {
    if (v.watched === 'refused' && v.watchNote)
      notify('warning', `${vmaName(v.path) || v.label || v.start}: ${v.watchNote}`);
  }
}

export async function resetWritten(): Promise<void> {
  await sessionCall('Resetting written pages', (b, sessionId) =>
    b.request('resetWritten', { sessionId }),
  );
  frameHub.clearHeat();
}

export async function stopWatching(): Promise<void> {
  const ok = await sessionCall('Stopping the watch', (b, sessionId) =>
    b.request('unwatch', { sessionId }),
  );
  if (ok === undefined) return;
  frameHub.clearHeat();
  useApp.setState((s) => ({
    watching: false,
    vmas: s.vmas.map((v) => ({ ...v, watched: 'no' as const, watchNote: undefined })),
  }));
}

export async function setPaused(paused: boolean): Promise<void> {
  const ok = await sessionCall(paused ? 'Pausing' : 'Resuming', (b, sessionId) =>
    paused ? b.request('pause', { sessionId }) : b.request('resume', { sessionId }),
  );
  if (ok !== undefined) useApp.setState({ paused });
}

export async function setIntervalMs(intervalMs: number): Promise<void> {
  const ok = await sessionCall('Changing the interval', (b, sessionId) =>
    b.request('setInterval', { sessionId, intervalMs }),
  );
  if (ok !== undefined) useApp.setState({ intervalMs });
}

/** Bound the estimated overhead of watching by sampling (null: exact watching). */
export async function setMaxOverhead(maxOverheadPct: number | null): Promise<void> {
  const ok = await sessionCall('Changing the overhead bound', (b, sessionId) =>
    b.request('setMaxOverhead', { sessionId, maxOverheadPct }),
  );
  if (ok !== undefined) useApp.setState({ maxOverheadPct });
}

let viewTimer: ReturnType<typeof setTimeout> | null = null;
let lastView = '';

/** Ask the host for a viewport (debounced; identical requests are not repeated). */
export function requestView(view: {
  buckets: number;
  window?: { startIndex: number; endIndex: number };
}): void {
  const { session } = useApp.getState();
  if (!session) return;
  const key = JSON.stringify([session.sessionId, view]);
  if (key === lastView) return;
  if (viewTimer) clearTimeout(viewTimer);
  viewTimer = setTimeout(() => {
    lastView = key;
    void sessionCall('Changing the view', (b, sessionId) =>
      b.request('setView', { sessionId, ...view }),
    );
  }, 60);
}
