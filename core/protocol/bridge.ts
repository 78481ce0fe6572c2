/**
 * The Bridge: what the renderer sees of a host. Implemented by the Electron preload
 * (contextBridge) and by the web host's WebSocket client; the renderer never knows which.
 */
import type { Frame } from './frame.ts';
import type { HostEvent, Method, Params, Result } from './messages.ts';

export interface Bridge {
  request<M extends Method>(method: M, params: Params<M>): Promise<Result<M>>;
  /** Frames as they arrive; returns an unsubscribe function. */
  onFrame(listener: (frame: Frame) => void): () => void;
  onEvent(listener: (event: HostEvent) => void): () => void;
}
