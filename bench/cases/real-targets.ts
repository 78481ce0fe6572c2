/**
 * Case 11: what being watched costs software nobody here wrote, and whether the estimate says so
 * (issue 22). Real targets from Debian packages, each case skipped with a reason where its
 * program is missing:
 *
 * - redis-server with 1M keys (key:000000000000 .. key:000000999999, as redis-benchmark -r
 *   1000000 names them, so the SETs overwrite and the store does not grow during the run),
 *   driven by `redis-benchmark -t set -r 1000000 -P 16 -n N`. Throughput watched against
 *   unwatched, alternating A-B-B-A round by round (the VM's rate drifts within seconds), for
 *   - 11a an exact watch of the writable mappings at 100 ms;
 *   - 11b `--max-overhead 5` over a ~10 s run (watch armed 1 s before);
 *   - 11c `--max-overhead 5`, a ~0.5 s burst started right after arming (and the first tick's
 *     estimate);
 *   - 11d/11e 11a and 11c under `stress-ng --cpu 2` (both CPUs busy: the target gets part of one);
 *   - 11h 11b under the same hog.
 *   11b, 11c, 11e and 11h run rounds of three (two unwatched runs and the watched one, in all
 *   six orders: bench/lib/ab-rounds.ts), 6, 24, 24 and 6 of them: under the hog two unwatched
 *   runs seconds apart differ by 0.84-1.16x (quiet, 11b's 10 s runs 0.95-1.12x), so the floor
 *   is measured in the same rounds and the median round's 95% interval is given with the
 *   verdict (held; missed; or missed within the noise, where the interval reaches over 0.95).
 *   ~3, ~1, ~1 and ~3 minutes.
 * - 11f postgres 15 (a temp cluster, run as the `postgres` user), `pgbench -c 1 -j 1` TPC-B on
 *   scale 10 with a per-transaction log: its one backend unwatched and watched exactly in turn,
 *   3 s windows of one pgbench run in 6 interleaved rounds (A-B, B-A; 4 with --quick), the
 *   transactions of each window counted from the log (one A-B-A of 5 s parts read -14 to +29%
 *   run to run). pgbench runs until stopped after the last window (SIGINT: its log's buffered
 *   tail is lost, so a round with a window past the last logged transaction is dropped).
 * - 11j 11f beside `stress-ng --cpu 2`, in 24 rounds of three 3 s windows (~4 minutes) (two unwatched, one
 *   watched, in all six orders: the A/A floor within the rounds), with the verdict of its estimate
 *   (met; missed; or missed within the noise, where the median round's interval holds a share the
 *   estimate fits) and the backend's scheduler figures per transaction watched and unwatched
 *   (run-queue wait, timeslices, context switches, migrations) and the client's CPU.
 *
 * The redis rows watch as a user does: `pagescope watch --pid P --writable --interval 100
 * [--max-overhead 5] --json`, the built CLI in a process (and session) of its own
 * (bench/lib/cli-watch.ts), each run started on its start line (armed) and its figures read from
 * its tick lines as they arrive; 11f's backend is watched the same way. A watch inside the
 * bench's process (as before) counted the bench's own GC and compiles (spawning
 * redis-benchmark, reading its output) as pagescope's own CPU: 11c's first ticks read up to
 * 13-34% from 8-22 ms of that. pagescope's own CPU per run is the watch process's (its threads'
 * schedstat, and utime+stime). For each watched run the note gives the measured loss (1 -
 * throughput ratio), the estimate over the run (each tick's estOverheadPct weighted by the
 * target's CPU time in it, and its stated range), and the target's CPU time per request
 * watched against unwatched (1 - unwatched / watched: the share of its CPU time that being
 * watched added, whoever else ran), the quantity the estimate models, and the minor faults the
 * target took (/proc/PID/stat minflt) watched against unwatched, against the faults the ticks
 * counted. Goals (issue 22, "Done when"): the estimate within 1.5x of the slowdown (or within 3
 * points when both are under 5%), judged by the target's CPU time per request (on a machine
 * shared with a load of 15-20 the throughput of two runs seconds apart differs by 2x, while
 * the CPU time per request holds); the throughput comparison is in the note. The bounded runs:
 * >= 0.95x, and the first tick's estimate within the bound. Where a bounded burst's loss goes
 * (measured, issue 22): not to the arm, which registers and protects before the run starts
 * (redis-benchmark is started when the watch's start line says it is armed); redis's CPU per
 * request rises about as much as its counted faults cost, and the rest is the watcher's own CPU
 * time in the run, which on two CPUs that redis and its client already fill shows as redis
 * waiting for a CPU: its ticks (1.6-1.8 ms each on a busy redis, now ~1.0) and V8 compiling the
 * tick's code (20-50 ms a burst, perf; now compiled before the arm: core/watch/tick.ts warmTick).
 * The note gives both.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { probeCapabilities } from '../../core/kernel/capabilities.ts';
import {
  calibrateIsolatedFaultCost,
  cpuFloorMs,
  TargetCpuClock,
  type IsolatedFaultCost,
} from '../../core/watch/overhead.ts';
import {
  boundHeld,
  boundVerdict,
  ciText,
  estimateVerdict,
  medianCi,
  ratioText,
  roundMeans,
  summarizeAb,
  threeRunOrder,
} from '../lib/ab-rounds.ts';
import { buildCli, CliWatch, whileWatching, type CliTick, type CpuSnap } from '../lib/cli-watch.ts';
import { startHog, type Hog } from '../lib/hog.ts';
import { runCommand, type RunOptions } from '../lib/run-command.ts';
import { estimateFits, infoGoal, median, skippedCase, type CaseResult } from '../lib/stats.ts';
import { lastTxEnd, loggedThrough, txBetween, txEnds } from '../lib/tx-log.ts';
import { freePort, have } from '../../testing/ports.ts';
import { postgresBin } from '../../testing/postgres.ts';
import type { BenchContext } from './context.ts';

export const REDIS_EXACT_NAME =
  '11a redis SET (1M keys, -P 16): exact watch at 100 ms vs unwatched';
export const REDIS_BOUNDED_NAME = '11b redis SET under --max-overhead 5, ~10 s run vs unwatched';
export const REDIS_BURST_NAME =
  '11c redis SET under --max-overhead 5, ~0.5 s burst right after arming';
export const REDIS_HOG_EXACT_NAME = '11d redis exact at 100 ms under stress-ng --cpu 2';
export const REDIS_HOG_BURST_NAME = '11e redis --max-overhead 5 burst under stress-ng --cpu 2';
export const REDIS_HOG_BOUNDED_NAME =
  '11h redis --max-overhead 5, ~10 s run under stress-ng --cpu 2';
export const REDIS_WHO_NAME = '11g redis SET, exact watch with --who vs the same watch without';
export const PGBENCH_NAME = '11f postgres pgbench, one backend: exact watch at 100 ms vs unwatched';
export const PGBENCH_HOG_NAME = '11j postgres pgbench, one backend, under stress-ng --cpu 2';
/** The redis rows, in the order redisCases returns them. */
const REDIS_NAMES = [
  REDIS_EXACT_NAME,
  REDIS_BOUNDED_NAME,
  REDIS_BURST_NAME,
  REDIS_HOG_EXACT_NAME,
  REDIS_HOG_BURST_NAME,
  REDIS_HOG_BOUNDED_NAME,
  REDIS_WHO_NAME,
];
export const REAL_TARGET_NAMES = [...REDIS_NAMES, PGBENCH_NAME, PGBENCH_HOG_NAME];

const KEYS = 1_000_000;
const INTERVAL_MS = 100;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs a command to its end (bench/lib/run-command.ts); its stdout and stderr together. */
async function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<string> {
  const r = await runCommand(cmd, args, opts);
  return r.stdout + r.stderr;
}

/** What estimateOver reads of a tick line (CliTick). */
type EstTick = Pick<
  CliTick,
  | 'atMs'
  | 'targetCpuMs'
  | 'intervalMs'
  | 'estOverheadPct'
  | 'estOverheadLowPct'
  | 'estOverheadHighPct'
  | 'estOwnPct'
>;

/**
 * The estimate over [fromMs, toMs): the ticks that came in it (and the one after, which covers
 * its end), each tick's figure weighted by the target's CPU time in it; `own` the part of it
 * that is pagescope's own competing CPU time (estOwnPct), over the same ticks.
 */
function estimateOver(
  ticks: readonly EstTick[],
  fromMs: number,
  toMs: number,
): { pct: number; low: number; high: number; own: number; ticks: number } {
  const inRun = ticks.filter(
    (t, i) => t.atMs > fromMs && (t.atMs <= toMs || (ticks[i - 1]?.atMs ?? -Infinity) < toMs),
  );
  let cpu = 0;
  let pct = 0;
  let low = 0;
  let high = 0;
  let own = 0;
  for (const t of inRun) {
    const w = Math.max(t.targetCpuMs, cpuFloorMs(t.intervalMs));
    cpu += w;
    pct += t.estOverheadPct * w;
    low += t.estOverheadLowPct * w;
    high += t.estOverheadHighPct * w;
    own += t.estOwnPct * w;
  }
  return cpu > 0
    ? { pct: pct / cpu, low: low / cpu, high: high / cpu, own: own / cpu, ticks: inRun.length }
    : { pct: 0, low: 0, high: 0, own: 0, ticks: 0 };
}

const f1 = (x: number): string => x.toFixed(1);

// ---- redis ----

interface Redis {
  pid: number;
  port: number;
  proc: ChildProcess;
  dir: string;
}

async function startRedis(ctx: BenchContext): Promise<Redis> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagescope-redis-'));
  const port = await freePort();
  const proc = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
    ],
    // A session of its own: not in the bench's scheduler autogroup (see the top comment).
    { stdio: 'ignore', detached: true },
  );
  const cli = (...a: string[]) => run('redis-cli', ['-p', String(port), ...a]);
  for (let i = 0; ; i++) {
    try {
      if ((await cli('ping')).includes('PONG')) break;
    } catch {
      // not up yet
    }
    if (i > 100) throw new Error('redis-server did not answer in 10 s');
    await sleep(100);
  }
  // 1M keys named as redis-benchmark -r 1000000 names them, 3-byte values (its default -d 3).
  ctx.log(`  redis on port ${port}: loading ${KEYS} keys`);
  const parts: string[] = [];
  for (let i = 0; i < KEYS; i++) {
    const k = `key:${String(i).padStart(12, '0')}`;
    parts.push(`*3\r\n$3\r\nSET\r\n$${k.length}\r\n${k}\r\n$3\r\nxxx\r\n`);
  }
  await run('redis-cli', ['-p', String(port), '--pipe'], { input: parts.join('') });
  const n = Number((await cli('dbsize')).trim());
  if (n !== KEYS) throw new Error(`redis holds ${n} keys, not ${KEYS}`);
  return { pid: proc.pid!, port, proc, dir };
}

async function stopRedis(r: Redis): Promise<void> {
  r.proc.kill('SIGTERM');
  await new Promise((res) => (r.proc.exitCode !== null ? res(null) : r.proc.once('exit', res)));
  fs.rmSync(r.dir, { recursive: true, force: true });
}

/**
 * The process's minor page faults so far (/proc/PID/stat minflt, all its threads): an
 * async write-protect fault is one, so watched minus unwatched counts the faults watching
 * added, whichever pages they were on.
 */
function minorFaults(pid: number): number {
  const s = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[7]);
}

/** The process's voluntary and involuntary context switches so far, all its threads. */
function contextSwitches(pid: number): [number, number] {
  let v = 0;
  let nv = 0;
  for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const s = fs.readFileSync(`/proc/${pid}/task/${t}/status`, 'latin1');
      v += Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(s)?.[1] ?? 0);
      nv += Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(s)?.[1] ?? 0);
    } catch {
      // the thread ended
    }
  }
  return [v, nv];
}

/**
 * One redis-benchmark run of `n` SETs: wall ms, and redis's CPU ms in it; with `watch`, the
 * watch's own CPU ms in it too (its process: all its threads).
 */
async function setRun(
  r: Redis,
  n: number,
  watch: CliWatch | null = null,
): Promise<{
  ms: number;
  cpuMs: number;
  waitMs: number;
  faults: number;
  fromMs: number;
  toMs: number;
  ownMs: number;
  watchCpu: CpuSnap | null;
}> {
  const clock = new TargetCpuClock(r.pid);
  const own0 = process.cpuUsage();
  watch?.cpuSinceLast();
  clock.sinceLastMs();
  const faults0 = minorFaults(r.pid);
  const diag = process.env.PAGESCOPE_BENCH_TICKS !== undefined;
  const switches0 = diag ? contextSwitches(r.pid) : null;
  const fromMs = performance.now();
  const args = [
    '-p',
    String(r.port),
    '-t',
    'set',
    '-r',
    String(KEYS),
    '-P',
    '16',
    '-n',
    String(n),
    '-q',
  ];
  // Diagnostics (PAGESCOPE_BENCH_TICKS): the client's own CPU time and context switches too.
  const client = diag
    ? await runCommand('/usr/bin/time', ['-f', 'CLIENT %U %S %w %c', 'redis-benchmark', ...args], {
        detached: true,
      })
    : await runCommand('redis-benchmark', args, { detached: true });
  const toMs = performance.now();
  const switches1 = diag ? contextSwitches(r.pid) : null;
  const clientLine = diag ? (/CLIENT (.*)/.exec(client.stderr)?.[1] ?? '') : '';
  const cpuMs = clock.sinceLastMs() ?? NaN;
  const watchCpu = watch?.cpuSinceLast() ?? null;
  const own = process.cpuUsage(own0);
  return {
    ...(diag
      ? {
          client: clientLine,
          redisVoluntary: switches1![0] - switches0![0],
          redisInvoluntary: switches1![1] - switches0![1],
        }
      : {}),
    watchCpu,
    ownMs: (own.user + own.system) / 1000,
    ms: toMs - fromMs,
    cpuMs,
    waitMs: clock.lastWaitMs ?? NaN,
    faults: minorFaults(r.pid) - faults0,
    fromMs,
    toMs,
  };
}

interface AbResult {
  plainMs: number[];
  watchedMs: number[];
  plainCpu: number[];
  watchedCpu: number[];
  /**
   * Rounds of three (redisAb's `threeRuns`): each round's second unwatched run; the watched run
   * is judged against the mean of the two, and the two against each other are the A/A floor
   * measured in the same rounds (bench/lib/ab-rounds.ts); its run-queue wait, the bench
   * process's CPU and redis's minor faults too, so every watched-vs-unwatched figure takes the
   * mean of the round's two unwatched runs. Undefined: rounds of two.
   */
  plain2Ms?: number[];
  plain2Cpu?: number[];
  plain2Wait?: number[];
  plain2Own?: number[];
  plain2Faults?: number[];
  /** Run-queue wait of redis's threads over each watched run, ms (schedstat). */
  watchedWait: number[];
  plainWait: number[];
  /** The bench process's own CPU time (all its threads: GC, JIT, reading the client) per run, ms. */
  plainOwn: number[];
  watchedOwn: number[];
  /**
   * The watch's CPU time over each watched run (its process, `pagescope watch`: every thread), ms:
   * by its threads' schedstat, and by its utime+stime (10 ms resolution).
   */
  watchCpu: number[];
  watchStat: number[];
  /**
   * The watch's own CPU by its ticks (each tick's ownCpuMs) over the same runs, ms. Shifted by
   * one tick: a tick's figure holds the watching thread's time in the tick BEFORE it, so the sum
   * holds the tick before the run's first and not the tick that covers its end (the process's
   * other threads are counted as they run).
   */
  ticksOwn: number[];
  /** The fault cost each watch calibrated (its done line), us. */
  faultCostUs: number[];
  plainFaults: number[];
  watchedFaults: number[];
  /** Pages the ticks counted as faulted over each watched run. */
  tickFaults: number[];
  est: number[];
  low: number[];
  high: number[];
  firstTick: number[];
  /** Each first tick's figure taken apart: ours, faults, the target's CPU time. */
  firstTickWhy: string[];
  fractions: string[];
  armMs: number[];
  firstPages: number[];
  /** 1-minute load average after each unwatched run. */
  loads: number[];
}

/**
 * Diagnostics: each run (and a watched run's tick lines) as one JSON line appended to the file
 * PAGESCOPE_BENCH_TICKS names, where it is set.
 */
function dumpRun(
  label: string,
  kind: 'P' | 'Q' | 'W' | 'summary',
  run: object,
  ticks?: readonly CliTick[],
): void {
  const file = process.env.PAGESCOPE_BENCH_TICKS;
  if (file) fs.appendFileSync(file, `${JSON.stringify({ label, kind, run, ticks })}\n`);
}

/**
 * `rounds` A-B-B-A rounds of `n` SETs unwatched and watched (armed `leadMs` before the run:
 * 0 = the burst starts right after arming). `threeRuns`: rounds of two unwatched runs and one
 * watched, their order cycling through all six (ab-rounds.ts threeRunOrder), so the A/A noise
 * floor is measured within the rounds.
 */
async function redisAb(
  ctx: BenchContext,
  r: Redis,
  label: string,
  n: number,
  rounds: number,
  maxOverheadPct: number | null,
  leadMs: number,
  threeRuns = false,
): Promise<AbResult> {
  const res: AbResult = {
    plainMs: [],
    watchedMs: [],
    plainCpu: [],
    watchedCpu: [],
    ...(threeRuns
      ? { plain2Ms: [], plain2Cpu: [], plain2Wait: [], plain2Own: [], plain2Faults: [] }
      : {}),
    watchedWait: [],
    plainWait: [],
    plainOwn: [],
    watchedOwn: [],
    watchCpu: [],
    watchStat: [],
    ticksOwn: [],
    faultCostUs: [],
    plainFaults: [],
    watchedFaults: [],
    tickFaults: [],
    est: [],
    low: [],
    high: [],
    firstTick: [],
    firstTickWhy: [],
    fractions: [],
    armMs: [],
    firstPages: [],
    loads: [],
  };
  const plain = async () => {
    // The same idle lead as a watched run: a target idle for a second before its run is
    // scheduled differently from one that ran just before.
    if (leadMs > 0) await sleep(leadMs);
    const p = await setRun(r, n);
    dumpRun(label, 'P', p);
    res.loads.push(os.loadavg()[0]);
    res.plainMs.push(p.ms);
    res.plainCpu.push(p.cpuMs);
    res.plainWait.push(p.waitMs);
    res.plainOwn.push(p.ownMs);
    res.plainFaults.push(p.faults);
  };
  const watched = async () => {
    // `pagescope watch --pid P --writable --interval 100 [--max-overhead PCT] --json`, in a
    // process of its own as a user runs it; the run starts on its start line (armed).
    const w = new CliWatch(r.pid, INTERVAL_MS, maxOverheadPct);
    await whileWatching(w, async () => {
      const start = await w.started;
      if (leadMs > 0) await sleep(leadMs);
      const p = await setRun(r, n, w);
      // The tick that covers the run's end (a burst may end before the first tick of a
      // stretched grid): waited for, up to the longest interval.
      for (let waited = 0; (w.ticks.at(-1)?.atMs ?? 0) < p.toMs && waited < 7000; waited += 50)
        await sleep(50);
      res.watchedMs.push(p.ms);
      res.watchedCpu.push(p.cpuMs);
      res.watchedWait.push(p.waitMs);
      res.watchedOwn.push(p.ownMs);
      res.watchCpu.push(p.watchCpu?.schedMs ?? NaN);
      res.watchStat.push(p.watchCpu?.statMs ?? NaN);
      res.watchedFaults.push(p.faults);
      const inRun = w.ticks.filter(
        (t, i) =>
          t.atMs > p.fromMs && (t.atMs <= p.toMs || (w.ticks[i - 1]?.atMs ?? -Infinity) < p.toMs),
      );
      res.tickFaults.push(inRun.reduce((a, t) => a + t.writtenPages, 0));
      res.ticksOwn.push(inRun.reduce((a, t) => a + t.ownCpuMs, 0));
      const e = estimateOver(w.ticks, p.fromMs, p.toMs);
      res.est.push(e.pct);
      res.low.push(e.low);
      res.high.push(e.high);
      res.armMs.push(start.armMs);
      res.firstPages.push(start.samplePages);
      dumpRun(label, 'W', p, w.ticks);
      const first = w.ticks[0];
      if (first) {
        res.firstTick.push(first.estOverheadPct);
        res.firstTickWhy.push(
          `${f1(first.estOverheadPct)}%=${f1(first.estOwnPct)}% ours(${f1(first.ownCpuMs)} ms)+${first.writtenPages} faults/${f1(first.targetCpuMs)} ms${first.estLowConfidence ? ' low' : ''}`,
        );
      }
      res.fractions.push(
        `${first ? `1/${Math.round(1 / first.sampleFraction)}@${first.intervalMs}` : '-'}`,
      );
    });
    if (w.done) res.faultCostUs.push(w.done.faultCostUs);
  };
  // The round's second unwatched run (rounds of three).
  const plain2 = async () => {
    if (leadMs > 0) await sleep(leadMs);
    const p = await setRun(r, n);
    dumpRun(label, 'Q', p);
    res.loads.push(os.loadavg()[0]);
    res.plain2Ms?.push(p.ms);
    res.plain2Cpu?.push(p.cpuMs);
    res.plain2Wait?.push(p.waitMs);
    res.plain2Own?.push(p.ownMs);
    res.plain2Faults?.push(p.faults);
  };
  for (let i = 0; i < rounds; i++) {
    ctx.log(`  ${label} round ${i + 1}/${rounds}`);
    if (threeRuns) {
      for (const run of threeRunOrder(i))
        await (run === 'P' ? plain() : run === 'Q' ? plain2() : watched());
    } else if (i % 2 === 0) {
      await plain();
      await watched();
    } else {
      await watched();
      await plain();
    }
  }
  return res;
}

let isolated: IsolatedFaultCost | null = null;

/** An isolated fault's cost (overhead.ts, not modelled), once per run, for the notes. */
function isolatedFault(): IsolatedFaultCost {
  isolated ??= calibrateIsolatedFaultCost();
  return isolated;
}

function abCase(
  name: string,
  res: AbResult,
  goal: 'estimate' | 'bound',
  extraNote = '',
): CaseResult {
  const watched = median(res.watchedMs);
  // Round by round (bench/lib/ab-rounds.ts): each watched run against its own round's unwatched
  // run (rounds of three: the mean of the two), and the noise floor (A/A).
  const ab = summarizeAb(res);
  // Each round's unwatched figures: the mean of its two unwatched runs in rounds of three
  // (roundMeans throws where a round lost its second run), else its one.
  const n = ab.rounds;
  const unwatched = (first: number[], second: number[] | undefined): number[] =>
    roundMeans(first.slice(0, n), res.plain2Ms ? (second ?? []) : undefined);
  const refCpu = unwatched(res.plainCpu, res.plain2Cpu);
  const refFaults = unwatched(res.plainFaults, res.plain2Faults);
  const refWait = unwatched(res.plainWait, res.plain2Wait);
  const refOwn = unwatched(res.plainOwn, res.plain2Own);
  const plain = median(unwatched(res.plainMs, res.plain2Ms));
  const ratio = ab.throughput.median;
  const lossPct = (1 - ratio) * 100;
  // Per round: the share of redis's CPU time per request that watching added.
  const cpuLoss = ab.cpuAddedPct.median;
  const est = median(res.est);
  // Faults watching added per run (minflt watched - unwatched, per request of the run), and the
  // redis CPU time each cost (its CPU per request watched - unwatched, over them), with the
  // error of that CPU time (the paired rounds' standard error) carried over.
  const extraFaults = median(res.watchedFaults) - median(refFaults);
  const extraCpuMs = (ab.cpuAddedMean.mean / 100) * median(res.watchedCpu);
  const extraCpuErrMs = (ab.cpuAddedMean.se / 100) * median(res.watchedCpu);
  const usPerExtraFault = extraFaults > 0 ? (extraCpuMs * 1000) / extraFaults : NaN;
  const usPerExtraFaultErr = extraFaults > 0 ? (extraCpuErrMs * 1000) / extraFaults : NaN;
  // How contended redis was while watched: its run-queue wait over its runnable time.
  const waitShare = median(res.watchedWait.map((w, i) => w / (w + res.watchedCpu[i])));
  const fits = estimateFits(est, Math.max(0, lossPct));
  const cpuFits = estimateFits(est, Math.max(0, cpuLoss));
  const bounded = boundHeld(ab, 0.95);
  const firstMax = res.firstTick.length ? Math.max(...res.firstTick) : NaN;
  // The fault cost the watches calibrated, each in its own process (their done lines).
  const calibratedUs = res.faultCostUs.length ? median(res.faultCostUs) : NaN;
  const loads = res.loads.length
    ? `${Math.min(...res.loads).toFixed(1)}-${Math.max(...res.loads).toFixed(1)}`
    : os.loadavg()[0].toFixed(1);
  const note =
    `${ab.rounds} rounds${ab.aaInRound ? ' of three (two unwatched runs, one watched, in all six orders)' : ''}, load ${loads}; per round (median, quartiles): throughput watched ${ratioText(ab.throughput)} of unwatched${ab.aaInRound ? " (the mean of the round's two)" : ''}, CPU per request ${ratioText(ab.cpu)}; ` +
    `medians with their intervals: throughput ${ciText(ab.throughputCi)}, CPU per request ${ciText(ab.cpuCi)}${goal === 'bound' ? ` (bound ${boundVerdict(ab, 0.95)})` : ''}; ` +
    `${ab.aaInRound ? "the round's two unwatched runs against each other" : 'unwatched vs the unwatched run before'} (A/A, the noise floor): throughput ${ratioText(ab.aaThroughput)}, CPU per request ${ratioText(ab.aaCpu)} (medians ${ciText(ab.aaThroughputCi)}, ${ciText(ab.aaCpuCi)}); ` +
    `estimate ${f1(est)}% (${f1(median(res.low))}-${f1(median(res.high))}%), ${fits ? 'within' : 'NOT within'} 1.5x / 3 points of the throughput loss; ` +
    `redis CPU per request +${f1(cpuLoss)}% share (median round; mean ${f1(ab.cpuAddedMean.mean)} ± ${f1(ab.cpuAddedMean.se)}), estimate ${cpuFits ? 'within' : 'NOT within'} 1.5x / 3 points of it; ` +
    `minor faults per run +${Math.round(extraFaults)} watched (the ticks counted ${Math.round(median(res.tickFaults))}), ` +
    `${f1(usPerExtraFault)} ± ${f1(usPerExtraFaultErr)} us of redis CPU per added fault (calibrated ${f1(calibratedUs)} by the watches, median; an isolated one in a memory-bound reader ${f1(isolatedFault().usPerFault)}); redis waited for a CPU ${f1(100 * waitShare)}% of its runnable time watched; first tick's estimate max ${f1(firstMax)}% (each: ${res.firstTickWhy.join(', ')}); first sample@interval ${res.fractions.join(' ')} of ${res.firstPages.join(' ')} pages; arm ${f1(median(res.armMs))} ms (median, as the watch timed it)` +
    // Where the rest goes (measured: the arm is over before the run starts; see the top): the
    // watch's own CPU time in the run, taken from a machine whose two CPUs redis and its
    // client already fill, shows as redis waiting for a CPU.
    `; the watch's CPU per run (its process, all threads) ${f1(median(res.watchCpu))} ms (utime+stime ${f1(median(res.watchStat))} ms; each: ${res.watchCpu.map(f1).join(' ')}; its ticks' ownCpuMs over the run, shifted by one tick (a tick's own thread time shows in the next tick's) ${f1(median(res.ticksOwn))} ms), the bench process's ${f1(median(res.watchedOwn))} ms watched vs ${f1(median(refOwn))} ms unwatched; redis's run-queue wait ${f1(median(res.watchedWait))} vs ${f1(median(refWait))} ms unwatched` +
    `; per round, estimate / CPU added: ${res.est.map((e, i) => `${f1(e)}/${f1((1 - refCpu[i] / res.watchedCpu[i]) * 100)}`).join(' ')}` +
    (extraNote ? `; ${extraNote}` : '');
  return {
    name,
    ours_ms: Number(watched.toFixed(1)),
    reference_ms: Number(plain.toFixed(1)),
    ratio: Number((1 / ratio).toFixed(3)),
    goal:
      goal === 'bound'
        ? 'median round >= 0.95x in throughput and CPU per request; first tick within 5%'
        : 'estimate within 1.5x of the CPU added per request',
    pass: goal === 'bound' ? bounded && !(firstMax > 5) : cpuFits,
    note,
    rounds: ab.rounds,
    throughput_ratio: Number(ratio.toFixed(4)),
    throughput_ratio_q1: Number(ab.throughput.q1.toFixed(4)),
    throughput_ratio_q3: Number(ab.throughput.q3.toFixed(4)),
    cpu_ratio: Number(ab.cpu.median.toFixed(4)),
    cpu_ratio_q1: Number(ab.cpu.q1.toFixed(4)),
    cpu_ratio_q3: Number(ab.cpu.q3.toFixed(4)),
    throughput_ci_lo: Number(ab.throughputCi.lo.toFixed(4)),
    throughput_ci_hi: Number(ab.throughputCi.hi.toFixed(4)),
    cpu_ci_lo: Number(ab.cpuCi.lo.toFixed(4)),
    cpu_ci_hi: Number(ab.cpuCi.hi.toFixed(4)),
    ci_coverage: Number(ab.cpuCi.coverage.toFixed(3)),
    aa_in_round: ab.aaInRound,
    aa_throughput_median: Number(ab.aaThroughput.median.toFixed(4)),
    aa_cpu_median: Number(ab.aaCpu.median.toFixed(4)),
    bound_verdict: goal === 'bound' ? boundVerdict(ab, 0.95) : null,
    round_throughput: ab.roundThroughput.map((x) => Number(x.toFixed(4))),
    round_cpu: ab.roundCpu.map((x) => Number(x.toFixed(4))),
    round_est_pct: res.est.map((x) => Number(x.toFixed(2))),
    round_faults_added: res.watchedFaults.slice(0, n).map((x, i) => x - refFaults[i]),
    aa_throughput_q1: Number(ab.aaThroughput.q1.toFixed(4)),
    aa_throughput_q3: Number(ab.aaThroughput.q3.toFixed(4)),
    aa_cpu_q1: Number(ab.aaCpu.q1.toFixed(4)),
    aa_cpu_q3: Number(ab.aaCpu.q3.toFixed(4)),
    measured_loss_pct: Number(lossPct.toFixed(2)),
    estimated_pct: Number(est.toFixed(2)),
    estimated_low_pct: Number(median(res.low).toFixed(2)),
    estimated_high_pct: Number(median(res.high).toFixed(2)),
    target_cpu_added_pct: Number(cpuLoss.toFixed(2)),
    target_cpu_added_mean_pct: Number(ab.cpuAddedMean.mean.toFixed(2)),
    target_cpu_added_se_pct: Number.isFinite(ab.cpuAddedMean.se)
      ? Number(ab.cpuAddedMean.se.toFixed(2))
      : null,
    faults_added: Math.round(extraFaults),
    faults_counted_by_ticks: Math.round(median(res.tickFaults)),
    us_per_added_fault: Number.isFinite(usPerExtraFault)
      ? Number(usPerExtraFault.toFixed(1))
      : null,
    wait_share_pct: Number.isFinite(waitShare) ? Number((100 * waitShare).toFixed(1)) : null,
    first_tick_est_max_pct: Number.isFinite(firstMax) ? Number(firstMax.toFixed(2)) : null,
    estimate_fits: cpuFits,
    fault_us: Number.isFinite(calibratedUs) ? Number(calibratedUs.toPrecision(4)) : null,
    watch_cpu_ms: res.watchCpu.length ? Number(median(res.watchCpu).toFixed(1)) : null,
    watch_cpu_stat_ms: res.watchStat.length ? Number(median(res.watchStat).toFixed(1)) : null,
    first_tick_est_pcts: res.firstTick.map((x) => Number(x.toFixed(2))),
    isolated_fault_us: Number(isolatedFault().usPerFault.toPrecision(4)),
    load_1m: Number(os.loadavg()[0].toFixed(1)),
    load_min: res.loads.length ? Number(Math.min(...res.loads).toFixed(1)) : null,
    load_max: res.loads.length ? Number(Math.max(...res.loads).toFixed(1)) : null,
  };
}

/** The unwatched SET rate, per ms (to size the runs). */
async function setRate(r: Redis): Promise<number> {
  const n = 200_000;
  const p = await setRun(r, n);
  return n / p.ms;
}

/**
 * PAGESCOPE_BENCH_WATCH_SESSION: where 11f's and 11j's watch runs, 'own' (the default: a session
 * of its own) or 'shared' (the bench's); no other row reads it (pgbenchCase says why it exists).
 */
function watchSession(): 'own' | 'shared' {
  const session = process.env.PAGESCOPE_BENCH_WATCH_SESSION ?? 'own';
  if (session !== 'own' && session !== 'shared')
    throw new Error(`PAGESCOPE_BENCH_WATCH_SESSION=${session}: 'own' or 'shared'`);
  return session;
}

export async function realTargetCases(ctx: BenchContext): Promise<CaseResult[]> {
  const goal = infoGoal('-');
  // Checked once, before any setup (redis, initdb): a bad value fails 11f/11j, at once.
  let sessionProblem: string | null = null;
  try {
    watchSession();
  } catch (err) {
    sessionProblem = `failed: ${(err as Error).message}`;
  }
  const caps = probeCapabilities();
  if (!caps.uffdWpAsync || !caps.pagemapScan)
    return REAL_TARGET_NAMES.map((n) =>
      skippedCase(n, goal, `write watching unavailable: ${caps.uffdProblem ?? 'no PAGEMAP_SCAN'}`),
    );
  const out: CaseResult[] = [];
  const only = ctx.only ?? [];
  if (only.length && !REDIS_NAMES.some((n) => only.some((o) => n.includes(o)))) {
    // no redis row asked for
  } else if (!have('redis-server') || !have('redis-benchmark') || !have('redis-cli')) {
    const why =
      'redis-server or redis-tools not installed (Debian: apt-get install redis-server redis-tools)';
    out.push(...REDIS_NAMES.map((n) => skippedCase(n, goal, why)));
  } else {
    try {
      out.push(...(await redisCases(ctx)));
    } catch (err) {
      const why = `failed: ${(err as Error).message}`;
      out.push(...REDIS_NAMES.map((n) => skippedCase(n, goal, why)));
    }
  }
  for (const [name, hog] of [
    [PGBENCH_NAME, false],
    [PGBENCH_HOG_NAME, true],
  ] as const) {
    if (ctx.only?.length && !ctx.only.some((o) => name.includes(o))) continue;
    if (sessionProblem) {
      out.push(skippedCase(name, goal, sessionProblem));
      continue;
    }
    try {
      out.push(await pgbenchCase(ctx, hog));
    } catch (err) {
      // Its own failure, not the redis rows'.
      out.push(skippedCase(name, goal, `failed: ${(err as Error).message}`));
    }
  }
  return out;
}

async function redisCases(ctx: BenchContext): Promise<CaseResult[]> {
  // --only 11c runs 11c's rounds alone (the redis rows take minutes each).
  const only = ctx.only ?? [];
  const want = (name: string): boolean => only.length === 0 || only.some((o) => name.includes(o));
  // The watched runs run the built CLI (bin/pagescope.mjs -> dist/): built from these sources.
  buildCli(ctx.log);
  const r = await startRedis(ctx);
  const out: CaseResult[] = [];
  try {
    await setRun(r, 200_000); // warm-up
    const rate = await setRate(r);
    const quick = ctx.quick;
    const exactN = Math.round(rate * (quick ? 400 : 1000));
    const burstN = Math.round(rate * 500);
    const longN = Math.round(rate * (quick ? 3000 : 10_000));
    ctx.log(`  unwatched ${Math.round(rate * 1000)} SET/s; runs of ${exactN}, ${burstN}, ${longN}`);
    // Exact: each watched run is slow (~0.1x), so its unwatched size is kept short.
    if (want(REDIS_EXACT_NAME))
      out.push(
        abCase(
          REDIS_EXACT_NAME,
          await redisAb(ctx, r, '11a', Math.round(exactN / 8), quick ? 2 : 4, null, 1000),
          'estimate',
        ),
      );
    if (want(REDIS_BOUNDED_NAME))
      out.push(
        abCase(
          REDIS_BOUNDED_NAME,
          await redisAb(ctx, r, '11b', longN, quick ? 3 : 6, 5, 1000, true),
          'bound',
        ),
      );
    if (want(REDIS_BURST_NAME))
      out.push(
        abCase(
          REDIS_BURST_NAME,
          await redisAb(ctx, r, '11c', burstN, quick ? 6 : 24, 5, 0, true),
          'bound',
        ),
      );
    const hogRows = [REDIS_HOG_EXACT_NAME, REDIS_HOG_BURST_NAME, REDIS_HOG_BOUNDED_NAME];
    if (!hogRows.some(want)) {
      // neither hog row asked for
    } else if (!have('stress-ng')) {
      const why = 'stress-ng not installed (Debian: apt-get install stress-ng)';
      out.push(...hogRows.filter(want).map((n) => skippedCase(n, infoGoal('-'), why)));
    } else {
      // A failure here (the hog not starting, a row failing, the hog ending too soon) fails the
      // hog rows only: 11a/11b/11c before and 11g after stand (as bench 8c/8d's).
      const firstHogRow = out.length;
      let hogEnded = false;
      try {
        const hog = await startHog();
        try {
          const hogRate = await setRate(r);
          ctx.log(`  under the hog: ${Math.round(hogRate * 1000)} SET/s`);
          if (want(REDIS_HOG_EXACT_NAME))
            out.push(
              abCase(
                REDIS_HOG_EXACT_NAME,
                await redisAb(
                  ctx,
                  r,
                  '11d',
                  Math.round((hogRate * (quick ? 400 : 1000)) / 8),
                  quick ? 2 : 4,
                  null,
                  1000,
                ),
                'estimate',
                `unwatched ${Math.round(hogRate * 1000)} SET/s under the hog`,
              ),
            );
          if (want(REDIS_HOG_BURST_NAME))
            out.push(
              abCase(
                REDIS_HOG_BURST_NAME,
                await redisAb(ctx, r, '11e', Math.round(hogRate * 500), quick ? 6 : 24, 5, 0, true),
                'bound',
              ),
            );
          if (want(REDIS_HOG_BOUNDED_NAME))
            out.push(
              abCase(
                REDIS_HOG_BOUNDED_NAME,
                await redisAb(
                  ctx,
                  r,
                  '11h',
                  Math.round(hogRate * (quick ? 3000 : 10_000)),
                  quick ? 3 : 6,
                  5,
                  1000,
                  true,
                ),
                'bound',
                `unwatched ${Math.round(hogRate * 1000)} SET/s under the hog`,
              ),
            );
          // Still running at the rows' end (stress-ng's --timeout is a backstop): else the rows
          // were not measured beside it.
          hogEnded = !hog.running();
          if (hogEnded)
            throw new Error(
              `the hog (stress-ng) ${hog.ended()} before the rows' measurements ended`,
            );
        } finally {
          await hog.stop();
        }
      } catch (err) {
        const why = `failed: ${(err as Error).message}`;
        ctx.log(`  11d/11e/11h ${why}`);
        // A row finished beside a hog that ran on stands; the rest fail.
        if (hogEnded) out.splice(firstHogRow);
        const done = new Set(out.map((c) => c.name));
        out.push(
          ...hogRows
            .filter((n) => want(n) && !done.has(n))
            .map((n) => skippedCase(n, infoGoal('-'), why)),
        );
      }
    }
    if (want(REDIS_WHO_NAME))
      out.push(await redisWhoCase(ctx, r, Math.round(exactN / 8), quick ? 2 : 4));
  } finally {
    await stopRedis(r);
  }
  return out;
}

/**
 * 11g (issue 23): what naming the writers adds to an exact watch. Rounds alternate the watch
 * alone and the watch with fault sampling at period 1 (`--who`); judged, like 11a, by redis's
 * CPU time per run (its throughput is in the note).
 */
async function redisWhoCase(
  ctx: BenchContext,
  r: Redis,
  n: number,
  rounds: number,
): Promise<CaseResult> {
  const cpu: Record<'plain' | 'who', number[]> = { plain: [], who: [] };
  const ms: Record<'plain' | 'who', number[]> = { plain: [], who: [] };
  const one = async (mode: 'plain' | 'who') => {
    // `pagescope watch ... --json [--who]` in its own process (--who-period 1, its default).
    const w = new CliWatch(r.pid, INTERVAL_MS, null, mode === 'who' ? ['--who'] : []);
    await whileWatching(w, async () => {
      await w.started;
      await sleep(1000); // armed and past its first ticks, as 11a
      const p = await setRun(r, n);
      cpu[mode].push(p.cpuMs);
      ms[mode].push(p.ms);
    });
  };
  for (let i = 0; i < rounds; i++) {
    ctx.log(`  11g round ${i + 1}/${rounds}`);
    const order: Array<'plain' | 'who'> = i % 2 === 0 ? ['plain', 'who'] : ['who', 'plain'];
    for (const m of order) await one(m);
  }
  const ours = median(cpu.who);
  const reference = median(cpu.plain);
  return {
    name: REDIS_WHO_NAME,
    ours_ms: Number(ours.toFixed(1)),
    reference_ms: Number(reference.toFixed(1)),
    ratio: Number((ours / reference).toFixed(3)),
    goal: 'info: redis CPU per run, --who vs the watch alone',
    pass: null,
    note:
      `ours and reference are redis's CPU ms over a run of ${n} SETs, median of ${rounds} each; ` +
      `throughput with --who ${(median(ms.plain) / median(ms.who)).toFixed(3)}x of the watch alone`,
  };
}

// ---- postgres ----

/**
 * Stop a child: `signal`, then SIGKILL if it has not exited in 10 s; resolves when it has
 * exited (at once if it already had).
 */
async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((res) => child.once('exit', res));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/**
 * The backend's scheduler figures at a window's boundary (one thread): its schedstat (CPU time,
 * run-queue wait, timeslices), its context switches (/proc/PID/status) and migrations between
 * CPUs (/proc/PID/sched, where the kernel has it). Where its extra CPU under a hog goes (11j).
 */
function schedSnap(pid: number): {
  cpuMs: number;
  waitMs: number;
  slices: number;
  vcs: number;
  ivcs: number;
  migrations: number;
} {
  const ss = fs.readFileSync(`/proc/${pid}/schedstat`, 'latin1').split(' ');
  const [vcs, ivcs] = contextSwitches(pid);
  let migrations = NaN;
  try {
    const m = /se\.nr_migrations\s*:\s*(\d+)/.exec(fs.readFileSync(`/proc/${pid}/sched`, 'latin1'));
    if (m) migrations = Number(m[1]);
  } catch {
    // no CONFIG_SCHED_DEBUG
  }
  return {
    cpuMs: Number(ss[0]) / 1e6,
    waitMs: Number(ss[1]) / 1e6,
    slices: Number(ss[2]),
    vcs,
    ivcs,
    migrations,
  };
}

/**
 * Each process's scheduler group: /proc/PID/autogroup ("/autogroup-N nice 0") and its cpu
 * cgroup (v1 `cpu,...:` or v2 `0::` line of /proc/PID/cgroup), as `name ag-N cg-PATH`.
 */
function schedGroups(pids: Record<string, number | undefined>): string {
  const read = (f: string): string => {
    try {
      return fs.readFileSync(f, 'latin1');
    } catch {
      return '';
    }
  };
  return Object.entries(pids)
    .map(([name, pid]) => {
      if (pid === undefined) return `${name} -`;
      const ag = /autogroup-(\d+)/.exec(read(`/proc/${pid}/autogroup`))?.[1] ?? '?';
      const cg =
        read(`/proc/${pid}/cgroup`)
          .split('\n')
          .find((l) => /^\d+:[^:]*\bcpu\b[^:]*:/.test(l) || l.startsWith('0::'))
          ?.split(':')[2] ?? '?';
      return `${name} ag-${ag} cg-${cg}`;
    })
    .join(', ');
}

/** A process's CPU time so far, ms: its threads' schedstat (ns), summed; NaN when gone. */
function processCpuMs(pid: number): number {
  try {
    let ns = 0;
    for (const t of fs.readdirSync(`/proc/${pid}/task`))
      ns += Number(fs.readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'latin1').split(' ')[0]);
    return ns / 1e6;
  } catch {
    return NaN;
  }
}

/**
 * 11f, and with `hog` 11j: the same pgbench load beside `stress-ng --cpu 2` (startHog), started
 * after the cluster is initialised and stopped with the run. Under the hog the backend's CPU per
 * transaction swings more window to window (the hand-run 11f beside a hog read +5 to +14% in three
 * runs, its A/A 0.97-1.13x), so 11j runs rounds of three (two unwatched windows and the watched
 * one, in all six orders, 24 rounds; 6 with --quick), the A/A floor within its rounds, and says
 * whether a miss is measurable (ab-rounds.ts estimateVerdict). 24, not 12: the pgbench pair
 * flips for seconds at a time into a slow mode (+20-35% a window) in some windows of either kind,
 * and four runs of 12 rounds read +4.5 to +7.0% for one pooled +4.9% (48 rounds).
 */
export async function pgbenchCase(ctx: BenchContext, hog = false): Promise<CaseResult> {
  const NAME = hog ? PGBENCH_HOG_NAME : PGBENCH_NAME;
  const label = hog ? '11j' : '11f';
  const goal = infoGoal('-');
  const bin = postgresBin();
  const pg = (name: string): string | null =>
    bin && fs.existsSync(path.join(bin, name)) ? path.join(bin, name) : null;
  const initdb = pg('initdb');
  const postgres = pg('postgres');
  const pgbench = pg('pgbench');
  if (!initdb || !postgres || !pgbench)
    return skippedCase(NAME, goal, 'postgresql (initdb, postgres) or pgbench not installed');
  if (hog && !have('stress-ng'))
    return skippedCase(NAME, goal, 'stress-ng not installed (Debian: apt-get install stress-ng)');
  // postgres refuses to run as root: an unprivileged user of its own.
  const user = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const grp = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  const isRoot = process.getuid?.() === 0;
  if (isRoot && user.status !== 0)
    return skippedCase(NAME, goal, 'no "postgres" user to run the server as');
  const ids = isRoot ? { uid: Number(user.stdout), gid: Number(grp.stdout) } : {};
  buildCli(ctx.log); // the watch is the built CLI: built before the server and its load start
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagescope-pg-'));
  fs.chmodSync(dir, 0o777);
  const data = path.join(dir, 'data');
  const port = await freePort();
  let server: ChildProcess | null = null;
  let bench: ChildProcess | null = null;
  let hogProc: Hog | null = null;
  try {
    await run(initdb, ['-D', data, '-A', 'trust', '-U', 'bench', '--no-sync'], ids);
    server = spawn(
      postgres,
      [
        '-D',
        data,
        '-p',
        String(port),
        '-k',
        dir,
        '-c',
        'listen_addresses=',
        '-c',
        'fsync=off',
        '-c',
        'shared_buffers=128MB',
      ],
      { stdio: 'ignore', ...ids },
    );
    const conn = ['-h', dir, '-p', String(port), '-U', 'bench'];
    for (let i = 0; ; i++) {
      try {
        await run(pgbench, [...conn, '-i', '-s', '10', '-q', 'postgres'], ids);
        break;
      } catch (err) {
        if (i > 50) throw err;
        await sleep(200);
      }
    }
    // Interleaved rounds (bench/lib/ab-rounds.ts): one pgbench run, cut into windows of
    // WINDOW_S, unwatched and watched in turn (A-B, then B-A), each round's watched window
    // compared with its own unwatched one. One A-B-A of 5 s parts read +8 to +15% (and -6 to
    // +29% on a busy machine) run to run. Transactions per window are counted from pgbench's
    // per-transaction log (-l: each line's end time), not its 1 s progress lines.
    // pgbench runs until it is stopped (SIGINT) after the last window: -T is only a backstop, so
    // no window can outlast the run (a backend gone mid-window) or straddle its end.
    const threeRuns = hog;
    // Where the watch runs (PAGESCOPE_BENCH_WATCH_SESSION, 11f/11j only): 'own' (the default) a session of its
    // own, as a user's terminal is (this VM: sched_autogroup_enabled=1, everything in the root cpu
    // cgroup, so a session is a scheduler autogroup); 'shared' the bench's session, the autogroup
    // of the bench, the postmaster and pgbench. Never the backend's: postgres's children call
    // setsid(), so each backend is an autogroup of its own (the note lists each process's).
    // Measured 2026-12-06 (11j, 24 rounds a run, load 3.2-3.4, interleaved own/shared by run):
    // own +5.4, +4.9, +4.4% backend CPU per transaction (tps 0.94, 0.94, 0.94x; the backend's CPU
    // share of the wall -1.1, -1.4, -0.8 points of ~81%), shared +3.0, +3.1, +2.8% (0.98, 0.96,
    // 0.97x; -0.2, -1.2, -0.4 points), estimate 3.7-4.2% (own part 1.0-1.5%), met in all six.
    // Sharing pgbench's group, the watch's time comes out of it, not more out of the backend's;
    // pooled (72 rounds each) own +4.8% [95% 3.4-7.2] against shared +2.9% [2.0-4.7], a
    // difference within the noise (permutation p 0.13). So 'own', as users run it, stays.
    const session = watchSession(); // checked by realTargetCases before any row's setup
    const rounds = hog ? (ctx.quick ? 6 : 24) : ctx.quick ? 4 : 6;
    const windowS = 3;
    const seconds = 3600;
    if (hog) hogProc = await startHog();
    ctx.log(
      `  pgbench -c 1: ${rounds} rounds of ${windowS} s windows${threeRuns ? ' (rounds of three)' : ''}${hog ? ' under stress-ng --cpu 2' : ''}`,
    );
    const logPrefix = path.join(dir, 'pgbench_log');
    bench = spawn(
      pgbench,
      [
        ...conn,
        '-c',
        '1',
        '-j',
        '1',
        '-T',
        String(seconds),
        '-n',
        '-l',
        '--log-prefix',
        logPrefix,
        'postgres',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir, ...ids },
    );
    const pgb = bench;
    let text = '';
    pgb.stdout!.on('data', (d: Buffer) => (text += d.toString()));
    pgb.stderr!.on('data', (d: Buffer) => (text += d.toString()));
    // Its log: PREFIX.PID (-j 1: one file).
    const logFile = `${logPrefix}.${pgb.pid}`;
    const started = performance.now();
    // The backend: the server's child whose command line names the pgbench connection, found
    // twice 300 ms apart (pgbench first opens and closes a connection of its own to read the
    // scale).
    let backend = 0;
    let seen = new Set<number>();
    for (let i = 0; i < 50 && !backend; i++) {
      await sleep(300);
      const now = new Set<number>();
      for (const p of fs.readdirSync('/proc')) {
        if (!/^\d+$/.test(p)) continue;
        try {
          const stat = fs.readFileSync(`/proc/${p}/stat`, 'latin1');
          const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
          const cmd = fs.readFileSync(`/proc/${p}/cmdline`, 'latin1');
          if (ppid === server.pid && cmd.includes('bench postgres')) now.add(Number(p));
        } catch {
          // gone
        }
      }
      backend = [...now].find((p) => seen.has(p)) ?? 0;
      seen = now;
    }
    if (!backend) throw new Error('the pgbench backend was not found');
    // The backend's CPU time and minor faults at each boundary (one thread: its schedstat),
    // with the wall clock the transaction log is stamped by.
    const snap = () => {
      try {
        const st = fs.readFileSync(`/proc/${backend}/stat`, 'latin1');
        return {
          at: performance.now(),
          epochUs: Date.now() * 1000,
          faults: Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[7]),
          ...schedSnap(backend),
          clientMs: processCpuMs(pgb.pid!),
          // The bench's own process (in the pair's autogroup): it reads the watch's lines.
          benchMs: processCpuMs(process.pid),
        };
      } catch (err) {
        throw new Error(
          `the pgbench backend ${backend} is gone (pgbench ${pgb.exitCode === null ? 'running' : `exited ${pgb.exitCode}`}): ${String(err)}; ${text.slice(0, 300)}`,
        );
      }
    };
    type Snap = ReturnType<typeof snap>;
    await sleep(Math.max(0, 1500 - (performance.now() - started)));
    const plainSpans: [Snap, Snap][] = [];
    const plain2Spans: [Snap, Snap][] = [];
    const watchedSpans: [Snap, Snap][] = [];
    const watchCpuMs: number[] = [];
    const est: ReturnType<typeof estimateOver>[] = [];
    const tickPages: number[] = [];
    const faultCosts: number[] = [];
    const plainWindow = async (spans: [Snap, Snap][], kind: 'P' | 'Q') => {
      const a = snap();
      await sleep(windowS * 1000);
      const b = snap();
      spans.push([a, b]);
      dumpRun(label, kind, { a, b });
    };
    // `pagescope watch --pid BACKEND --writable --interval 100 --json` in its own process; the
    // window starts on its start line (armed).
    let groups = '';
    const watchedWindow = async () => {
      const w = new CliWatch(backend, INTERVAL_MS, null, [], session === 'own');
      const [a, b] = await whileWatching(w, async () => {
        await w.started;
        if (!groups)
          groups = schedGroups({
            bench: process.pid,
            server: server!.pid,
            backend,
            pgbench: pgb.pid,
            watch: w.child.pid,
            hog: hogProc?.pid,
          });
        w.cpuSinceLast();
        const atStart = snap();
        await sleep(windowS * 1000);
        const atEnd = snap();
        watchCpuMs.push(w.cpuSinceLast().schedMs ?? NaN);
        // The tick that covers the window's end.
        for (let waited = 0; (w.ticks.at(-1)?.atMs ?? 0) < atEnd.at && waited < 2000; waited += 50)
          await sleep(50);
        return [atStart, atEnd] as const;
      });
      watchedSpans.push([a, b]);
      dumpRun(label, 'W', { a, b }, w.ticks);
      est.push(estimateOver(w.ticks, a.at, b.at));
      const inRun = w.ticks.filter((t) => t.atMs > a.at && t.atMs <= b.at);
      tickPages.push(...inRun.map((t) => t.writtenEst));
      if (w.done) faultCosts.push(w.done.faultCostUs);
    };
    for (let i = 0; i < rounds; i++) {
      ctx.log(`  ${label} round ${i + 1}/${rounds}`);
      const order = threeRuns ? threeRunOrder(i) : i % 2 === 0 ? 'PW' : 'WP';
      for (const k of order)
        await (k === 'W'
          ? watchedWindow()
          : plainWindow(k === 'P' ? plainSpans : plain2Spans, k === 'P' ? 'P' : 'Q'));
      if (pgb.exitCode !== null)
        throw new Error(`pgbench exited (${pgb.exitCode}) mid-run: ${text.slice(0, 300)}`);
    }
    // The windows were all beside the hog (its --timeout is a backstop), or the row fails.
    if (hogProc && !hogProc.running())
      throw new Error(`the hog (stress-ng) ${hogProc.ended()} before the last window ended`);
    // Stop pgbench once its log on disk (written through a stdio buffer, which a SIGINT loses)
    // holds a transaction that ended after the last window (up to 10 s), then wait for it.
    const lastWindowEnd = Math.max(
      ...[...plainSpans, ...plain2Spans, ...watchedSpans].map(([, b]) => b.epochUs),
    );
    const readLog = (): string => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '');
    // The log's last 64 KiB, from its first whole line.
    const logTail = (): string => {
      if (!fs.existsSync(logFile)) return '';
      const fd = fs.openSync(logFile, 'r');
      try {
        const size = fs.fstatSync(fd).size;
        const buf = Buffer.alloc(Math.min(size, 65_536));
        fs.readSync(fd, buf, 0, buf.length, size - buf.length);
        const t = buf.toString('latin1');
        return size > buf.length ? t.slice(t.indexOf('\n') + 1) : t;
      } finally {
        fs.closeSync(fd);
      }
    };
    for (let waited = 0; waited < 10_000 && pgb.exitCode === null; waited += 100) {
      if (lastTxEnd(logTail()) >= lastWindowEnd) break;
      await sleep(100);
    }
    await stopChild(pgb, 'SIGINT');
    // The per-transaction log: each completed transaction's end (bench/lib/tx-log.ts).
    const ends = txEnds(readLog());
    // Rounds whose windows both end by the last logged transaction (the log's lost tail can
    // only miss a later window's transactions); the rest are dropped, not undercounted.
    const done = Math.min(
      plainSpans.length,
      watchedSpans.length,
      threeRuns ? plain2Spans.length : Infinity,
    );
    const kept = [...Array(done).keys()].filter(
      (i) =>
        loggedThrough(ends, plainSpans[i][1].epochUs) &&
        loggedThrough(ends, watchedSpans[i][1].epochUs) &&
        (!threeRuns || loggedThrough(ends, plain2Spans[i][1].epochUs)),
    );
    const dropped = done - kept.length;
    const n = kept.length;
    if (n < 2)
      throw new Error(
        `too few rounds logged (${n} of ${plainSpans.length}; ${ends.length} transactions): ${text.slice(0, 300)}`,
      );
    const per = (spans: [Snap, Snap][]) =>
      kept.map((i) => {
        const [a, b] = spans[i];
        const tx = txBetween(ends, a.epochUs, b.epochUs);
        return {
          msPerTx: (b.at - a.at) / tx,
          cpuPerTx: (b.cpuMs - a.cpuMs) / tx,
          faultsPerTx: (b.faults - a.faults) / tx,
          // Where the CPU goes (per transaction): run-queue wait (ms), timeslices, voluntary
          // and involuntary switches, migrations; the client's CPU (ms).
          waitPerTx: (b.waitMs - a.waitMs) / tx,
          slicesPerTx: (b.slices - a.slices) / tx,
          vcsPerTx: (b.vcs - a.vcs) / tx,
          ivcsPerTx: (b.ivcs - a.ivcs) / tx,
          migPerTx: (b.migrations - a.migrations) / tx,
          clientPerTx: (b.clientMs - a.clientMs) / tx,
          // The bench process's CPU, % of a CPU over the window.
          benchPct: ((b.benchMs - a.benchMs) / (b.at - a.at)) * 100,
          tx,
        };
      });
    const plain1 = per(plainSpans);
    const plain2 = threeRuns ? per(plain2Spans) : null;
    const watched = per(watchedSpans);
    dumpRun(label, 'summary', {
      rounds: kept,
      plain1,
      plain2,
      watched,
      est: kept.map((i) => est[i]),
    });
    // Each round's unwatched reference: the mean of its two windows (rounds of three), or its one.
    type Per = (typeof plain1)[number];
    const plain: Per[] = plain1.map((p, i) => {
      const q = plain2?.[i];
      if (!q) return p;
      const out = { ...p };
      for (const k of Object.keys(p) as (keyof Per)[]) out[k] = (p[k] + q[k]) / 2;
      return out;
    });
    // Rounds of per-transaction readings (ab-rounds.ts), by wall time and by `cpu`'s CPU time.
    const roundsOf = (cpu: (p: Per) => number) =>
      summarizeAb({
        plainMs: plain1.map((p) => p.msPerTx),
        watchedMs: watched.map((p) => p.msPerTx),
        plainCpu: plain1.map(cpu),
        watchedCpu: watched.map(cpu),
        ...(plain2 ? { plain2Ms: plain2.map((p) => p.msPerTx), plain2Cpu: plain2.map(cpu) } : {}),
      });
    const s = roundsOf((p) => p.cpuPerTx);
    // pgbench's own CPU per transaction, the same way: it is never watched, so what moves it is
    // the machine (a neighbour's burst, where the scheduler put the pair and the hog), which moves
    // the backend's too (11j, in the pair's slow mode, watched or not: the backend's ~1.3x,
    // pgbench's ~2x).
    const client = roundsOf((p) => p.clientPerTx);
    // The backend's CPU per transaction against pgbench's, round by round (each ratio over the
    // client's): what the backend paid that its client did not, the part of the cost the
    // backend's own pages bring (faults, flushes), against the estimate less its own-CPU part.
    // Measured (11j probes, 2026-12-06, under the hog, 12-18 rounds each): +1.0, +1.8, +1.5%
    // watched, -0.9 to -2.6% for a watch of another process (the checkpointer, or a sleeping
    // process), while the raw reading swung +0.7 to +6.1% run to run.
    const adjusted = s.roundCpu.map((r, j) => r / client.roundCpu[j]);
    const adjustedCi = medianCi(adjusted);
    const ownPct = median(kept.map((i) => est[i].own));
    const estPct = median(kept.map((i) => est[i].pct));
    const estLow = median(kept.map((i) => est[i].low));
    const estHigh = median(kept.map((i) => est[i].high));
    const cpuAdded = s.cpuAddedPct.median;
    const lossPct = (1 - s.throughput.median) * 100;
    const addedFaultsPerTx = median(watched.map((w, i) => w.faultsPerTx - plain[i].faultsPerTx));
    const usPerAddedFault = median(
      watched.map(
        (w, i) =>
          ((w.cpuPerTx - plain[i].cpuPerTx) * 1000) / (w.faultsPerTx - plain[i].faultsPerTx),
      ),
    );
    const verdict = estimateVerdict(s, estPct);
    // Met: the estimate within 1.5x / 3 points of the median round's CPU added.
    const cpuFits = verdict === 'met';
    const fits = estimateFits(estPct, Math.max(0, lossPct));
    const pct = (x: { q1: number; median: number; q3: number }) =>
      `${f1(x.median)}% (${f1(x.q1)} to ${f1(x.q3)})`;
    // Watched against unwatched, per transaction, median of the rounds' differences.
    const diff = (k: keyof Per, scale = 1): string => {
      const d = median(watched.map((w, i) => (w[k] - plain[i][k]) * scale));
      const u = median(plain.map((p) => p[k] * scale));
      return `${f1(u)} -> ${f1(u + d)}`;
    };
    // The pair's mode in a window (11j, measured): a backend preempted by pgbench's wakeup on its
    // own CPU (involuntary switches, ~7 a transaction) runs a transaction in ~112 us of CPU; one
    // that sleeps and is woken from the other CPU (voluntary) in 144-148 us, its client 2x.
    const slow = (rows: Per[]): number => rows.filter((r) => r.vcsPerTx > r.ivcsPerTx).length;
    const sched =
      `per transaction, unwatched -> watched (median): run-queue wait ${diff('waitPerTx', 1000)} us, ` +
      `timeslices ${diff('slicesPerTx')}, voluntary switches ${diff('vcsPerTx')}, involuntary ${diff('ivcsPerTx')}, ` +
      `migrations ${diff('migPerTx')}, pgbench's CPU ${diff('clientPerTx', 1000)} us; the watch's CPU ${f1(median(watchCpuMs) / windowS / 10)}% of a CPU (session: ${session}; ${groups}), the bench process's ${diff('benchPct')}% of a CPU; ` +
      `windows in the slow mode (most of the backend's switches voluntary: it sleeps and is woken across CPUs instead of being preempted by pgbench's wakeup on its own; the backend ~1.3x the CPU per transaction, 144-148 us against ~112, pgbench 2x) watched ${slow(watched)} of ${n}, unwatched ${slow(plain1) + (plain2 ? slow(plain2) : 0)} of ${plain2 ? 2 * n : n}`;
    return {
      name: NAME,
      ours_ms: null,
      reference_ms: null,
      ratio: Number((1 / s.throughput.median).toFixed(3)),
      goal: 'estimate within 1.5x of the CPU added per transaction',
      pass: cpuFits,
      note:
        `${hog ? 'under stress-ng --cpu 2, ' : ''}${n} interleaved rounds${threeRuns ? ' of three (two unwatched windows, one watched, in all six orders)' : ''} of ${windowS} s windows${dropped ? ` (${dropped} dropped: past the last logged transaction)` : ''}, load ${os.loadavg()[0].toFixed(1)} (median, quartiles): ` +
        `tps watched ${ratioText(s.throughput)} of unwatched (A/A ${ratioText(s.aaThroughput)}); ` +
        `backend CPU per transaction +${pct(s.cpuAddedPct)} share (${(median(plain.map((p) => p.cpuPerTx)) * 1000).toFixed(0)} -> ${(median(watched.map((p) => p.cpuPerTx)) * 1000).toFixed(0)} us; A/A ${ratioText(s.aaCpu)}); ` +
        `medians with their intervals: CPU per transaction ${ciText(s.cpuCi)} (A/A ${ciText(s.aaCpuCi)}), tps ${ciText(s.throughputCi)}; ` +
        `estimate ${f1(estPct)}% (${f1(estLow)}-${f1(estHigh)}%), ${cpuFits ? 'within' : 'NOT within'} 1.5x / 3 points of the CPU added (${verdict}), ${fits ? 'within' : 'NOT within'} of the loss; ` +
        `${sched}; ` +
        `pgbench's own CPU per transaction (never watched: the machine's control) ${ciText(client.cpuCi)} (A/A ${ciText(client.aaCpuCi)}); ` +
        `the backend's against it (per round, backend ratio over pgbench's) ${ciText(adjustedCi)}: ${(1 - adjustedCi.median) * 100 >= 0 ? '+' : ''}${f1((1 - adjustedCi.median) * 100)}% against the estimate less its own-CPU part ${f1(estPct - ownPct)}% (own ${f1(ownPct)}%); ` +
        `per round, estimate / CPU added: ${kept.map((i, j) => `${f1(est[i].pct)}/${f1((1 - plain[j].cpuPerTx / watched[j].cpuPerTx) * 100)}`).join(' ')}; ` +
        `minor faults +${f1(addedFaultsPerTx)} a transaction, ${f1(usPerAddedFault)} us of backend CPU per added fault (calibrated ${f1(median(faultCosts))} by the watch); ` +
        `faulted pages per tick median ${median(tickPages)}`,
      target_cpu_added_pct: Number(cpuAdded.toFixed(2)),
      target_cpu_added_q1: Number(s.cpuAddedPct.q1.toFixed(2)),
      target_cpu_added_q3: Number(s.cpuAddedPct.q3.toFixed(2)),
      us_per_added_fault: Number.isFinite(usPerAddedFault)
        ? Number(usPerAddedFault.toFixed(1))
        : null,
      throughput_ratio: Number(s.throughput.median.toFixed(4)),
      measured_loss_pct: Number(lossPct.toFixed(2)),
      estimated_pct: Number(estPct.toFixed(2)),
      estimated_low_pct: Number(estLow.toFixed(2)),
      estimated_high_pct: Number(estHigh.toFixed(2)),
      estimate_fits: cpuFits,
      estimate_verdict: verdict,
      aa_in_round: s.aaInRound,
      cpu_ci_lo: Number(s.cpuCi.lo.toFixed(4)),
      cpu_ci_hi: Number(s.cpuCi.hi.toFixed(4)),
      ci_coverage: Number(s.cpuCi.coverage.toFixed(3)),
      aa_cpu_median: Number(s.aaCpu.median.toFixed(4)),
      client_cpu_ratio: Number(client.cpu.median.toFixed(4)),
      adjusted_cpu_ratio: Number(adjustedCi.median.toFixed(4)),
      adjusted_ci_lo: Number(adjustedCi.lo.toFixed(4)),
      adjusted_ci_hi: Number(adjustedCi.hi.toFixed(4)),
      estimated_own_pct: Number(ownPct.toFixed(2)),
      watch_session: session,
      watch_cpu_pct: Number((median(watchCpuMs) / windowS / 10).toFixed(2)),
      sched_groups: groups,
      slow_windows_watched: slow(watched),
      slow_windows_unwatched: slow(plain1) + (plain2 ? slow(plain2) : 0),
      client_aa_cpu_median: Number(client.aaCpu.median.toFixed(4)),
      round_client_cpu: client.roundCpu.map((x) => Number(x.toFixed(4))),
      round_cpu: s.roundCpu.map((x) => Number(x.toFixed(4))),
      round_est_pct: kept.map((i) => Number(est[i].pct.toFixed(2))),
      rounds: n,
      load_1m: Number(os.loadavg()[0].toFixed(1)),
    };
  } finally {
    // pgbench first (a server shutting down under it would end it with an error), then the
    // server; on an error too. Each: its signal, then SIGKILL if it has not gone in 10 s.
    if (bench) await stopChild(bench, 'SIGINT');
    if (hogProc) await hogProc.stop();
    if (server) await stopChild(server, 'SIGINT');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
