/**
 * `pagescope watch --json` run as a user runs it: the built CLI (bin/pagescope.mjs -> dist/) in a
 * process of its own, its JSON lines read as they come. Bench 11's watched runs (issue 22): a
 * watch inside the bench's own process counted the bench's own GC and compiles (spawning
 * redis-benchmark, parsing its output) as pagescope's own CPU, and shared its threads.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readStat, statNumber } from '../../core/proc/stat.ts';
import type { WatchFigures } from '../../core/watch/driver.ts';
import { TargetCpuClock } from '../../core/watch/overhead.ts';
import { endWithBench } from './live-children.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI_BIN = path.join(ROOT, 'bin/pagescope.mjs');

let built = false;

/** Builds dist/ (scripts/build.mjs --node) so the CLI run is of the current sources; once a run. */
export function buildCli(log: (m: string) => void): void {
  if (built) return;
  built = true;
  log('  building the CLI (scripts/build.mjs --node)');
  const b = spawnSync(process.execPath, [path.join(ROOT, 'scripts/build.mjs'), '--node'], {
    encoding: 'utf8',
  });
  if (b.status !== 0) throw new Error(`the build failed: ${b.stderr}`);
}

/** The start line: watching has started (armed), before the first tick. */
export interface StartLine {
  pid: number;
  pieces: number;
  pages: number;
  /** Left pending by the arm's registering budget: in neither pages nor samplePages. */
  pendingPages: number;
  samplePages: number;
  sampleFraction: number;
  intervalMs: number;
  firstIntervalMs: number;
  maxOverheadPct: number | null;
  /** All of the driver's arm: maps read, budget start, the tick code's warm-up, registering. */
  armMs: number;
}

/**
 * A tick line's figures, and when it arrived here (performance.now()): when the stdout chunk that
 * carried it arrived, so lines that came in one chunk (a start line and tick 1, two ticks on a
 * busy machine) have the same atMs.
 */
export interface CliTick extends WatchFigures {
  atMs: number;
  tick: number;
  writtenPages: number;
}

/** A process's CPU time over a span: by its threads' schedstat and by its utime+stime. */
export interface CpuSnap {
  schedMs: number | null;
  statMs: number | null;
}

function statCpuMs(pid: number): number | null {
  const s = readStat(pid);
  // utime, stime: fields 14 and 15 (all threads, the exited ones too), in clock ticks (100 Hz).
  return s ? ((statNumber(s, 14) + statNumber(s, 15)) / 100) * 1000 : null;
}

export class CliWatch {
  readonly child: ChildProcess;
  readonly ticks: CliTick[] = [];
  /** Resolves with the start line (rejects when the watch ends or fails before it). */
  readonly started: Promise<StartLine>;
  start: StartLine | null = null;
  /**
   * When the start line arrived here (performance.now()): the stdout chunk that carried it,
   * which may carry the first ticks too (as a tick's atMs is its chunk's).
   */
  startAtMs: number | null = null;
  /** The done line, once it came. */
  done: { reason: string; ticks: number; faultCostUs: number } | null = null;
  stderr = '';
  private readonly exited: Promise<void>;
  private readonly clock: TargetCpuClock;

  /**
   * `pagescope watch --pid PID --writable --interval INTERVAL [--max-overhead PCT] --json` and
   * `more`. With `ownSession` (the default) detached, in a session of its own (as a user's
   * terminal is: its own scheduler autogroup, not the bench's; a Ctrl-C at the bench's terminal
   * reaches the bench only, which ends it: live-children.ts); without, in the bench's session
   * and process group (the terminal's Ctrl-C reaches it too).
   */
  constructor(
    pid: number,
    intervalMs: number,
    maxOverheadPct: number | null,
    more: string[] = [],
    /** false: in the bench's session (its autogroup), not one of its own (a study's arrangement). */
    ownSession = true,
  ) {
    const args = [CLI_BIN, 'watch', '--pid', String(pid), '--writable'];
    args.push('--interval', String(intervalMs), '--json');
    if (maxOverheadPct !== null) args.push('--max-overhead', String(maxOverheadPct));
    this.child = spawn(process.execPath, [...args, ...more], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: ownSession,
    });
    // Ended with the bench (live-children.ts) if it is still running then.
    endWithBench(this.child);
    this.clock = new TargetCpuClock(this.child.pid!);
    this.exited = new Promise((res) => this.child.once('exit', () => res()));
    let onStart: (s: StartLine) => void = () => {};
    let onFail: (e: Error) => void = () => {};
    this.started = new Promise<StartLine>((res, rej) => {
      onStart = res;
      onFail = rej;
    });
    this.started.catch(() => {}); // a watch stopped before it started: its caller says so
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    let buf = '';
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      const atMs = performance.now();
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!line.trim()) continue;
        // A tick's figures come before its written ranges (up to 1000 of them, unused here):
        // parsed without them, so reading a busy target's lines costs this process little.
        const cut = line.indexOf(',"written":[');
        const l = JSON.parse(cut > 0 ? line.slice(0, cut) + '}' : line) as Record<string, unknown>;
        if (l.start === true) {
          this.start = l as unknown as StartLine;
          this.startAtMs = atMs;
          onStart(this.start);
        } else if (typeof l.tick === 'number') {
          this.ticks.push({
            ...(l as unknown as CliTick),
            // null when the target's CPU time was unreadable (as the driver's -1)
            targetCpuMs: (l.targetCpuMs as number | null) ?? -1,
            atMs,
          });
        } else if (l.done === true) this.done = l as unknown as CliWatch['done'];
      }
    });
    void this.exited.then(() =>
      onFail(
        new Error(
          `pagescope watch ended (${this.child.exitCode ?? this.child.signalCode}) before watching: ${this.stderr.trim().slice(0, 300)}`,
        ),
      ),
    );
  }

  private lastStatMs: number | null = null;

  /**
   * The watch's CPU time since the previous call, ms (null on the first): its threads'
   * schedstat (ns; a thread that exited in between is missed) and utime+stime (every thread,
   * 10 ms resolution).
   */
  cpuSinceLast(): CpuSnap {
    const schedMs = this.clock.sinceLastMs();
    const stat = statCpuMs(this.child.pid!);
    const statMs = stat !== null && this.lastStatMs !== null ? stat - this.lastStatMs : null;
    this.lastStatMs = stat;
    return { schedMs, statMs };
  }

  /** Ends the watch with SIGINT (as Ctrl-C) and waits for its exit; SIGKILL after 20 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGINT');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
      await this.exited;
      clearTimeout(timer);
    }
    if (this.child.exitCode !== 0)
      throw new Error(
        `pagescope watch exited ${this.child.exitCode ?? this.child.signalCode}: ${this.stderr.trim().slice(0, 300)}`,
      );
  }
}

/**
 * Runs `fn` while the watch runs, then stops the watch. When `fn` fails, that error is the one
 * thrown (a stop that fails then, as it may after what failed, would mask it in a finally).
 */
export async function whileWatching<T>(w: CliWatch, fn: () => Promise<T>): Promise<T> {
  let result: T;
  try {
    result = await fn();
  } catch (err) {
    await w.stop().catch(() => {});
    throw err;
  }
  await w.stop();
  return result;
}
