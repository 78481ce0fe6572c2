/**
 * A real `pagescope serve` child for tests that need the whole process (crash behaviour, raw TCP
 * fuzzing, command-line flags), and a WebSocket client that authenticates as the page does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { socketProtocols } from '../core/protocol/ws-bridge.ts';
import { describeLimit, limit } from './wait.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface ServeProcess {
  child: ChildProcess;
  url: string;
  port: number;
  token: string;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** SIGTERM, then SIGKILL after 5 s; resolves once it has exited. */
  stop(): Promise<void>;
}

/**
 * Starts `pagescope serve --port 0 ...args` (with --no-open unless `open`) and reads its URL
 * line.
 */
export async function startServe(
  args: string[] = [],
  opts: { env?: NodeJS.ProcessEnv; open?: boolean } = {},
): Promise<ServeProcess> {
  const child = spawn(
    process.execPath,
    [
      path.join(ROOT, 'bin', 'pagescope.mjs'),
      'serve',
      ...(opts.open ? [] : ['--no-open']),
      '--port',
      '0',
      ...args,
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: opts.env },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () =>
        reject(new Error(`pagescope serve printed no URL in ${describeLimit(60_000)}: ${stderr}`)),
      limit(60_000),
    );
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, nl).trim());
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`pagescope serve exited with ${code}: ${stderr}`));
    });
  });
  const m = /^http:\/\/[^/]+:(\d+)\/#token=([A-Za-z0-9_-]+)$/.exec(url);
  if (!m) throw new Error(`Unexpected URL line: ${url}`);
  return {
    child,
    url,
    port: Number(m[1]),
    token: m[2],
    stderr: () => stderr,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const kill = setTimeout(() => child.kill('SIGKILL'), limit(5000));
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

export interface Reply {
  ok: boolean;
  result?: Record<string, unknown>;
  error?: { code: string; message: string };
}

/** A JSON request/response client over /ws, authenticated like the page (subprotocol). */
export interface WsClient {
  ws: WebSocket;
  request(method: string, params: unknown): Promise<Reply>;
  close(): void;
}

export async function connectClient(port: number, token: string): Promise<WsClient> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, socketProtocols(token));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  let nextId = 1;
  const pending = new Map<number, (r: Reply) => void>();
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const msg = JSON.parse(String(data)) as Reply & { id?: number };
    if (typeof msg.id === 'number' && 'ok' in msg) {
      pending.get(msg.id)?.(msg);
      pending.delete(msg.id);
    }
  });
  ws.on('close', () => {
    for (const p of pending.values())
      p({ ok: false, error: { code: 'closed', message: 'socket closed' } });
    pending.clear();
  });
  return {
    ws,
    request(method, params) {
      const id = nextId++;
      return new Promise((resolve) => {
        pending.set(id, resolve);
        ws.send(JSON.stringify({ id, method, params }));
      });
    },
    close: () => ws.close(),
  };
}
