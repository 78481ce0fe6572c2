// A stand-in for the `electron` module, for driving electron/main.ts under plain Node where the
// Electron binary is missing: it records what main.ts asks of Electron (switches, schemes,
// window options, handlers) and lets the driver call the IPC handler and the app:// protocol
// handler as Electron would. Everything behind main.ts (host service, sessions) is real.
export const calls = [];
globalThis.__fake = { calls, handlers: new Map(), windows: [], sent: [] };
const F = globalThis.__fake;
let readyResolve;
const ready = new Promise((r) => (readyResolve = r));
setTimeout(() => readyResolve(), 50);
const listeners = new Map();
export const app = {
  enableSandbox: () => calls.push(['enableSandbox']),
  commandLine: { appendSwitch: (s) => calls.push(['appendSwitch', s]) },
  on: (ev, fn) => listeners.set(ev, fn),
  whenReady: () => ready,
  quit: () => {
    calls.push(['quit']);
    F.quitted = true;
  },
  emit: (ev, ...a) => listeners.get(ev)?.(...a),
};
F.app = app;
export const protocol = {
  registerSchemesAsPrivileged: (s) => calls.push(['schemes', s]),
  handle: (scheme, fn) => {
    F.protocolHandler = fn;
  },
};
export const ipcMain = {
  handle: (ch, fn) => F.handlers.set(ch, fn),
  removeHandler: (ch) => F.handlers.delete(ch),
};
export const session = {
  defaultSession: {
    setPermissionRequestHandler: (fn) => {
      F.perm = fn;
    },
    setPermissionCheckHandler: (fn) => {
      F.permCheck = fn;
    },
    webRequest: {
      onHeadersReceived: (fn) => {
        F.headers = fn;
      },
    },
  },
};
export const dialog = {
  showOpenDialog: async () => {
    calls.push(['showOpenDialog']);
    return { canceled: true, filePaths: [] };
  },
  showSaveDialog: async () => {
    calls.push(['showSaveDialog']);
    return { canceled: true };
  },
};
export class BrowserWindow {
  static getFocusedWindow() {
    return null;
  }

  constructor(opts) {
    this.opts = opts;
    const mainFrame = { url: '' };
    this.webContents = {
      mainFrame,
      isDestroyed: () => false,
      send: (ch, payload) => {
        F.sent.push([ch, payload]);
        F.onSend?.(ch, payload); // a driver playing the renderer (acks come later, as over IPC)
      },
      on: (ev) => calls.push(['wc.on', ev]),
      setWindowOpenHandler: (fn) => {
        F.openHandler = fn;
      },
    };
    this.listeners = new Map();
    F.windows.push(this);
  }
  on(ev, fn) {
    this.listeners.set(ev, fn);
  }
  loadURL(u) {
    this.webContents.mainFrame.url = u;
    calls.push(['loadURL', u]);
    return Promise.resolve();
  }
}
