/**
 * The web host over real sockets: HTTP token/cookie, Host and Origin checks (DNS rebinding),
 * loopback bind, and the full request/response + binary frame stream of a session on a python3
 * process at 10 Hz, through the browser-side bridge (ws-bridge.ts) on the `ws` client.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Frame } from '../protocol/frame.ts';
import type { HostEvent } from '../protocol/messages.ts';
import { HISTOGRAM_WIDTH } from '../protocol/page-bits.ts';
import { connectWebSocketBridge, type WebSocketLike } from '../protocol/ws-bridge.ts';
import { pythonExecutable } from '../testing/targets.ts';
import { zeroPageOnRead } from '../testing/zero-page.ts';
import { COOKIE_NAME, startWebHost, type WebHost } from './server.ts';
import { RENDERER_CSP } from './static-files.ts';

let web: WebHost;
let target: ChildProcess;

beforeAll(async () => {
  web = await startWebHost({ rendererDir: '/nonexistent-renderer-dir' });
  target = spawn(
    pythonExecutable(),
    ['-c', 'import time\nx = bytearray(8 << 20)\ntime.sleep(120)'],
    {
      stdio: 'ignore',
    },
  );
});

afterAll(async () => {
  await web.close();
  target.kill('SIGKILL');
});

function get(
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: web.port, path, headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
  });
}

/** Waits (up to 10 s) for `cond`; a loaded 2-core machine makes fixed sleeps flaky. */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 50));
}

/** Opens /ws with the given headers; resolves 'open' or the HTTP status of the refusal. */
function tryWs(query: string, headers: Record<string, string> = {}): Promise<'open' | number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${web.port}/ws${query}`, { headers });
    ws.on('open', () => {
      ws.close();
      resolve('open');
    });
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('error', () => resolve(-1));
  });
}

describe('web host', () => {
  it('binds 127.0.0.1 and prints a tokened URL', () => {
    expect(web.url).toMatch(
      new RegExp(`^http://127\\.0\\.0\\.1:${web.port}/\\?token=[A-Za-z0-9_-]{40,}$`),
    );
    expect(web.host).toBe('127.0.0.1');
  });

  it('refuses HTTP without the token, with a foreign Host or Origin; sets a strict cookie', async () => {
    expect((await get('/')).status).toBe(403);
    expect((await get('/?token=wrong')).status).toBe(403);
    expect((await get(`/?token=${web.token}`, { host: `evil.example:${web.port}` })).status).toBe(
      403,
    );
    expect((await get(`/?token=${web.token}`, { host: `127.0.0.1:1` })).status).toBe(403);
    expect((await get(`/?token=${web.token}`, { origin: 'http://evil.example' })).status).toBe(403);
    const ok = await get(`/?token=${web.token}`);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatch(/npm run build:renderer/);
    const cookie = String(ok.headers['set-cookie']);
    expect(cookie).toMatch(new RegExp(`${COOKIE_NAME}=${web.token}`));
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(ok.headers['content-security-policy']).toBe(RENDERER_CSP);
    // The cookie alone is enough afterwards; localhost is an accepted name.
    const again = await get('/', {
      cookie: `${COOKIE_NAME}=${web.token}`,
      host: `localhost:${web.port}`,
    });
    expect(again.status).toBe(200);
    expect((await get(`/../../etc/passwd?token=${web.token}`)).status).not.toBe(200);
  });

  it('refuses /ws without the token, from a foreign Origin, or with a foreign Host', async () => {
    expect(await tryWs('')).toBe(403);
    expect(await tryWs('?token=nope')).toBe(403);
    expect(await tryWs(`?token=${web.token}`, { origin: 'http://evil.example' })).toBe(403);
    expect(await tryWs(`?token=${web.token}`, { origin: `https://127.0.0.1:${web.port}` })).toBe(
      403,
    );
    expect(await tryWs(`?token=${web.token}`, { host: `rebind.example:${web.port}` })).toBe(403);
    expect(await tryWs(`?token=${web.token}`, { origin: `http://127.0.0.1:${web.port}` })).toBe(
      'open',
    );
    expect(await tryWs('', { cookie: `${COOKIE_NAME}=${web.token}` })).toBe('open');
  });

  it('serves the whole protocol and a 10 Hz binary frame stream over a real WebSocket', async () => {
    const bridge = connectWebSocketBridge(
      `ws://127.0.0.1:${web.port}/ws?token=${web.token}`,
      (url) =>
        new WebSocket(url, { origin: `http://127.0.0.1:${web.port}` }) as unknown as WebSocketLike,
    );
    await bridge.ready;
    const frames: Frame[] = [];
    const events: HostEvent[] = [];
    bridge.onFrame((f) => frames.push(f));
    bridge.onEvent((e) => events.push(e));
    const hello = await bridge.request('hello', { version: 1 });
    expect(hello.version).toBe(1);
    // The capability probe reaches the UI, with its warning where the kernel lacks something.
    expect(hello.capabilities.zeroPageOnRead).toBe(zeroPageOnRead());
    expect(hello.warnings.some((w) => /no shared zero page/.test(w))).toBe(!zeroPageOnRead());
    const procs = await bridge.request('listProcesses', {});
    expect(procs.processes.some((p) => p.pid === target.pid)).toBe(true);
    const info = await bridge.request('attach', { pid: target.pid! });
    expect(info.pid).toBe(target.pid);
    expect(info.intervalMs).toBe(100);
    await bridge.request('setView', {
      sessionId: info.sessionId,
      buckets: 50,
      window: { startIndex: 0, endIndex: 256 },
    });
    await new Promise((r) => setTimeout(r, 1500));
    // 1.5 s at 10 Hz: about 15 frames (a loaded machine may skip a few ticks).
    expect(frames.length).toBeGreaterThanOrEqual(8);
    expect(frames.length).toBeLessThanOrEqual(17);
    const vmas = events.find((e) => e.event === 'vmas');
    expect(vmas).toBeDefined();
    const f = frames[frames.length - 1];
    expect(f.sessionId).toBe(info.sessionId);
    expect(f.overview.histogram.length).toBe(f.overview.buckets * HISTOGRAM_WIDTH);
    expect(f.window?.bits.length).toBe(256);
    if (vmas && vmas.event === 'vmas') expect(f.totalPages).toBe(vmas.totalPages);
    expect(f.counters.present).toBeGreaterThan(100);

    await bridge.request('pause', { sessionId: info.sessionId });
    await bridge.request('setInterval', { sessionId: info.sessionId, intervalMs: 50 });
    await bridge.request('resume', { sessionId: info.sessionId });
    const hist = await bridge.request('getHistory', { sessionId: info.sessionId });
    expect(hist.ticks.length).toBeGreaterThan(5);
    expect(hist.usedBytes).toBeLessThanOrEqual(hist.budgetBytes);
    await expect(bridge.request('pause', { sessionId: 9999 })).rejects.toMatchObject({
      code: 'bad-request',
    });
    await bridge.request('detach', { sessionId: info.sessionId });
    expect(events.some((e) => e.event === 'sessionEnded')).toBe(true);
    bridge.close();
    expect(target.exitCode).toBeNull();
  });

  it('answers garbage on the socket with errors and stays up; closing the socket detaches', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${web.port}/ws?token=${web.token}`);
    await new Promise((r) => ws.once('open', r));
    const replies: unknown[] = [];
    ws.on('message', (d, isBinary) => {
      if (!isBinary) replies.push(JSON.parse(String(d)));
    });
    ws.send('not json');
    ws.send(Buffer.from([1, 2, 3]));
    ws.send(JSON.stringify({ id: 5, method: 'attach', params: { pid: target.pid } }));
    await until(() => replies.some((r) => (r as { id?: number }).id === 5));
    expect(replies[0]).toMatchObject({ id: -1, ok: false, error: { code: 'bad-request' } });
    expect(replies[1]).toMatchObject({ id: -1, ok: false, error: { code: 'bad-request' } });
    expect(replies.find((r) => (r as { id?: number }).id === 5)).toMatchObject({ ok: true });
    expect(web.service.sessionCount).toBe(1);
    ws.close();
    await until(() => web.service.sessionCount === 0);
    expect(web.service.sessionCount).toBe(0);
  });

  it('refuses a non-loopback bind without allowRemote', async () => {
    await expect(startWebHost({ host: '0.0.0.0' })).rejects.toThrow(/allow-remote/);
  });
});
