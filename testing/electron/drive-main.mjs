// Bundles electron/main.ts with `electron` aliased to fake-electron.mjs, runs it under Node, and
// drives it like Electron would: the app:// protocol, window.open, IPC requests from our frame
// and from a foreign one, an attach to the pid given as argv[2], quitting, and the signals that
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
  const attach = await h(ours, {
    id: 4,
    method: 'attach',
    params: { pid: Number(process.argv[2]) },
  });
  out.attach = { ok: attach.ok, error: attach.ok ? null : attach.error };
  const sent = (channel) => F.sent.filter(([c]) => c === channel);
  // What main.test.ts asks for: more than three frames and the VMA table (until() throws into
  // out.error when they never come).
  if (attach.ok)
    await until(
      'frames and the vmas event',
      () =>
        sent('pagescope:frame').length > 3 &&
        sent('pagescope:event').some(([, e]) => e.event === 'vmas'),
    );
  const frames = sent('pagescope:frame');
  out.frames = frames.length;
  out.frameArrays = frames.length
    ? frames[frames.length - 1][1].overview.histogram.constructor.name
    : null;
  out.events = F.sent.filter(([c]) => c === 'pagescope:event').map(([, e]) => e.event);
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
