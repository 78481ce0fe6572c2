/**
 * The Bridge: what the renderer sees of a host. Made from a HostLink by `bridgeOver`, the one
 * place where a host's Response becomes a result or a PagescopeProtocolError, for both hosts:
 * - Electron: the preload exposes a HostLink as `window.pagescope` (contextBridge copies plain
 *   data faithfully but strips Errors to their message, so errors cross as Response data and
 *   are made into errors here, in the page);
 * - the web host: ws-bridge.ts builds a HostLink over the WebSocket.
 * The renderer never knows which, and gets the same error object from both.
 */
import { PagescopeProtocolError, protocolError } from './errors.ts';
import type { Frame } from './frame.ts';
import type { HostEvent, Method, Params, Response, Result } from './messages.ts';

export interface Bridge {
  /** Resolves with the result; rejects with a PagescopeProtocolError (and nothing else). */
  request<M extends Method>(method: M, params: Params<M>): Promise<Result<M>>;
  /** Frames as they arrive; returns an unsubscribe function. */
  onFrame(listener: (frame: Frame) => void): () => void;
  onEvent(listener: (event: HostEvent) => void): () => void;
}

/** A transport to a host: requests answered with whole Responses, ok or not. */
export interface HostLink {
  /**
   * Sends one request; resolves with the host's Response. Rejects only when the host cannot be
   * reached at all (the Bridge reports that as 'closed').
   */
  exchange<M extends Method>(method: M, params: Params<M>): Promise<Response<M>>;
  onFrame(listener: (frame: Frame) => void): () => void;
  onEvent(listener: (event: HostEvent) => void): () => void;
}

/** The result of a Response, or the PagescopeProtocolError it carries. */
export function resultOf<M extends Method>(res: Response<M>): Result<M> {
  if (res.ok) return res.result;
  throw protocolError(res.error ?? {});
}

export function bridgeOver(link: HostLink): Bridge {
  return {
    async request<M extends Method>(method: M, params: Params<M>): Promise<Result<M>> {
      let res: Response<M>;
      try {
        res = await link.exchange(method, params);
      } catch (err) {
        if (err instanceof PagescopeProtocolError) throw err;
        const why = err instanceof Error && err.message ? ` (${err.message})` : '';
        throw new PagescopeProtocolError(
          'closed',
          `The connection to the pagescope host was closed${why}.`,
        );
      }
      return resultOf(res);
    },
    onFrame: (listener) => link.onFrame(listener),
    onEvent: (listener) => link.onEvent(listener),
  };
}
