/**
 * The Bridge over a WebSocket, for the renderer when it runs in a browser against
 * `pagescope serve`. Browser-safe: no Node APIs; it uses the global WebSocket (or one passed in,
 * so Node tests can hand it the `ws` package's).
 *
 * Authentication: the token offered as a subprotocol in the handshake (see core/host/server.ts
 * for why); the page takes it from its URL fragment and strips it from the address bar.
 *
 * On the socket: requests and responses are JSON text matched by id, events are JSON text with an
 * `event` field, frames are binary messages (wire.ts), each in one or more pieces
 * (frame-pieces.ts). Each whole frame taken in is acknowledged with `{"ack": sessionId}` once
 * its listeners have had it (even one we could not decode): the host sends a session's frames
 * only a couple ahead of these acks, so a slow page gets fewer frames, not a backlog.
 */
import { bridgeOver, type Bridge, type HostLink } from './bridge.ts';
import { WS_PATH, WS_PROTOCOL, WS_TOKEN_PREFIX } from './constants.ts';
import type { Frame } from './frame.ts';
import type { Failure, FrameAck, HostEvent, Method, Params, Response } from './messages.ts';
import { FrameAssembler } from './frame-pieces.ts';
import { decodeFrame, frameSessionId } from './wire.ts';

/** The part of the WHATWG WebSocket this bridge needs (the browser's and `ws`'s both fit). */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'close' | 'error', listener: (ev: unknown) => void): void;
  addEventListener(type: 'message', listener: (ev: { data: unknown }) => void): void;
}

/** Opens a socket offering `protocols` (the browser's `new WebSocket(url, protocols)`). */
export type WebSocketFactory = (url: string, protocols: string[]) => WebSocketLike;

export interface WebSocketBridge extends Bridge {
  /** Resolves once the socket is open; rejects when it could not be opened. */
  readonly ready: Promise<void>;
  close(): void;
}

const TOKEN_KEY = 'pagescope.token';
/** WebSocket.OPEN (not read from the class: WebSocketLike is an interface). */
const OPEN = 1;

interface PageLocation {
  protocol: string;
  host: string;
  pathname: string;
  search: string;
  hash: string;
}

interface PageGlobals {
  location?: PageLocation;
  history?: { replaceState(data: unknown, unused: string, url: string): void };
  sessionStorage?: { getItem(k: string): string | null; setItem(k: string, v: string): void };
}

/**
 * The access token of this page, taken from the URL fragment (`#token=…`, which browsers never
 * send to a server) and then removed from the address bar, history and any later Referer
 * (history.replaceState). It is kept in sessionStorage, which is per tab and per origin
 * (scheme, host AND port, unlike a cookie), so a reload of this tab still works. Null when the
 * page was opened without one.
 */
export function takePageToken(): string | null {
  const g = globalThis as PageGlobals;
  const loc = g.location;
  if (!loc) return null;
  const fromHash = new URLSearchParams(loc.hash.replace(/^#/, '')).get('token');
  if (fromHash) {
    g.history?.replaceState(null, '', loc.pathname + loc.search);
    try {
      g.sessionStorage?.setItem(TOKEN_KEY, fromHash);
    } catch {
      // storage disabled: this load still works, a reload will ask for the address again
    }
    return fromHash;
  }
  try {
    return g.sessionStorage?.getItem(TOKEN_KEY) ?? null;
  } catch {
    return null;
  }
}

/** The subprotocols to offer for `token`: WS_PROTOCOL, then the token (see core/host/server.ts). */
export function socketProtocols(token: string | null): string[] {
  return token ? [WS_PROTOCOL, WS_TOKEN_PREFIX + token] : [WS_PROTOCOL];
}

/** The /ws URL of the page's own host (no token in it: that goes in the handshake). */
export function defaultSocketUrl(): string {
  const loc = (globalThis as PageGlobals).location;
  if (!loc) throw new Error('No page location: pass the WebSocket URL explicitly.');
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}${WS_PATH}`;
}

function defaultFactory(url: string, protocols: string[]): WebSocketLike {
  const WS = (globalThis as { WebSocket?: new (url: string, protocols: string[]) => WebSocketLike })
    .WebSocket;
  if (!WS) throw new Error('This environment has no WebSocket: pass a factory.');
  return new WS(url, protocols);
}

/**
 * Connects to the host at `url`, authenticating with `token` (default: the page's, see
 * takePageToken) in the handshake.
 */
export function connectWebSocketBridge(
  url: string = defaultSocketUrl(),
  factory: WebSocketFactory = defaultFactory,
  token: string | null = takePageToken(),
): WebSocketBridge {
  const socket = factory(url, socketProtocols(token));
  socket.binaryType = 'arraybuffer';
  let nextId = 1;
  let closedReason: string | null = null;
  const pending = new Map<number, (res: Response) => void>();
  const frameListeners = new Set<(f: Frame) => void>();
  const eventListeners = new Set<(e: HostEvent) => void>();
  const pieces = new FrameAssembler();
  const closedResponse = (id: number, message: string): Failure => ({
    id,
    ok: false,
    error: { code: 'closed', message },
  });

  const ready = new Promise<void>((resolve, reject) => {
    socket.addEventListener('open', () => resolve());
    socket.addEventListener('error', () =>
      reject(
        new Error(
          token
            ? `Could not connect to ${url} (the host refused the token, or is not running).`
            : `Could not connect to ${url}: this page was opened without its #token=… part.`,
        ),
      ),
    );
  });
  ready.catch(() => {}); // observed by whoever awaits it; never an unhandled rejection

  socket.addEventListener('close', () => {
    closedReason = 'The connection to the pagescope host was closed.';
    pieces.reset();
    for (const [id, settle] of pending) settle(closedResponse(id, closedReason));
    pending.clear();
  });

  socket.addEventListener('message', (ev: { data: unknown }) => {
    const data = ev.data;
    if (typeof data !== 'string') {
      const piece = toArrayBuffer(data);
      if (!piece) return;
      const joined = pieces.push(piece);
      if (joined.kind !== 'frame') return; // more pieces to come, or a frame dropped
      let frame: Frame | null = null;
      try {
        frame = decodeFrame(joined.buffer);
      } catch {
        // a frame we cannot read is dropped; the next one replaces it
      }
      try {
        if (frame) for (const l of frameListeners) l(frame);
      } finally {
        // The assembler checked the header, so its session id is readable even then.
        const ack: FrameAck = { ack: frame?.sessionId ?? frameSessionId(joined.buffer) };
        if (socket.readyState === OPEN) socket.send(JSON.stringify(ack));
      }
      return;
    }
    let msg: unknown;
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    if (!msg || typeof msg !== 'object') return;
    if ('event' in msg) {
      for (const l of eventListeners) l(msg as HostEvent);
      return;
    }
    const res = msg as Response;
    const settle = pending.get(res.id);
    if (!settle) return;
    pending.delete(res.id);
    settle(res);
  });

  const link: HostLink = {
    async exchange<M extends Method>(method: M, params: Params<M>): Promise<Response<M>> {
      await ready;
      const id = nextId++;
      if (closedReason) return closedResponse(id, closedReason);
      return new Promise<Response<M>>((resolve) => {
        pending.set(id, resolve as (res: Response) => void);
        socket.send(JSON.stringify({ id, method, params }));
      });
    },
    onFrame(listener) {
      frameListeners.add(listener);
      return () => frameListeners.delete(listener);
    },
    onEvent(listener) {
      eventListeners.add(listener);
      return () => eventListeners.delete(listener);
    },
  };

  return {
    ...bridgeOver(link),
    ready,
    close() {
      socket.close(1000, 'bye');
    },
  };
}

function toArrayBuffer(data: unknown): ArrayBuffer | null {
  if (data instanceof ArrayBuffer) return data;
  if (ArrayBuffer.isView(data)) {
    // Node's ws may hand a Buffer (a view into a larger pool): copy out exactly its bytes.
    return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
  }
  return null;
}
