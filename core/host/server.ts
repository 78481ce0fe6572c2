/**
 * The web host: the built renderer over HTTP and the host service over a WebSocket at /ws.
 *
 * Security model (as Jupyter's): bound to 127.0.0.1 by default; a random token (crypto, 32
 * bytes) is required on every request, in the query (`?token=`) or in the HttpOnly SameSite=Strict
 * cookie the first page load sets; a foreign `Host` header (DNS rebinding: evil.example resolving
 * to 127.0.0.1) or a foreign `Origin` (another site's page opening our socket) is refused with
 * 403 before the token is even looked at. Binding a non-loopback address needs allowRemote.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Response } from '../protocol/messages.ts';
import { encodeFrame } from '../protocol/wire.ts';
import { distDir } from '../runtime/entry.ts';
import { HostService } from './service.ts';
import {
  contentTypeOf,
  HTML_TYPE,
  missingRendererPage,
  RENDERER_CSP,
  rendererFile,
} from './static-files.ts';

export const COOKIE_NAME = 'pagescope_token';
/** Frames are dropped (not queued) for a client whose socket has this much unsent data. */
export const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;
const MAX_MESSAGE_BYTES = 1024 * 1024;

export interface WebHostOptions {
  port?: number;
  host?: string;
  allowRemote?: boolean;
  /** Folder of the built renderer (default: dist/renderer of the project). */
  rendererDir?: string;
  token?: string;
  service?: HostService;
}

export interface WebHost {
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

function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  return out;
}

function sameToken(a: string | null | undefined, b: string): boolean {
  if (!a) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
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
  let port = 0;
  let dropped = 0;

  /** Host header values we answer to. */
  const hostAllowed = (value: string | undefined): boolean => {
    if (!value) return false;
    let u: URL;
    try {
      u = new URL(`http://${value}`);
    } catch {
      return false;
    }
    if (u.port !== String(port)) return false;
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
  const tokenOf = (req: http.IncomingMessage): { ok: boolean; fromQuery: boolean } => {
    const q = new URL(req.url ?? '/', 'http://x').searchParams.get('token');
    if (sameToken(q, token)) return { ok: true, fromQuery: true };
    return {
      ok: sameToken(parseCookies(req.headers.cookie).get(COOKIE_NAME), token),
      fromQuery: false,
    };
  };
  /** Why a request is refused, or null. */
  const refusal = (req: http.IncomingMessage): { status: number; text: string } | null => {
    if (!hostAllowed(req.headers.host))
      return { status: 403, text: 'Forbidden: unexpected Host header.' };
    if (!originAllowed(req.headers.origin))
      return { status: 403, text: 'Forbidden: cross-origin request.' };
    if (!tokenOf(req).ok)
      return {
        status: 403,
        text: 'Forbidden: open the URL with the token that "pagescope serve" printed.',
      };
    return null;
  };

  const server = http.createServer((req, res) => {
    const deny = refusal(req);
    if (deny) {
      res.writeHead(deny.status, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(deny.text + '\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' });
      res.end();
      return;
    }
    const headers: Record<string, string | string[]> = {
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
      'content-security-policy': RENDERER_CSP,
    };
    if (tokenOf(req).fromQuery)
      headers['set-cookie'] = `${COOKIE_NAME}=${token}; HttpOnly; SameSite=Strict; Path=/`;
    const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const target = rendererFile(rendererDir, pathname);
    if (!target) {
      res.writeHead(404, headers);
      res.end();
      return;
    }
    const { rel, file } = target;
    let body: Buffer;
    try {
      body = fs.readFileSync(file);
    } catch {
      if (rel === 'index.html') {
        res.writeHead(200, {
          ...headers,
          'content-type': HTML_TYPE,
          'cache-control': 'no-store',
        });
        res.end(req.method === 'HEAD' ? undefined : missingRendererPage('reload this page'));
      } else {
        res.writeHead(404, { ...headers, 'content-type': 'text/plain' });
        res.end('Not found\n');
      }
      return;
    }
    res.writeHead(200, {
      ...headers,
      'content-type': contentTypeOf(file),
      'cache-control': rel === 'index.html' ? 'no-store' : 'private, max-age=3600',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  server.on('upgrade', (req, socket, head) => {
    const pathname = new URL(req.url ?? '/', 'http://x').pathname;
    const deny = pathname === '/ws' ? refusal(req) : { status: 404, text: 'Not found.' };
    if (deny) {
      socket.end(
        `HTTP/1.1 ${deny.status} ${deny.status === 403 ? 'Forbidden' : 'Not Found'}\r\n` +
          `Connection: close\r\nContent-Type: text/plain\r\n\r\n${deny.text}\n`,
      );
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => serveSocket(ws));
  });

  const sockets = new Set<WebSocket>();
  const serveSocket = (ws: WebSocket): void => {
    sockets.add(ws);
    const conn = service.connect({
      frame(frame) {
        if (ws.readyState !== ws.OPEN) return;
        if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
          dropped++;
          return;
        }
        ws.send(encodeFrame(frame), { binary: true });
      },
      event(event) {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(event));
      },
    });
    const reply = (r: Response): void => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(r));
    };
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        reply({
          id: -1,
          ok: false,
          error: { code: 'bad-request', message: 'Requests are JSON text, not binary.' },
        });
        return;
      }
      let msg: unknown;
      try {
        msg = JSON.parse(data.toString());
      } catch {
        reply({
          id: -1,
          ok: false,
          error: { code: 'bad-request', message: 'A request must be valid JSON.' },
        });
        return;
      }
      void conn.handle(msg).then(reply);
    });
    ws.on('error', () => {});
    ws.on('close', () => {
      sockets.delete(ws);
      void conn.close();
    });
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    url: `http://${urlHost}:${port}/?token=${token}`,
    port,
    host,
    token,
    service,
    droppedFrames: () => dropped,
    async close() {
      for (const ws of sockets) ws.terminate();
      await service.closeAll();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
