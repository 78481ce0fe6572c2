/**
 * Preload (sandboxed, bundled to CommonJS): exposes a HostLink (core/protocol/bridge.ts) as
 * `window.pagescope` through contextBridge. The page gets three functions, never ipcRenderer
 * itself, and wraps them with bridgeOver (renderer/src/main.tsx).
 *
 * Why a HostLink and not the Bridge: contextBridge copies plain data faithfully, but an Error
 * arrives in the page as a bare Error with its message only (no code, not even its name). So the
 * host's Response crosses as data, and the page makes the PagescopeProtocolError itself, the
 * same way the WebSocket bridge does.
 *
 * Frames are acknowledged here, not by the page: one IPC listener takes each frame, hands it to
 * every listener the page subscribed, and then (even when one threw, or none is subscribed)
 * sends `{"ack": sessionId}` on the ack channel, once per frame. Main keeps only a couple of a
 * session's frames unacknowledged (core/host/frame-window.ts), so a page slower than the ticks
 * gets fewer frames, not a backlog its replies and events wait behind. The page cannot skip or
 * forge acks: it never sees ipcRenderer.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { HostLink } from '../core/protocol/bridge.ts';
import { IPC_CHANNELS } from '../core/protocol/constants.ts';
import type { Frame } from '../core/protocol/frame.ts';
import type { FrameAck, HostEvent, Method, Params, Response } from '../core/protocol/messages.ts';

let nextId = 1;
const frameListeners = new Set<(frame: Frame) => void>();

ipcRenderer.on(IPC_CHANNELS.frame, (_e: IpcRendererEvent, f: Frame) => {
  try {
    for (const l of frameListeners) l(f);
  } finally {
    if (typeof f?.sessionId === 'number') {
      const ack: FrameAck = { ack: f.sessionId };
      // Answered null; rejected only once the window is closing (no handler): nothing to do.
      ipcRenderer.invoke(IPC_CHANNELS.ack, ack).catch(() => {});
    }
  }
});

const link: HostLink = {
  async exchange<M extends Method>(method: M, params: Params<M>): Promise<Response<M>> {
    return (await ipcRenderer.invoke(IPC_CHANNELS.request, {
      id: nextId++,
      method,
      params,
    })) as Response<M>;
  },
  onFrame(listener: (frame: Frame) => void): () => void {
    // A wrapper per subscription: the same function subscribed twice is called twice, as before.
    const h = (f: Frame): void => listener(f);
    frameListeners.add(h);
    return () => {
      frameListeners.delete(h);
    };
  },
  onEvent(listener: (event: HostEvent) => void): () => void {
    const h = (_e: IpcRendererEvent, ev: HostEvent): void => listener(ev);
    ipcRenderer.on(IPC_CHANNELS.event, h);
    return () => ipcRenderer.removeListener(IPC_CHANNELS.event, h);
  },
};

contextBridge.exposeInMainWorld('pagescope', link);
