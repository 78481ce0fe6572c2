/**
 * The web host: the built renderer over HTTP and the host service over a WebSocket at /ws.
 *
 * Security model (Jupyter's, tightened):
 * - Bound to 127.0.0.1 by default; binding a non-loopback address needs allowRemote.
 * - A foreign `Host` header (DNS rebinding: evil.example resolving to 127.0.0.1) or a foreign
 *   `Origin` (another site's page) is refused with 403 on every request, before anything else.
 * - Static files (the renderer: HTML, JS, CSS, icons) are public: they hold no data. Every byte
 *   of data goes through /ws, and /ws needs the token.
 * - The token (32 random bytes) travels in the URL FRAGMENT (`/#token=…`): browsers never send a
 *   fragment to a server, so it is in no request line, server log, proxy log or Referer. The page
 *   takes it out of the address bar on load (history.replaceState, see protocol/ws-bridge.ts).
 * - The WebSocket authenticates in its handshake, through Sec-WebSocket-Protocol: the client
 *   offers `pagescope.v1` and `pagescope.token.<token>`; we answer `pagescope.v1` only (the token
 *   is never echoed), and refuse a handshake that does not offer it (400). Chosen over "token in the first message" because a socket without the
 *   token is refused with 403 before it exists: no unauthenticated socket ever reaches the
 *   service, holds memory or waits for a message. Chosen over a query string because URLs get
 *   logged. No cookie at all: cookies are shared by every port of 127.0.0.1, so any local web
 *   server the user visits would receive it.
 * - Every handler is total: a malformed request line, URL, percent-encoding or header gets a 400
 *   (with the same security headers as every other response) and the server keeps serving.
 * - Caps: at most `maxConnections` WebSockets (503 past it) and 256 TCP connections; headers
 *   must arrive within 10 s; sessions are capped per connection and per host by the service
 *   (service.ts); messages are at most 1 MiB, 64 requests in flight per socket.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  MAX_MESSAGE_BYTES,
  MAX_PENDING_REQUESTS,
  WS_PATH,
  WS_PROTOCOL,
  WS_TOKEN_PREFIX,
} from '../protocol/constants.ts';
import type { Failure, Response } from '../protocol/messages.ts';
import { parseFrameAck, salvageId } from '../protocol/schemas.ts';
import { FRAME_PIECE_BYTES, framePieces } from '../protocol/frame-pieces.ts';
import { encodeFrame } from '../protocol/wire.ts';
import { distDir } from '../runtime/entry.ts';
import { FrameWindow } from './frame-window.ts';
import { HostService } from './service.ts';
import {
  contentTypeOf,
  HTML_TYPE,
  missingRendererPage,
  RENDERER_CSP,
  rendererFile,
} from './static-files.ts';

/** Frames of one session a page may have unacknowledged at once (frame-window.ts). */
export { FRAMES_IN_FLIGHT } from './frame-window.ts';
/** Backstop: frames are dropped (not queued) for a client whose socket has this much unsent data. */
export const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;
/** Sockets open at once; each can hold sessions, so this bounds the host with the session caps. */
export const DEFAULT_MAX_CONNECTIONS = 16;

/** Headers on EVERY response: 200, 400, 403, 404, 405, 503, upgrade refusals. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'content-security-policy': RENDERER_CSP,
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
};

export interface WebHostOptions {
  port?: number;
  host?: string;
  allowRemote?: boolean;
  /** Folder of the built renderer (default: dist/renderer of the project). */
  rendererDir?: string;
  token?: string;
  service?: HostService;
  maxConnections?: number;
  /** Largest binary message a frame is sent in (default FRAME_PIECE_BYTES; tests go smaller). */
  framePieceBytes?: number;
}

export interface WebHost {
  /** The URL to open: the token is in its fragment. */
  url: string;
  port: number;
  host: string;
  token: string;
  service: HostService;
  /** Frames dropped because a client was too slow to take them. */
  droppedFrames(): number;
  close(): Promise<void>;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export const DEFAULT_RENDERER_DIR = path.join(distDir(), 'renderer');

function sameToken(a: string | null | undefined, b: string): boolean {
  if (!a) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

/** An origin-form request target as RFC 3986 allows it: path, then an optional query. */
const ORIGIN_FORM = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*(\?[A-Za-z0-9\-._~!$&'()*+,;=:@/%?]*)?$/;

/**
 * The decoded path of a request target, or null when it is not a well-formed origin-form target
 * ("/path?query"): absolute-form (`http://…`), asterisk-form, a leading `//` (an authority where a
 * path belongs), characters a URL may not hold (`[`, spaces, quotes…), bad percent-encoding, and
 * NUL or backslashes once decoded are all refused. Never throws.
 */
export function requestPath(target: string | undefined): string | null {
  if (!target || target.length > 8192 || !ORIGIN_FORM.test(target) || target.startsWith('//'))
    return null;
  let decoded: string;
  try {
    decoded = decodeURIComponent(target.split('?', 1)[0]);
  } catch {
    return null;
  }
  if (/[\0\\]/.test(decoded)) return null;
  return decoded;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  426: 'Upgrade Required',
  503: 'Service Unavailable',
};

/** Refuses an upgrade on its raw socket, with the security headers. Never throws. */
function refuseSocket(socket: Duplex, status: number, text: string): void {
  try {
    const headers = Object.entries({
      ...SECURITY_HEADERS,
      'content-type': 'text/plain; charset=utf-8',
      connection: 'close',
    })
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    socket.end(`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\n${headers}\r\n${text}\n`);
  } catch {
    socket.destroy();
  }
}

export async function startWebHost(opts: WebHostOptions = {}): Promise<WebHost> {
  const host = opts.host ?? '127.0.0.1';
  if (!isLoopback(host) && !opts.allowRemote)
    throw new Error(
      `Binding ${host} would expose pagescope beyond this machine: add --allow-remote if you mean it.`,
    );
  const token = opts.token ?? crypto.randomBytes(32).toString('base64url');
  const service = opts.service ?? new HostService();
  const rendererDir = opts.rendererDir ?? DEFAULT_RENDERER_DIR;
  const maxConnections = opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  const pieceBytes = opts.framePieceBytes ?? FRAME_PIECE_BYTES;
  let port = 0;
  let dropped = 0;
  /** The frame windows of open sockets; a closed one's replaced frames move into `dropped`. */
  const windows = new Set<FrameWindow<ArrayBuffer>>();

  /** Host header values we answer to. */
  const hostAllowed = (value: string | undefined): boolean => {
    if (!value || value.length > 300) return false;
    let u: URL;
    try {
      u = new URL(`http://${value}`);
    } catch {
      return false;
    }
    if (u.port !== String(port) || u.username || u.password || u.pathname !== '/') return false;
    const name = u.hostname.replace(/^\[|\]$/g, '');
    if (name === 'localhost' || name === '127.0.0.1' || name === '::1') return true;
    if (name === host) return true;
    // A wildcard bind (remote allowed): IP literals only; rebinding attacks need a DNS name.
    return (host === '0.0.0.0' || host === '::') && net.isIP(name) !== 0;
  };
  const originAllowed = (origin: string | undefined): boolean => {
    if (origin === undefined) return true; // not a browser page (CLI clients, curl)
    let u: URL;
    try {
      u = new URL(origin);
    } catch {
      return false;
    }
    return u.protocol === 'http:' && hostAllowed(u.host);
  };
  /** The subprotocols offered in Sec-WebSocket-Protocol. */
  const offeredProtocols = (req: http.IncomingMessage): string[] =>
    String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((p) => p.trim());
  /** The token offered in Sec-WebSocket-Protocol, if any. */
  const offeredToken = (req: http.IncomingMessage): string | null => {
    const t = offeredProtocols(req).find((p) => p.startsWith(WS_TOKEN_PREFIX));
    return t ? t.slice(WS_TOKEN_PREFIX.length) : null;
  };
  /** Why a request is refused before it is looked at, or null. */
  const foreign = (req: http.IncomingMessage): string | null => {
    if (!hostAllowed(req.headers.host)) return 'Forbidden: unexpected Host header.';
    if (!originAllowed(req.headers.origin)) return 'Forbidden: cross-origin request.';
    return null;
  };

  const send = (
    res: http.ServerResponse,
    status: number,
    headers: Record<string, string>,
    body?: string | Buffer,
  ): void => {
    res.writeHead(status, { ...SECURITY_HEADERS, ...headers });
    res.end(body);
  };
  const sendText = (res: http.ServerResponse, status: number, text: string): void =>
    send(res, status, { 'content-type': 'text/plain; charset=utf-8' }, text + '\n');

  const handleRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const why = foreign(req);
    if (why) return sendText(res, 403, why);
    const pathname = requestPath(req.url);
    if (pathname === null) return sendText(res, 400, 'Bad Request: malformed URL.');
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return send(res, 405, { allow: 'GET, HEAD' });
    if (pathname === WS_PATH)
      return sendText(res, 426, `Upgrade Required: ${WS_PATH} is a WebSocket.`);
    const target = rendererFile(rendererDir, pathname);
    if (!target) return sendText(res, 404, 'Not found.');
    const { rel, file } = target;
    let body: Buffer;
    try {
      body = fs.readFileSync(file);
    } catch {
      if (rel === 'index.html')
        return send(
          res,
          200,
          { 'content-type': HTML_TYPE },
          req.method === 'HEAD' ? undefined : missingRendererPage('reload this page'),
        );
      return sendText(res, 404, 'Not found.');
    }
    send(
      res,
      200,
      {
        'content-type': contentTypeOf(file),
        // The page is small and must never be stale; hashed assets may be cached (no data in them).
        'cache-control': rel === 'index.html' ? 'no-store' : 'private, max-age=3600',
      },
      req.method === 'HEAD' ? undefined : body,
    );
  };

  // requireHostHeader: false, so a request without Host reaches our check (403 with our
  // headers) instead of Node's bare 400.
  const server = http.createServer(
    { maxHeaderSize: 16 * 1024, requireHostHeader: false },
    (req, res) => {
      try {
        handleRequest(req, res);
      } catch {
        // A handler bug must cost one request, never the server.
        try {
          if (!res.headersSent) sendText(res, 400, 'Bad Request.');
          else res.destroy();
        } catch {
          res.destroy();
        }
      }
    },
  );
  // Node's parser refuses malformed request lines and headers; answer them with our headers.
  server.on('clientError', (_err, socket) => {
    if (socket.writable) refuseSocket(socket, 400, 'Bad Request.');
    else socket.destroy();
  });
  // Node answers these itself unless told otherwise, without our headers: handle them here.
  server.on('checkContinue', (req, res) => {
    try {
      handleRequest(req, res); // we read no bodies: no 100 Continue, just the answer
    } catch {
      res.destroy();
    }
  });
  server.on('checkExpectation', (_req, res) => {
    try {
      sendText(res, 417, 'Expectation Failed.');
    } catch {
      res.destroy();
    }
  });
  server.on('connect', (_req, socket) => {
    socket.on('error', () => {});
    refuseSocket(socket, 405, 'Method Not Allowed: this is not a proxy.');
  });
  // Raw TCP connections, authenticated or not: bounded, and slow senders time out.
  server.maxConnections = 256;
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_MESSAGE_BYTES,
    // Echo the protocol name, never the token.
    handleProtocols: (protocols) => (protocols.has(WS_PROTOCOL) ? WS_PROTOCOL : false),
  });
  const sockets = new Set<WebSocket>();
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => {});
    try {
      const why = foreign(req);
      if (why) return refuseSocket(socket, 403, why);
      const pathname = requestPath(req.url);
      if (pathname === null) return refuseSocket(socket, 400, 'Bad Request: malformed URL.');
      if (pathname !== WS_PATH) return refuseSocket(socket, 404, 'Not found.');
      if (!sameToken(offeredToken(req), token))
        return refuseSocket(
          socket,
          403,
          'Forbidden: open the address "pagescope serve" printed (its #token=… part is the key).',
        );
      // What ws would refuse with a bare answer of its own, we refuse with ours.
      if (
        req.method !== 'GET' ||
        String(req.headers.upgrade ?? '').toLowerCase() !== 'websocket' ||
        req.headers['sec-websocket-version'] !== '13' ||
        !/^[+/0-9A-Za-z]{22}==$/.test(String(req.headers['sec-websocket-key'] ?? ''))
      )
        return refuseSocket(socket, 400, 'Bad Request: not a WebSocket handshake.');
      // Without it ws would answer 101 with no subprotocol: a client that speaks something else.
      if (!offeredProtocols(req).includes(WS_PROTOCOL))
        return refuseSocket(
          socket,
          400,
          `Bad Request: offer the ${WS_PROTOCOL} subprotocol (this host speaks nothing else).`,
        );
      if (sockets.size >= maxConnections)
        return refuseSocket(
          socket,
          503,
          `Service Unavailable: at most ${maxConnections} connections at once; close another pagescope tab.`,
        );
      wss.handleUpgrade(req, socket, head, (ws) => serveSocket(ws));
    } catch {
      refuseSocket(socket, 400, 'Bad Request.');
    }
  });

  const serveSocket = (ws: WebSocket): void => {
    sockets.add(ws);
    let pending = 0;
    const sendFrame = (encoded: ArrayBuffer): boolean => {
      if (ws.readyState !== ws.OPEN) return false;
      if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
        dropped++;
        return false;
      }
      // In pieces: one big binary message is one long task in a browser (frame-pieces.ts).
      for (const piece of framePieces(encoded, pieceBytes)) ws.send(piece, { binary: true });
      return true;
    };
    // At most FRAMES_IN_FLIGHT unacknowledged per session, the newest held back (frame-window.ts).
    const frames = new FrameWindow(sendFrame);
    windows.add(frames);
    const conn = service.connect({
      frame(frame) {
        if (ws.readyState !== ws.OPEN) return;
        // Encoded now: the engine may reuse the arrays of a frame once this call returns.
        frames.offer(frame.sessionId, encodeFrame(frame));
      },
      event(event) {
        // An ended session's frame held back would stay with the socket: let it go.
        if (event.event === 'sessionEnded') frames.end(event.sessionId);
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(event));
      },
    });
    const reply = (r: Response): void => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(r));
    };
    const fail = (error: Failure['error'], id = -1): void => reply({ id, ok: false, error });
    const badRequest = (message: string): void => fail({ code: 'bad-request', message });
    ws.on('message', (data, isBinary) => {
      if (isBinary) return badRequest('Requests are JSON text, not binary.');
      let msg: unknown;
      try {
        msg = JSON.parse(data.toString());
      } catch {
        return badRequest('A request must be valid JSON.');
      }
      // Before the request path: not a request (no id, no reply), never counted as pending.
      const ackOf = parseFrameAck(msg);
      if (ackOf !== null) return void frames.ack(ackOf); // an ack for nothing sent is ignored
      if (pending >= MAX_PENDING_REQUESTS)
        return fail(
          {
            code: 'busy',
            message: `At most ${MAX_PENDING_REQUESTS} requests can be in flight on one connection: wait for the answers.`,
          },
          salvageId(msg),
        );
      pending++;
      void conn.handle(msg).then((r) => {
        pending--;
        reply(r);
      });
    });
    ws.on('error', () => {});
    ws.on('close', () => {
      sockets.delete(ws);
      windows.delete(frames);
      dropped += frames.replaced;
      void conn.close();
    });
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  server.on('error', () => {}); // after listening: per-connection errors, never fatal
  port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    url: `http://${urlHost}:${port}/#token=${token}`,
    port,
    host,
    token,
    service,
    droppedFrames: () => [...windows].reduce((n, w) => n + w.replaced, dropped),
    async close() {
      for (const ws of sockets) ws.terminate();
      await service.closeAll();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
