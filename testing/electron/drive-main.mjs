// Bundles electron/main.ts with `electron` aliased to fake-electron.mjs, runs it under Node, and
// drives it like Electron would: the app:// protocol, window.open, IPC requests from our frame
// and from a foreign one, frame acks (the window of core/host/frame-window.ts: held frames,
// refused acks, an ended session, an ack once quitting; this driver plays the renderer and acks
// or not), an attach to the pid given as argv[2], quitting, and the signals that
// must quit the app the same way (SIGHUP, SIGQUIT, SIGTERM, SIGINT). Prints one JSON
// object with what happened (read by electron/main.test.ts).
import { build } from 'esbuild';
import { nodeBundleOptions } from '../../scripts/build.mjs';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { register } from 'tsx/esm/api';

register();
const { until } = await import('../wait.ts');
const { tracesLeft } = await import('../traces.ts');

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
// Inside dist/ so the bundle resolves koffi from node_modules and finds dist/renderer and the
// session worker's bundle (dist/session/worker.mjs, built by vitest's global setup) like the real
// dist/electron/main.mjs does.
// dist/test-tmp is left out of the npm package and the app.
fs.mkdirSync(path.join(root, 'dist/test-tmp'), { recursive: true });
const outDir = fs.mkdtempSync(path.join(root, 'dist/test-tmp', 'main-'));
const outfile = path.join(outDir, 'main.mjs');
const options = nodeBundleOptions('electron/main.ts', outfile);
await build({
  ...options,
  external: options.external.filter((e) => e !== 'electron'),
  alias: { electron: path.join(here, 'fake-electron.mjs') },
  sourcemap: false,
  logLevel: 'error',
});
const out = {};
try {
  await import(pathToFileURL(outfile).href);
  const F = globalThis.__fake;
  const win = await until('the window', () => F.windows[0]);
  out.webPreferences = win.opts.webPreferences;
  out.calls = F.calls;
  const index = await F.protocolHandler(new Request('app://pagescope/index.html'));
  out.index = { status: index.status, csp: index.headers.get('content-security-policy') };
  out.escape = (await F.protocolHandler(new Request('app://pagescope/../../etc/passwd'))).status;
  out.foreignHost = (await F.protocolHandler(new Request('app://other/index.html'))).status;
  out.windowOpen = F.openHandler({ url: 'https://example.com/' });
  out.permission = await new Promise((r) => F.perm(null, 'media', r));
  out.permissionCheck = F.permCheck?.(null, 'media', 'app://pagescope', {}) ?? 'no handler';
  const h = F.handlers.get('pagescope:request');
  const ours = { sender: win.webContents, senderFrame: win.webContents.mainFrame };
  const foreign = { sender: win.webContents, senderFrame: { url: 'https://evil.example/' } };
  const subframe = { sender: win.webContents, senderFrame: { url: 'app://pagescope/index.html' } };
  out.foreign = await h(foreign, { id: 1, method: 'hello', params: { version: 1 } });
  out.subframe = await h(subframe, { id: 1, method: 'hello', params: { version: 1 } });
  out.garbage = await h(ours, { id: 2, method: 'attach', params: { pid: 'x' } });
  out.hello = await h(ours, { id: 3, method: 'hello', params: { version: 1 } });
  // Groups (issue 24) through the same channel: validated, served, refused from another frame.
  const tree = { group: { kind: 'tree', root: Number(process.argv[2]) } };
  const group = await h(ours, { id: 10, method: 'scanGroup', params: tree });
  out.group = group.ok ? { members: group.result.members.map((m) => m.pid) } : group;
  out.groupForeign = await h(foreign, { id: 11, method: 'scanGroup', params: tree });
  out.groupOutside = await h(ours, {
    id: 12,
    method: 'scanGroup',
    params: { group: { kind: 'cgroup', path: '/etc' } },
  });
  out.groupGarbage = await h(ours, { id: 13, method: 'scanGroup', params: { group: 'all' } });
  // A group write watch through the same channel: validated, its ticks sent as events, and
  // Stop leaves the target as it was (before the attach below watches it alone).
  const watch = await h(ours, {
    id: 14,
    method: 'watchGroup',
    params: { ...tree, intervalMs: 200 },
  });
  out.groupWatch = watch.ok ? { members: watch.result.members.map((m) => m.pid) } : watch;
  out.groupWatchForeign = await h(foreign, { id: 15, method: 'watchGroup', params: tree });
  out.groupWatchGarbage = await h(ours, {
    id: 16,
    method: 'watchGroup',
    params: { ...tree, intervalMs: 'fast' },
  });
  out.stopGarbage = await h(ours, { id: 17, method: 'stopGroupWatch', params: { watchId: -1 } });
  if (watch.ok) {
    await until('a groupTick event', () =>
      F.sent.some(([c, e]) => c === 'pagescope:event' && e.event === 'groupTick'),
    );
    out.groupStop = await h(ours, {
      id: 18,
      method: 'stopGroupWatch',
      params: { watchId: watch.result.watchId },
    });
    out.groupTraces = tracesLeft(Number(process.argv[2]));
  }
  // Frame flow control (core/host/frame-window.ts): with no acks, FRAMES_IN_FLIGHT frames and
  // no more while ticks go on, requests answered meanwhile; bad acks refused and changing
  // nothing; a good ack brings the NEWEST frame held back; acked as they come, frames flow; an
  // ended session's held frame is let go (an ack of it after sessionEnded sends nothing).
  const ackH = F.handlers.get('pagescope:ack');
  const pid = Number(process.argv[2]);
  const sent = (channel) => F.sent.filter(([c]) => c === channel);
  const ticksOf = (sid) =>
    sent('pagescope:frame')
      .filter(([, f]) => f.sessionId === sid)
      .map(([, f]) => f.tick);
  let nextId = 100;
  let slowestReplyMs = 0;
  /** The newest tick the session's history holds, asked over IPC (timed: never behind frames). */
  const newestTick = async (sid) => {
    const t0 = performance.now();
    const r = await h(ours, { id: nextId++, method: 'getHistory', params: { sessionId: sid } });
    slowestReplyMs = Math.max(slowestReplyMs, performance.now() - t0);
    if (!r.ok) throw new Error(`getHistory: ${r.error.message}`);
    return Math.max(0, ...r.result.ticks.map((t) => t.tick));
  };
  /**
   * Until the session's newest tick is `ahead` past the last frame sent (so one is held back), or
   * more than `most` frames of it were sent (no window: main.test.ts says so, without waiting).
   */
  const untilHeld = async (sid, ahead, most) => {
    let newest = 0;
    await until(
      () =>
        `session ${sid} to tick ${ahead} past its last frame (at ${newest}; frames ${ticksOf(sid)})`,
      async () => {
        const ticks = ticksOf(sid);
        if (ticks.length > most) return true;
        newest = await newestTick(sid);
        return ticks.length > 0 && newest >= ticks.at(-1) + ahead;
      },
    );
    return newest;
  };
  const first = await h(ours, { id: 40, method: 'attach', params: { pid } });
  out.flowAttach = { ok: first.ok, error: first.ok ? null : first.error };
  if (first.ok) {
    const sid = first.result.sessionId;
    await until(
      () => `2 frames of session ${sid} (ticks ${ticksOf(sid)})`,
      () => ticksOf(sid).length >= 2,
    );
    const lastSent = ticksOf(sid).at(-1);
    const newest = await untilHeld(sid, 3, 2);
    out.flow = { lastSent, newest, slowestReplyMs, heldBack: ticksOf(sid) };
    const garbage = [
      undefined,
      null,
      'ack',
      sid,
      [sid],
      {},
      { ack: 'x' },
      { ack: sid, extra: 1 },
      { ack: -1 },
      { ack: 1.5 },
      { ack: Number.MAX_VALUE },
      { ack: { ack: sid } },
    ];
    out.ackGarbage = [];
    for (const m of garbage) {
      try {
        out.ackGarbage.push(await ackH(ours, m));
      } catch (err) {
        out.ackGarbage.push({ threw: String(err) });
      }
    }
    out.ackForeign = await ackH(foreign, { ack: sid });
    out.ackSubframe = await ackH(subframe, { ack: sid });
    out.ackNothingInFlight = await ackH(ours, { ack: sid + 1000 });
    out.flow.afterBadAcks = ticksOf(sid);
    out.ackGood = await ackH(ours, { ack: sid });
    out.flow.afterAck = ticksOf(sid);
    // The renderer acking each frame a little after it got it, as the preload does.
    F.onSend = (ch, f) => {
      if (ch === 'pagescope:frame') setImmediate(() => ackH(ours, { ack: f.sessionId }));
    };
    const flowingFrom = ticksOf(sid).length;
    for (let i = 0; i < 2; i++) await ackH(ours, { ack: sid }); // the two in flight
    await until(
      () => `frames to flow with acks (ticks ${ticksOf(sid)})`,
      () => ticksOf(sid).length >= flowingFrom + 4,
    );
    out.flow.flowing = ticksOf(sid).length - flowingFrom;
    F.onSend = null;
    await new Promise((r) => setImmediate(r)); // the acks already scheduled ran
    await untilHeld(sid, 2, ticksOf(sid).length + 2);
    const r = await h(ours, { id: 41, method: 'detach', params: { sessionId: sid } });
    await until('the sessionEnded event', () =>
      sent('pagescope:event').some(([, e]) => e.event === 'sessionEnded' && e.sessionId === sid),
    );
    const before = ticksOf(sid).length;
    out.flow.detached = r.ok;
    out.ackAfterEnd = await ackH(ours, { ack: sid });
    out.flow.sentAfterEnd = ticksOf(sid).length - before;
  }
  // The window acks every frame from here on: the quit below sees a flowing session.
  F.onSend = (ch, f) => {
    if (ch === 'pagescope:frame') setImmediate(() => ackH(ours, { ack: f.sessionId }));
  };
  const attach = await h(ours, {
    id: 4,
    method: 'attach',
    params: { pid },
  });
  out.attach = { ok: attach.ok, error: attach.ok ? null : attach.error };
  // What main.test.ts asks for: more than three frames and the VMA table (until() throws into
  // out.error when they never come).
  if (attach.ok)
    await until(
      'frames and the vmas event',
      () =>
        ticksOf(attach.result.sessionId).length > 3 &&
        sent('pagescope:event').some(([, e]) => e.event === 'vmas'),
    );
  const frames = sent('pagescope:frame');
  out.frames = frames.length;
  out.frameArrays = frames.length
    ? frames[frames.length - 1][1].overview.histogram.constructor.name
    : null;
  out.events = F.sent.filter(([c]) => c === 'pagescope:event').map(([, e]) => e.event);
  // The window stops acking, so a frame is held back when quitting starts: an ack after it
  // must not send that frame of a session being detached.
  F.onSend = null;
  await new Promise((r) => setImmediate(r)); // the acks already scheduled ran
  if (attach.ok) {
    const sid = attach.result.sessionId;
    await untilHeld(sid, 2, ticksOf(sid).length + 2);
  }
  const ev = {
    prevented: false,
    preventDefault() {
      this.prevented = true;
    },
  };
  F.app.emit('before-quit', ev);
  await until('app.quit()', () => F.quitted, 3000).catch(() => undefined);
  out.quit = { prevented: ev.prevented, quitCalled: !!F.quitted };
  // Nothing may come after quit: frames sent from app.quit() until the host answers that the
  // session is gone ('closed': the connection and its sessions were closed before app.quit(),
  // so no tick can run after that answer).
  const n = F.sent.length;
  if (attach.ok) out.ackAfterQuit = await ackH(ours, { ack: attach.result.sessionId });
  if (attach.ok)
    await until('the session closed', async () => {
      const r = await h(ours, {
        id: 5,
        method: 'pause',
        params: { sessionId: attach.result.sessionId },
      });
      return !r.ok && (r.error.code === 'closed' || r.error.code === 'unknown-session');
    });
  out.framesAfterQuit = F.sent.length - n;
  // Real signals to this process: each must reach app.quit() (which runs before-quit's detach),
  // not end the process on the spot (SIGHUP, SIGQUIT and SIGTERM would by default).
  out.signals = {};
  for (const sig of ['SIGHUP', 'SIGQUIT', 'SIGTERM', 'SIGINT']) {
    const quits = () => F.calls.filter(([c]) => c === 'quit').length;
    const before = quits();
    process.kill(process.pid, sig);
    await until(`app.quit() after ${sig}`, () => quits() > before, 3000).catch(() => undefined);
    out.signals[sig] = quits() > before;
  }
} catch (err) {
  out.error = String(err?.stack ?? err);
}
fs.rmSync(outDir, { recursive: true, force: true });
console.log(JSON.stringify(out));
process.exit(0);
