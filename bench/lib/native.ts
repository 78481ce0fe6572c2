/**
 * The C side of the benchmarks: compiling the reference programs and driving child processes
 * that speak one line at a time (the targets and the C references).
 *
 * The programs are built with the machine's gcc into a cache directory keyed by a hash of their
 * sources, so a second run reuses them and an edit rebuilds them.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const C_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'c');
export const PROGRAMS = ['target', 'scanref', 'wtrack', 'spin'] as const;
export type Program = (typeof PROGRAMS)[number];

/** Paths of the built programs, or the reason they cannot be built here. */
export type Built = { ok: true; bin: Record<Program, string> } | { ok: false; reason: string };

export function buildPrograms(): Built {
  const gcc = spawnSync('gcc', ['--version'], { encoding: 'utf8' });
  if (gcc.error || gcc.status !== 0) {
    return { ok: false, reason: 'gcc is not installed (apt-get install gcc libc6-dev)' };
  }
  const hash = createHash('sha256');
  for (const f of fs.readdirSync(C_DIR).sort())
    hash.update(f).update(fs.readFileSync(path.join(C_DIR, f)));
  const dir = path.join(os.tmpdir(), `pagescope-bench-${hash.digest('hex').slice(0, 12)}`);
  fs.mkdirSync(dir, { recursive: true });
  const bin = {} as Record<Program, string>;
  for (const p of PROGRAMS) {
    const out = path.join(dir, p);
    bin[p] = out;
    if (fs.existsSync(out)) continue;
    const tmp = `${out}.${process.pid}`;
    const r = spawnSync('gcc', ['-O2', '-Wall', '-o', tmp, path.join(C_DIR, `${p}.c`)], {
      encoding: 'utf8',
    });
    if (r.status !== 0) {
      return { ok: false, reason: `gcc failed on bench/c/${p}.c: ${(r.stderr || '').trim()}` };
    }
    fs.renameSync(tmp, out);
  }
  return { ok: true, bin };
}

/** A child process driven line by line: `send` a command, `line()` awaits the next answer. */
export class LineProcess {
  readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: string[] = [];
  private waiter: ((line: string | null) => void) | null = null;
  private ended = false;
  private stderr = '';

  constructor(file: string, args: readonly string[]) {
    this.child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.child.on('error', (e) => (this.stderr += e.message));
    const rl = readline.createInterface({ input: this.child.stdout });
    rl.on('line', (l) => {
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = null;
        w(l);
      } else this.lines.push(l);
    });
    rl.on('close', () => {
      this.ended = true;
      if (this.waiter) this.waiter(null);
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  send(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  /** The next line; rejects when the process ends first (with its stderr). */
  async line(): Promise<string> {
    const l =
      this.lines.shift() ??
      (this.ended ? null : await new Promise<string | null>((r) => (this.waiter = r)));
    if (l === null) {
      await new Promise((r) => setTimeout(r, 20)); // let stderr drain
      throw new Error(
        `${path.basename(this.child.spawnfile)} ended early: ${this.stderr.trim() || `exit ${this.child.exitCode}`}`,
      );
    }
    return l;
  }

  /** Parses "key value key value ..." answers into numbers. */
  async fields(): Promise<Record<string, number>> {
    return parseFields(await this.line());
  }

  /** Ends the process (closing stdin first, then SIGKILL) and waits for it. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const done = new Promise((r) => this.child.once('exit', r));
    this.child.stdin.end();
    const t = setTimeout(() => this.child.kill('SIGKILL'), 500);
    await done;
    clearTimeout(t);
  }
}

export function parseFields(line: string): Record<string, number> {
  const parts = line.trim().split(/\s+/);
  const out: Record<string, number> = {};
  for (let i = 0; i + 1 < parts.length; i += 2) out[parts[i]] = Number(parts[i + 1]);
  return out;
}

/** Runs a program to completion and parses its one-line answer. */
export async function runOnce(
  file: string,
  args: readonly string[],
): Promise<Record<string, number>> {
  const p = new LineProcess(file, args);
  try {
    return await p.fields();
  } finally {
    await p.stop();
  }
}

/** A target process: its mapping is [startPage, endPage). */
export interface Target {
  proc: LineProcess;
  pid: number;
  startHex: string;
  endHex: string;
  startPage: number;
  endPage: number;
}

/**
 * Starts a target. `grandchild`: run it under `sh` so it is not this process's child. A session
 * attaches from a worker thread; when the target is a child of this process, Node's main-thread
 * SIGCHLD handling (libuv's waitpid on its children) can consume the ptrace stop the worker
 * waits for, and the attach hangs (seen here with core/session). As a grandchild it is safe.
 */
export async function startTarget(
  bin: string,
  args: readonly string[],
  options: { grandchild?: boolean } = {},
): Promise<Target> {
  const proc = options.grandchild
    ? new LineProcess('sh', ['-c', 'exec 3<&0; "$0" "$@" <&3 3<&- & wait', bin, ...args])
    : new LineProcess(bin, args);
  const ready = (await proc.line()).split(' ');
  if (ready[0] !== 'ready') throw new Error(`target said "${ready.join(' ')}" instead of ready`);
  const start = BigInt(`0x${ready[1]}`);
  const end = BigInt(`0x${ready[2]}`);
  return {
    proc,
    pid: Number(ready[3] ?? proc.pid),
    startHex: ready[1],
    endHex: ready[2],
    startPage: Number(start >> 12n),
    endPage: Number(end >> 12n),
  };
}
