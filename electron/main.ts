/**
 * Electron main process: one window, secure defaults, IPC to the same host service the web host
 * uses (core/host/service.ts).
 *
 * - The renderer is served from dist/renderer through a privileged `app://pagescope/` scheme,
 *   with a strict Content-Security-Policy header on every response (and on any other response
 *   the session sees).
 * - Every renderer is sandboxed (app.enableSandbox); webPreferences: contextIsolation, sandbox,
 *   no nodeIntegration, no webview; navigation, redirects, new windows, webviews, permission
 *   requests and permission checks are refused.
 * - IPC (channel names in core/protocol/constants.ts): one channel for requests; a request is answered only when it comes from our window's
 *   main frame at app://pagescope/, and it is validated with the protocol's zod schemas like any
 *   WebSocket message. Frames and events go back over two send-only channels.
 * - Frames are paced like the web host's (core/host/frame-window.ts, the same module): at most
 *   FRAMES_IN_FLIGHT per session unacknowledged by the preload, which acks each frame on its own
 *   channel once the page's listeners had it; a newer frame replaces the one held back. Without
 *   it a renderer slower than the ticks got every frame queued in its IPC pipe, and replies and
 *   events waited behind megabytes of stale frames. Acks pass the same sender check and schema
 *   as requests; a malformed one is answered 'bad-request' and changes nothing.
 * - As root, Chromium's sandbox cannot start: `--no-sandbox` is appended and said in the log
 *   (only then).
 * - Quitting detaches every session first (watchers closed, launched children killed); SIGINT,
 *   SIGTERM, SIGHUP and SIGQUIT quit the same way.
 */
import {
  app,
  BrowserWindow,
  dialog,
  ipcMain,
  protocol,
  session,
  type IpcMainInvokeEvent,
} from 'electron';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FrameWindow } from '../core/host/frame-window.ts';
import { HostService } from '../core/host/service.ts';
import {
  contentTypeOf,
  HTML_TYPE,
  missingRendererPage,
  RENDERER_CSP,
  rendererFile,
} from '../core/host/static-files.ts';
import {
  IPC_CHANNELS,
  OLD_RECORDING_EXTENSION,
  RECORDING_EXTENSION,
} from '../core/protocol/constants.ts';
import type { Frame } from '../core/protocol/frame.ts';
import type { Failure, Response as HostResponse } from '../core/protocol/messages.ts';
import { parseFrameAck } from '../core/protocol/schemas.ts';
import { distDir } from '../core/runtime/entry.ts';

/** This file runs as dist/electron/main.mjs, next to preload.cjs; the UI is dist/renderer. */
const HERE = path.dirname(fileURLToPath(import.meta.url));
const RENDERER_DIR = path.join(distDir(), 'renderer');
const PRELOAD = path.join(HERE, 'preload.cjs');
const ORIGIN = 'app://pagescope';

export const CSP = RENDERER_CSP;

const log = (line: string): void => console.log(`pagescope: ${line}`);

if (typeof process.getuid === 'function' && process.getuid() === 0) {
  app.commandLine.appendSwitch('no-sandbox');
  log('running as root: Chromium cannot sandbox its processes as root, so --no-sandbox is on.');
}

// Sandbox every renderer, including any this file does not create itself.
app.enableSandbox();

protocol.registerSchemesAsPrivileged([
  { scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } },
]);

/**
 * Recordings open and save through Electron's own dialogs (host/recording-desk.ts): saved as
 * .pgsrec; opened also under the older .rec name.
 */
const EXT = RECORDING_EXTENSION.slice(1);
const FILTERS = [{ name: 'pagescope recordings', extensions: [EXT] }];
const OPEN_FILTERS = [
  { name: 'pagescope recordings', extensions: [EXT, OLD_RECORDING_EXTENSION.slice(1)] },
];
const recordingDialogs = {
  async openRecording(): Promise<string | null> {
    const win = BrowserWindow.getFocusedWindow();
    const opts = {
      title: 'Open a recording',
      filters: OPEN_FILTERS,
      properties: ['openFile' as const],
    };
    const r = win ? await dialog.showOpenDialog(win, opts) : await dialog.showOpenDialog(opts);
    return r.canceled ? null : (r.filePaths[0] ?? null);
  },
  async saveRecording(suggestedName: string): Promise<string | null> {
    const win = BrowserWindow.getFocusedWindow();
    const opts = { title: 'Record to…', defaultPath: suggestedName, filters: FILTERS };
    const r = win ? await dialog.showSaveDialog(win, opts) : await dialog.showSaveDialog(opts);
    return r.canceled || !r.filePath ? null : r.filePath;
  },
};

// Sessions start their worker from dist/session/worker.mjs (core/runtime/entry.ts).
const service = new HostService({ recordings: { dialogs: recordingDialogs, version: 'electron' } });

function serveApp(request: Request): Response {
  const url = new URL(request.url);
  const target = rendererFile(RENDERER_DIR, decodeURIComponent(url.pathname));
  const headers = { 'content-security-policy': CSP, 'x-content-type-options': 'nosniff' };
  if (url.host !== 'pagescope' || !target)
    return new Response('Not found', { status: 404, headers });
  try {
    const body = fs.readFileSync(target.file);
    return new Response(body, {
      headers: { ...headers, 'content-type': contentTypeOf(target.file) },
    });
  } catch {
    if (target.rel === 'index.html')
      return new Response(missingRendererPage('restart pagescope'), {
        headers: { ...headers, 'content-type': HTML_TYPE },
      });
    return new Response('Not found', { status: 404, headers });
  }
}

/** Only our window's top frame, showing our own origin, may talk to the host. */
function trustedSender(win: BrowserWindow, event: IpcMainInvokeEvent): boolean {
  const frame = event.senderFrame;
  if (!frame || event.sender !== win.webContents) return false;
  if (frame !== win.webContents.mainFrame) return false;
  try {
    // Node's URL gives custom schemes the origin 'null': compare scheme and host instead.
    const u = new URL(frame.url);
    return u.protocol === 'app:' && u.host === 'pagescope';
  } catch {
    return false;
  }
}

/** Set at the first before-quit: sessions are being detached, no frame goes out any more. */
let quitting = false;

function createWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1440,
    height: 900,
    title: 'pagescope',
    backgroundColor: '#111418',
    webPreferences: {
      preload: PRELOAD,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      webviewTag: false,
      spellcheck: false,
    },
  });
  const wc = win.webContents;
  // At most FRAMES_IN_FLIGHT frames per session unacknowledged, the newest held back.
  const frames = new FrameWindow<Frame>((f) => {
    // Quitting detaches every session: a frame held back then (sent on a late ack) is of a
    // session already gone, and nothing goes to the window after that.
    if (quitting || wc.isDestroyed()) return false;
    wc.send(IPC_CHANNELS.frame, f); // serialized now: later reuse of f's arrays cannot reach it
    return true;
  });
  const conn = service.connect({
    // A frame held back is a copy: the engine may reuse the arrays once this call returns.
    frame: (f) => frames.offer(f.sessionId, f, structuredClone),
    event: (e) => {
      // An ended session's frame held back would stay with the window: let it go.
      if (e.event === 'sessionEnded') frames.end(e.sessionId);
      if (!wc.isDestroyed()) wc.send(IPC_CHANNELS.event, e);
    },
  });
  const refused = (event: IpcMainInvokeEvent, what: string): Failure => {
    log(`refused an IPC ${what} from ${event.senderFrame?.url ?? 'an unknown frame'}`);
    return { id: -1, ok: false, error: { code: 'forbidden', message: 'Request refused.' } };
  };
  const handler = async (event: IpcMainInvokeEvent, msg: unknown): Promise<HostResponse> => {
    if (!trustedSender(win, event)) return refused(event, 'request');
    return conn.handle(msg);
  };
  /** Null once counted (an ack for no frame in flight changes nothing, as on the web host). */
  const ackHandler = (event: IpcMainInvokeEvent, msg: unknown): Failure | null => {
    if (!trustedSender(win, event)) return refused(event, 'frame acknowledgement');
    const sessionId = parseFrameAck(msg);
    if (sessionId === null)
      return {
        id: -1,
        ok: false,
        error: {
          code: 'bad-request',
          message: 'A frame acknowledgement is {"ack": <session id>} and nothing else.',
        },
      };
    frames.ack(sessionId);
    return null;
  };
  ipcMain.handle(IPC_CHANNELS.request, handler);
  ipcMain.handle(IPC_CHANNELS.ack, ackHandler);
  wc.on('will-navigate', (e) => e.preventDefault());
  wc.on('will-redirect', (e) => e.preventDefault());
  wc.on('will-attach-webview', (e) => e.preventDefault());
  wc.setWindowOpenHandler(() => ({ action: 'deny' }));
  win.on('closed', () => {
    ipcMain.removeHandler(IPC_CHANNELS.request);
    ipcMain.removeHandler(IPC_CHANNELS.ack);
    void conn.close();
  });
  void win.loadURL(`${ORIGIN}/index.html`);
  return win;
}

app.on('before-quit', (e) => {
  if (quitting) return;
  e.preventDefault();
  quitting = true;
  service
    .closeAll()
    .catch((err: unknown) => log(`detaching sessions failed: ${String(err)}`))
    .finally(() => app.quit());
});
app.on('window-all-closed', () => app.quit());
// Ctrl-C in the terminal that started us, kill, a closed terminal (SIGHUP) or Ctrl-\ (SIGQUIT):
// quit like the menu does, so before-quit detaches every session first, then exit. A second
// signal while that runs changes nothing (before-quit is already under way).
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const) {
  process.on(sig, () => {
    log(`${sig}: detaching every session, then quitting`);
    app.quit();
  });
}
app.on('web-contents-created', (_e, contents) => {
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  contents.on('will-navigate', (ev) => ev.preventDefault());
  contents.on('will-attach-webview', (ev) => ev.preventDefault());
});

void app.whenReady().then(() => {
  protocol.handle('app', (req) => serveApp(req));
  session.defaultSession.setPermissionRequestHandler((_wc, _perm, cb) => cb(false));
  session.defaultSession.setPermissionCheckHandler(() => false);
  session.defaultSession.webRequest.onHeadersReceived((details, cb) =>
    cb({
      responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP] },
    }),
  );
  createWindow();
});
