/**
 * Preload (sandboxed, bundled to CommonJS): exposes a HostLink (core/protocol/bridge.ts) as
 * `window.pagescope` through contextBridge. The page gets three functions, never ipcRenderer
 * itself, and wraps them with bridgeOver (renderer/src/main.tsx).
 *
 * Why a HostLink and not the Bridge: contextBridge copies plain data faithfully, but an Error
 * arrives in the page as a bare Error with its message only (no code, not even its name). So the
 * host's Response crosses as data, and the page makes the PagescopeProtocolError itself, the
 * same way the WebSocket bridge does.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { HostLink } from '../core/protocol/bridge.ts';
import { IPC_CHANNELS } from '../core/protocol/constants.ts';
import type { Frame } from '../core/protocol/frame.ts';
import type { HostEvent, Method, Params, Response } from '../core/protocol/messages.ts';

let nextId = 1;

const link: HostLink = {
  async exchange<M extends Method>(method: M, params: Params<M>): Promise<Response<M>> {
    return (await ipcRenderer.invoke(IPC_CHANNELS.request, {
      id: nextId++,
      method,
      params,
    })) as Response<M>;
  },
  onFrame(listener: (frame: Frame) => void): () => void {
    const h = (_e: IpcRendererEvent, f: Frame): void => listener(f);
    ipcRenderer.on(IPC_CHANNELS.frame, h);
    return () => ipcRenderer.removeListener(IPC_CHANNELS.frame, h);
  },
  onEvent(listener: (event: HostEvent) => void): () => void {
    const h = (_e: IpcRendererEvent, ev: HostEvent): void => listener(ev);
    ipcRenderer.on(IPC_CHANNELS.event, h);
    return () => ipcRenderer.removeListener(IPC_CHANNELS.event, h);
  },
};

contextBridge.exposeInMainWorld('pagescope', link);
