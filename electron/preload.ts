/**
 * Preload (sandboxed, bundled to CommonJS): exposes the Bridge as `window.pagescope` through
 * contextBridge. The page gets three functions, never ipcRenderer itself.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { Bridge } from '../core/protocol/bridge.ts';
import type { Frame } from '../core/protocol/frame.ts';
import type { HostEvent, Method, Params, Response, Result } from '../core/protocol/messages.ts';

// Kept in sync with electron/main.ts (the preload bundle cannot import main).
const CHANNELS = {
  request: 'pagescope:request',
  frame: 'pagescope:frame',
  event: 'pagescope:event',
} as const;

let nextId = 1;

const bridge: Bridge = {
  async request<M extends Method>(method: M, params: Params<M>): Promise<Result<M>> {
    const res = (await ipcRenderer.invoke(CHANNELS.request, {
      id: nextId++,
      method,
      params,
    })) as Response<M>;
    if (res.ok) return res.result;
    // Errors cross contextBridge as plain Errors: keep the code in the message's prefix-free
    // form and in `name` so the UI can tell them apart.
    const err = new Error(res.error.message);
    err.name = res.error.code;
    throw err;
  },
  onFrame(listener: (frame: Frame) => void): () => void {
    const h = (_e: IpcRendererEvent, f: Frame): void => listener(f);
    ipcRenderer.on(CHANNELS.frame, h);
    return () => ipcRenderer.removeListener(CHANNELS.frame, h);
  },
  onEvent(listener: (event: HostEvent) => void): () => void {
    const h = (_e: IpcRendererEvent, ev: HostEvent): void => listener(ev);
    ipcRenderer.on(CHANNELS.event, h);
    return () => ipcRenderer.removeListener(CHANNELS.event, h);
  },
};

contextBridge.exposeInMainWorld('pagescope', bridge);
