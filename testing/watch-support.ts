/**
 * Helpers for the watcher's tests: real target processes driven over pipes (watch-target.py and
 * the CLI), a model of what the target computes, and per-test cleanup. Whether a target holds a
 * trace of us is traces.ts; waiting for a condition is wait.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, expect } from 'vitest';
import { RegionList } from '../core/scan/region-list.ts';
import { procRef, signalIfSame, type ProcRef } from './proc-facts.ts';
import { describeLimit, slowness } from './wait.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
export const FIXTURE = path.join(here, 'watch-target.py');
export const REPO = path.join(here, '..');
export const PYTHON = process.env.PYTHON ?? 'python3';
export const CLI = path.join(REPO, 'bin/pagescope.mjs');

/**
 * Registers an afterEach that undoes, newest first, what the test deferred (best effort: one
 * failing undo does not stop the others), and returns the two ways to defer.
 */
export function cleanupAfterEach(): Cleanup {
  return deferrals(afterEach);
}

/**
 * The same two ways to defer, for one test only: its undos run when that test ends (the test
 * context's onTestFinished), so tests that run at once (`describe.concurrent`) never undo each
 * other's (cleanupAfterEach's list is the file's: a concurrent test's afterEach would kill a
 * target another test still uses).
 */
export function cleanupOf(ctx: { onTestFinished(fn: () => void): void }): Cleanup {
  return deferrals((run) => ctx.onTestFinished(run));
}

interface Cleanup {
  defer(undo: () => void): void;
  track<T extends { kill(): void }>(p: T): T;
}

/** A list of undos that `register` runs (newest first, each best effort) when it calls back. */
function deferrals(register: (run: () => void) => void): Cleanup {
  const undos: Array<() => void> = [];
  register(() => {
    for (const f of undos.splice(0).reverse()) {
      try {
        f();
      } catch {
        // best effort
      }
    }
  });
  return {
    defer: (undo) => void undos.push(undo),
    track: (p) => {
      undos.push(() => p.kill());
      return p;
    },
  };
}

/** What a command that ran to its end printed, and how it ended. */
export interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
}

/**
 * Runs a command to its end without blocking this process (spawnSync would stop every other
 * test of a concurrent file while it runs), killed after `timeoutMs` scaled (wait.ts) with the
 * limit said on its stderr.
 */
export function runAsync(
  cmd: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const quiet = options.timeoutMs ?? 90_000;
    const scale = slowness();
    const timer = setTimeout(() => {
      err += `\n(killed by the test after ${describeLimit(quiet, scale)})`;
      child.kill('SIGKILL');
    }, quiet * scale);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out, err });
    });
  });
}

/** `pagescope ARGS...` (bin/pagescope.mjs) run to its end, without blocking: see runAsync. */
export const runCli = (
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<Ran> => runAsync(process.execPath, [CLI, ...args], options);

/** A process that answers one line per line sent. */
export class LineProcess {
  private lines: string[] = [];
  private waiters: Array<(l: string | null) => void> = [];
  private closed = false;
  private lastLine: string | null = null;
  /** Set when the process we talk to is not `child` itself (a grandchild through a shell). */
  realPid: number | null = null;
  /** The grandchild as a process, not a pid (see ProcRef), for the cleanup's kill. */
  realRef: ProcRef | null = null;

  constructor(readonly child: ChildProcess) {
    const rl = readline.createInterface({ input: child.stdout! });
    rl.on('line', (l) => {
      this.lastLine = l;
      const w = this.waiters.shift();
      if (w) w(l);
      else this.lines.push(l);
    });
    rl.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w(null);
    });
  }

  get pid(): number {
    return this.realPid ?? this.child.pid!;
  }

  /**
   * The next line, within `timeoutMs` on a quiet machine (scaled by the slowness, wait.ts); the
   * failure names the command, the limit and the last line it did print.
   */
  next(timeoutMs = 10_000): Promise<string> {
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    if (this.closed) return Promise.reject(new Error('process output closed'));
    return new Promise((resolve, reject) => {
      const waiter = (line: string | null): void => {
        clearTimeout(timer);
        if (line === null) reject(new Error('process output closed'));
        else resolve(line);
      };
      // A waiter that timed out leaves the queue: the next line goes to the next reader.
      const scale = slowness();
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        const cmd = this.child.spawnargs.join(' ').slice(0, 200);
        reject(
          new Error(
            `no line from the process (pid ${this.pid}: ${cmd}) in ` +
              `${describeLimit(timeoutMs, scale)}; ` +
              (this.child.exitCode !== null || this.child.signalCode !== null
                ? `it ended (${this.child.exitCode ?? this.child.signalCode}); `
                : 'it still runs; ') +
              `its last line: ${this.lastLine === null ? '(none)' : JSON.stringify(this.lastLine)}`,
          ),
        );
      }, timeoutMs * scale);
      this.waiters.push(waiter);
    });
  }

  async send(cmd: string): Promise<string> {
    this.child.stdin!.write(cmd + '\n');
    return this.next();
  }

  kill(): void {
    signalIfSame(this.realRef);
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

export interface PyTarget extends LineProcess {
  startPage: number;
  pages: number;
}

/**
 * Starts watch-target.py. With `grandchild`, it runs under a shell so it is NOT a child of this
 * process: then no event loop of ours (libuv reaps its own children with waitpid) can see its
 * ptrace stops when a worker thread attaches to it.
 */
export async function startPyTarget(
  pages = 64,
  extra: string[] = [],
  options: { grandchild?: boolean } = {},
): Promise<PyTarget> {
  const args = [FIXTURE, String(pages), ...extra];
  const child = options.grandchild
    ? // In the background under `wait`: a non-interactive shell reports no "Killed" line for a
      // background job when the test ends the target with SIGKILL (a foreground one it would).
      spawn('/bin/sh', ['-c', 'exec 3<&0; "$0" "$@" <&3 3<&- & wait', PYTHON, ...args], {
        stdio: ['pipe', 'pipe', 'inherit'],
      })
    : spawn(PYTHON, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const p = new LineProcess(child) as PyTarget;
  const hello = JSON.parse(await p.next()) as { pid: number; addr: string; pages: number };
  if (options.grandchild) {
    p.realPid = hello.pid;
    p.realRef = procRef(hello.pid);
  }
  p.startPage = Number(BigInt(hello.addr) >> 12n);
  p.pages = hello.pages;
  return p;
}

/** Pages `from` to `to` (relative) of a target's own mapping, all of it by default. */
export const targetRange = (t: PyTarget, from = 0, to = t.pages) => ({
  startPage: t.startPage + from,
  endPage: t.startPage + to,
});

/** An address of a page as the CLI takes and prints it. */
export const hex = (page: number): string => '0x' + (page * 4096).toString(16);

/** A target's whole mapping as a `--range` argument. */
export const rangeArg = (t: PyTarget): string =>
  `${hex(t.startPage)}-${hex(t.startPage + t.pages)}`;

/** `watch --pid PID --range (the target's whole mapping)` and `more`, as CLI arguments. */
export const watchTargetArgs = (t: PyTarget, ...more: string[]): string[] => [
  'watch',
  '--pid',
  String(t.pid),
  '--range',
  rangeArg(t),
  ...more,
];

/** Starts `pagescope ARGS...` as a child that answers line by line (its stdout). */
export function startCli(args: string[], stderr: 'inherit' | 'pipe' = 'inherit'): LineProcess {
  return new LineProcess(
    spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', stderr] }),
  );
}

/** The checksum watch-target.py computes after writing `pages` in order (its own model). */
export class TargetModel {
  private counter = 0;
  readonly values: number[];
  constructor(readonly pages: number) {
    this.values = new Array(pages).fill(0);
  }
  write(ps: number[]): void {
    for (const p of ps) {
      this.counter = (this.counter + 1) % 251;
      this.values[p] = this.counter || 1;
    }
  }
  checksum(): number {
    let total = 0;
    for (const v of this.values) total = (total * 31 + v) % 1000000007;
    return total;
  }
}

/**
 * Checks that the target still works correctly: it writes `pages` and must answer with the
 * checksum our model of it computes (a fresh model unless the test keeps one).
 */
export async function expectTargetRunsOn(
  t: PyTarget,
  pages: number[],
  model = new TargetModel(t.pages),
): Promise<void> {
  model.write(pages);
  expect(await t.send(`w ${pages.join(' ')}`)).toBe(`ok ${model.checksum()}`);
}

/** One tick of a watcher: the written pages it reports, relative to `base`. */
export function tickedPages(w: { tick(out: RegionList): unknown }, base: number): number[] {
  const out = new RegionList();
  w.tick(out);
  return pagesOf(out, base);
}

export { prng } from './prng.ts';

/** Pages (relative to `base`) listed in a RegionList-like result. */
export function pagesOf(
  r: { length: number; startPage: Float64Array; endPage: Float64Array },
  base: number,
): number[] {
  const out: number[] = [];
  for (let i = 0; i < r.length; i++)
    for (let p = r.startPage[i]; p < r.endPage[i]; p++) out.push(p - base);
  return out;
}
