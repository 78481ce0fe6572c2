/**
 * Fuzzing a real `pagescope serve` process over raw TCP on 127.0.0.1 (never anywhere else).
 *
 * Strategy: a seeded generator (reproducible: the seed is printed) builds malformed HTTP/1.1
 * requests — broken request lines, targets (`//[`, `http://[bad`, `/%ff`, NULs, 10 kB paths),
 * versions, header names and values, Host/Origin forms, WebSocket upgrade handshakes with bad or
 * missing keys, versions and subprotocols, Expect and Content-Length/Transfer-Encoding games,
 * bare LFs, random bytes spliced into valid requests — and sends each on its own connection.
 * After every batch the server must still be the same process, still serve the page, and still
 * accept a WebSocket with the token. Every answer must be a well-formed HTTP/1.1 response with
 * the security headers, and none may be a 101 (no socket opens without the token).
 * Bounded: MAX_REQUESTS requests or TIME_BUDGET_MS, whichever comes first; at least
 * MIN_REQUESTS must have been sent for the run to count.
 */
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, startServe, type ServeProcess } from '../../testing/serve.ts';
import { prng } from '../../testing/watch-support.ts';

const MAX_REQUESTS = 4000;
const MIN_REQUESTS = 1000;
const BATCH = 200;
const CONCURRENCY = 20;
const TIME_BUDGET_MS = 60_000;

let serve: ServeProcess;

beforeAll(async () => {
  serve = await startServe();
});

afterAll(async () => {
  await serve?.stop();
});

function generator(seed: number, port: number): () => string {
  const r = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const bytes = (n: number): string =>
    Array.from({ length: n }, () => String.fromCharCode(Math.floor(r() * 256))).join('');
  const methods = [
    'GET',
    'HEAD',
    'POST',
    'PUT',
    'OPTIONS',
    'CONNECT',
    'TRACE',
    'get',
    'G\0T',
    'GET GET',
    '',
    'X'.repeat(300),
    'PRI',
  ];
  const targets = [
    '/',
    '//[',
    'http://[bad',
    '/%ff',
    '/%',
    '/%%',
    '/%zz',
    '/%E0%A4%A',
    '*',
    '//',
    '///',
    'http://127.0.0.1/',
    `http://127.0.0.1:${port}/ws`,
    '/ws',
    '/ws?token=x',
    '/ws/',
    '/WS',
    '/..%2f..%2fetc%2fpasswd',
    '/../../etc/passwd',
    '/%2e%2e/%2e%2e/etc/passwd',
    '/\\..\\..',
    '/index.html',
    '/assets/../index.html',
    '/%00',
    '/a\0b',
    '/?#',
    '/#x',
    '/?%ff',
    '/?a=%',
    '/' + 'a'.repeat(10_000),
    '/' + '%41'.repeat(3000),
    '/\u00e9',
    '/\u{1f600}',
    '[',
    ']',
    '?',
    '/[::1]',
    '/@evil',
    '/;a',
    '',
    ' ',
    '/ /',
  ];
  const versions = [
    'HTTP/1.1',
    'HTTP/1.0',
    'HTTP/2.0',
    'HTTP/9.9',
    'HTTP/1.',
    'HTTP/',
    'http/1.1',
    'HTTP/1.1 x',
    '',
  ];
  const hosts = [
    `127.0.0.1:${port}`,
    `localhost:${port}`,
    `[::1]:${port}`,
    '127.0.0.1',
    '[',
    ']',
    '[bad',
    'evil.example',
    `evil.example:${port}`,
    '',
    ' ',
    `127.0.0.1:${port}@evil`,
    `127.0.0.1:${port}/x`,
    'a'.repeat(500),
    `127.0.0.1:${port}\0`,
    '%ff',
    `user:pw@127.0.0.1:${port}`,
  ];
  const origins = [
    `http://127.0.0.1:${port}`,
    'null',
    'http://[',
    'http://[bad',
    'file://',
    '://',
    '',
    'evil',
    `https://127.0.0.1:${port}`,
    'http://evil.example',
    'data:,x',
    '\0',
  ];
  const headerNames = [
    'X-A',
    'Bad Header',
    'Bad:Colon',
    '',
    ' Lead',
    'X\0Y',
    'Ä',
    'x'.repeat(2000),
  ];
  const upgrade = (): string[] => {
    const h = [
      pick([
        'Upgrade: websocket',
        'Upgrade: WebSocket',
        'Upgrade: h2c',
        'Upgrade: ',
        'Upgrade: websocket, x',
      ]),
    ];
    h.push(
      pick([
        'Connection: Upgrade',
        'Connection: upgrade, keep-alive',
        'Connection: close',
        'Connection:',
      ]),
    );
    if (r() < 0.8)
      h.push(
        `Sec-WebSocket-Key: ${pick(['dGhlIHNhbXBsZSBub25jZQ==', '', 'short', bytes(24), '='.repeat(24)])}`,
      );
    if (r() < 0.8) h.push(`Sec-WebSocket-Version: ${pick(['13', '8', '', 'x', '13, 8'])}`);
    if (r() < 0.7)
      h.push(
        `Sec-WebSocket-Protocol: ${pick(['pagescope.v1', 'pagescope.v1, pagescope.token.', 'pagescope.v1, pagescope.token.AAAA', ',,,', 'a b', bytes(20), 'pagescope.token.' + 'x'.repeat(43)])}`,
      );
    if (r() < 0.3)
      h.push(
        `Sec-WebSocket-Extensions: ${pick(['permessage-deflate', 'permessage-deflate; x=', ';;', bytes(10)])}`,
      );
    return h;
  };
  const headers = (): string[] => {
    const h: string[] = [];
    if (r() < 0.85) h.push(`Host: ${pick(hosts)}`);
    if (r() < 0.15) h.push(`Host: ${pick(hosts)}`); // a duplicate
    if (r() < 0.3) h.push(`Origin: ${pick(origins)}`);
    if (r() < 0.35) h.push(...upgrade());
    if (r() < 0.15)
      h.push(`${pick(headerNames)}: ${pick(['x', '', bytes(8), 'a'.repeat(20_000)])}`);
    if (r() < 0.1) h.push(`Expect: ${pick(['100-continue', 'nope', ''])}`);
    if (r() < 0.1)
      h.push(`Content-Length: ${pick(['-1', '5', 'x', '99999999999999999999', '1, 2'])}`);
    if (r() < 0.1) h.push(`Transfer-Encoding: ${pick(['chunked', 'gzip, chunked', 'x'])}`);
    if (r() < 0.05) h.push(' folded continuation');
    if (r() < 0.1) h.push(`Cookie: ${pick(['pagescope_token=x', bytes(30), ';;;'])}`);
    return h;
  };
  return () => {
    const eol = r() < 0.1 ? '\n' : '\r\n';
    const line =
      r() < 0.05
        ? bytes(1 + Math.floor(r() * 200))
        : `${pick(methods)} ${pick(targets)} ${pick(versions)}`;
    let req = [line, ...headers()].join(eol) + eol + eol;
    if (r() < 0.1) req += pick(['0\r\n\r\n', 'zz\r\n', bytes(16), 'hello']);
    if (r() < 0.15) {
      // Splice random bytes somewhere into the request.
      const at = Math.floor(r() * req.length);
      req = req.slice(0, at) + bytes(1 + Math.floor(r() * 8)) + req.slice(at);
    }
    return req;
  };
}

interface Answer {
  raw: string;
  timedOut: boolean;
}

function send(port: number, req: string): Promise<Answer> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let raw = '';
    let timedOut = false;
    s.on('data', (d: Buffer) => {
      if (raw.length < 4096) raw += d.toString('latin1');
    });
    s.on('error', () => {});
    s.on('close', () => resolve({ raw, timedOut }));
    s.setTimeout(15_000, () => {
      timedOut = true;
      s.destroy();
    });
    s.end(Buffer.from(req, 'latin1'));
  });
}

function getPage(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/' }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(-1));
  });
}

describe('the web host under malformed HTTP', () => {
  it('answers thousands of malformed requests correctly and keeps serving after each batch', async () => {
    const seed = Number(process.env.PAGESCOPE_FUZZ_SEED ?? Date.now() % 1_000_000);
    console.log(`fuzz seed ${seed} (PAGESCOPE_FUZZ_SEED=${seed} to replay)`);
    const next = generator(seed, serve.port);
    const pid = serve.child.pid;
    const statuses = new Map<string, number>();
    const bad: string[] = [];
    let sent = 0;
    let silent = 0;
    const started = Date.now();
    while (sent < MAX_REQUESTS && Date.now() - started < TIME_BUDGET_MS) {
      const batch = Array.from({ length: BATCH }, next);
      for (let i = 0; i < batch.length; i += CONCURRENCY) {
        const slice = batch.slice(i, i + CONCURRENCY);
        const answers = await Promise.all(slice.map((req) => send(serve.port, req)));
        answers.forEach((a, j) => {
          if (!a.raw) {
            silent++; // the server may close a connection it cannot parse at all
            return;
          }
          const m = /^HTTP\/1\.1 (\d{3}) /.exec(a.raw);
          const status = m?.[1] ?? 'malformed';
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          const head = a.raw.toLowerCase();
          if (
            !m ||
            status === '101' ||
            !head.includes('x-content-type-options: nosniff') ||
            !head.includes('content-security-policy:')
          )
            bad.push(
              `${JSON.stringify(slice[j].slice(0, 200))} -> ${JSON.stringify(a.raw.slice(0, 200))}`,
            );
        });
        sent += slice.length;
      }
      // After each batch: the same process, still serving the page and a tokened socket.
      expect(serve.child.exitCode, serve.stderr()).toBeNull();
      expect(serve.child.signalCode).toBeNull();
      expect(serve.child.pid).toBe(pid);
      expect(await getPage(serve.port)).toBe(200);
      const client = await connectClient(serve.port, serve.token);
      expect((await client.request('hello', { version: 1 })).ok).toBe(true);
      client.close();
    }
    const seconds = (Date.now() - started) / 1000;
    console.log(
      `fuzz: ${sent} requests in ${seconds.toFixed(1)} s; statuses ${JSON.stringify(Object.fromEntries(statuses))}; ${silent} closed without an answer`,
    );
    expect(bad.slice(0, 10)).toEqual([]);
    expect(sent).toBeGreaterThanOrEqual(MIN_REQUESTS);
    // Most requests get an answer; a silent close is the exception, not the rule.
    expect(silent).toBeLessThan(sent / 10);
  });
});
