/**
 * The npm package as a user gets it: `npm pack` of the current build, the tarball installed
 * into an empty folder outside the project, and every command run from there with no source
 * tree and no TypeScript: `npx pagescope scan`, `watch`, `serve` (the UI, and a session and the
 * demo through its WebSocket: the bundled session worker and demo workload; a recording uploaded,
 * replayed and compared: the bundled heavy worker) and `demo`.
 * Installing needs the npm registry (for koffi; --prefer-offline uses npm's cache first).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { socketProtocols } from '../core/protocol/ws-bridge.ts';
import { everyPageEveryTick } from '../testing/crafted-recordings.ts';
import { pythonExecutable } from '../testing/targets.ts';
import { limit, until } from '../testing/wait.ts';
import { ensureRendererBuilt } from '../e2e/helpers.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const children: ChildProcess[] = [];
let dir = '';
let tarball = '';
let packedFiles: string[] = [];
let bin = '';
let target: ChildProcess;

/**
 * Runs a command in the install folder; returns stdout (throws on a non-zero exit, or past
 * `timeoutMs` scaled by the machine's slowness).
 */
function run(cmd: string, args: string[], timeoutMs = 30_000): string {
  return execFileSync(cmd, args, {
    cwd: dir,
    encoding: 'utf8',
    timeout: limit(timeoutMs),
    stdio: 'pipe',
  });
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagescope-pack-'));
  // The tarball of what the sources are now: vitest's global setup built the Node bundles, and the
  // UI is rebuilt when stale; prepack (the same build) is skipped to keep this test short.
  ensureRendererBuilt();
  const text = execFileSync(
    'npm',
    ['pack', '--ignore-scripts', '--json', '--pack-destination', dir],
    {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: limit(120_000),
    },
  );
  // The build's own lines come first on stdout; npm's JSON array starts on a line of its own.
  const packed = JSON.parse(text.slice(text.search(/^\[$/m))) as Array<{
    filename: string;
    size: number;
    unpackedSize: number;
    files: { path: string }[];
  }>;
  tarball = path.join(dir, packed[0].filename);
  packedFiles = packed[0].files.map((f) => f.path);
  console.log(
    `package: ${packed[0].filename}, ${(packed[0].size / 1024).toFixed(0)} KiB packed, ` +
      `${(packed[0].unpackedSize / 1024).toFixed(0)} KiB unpacked, ${packedFiles.length} files`,
  );
  fs.writeFileSync(path.join(dir, 'package.json'), '{ "name": "empty", "private": true }\n');
  execFileSync(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', tarball],
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], timeout: limit(120_000) },
  );
  bin = path.join(dir, 'node_modules/.bin/pagescope');
  target = spawn(
    pythonExecutable(),
    ['-c', 'import time\nx = bytearray(8 << 20)\ntime.sleep(120)'],
    {
      stdio: 'ignore',
    },
  );
  children.push(target);
});

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('the npm package, installed into an empty folder', () => {
  it('holds the bundles and the UI, and no TypeScript, tests or sources', () => {
    for (const f of [
      'bin/pagescope.mjs',
      'bin/compile-cache.mjs',
      'dist/cli.mjs',
      'dist/session/worker.mjs',
      'dist/demo/workload.mjs',
      'dist/host/heavy-worker.mjs',
      'dist/host/group-worker.mjs',
      'dist/electron/main.mjs',
      'dist/electron/preload.cjs',
      'dist/renderer/index.html',
      'package.json',
    ])
      expect(packedFiles, f).toContain(f);
    // No sources, no source maps, no test support (testing/, and nothing built from it).
    expect(
      packedFiles.filter(
        (f) => /\.(ts|tsx|map)$/.test(f) || /^(core|testing)\/|(^|\/)test-|\.test\./.test(f),
      ),
    ).toEqual([]);
    const installed = path.join(dir, 'node_modules');
    // Only koffi is a run-time dependency: no tsx, no TypeScript compiler, no React.
    for (const name of ['tsx', 'typescript', 'esbuild', 'react', 'electron'])
      expect(fs.existsSync(path.join(installed, name)), name).toBe(false);
    expect(fs.existsSync(path.join(installed, 'koffi'))).toBe(true);
    // The `?fake` development bridge stays out of the built UI (a string only it holds).
    const assets = path.join(installed, 'pagescope/dist/renderer/assets');
    const js = fs.readdirSync(assets).filter((f) => f.endsWith('.js'));
    expect(js.length).toBeGreaterThan(0);
    for (const f of js)
      expect(fs.readFileSync(path.join(assets, f), 'utf8'), f).not.toContain(
        'python3 -m http.server',
      );
  });

  it('npx pagescope scan --pid P --json', () => {
    const out = JSON.parse(
      run('npx', ['--no-install', 'pagescope', 'scan', '--pid', String(target.pid), '--json']),
    );
    expect(out.pid).toBe(target.pid);
    expect(out.totals.present).toBeGreaterThan(0);
  });

  it('pagescope watch -- COMMAND: the written pages of a launched python3', () => {
    const script =
      'import time\nb = bytearray(1 << 22)\nwhile True:\n  b[::4096] = b"x" * 1024\n  time.sleep(0.05)';
    const lines = run(
      bin,
      [
        'watch',
        '--writable',
        '--ticks',
        '3',
        '--interval',
        '200',
        '--json',
        '--',
        pythonExecutable(),
        '-c',
        script,
      ],
      45_000,
    )
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { writtenPages?: number; done?: boolean; ticks?: number });
    expect(lines.at(-1)).toMatchObject({ done: true, ticks: 3 });
    expect(lines.some((l) => (l.writtenPages ?? 0) > 0)).toBe(true);
  });

  it('pagescope serve: the UI, and a session and the demo over its WebSocket', async () => {
    const child = spawn(bin, ['serve', '--no-open', '--port', '0'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      child.once('exit', (c) => reject(new Error(`serve exited (${c}): ${stderr}`)));
      readline.createInterface({ input: child.stdout! }).once('line', resolve);
    });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#token=/);
    const page = await fetch(url);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toMatch(/<div id="root">/);
    const script = /src="\.?\/?(assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const js = await fetch(new URL(script!, url)); // static assets are public; data is not
    expect(js.status).toBe(200);

    const u = new URL(url);
    const ws = new WebSocket(`ws://${u.host}/ws`, socketProtocols(u.hash.replace(/^#token=/, '')), {
      origin: u.origin,
    });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    let frames = 0;
    const replies = new Map<number, { ok: boolean; result?: { pid: number }; error?: unknown }>();
    ws.on('message', (data, isBinary) => {
      if (isBinary) frames++;
      else {
        const msg = JSON.parse(data.toString()) as { id?: number; ok: boolean };
        if (typeof msg.id === 'number') replies.set(msg.id, msg);
      }
    });
    const waitFor = (what: string, cond: () => boolean) =>
      until(() => `${what}; serve said: ${stderr}`, cond, 15_000);
    ws.send(JSON.stringify({ id: 1, method: 'attach', params: { pid: target.pid } }));
    await waitFor('an answer to attach', () => replies.has(1));
    expect(replies.get(1)).toMatchObject({ ok: true });
    await waitFor('frames of the attached session', () => frames >= 2);
    ws.send(JSON.stringify({ id: 2, method: 'launchDemo', params: {} }));
    await waitFor('an answer to launchDemo', () => replies.has(2));
    expect(replies.get(2)).toMatchObject({ ok: true });
    expect(replies.get(2)!.result!.pid).toBeGreaterThan(0);
    // A recording: uploaded, opened in its replay thread, compared in a job thread.
    const rec = everyPageEveryTick(4, 256);
    ws.send(
      JSON.stringify({
        id: 3,
        method: 'uploadRecording',
        params: { name: 'r.pgsrec', size: rec.length, offset: 0, data: rec.toString('base64') },
      }),
    );
    await waitFor('an answer to uploadRecording', () => replies.has(3));
    const uploadId = (replies.get(3)!.result as unknown as { uploadId: number }).uploadId;
    ws.send(JSON.stringify({ id: 4, method: 'openRecording', params: { source: { uploadId } } }));
    await waitFor('an answer to openRecording', () => replies.has(4));
    expect(replies.get(4)).toMatchObject({ ok: true });
    const sessionId = (replies.get(4)!.result as unknown as { sessionId: number }).sessionId;
    ws.send(JSON.stringify({ id: 5, method: 'compareTicks', params: { sessionId, a: 0, b: 3 } }));
    await waitFor('an answer to compareTicks', () => replies.has(5));
    expect(replies.get(5)).toMatchObject({ ok: true, result: { indexA: 0, indexB: 3 } });
    ws.close();
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
  });

  // The package promises engines.node (20.19+), older than what a clone needs (22.13+: the
  // desktop tooling). .ci/run names the machine's own older node in PAGESCOPE_PACKAGE_NODE when it
  // put a newer one first on PATH; the package's CLI then runs on that one too.
  it('runs on the older Node its engines promise (scan, watch of a launched python3)', (ctx) => {
    const old = process.env.PAGESCOPE_PACKAGE_NODE;
    if (!old) return ctx.skip('PAGESCOPE_PACKAGE_NODE names no older node to run the package on');
    const version = execFileSync(old, ['--version'], { encoding: 'utf8' }).trim();
    const [major, minor] = version.slice(1).split('.').map(Number);
    if (major >= 22) return ctx.skip(`${old} is ${version}, not older than a clone's Node`);
    expect(major > 20 || (major === 20 && minor >= 19), `${old} is ${version}`).toBe(true);
    const cli = path.join(dir, 'node_modules/pagescope/bin/pagescope.mjs');
    const scan = JSON.parse(run(old, [cli, 'scan', '--pid', String(target.pid), '--json']));
    expect(scan.totals.present).toBeGreaterThan(0);
    const script =
      'import time\nb = bytearray(1 << 22)\nwhile True:\n  b[::4096] = b"x" * 1024\n  time.sleep(0.05)';
    const args = ['watch', '--writable', '--ticks', '2', '--interval', '200', '--json', '--'];
    const lines = run(old, [cli, ...args, pythonExecutable(), '-c', script], 45_000)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { writtenPages?: number; done?: boolean; ticks?: number });
    expect(lines.at(-1)).toMatchObject({ done: true, ticks: 2 });
    expect(lines.some((l) => (l.writtenPages ?? 0) > 0)).toBe(true);
  });

  it('pagescope demo --seconds 1', () => {
    const out = run(bin, ['demo', '--seconds', '1'], 45_000);
    expect(out).toMatch(/pid \d+/);
  });
});
