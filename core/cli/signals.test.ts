/**
 * SIGHUP (the terminal closed) and SIGQUIT (Ctrl-\) end every long-running command the way
 * SIGTERM does: `watch` detaches and says why, `serve` detaches its sessions and ends the commands
 * they launched, `demo` stops its workload; each exits 0. By default either signal would kill
 * Node on the spot (SIGQUIT with a core dump), leaving a launched command or the demo behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient } from '../../testing/serve.ts';
import { PYTHON } from '../../testing/watch-support.ts';
import { tracesLeft } from '../../testing/traces.ts';
import { until } from '../../testing/wait.ts';
import { alive, procRef, signalIfSame, type ProcRef } from '../../testing/proc-facts.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/pagescope.mjs');
const SIGNALS = ['SIGHUP', 'SIGQUIT'] as const;

const spawned: ChildProcess[] = [];
const leftovers: Array<ProcRef | null> = [];
afterAll(() => {
  for (const c of spawned) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const ref of leftovers) signalIfSame(ref);
});

interface Cli {
  child: ChildProcess;
  /** The next stdout line (rejects when stdout ends first). */
  line(): Promise<string>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(args: string[]): Cli {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  spawned.push(child);
  child.stderr!.resume(); // its notes ("serving; press Ctrl+C") are not this test's output
  const lines: string[] = [];
  const waiting: Array<[(l: string) => void, (e: Error) => void]> = [];
  let ended = false;
  const rl = readline.createInterface({ input: child.stdout! });
  rl.on('line', (l) => {
    const w = waiting.shift();
    if (w) w[0](l);
    else lines.push(l);
  });
  rl.on('close', () => {
    ended = true;
    for (const [, reject] of waiting.splice(0)) reject(new Error('stdout ended'));
  });
  return {
    child,
    line: () => {
      const l = lines.shift();
      if (l !== undefined) return Promise.resolve(l);
      if (ended) return Promise.reject(new Error('stdout ended'));
      return new Promise((resolve, reject) => waiting.push([resolve, reject]));
    },
    exit: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
  };
}

let target: ChildProcess;
beforeAll(async () => {
  const script = [
    'import mmap, time',
    'a = mmap.mmap(-1, 8 * 4096)',
    'print("ready", flush=True)',
    'while True:',
    '    a[0] = 1',
    '    time.sleep(0.02)',
  ].join('\n');
  target = spawn(PYTHON, ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  spawned.push(target);
  await new Promise<void>((resolve) =>
    readline.createInterface({ input: target.stdout! }).once('line', () => resolve()),
  );
});

// Per signal, its three commands at once (it.concurrent): each its own CLI, mostly waiting for
// it to start. The signals one after the other: both watches attach to the same target.
describe.each(SIGNALS)('%s ends a long-running command cleanly', (sig) => {
  it.concurrent('watch: detaches, says why in its last line, exit 0', async () => {
    const cli = start([
      'watch',
      '--pid',
      String(target.pid),
      '--writable',
      '--json',
      '--interval',
      '50',
    ]);
    expect(JSON.parse(await cli.line())).toMatchObject({ start: true });
    expect(JSON.parse(await cli.line())).toMatchObject({ tick: 1 });
    cli.child.kill(sig);
    let last: Record<string, unknown> = {};
    while (!last.done) last = JSON.parse(await cli.line()) as Record<string, unknown>;
    expect(last).toMatchObject({ done: true, reason: `interrupted by ${sig}` });
    expect(await cli.exit).toEqual({ code: 0, signal: null });
    expect(tracesLeft(target.pid!)).toEqual([]);
    expect(alive(target.pid!)).toBe(true);
  });

  it.concurrent('serve: ends the command a session launched, exit 0', async () => {
    const cli = start(['serve', '--no-open']);
    const url = new URL(await cli.line());
    const client = await connectClient(Number(url.port), url.hash.replace(/^#token=/, ''));
    const launched = (await client.request('launch', { command: ['sleep', '300'] })) as {
      ok: boolean;
      result?: { pid: number };
    };
    expect(launched.ok, JSON.stringify(launched)).toBe(true);
    const pid = launched.result!.pid;
    leftovers.push(procRef(pid));
    expect(alive(pid)).toBe(true);
    cli.child.kill(sig);
    expect(await cli.exit).toEqual({ code: 0, signal: null });
    // until(), not expect.poll: the global expect.poll needs a current test, which a case
    // running beside others (it.concurrent) is not, once another has ended.
    await until(`process ${pid} to end`, () => !alive(pid), 5000);
    client.ws.terminate();
  });

  it.concurrent('demo: stops the workload, exit 0', async () => {
    const cli = start(['demo']);
    let pid = 0;
    while (!pid) pid = Number(/running as pid (\d+)/.exec(await cli.line())?.[1] ?? 0);
    leftovers.push(procRef(pid));
    cli.child.kill(sig);
    expect(await cli.exit).toEqual({ code: 0, signal: null });
    // until(), not expect.poll: the global expect.poll needs a current test, which a case
    // running beside others (it.concurrent) is not, once another has ended.
    await until(`process ${pid} to end`, () => !alive(pid), 5000);
  });
});
