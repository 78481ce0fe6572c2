/**
 * The exporter's HTTP side: GET /metrics (the exposition), and nothing else of substance.
 *
 * Safe by default: it binds loopback unless --listen names another address, and any other
 * address needs a bearer token (read from a file, never from argv: argv is world-readable in
 * /proc). With a token, every request must carry `Authorization: Bearer TOKEN` (compared in
 * constant time) or gets 401. TLS is a reverse proxy's job (docs: README "Many hosts").
 * Only GET and HEAD; the exposition is the only body served.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import type { Registry } from 'prom-client';
import { PagescopeError } from '../kernel/errors.ts';

export const DEFAULT_PORT = 9725;

export interface ListenAddress {
  host: string;
  port: number;
}

const bad = (why: string): never => {
  throw new PagescopeError(why, 'bad-input');
};

/** `--listen`: PORT, HOST:PORT or [V6]:PORT (":PORT" is every address). */
export function parseListen(text: string): ListenAddress {
  const t = text.trim();
  let host = '127.0.0.1';
  let portText = t;
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(t);
  if (m) {
    host = m[1] ?? m[2] ?? '';
    if (host === '') host = m[1] !== undefined ? '' : '0.0.0.0';
    portText = m[3];
  } else if (!/^\d+$/.test(t))
    bad(`--listen must be PORT, HOST:PORT or [IPV6]:PORT, not "${text}".`);
  const port = Number(portText);
  if (!(port >= 0 && port <= 65535))
    bad(`--listen port must be from 0 to 65535, not "${portText}".`);
  if (host !== 'localhost' && net.isIP(host) === 0)
    bad(`--listen host must be an IP address (or localhost), not "${host}".`);
  return { host, port };
}

/** Whether an address only this machine can reach: 127.0.0.0/8, ::1, localhost. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  const v4 = host.startsWith('::ffff:') ? host.slice(7) : host;
  return net.isIPv4(v4) && v4.startsWith('127.');
}

/**
 * The token in `file`: its content without surrounding white space. A one-sentence error when it
 * cannot be read or is empty or short (a guessable token is no protection).
 */
export function readToken(file: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    return bad(
      `Cannot read the token file ${JSON.stringify(file)} (${(err as NodeJS.ErrnoException).code ?? 'error'}).`,
    );
  }
  const token = text.trim();
  if (token.length < 16 || /\s/.test(token))
    bad(
      `The token in ${JSON.stringify(file)} must be one word of at least 16 characters (e.g. from "openssl rand -hex 32").`,
    );
  return token;
}

function sameToken(given: string, want: string): boolean {
  const a = crypto.createHash('sha256').update(given).digest();
  const b = crypto.createHash('sha256').update(want).digest();
  return crypto.timingSafeEqual(a, b);
}

export interface MetricsServer {
  server: http.Server;
  /** The address really bound (port 0 becomes the port chosen). */
  address: ListenAddress;
  /** A new token (SIGHUP re-reads the file), or null for none. */
  setToken(token: string | null): void;
  close(): Promise<void>;
}

/** Serves `registry` at /metrics on `where`; rejects with a one-sentence error when it cannot bind. */
export async function serveMetrics(
  registry: Registry,
  where: ListenAddress,
  token: string | null,
): Promise<MetricsServer> {
  let current = token;
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end('Only GET.\n');
      return;
    }
    if (current !== null) {
      const auth = req.headers.authorization ?? '';
      const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
      if (!m || !sameToken(m[1], current)) {
        res
          .writeHead(401, { 'www-authenticate': 'Bearer realm="pagescope"' })
          .end('A bearer token is required (Authorization: Bearer TOKEN).\n');
        return;
      }
    }
    if (url === '/metrics') {
      registry
        .metrics()
        .then((body) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(req.method === 'HEAD' ? undefined : body);
        })
        .catch((err: unknown) => {
          res.writeHead(500).end(`Collecting the metrics failed: ${(err as Error).message}\n`);
        });
      return;
    }
    if (url === '/') {
      res
        .writeHead(200, { 'content-type': 'text/plain; charset=utf-8' })
        .end('pagescope exporter: /metrics\n');
      return;
    }
    res.writeHead(404).end('Not found: the metrics are at /metrics.\n');
  });
  // A scraper keeps its connection; our close must not wait for it.
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new PagescopeError(
          err.code === 'EADDRINUSE'
            ? `Cannot listen on ${where.host}:${where.port}: the port is in use (choose another with --listen).`
            : err.code === 'EADDRNOTAVAIL'
              ? `Cannot listen on ${where.host}:${where.port}: no interface of this machine has that address.`
              : err.code === 'EACCES'
                ? `Cannot listen on ${where.host}:${where.port}: ports below 1024 need privileges.`
                : `Cannot listen on ${where.host}:${where.port} (${err.code ?? err.message}).`,
          'bad-input',
        ),
      ),
    );
    server.listen(where.port, where.host, () => resolve());
  });
  const a = server.address() as net.AddressInfo;
  return {
    server,
    address: { host: where.host, port: a.port },
    setToken: (t) => {
      current = t;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
