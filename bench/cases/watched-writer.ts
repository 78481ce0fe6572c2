/**
 * Case 8: what being watched costs a writer. A C target writes one byte to random pages of
 * 1 GiB for a fixed time (bench/c/target.c "r MS") and reports how many writes it made; the
 * figure is ms per million writes, watched (WriteWatcher armed on the whole mapping, ticking
 * every 100 ms in this process while the target writes) against unwatched, alternating round by
 * round. Watched, every page written in a tick takes one write-protect fault (KERNEL-NOTES
 * "Cost of being watched"); the note compares the measured slowdown with overhead.ts's estimate,
 * made from what the watch driver makes it from (the ticks' faulted pages at the calibrated
 * cost, the re-protect's flushes, this process's CPU time, the writer's CPU time and wait:
 * core/watch/tick-figures.ts), as the --max-overhead controller of 8b/8d is fed. (The exact watch costs the
 * writer nearly all its time, so the VM's drift between runs does not matter here.)
 *
 * Case 8b: the same writer watched under `--max-overhead 5`: after every tick the
 * OverheadBudget controller (core/watch/overhead-budget.ts, as the watch driver uses it) sets
 * the watcher's sample fraction and the interval's stretch, measured in its steady state (as a
 * watch of minutes has it). Goal: throughput >= 0.95x of unwatched. A 5% effect is far below
 * this VM's drift between runs (the unwatched rate moves by up to 40% within seconds), so the
 * cost is read off the writer's own write rate per 10 ms slot: the dip after each tick against
 * the rate later in the same interval (bench/lib/write-dips.ts). The note compares it with the
 * controller's estimate, and the written-page estimate with the pages the writer wrote: its
 * writes are uniform over the 1 GiB, so W writes in an interval touch N(1 - e^(-W/N)) distinct
 * pages of N (expected value). Each watched run is followed by an unwatched one of the same
 * length, for the dip reading's floor (the same reading over ticks where none were) and the
 * writer's CPU time per write (its threads' schedstat), watched against unwatched. The watch
 * stays armed throughout, so each watched run starts with an unmeasured tick (its first interval
 * faults as a watch running on has it) and ends with unmeasured writes that take the faults its
 * last tick left (drain): the watched run pays the steady cost, the unwatched none of ours.
 *
 * Cases 8c and 8d (issue 22, "the C writer ... under the CPU hog"): 8 and 8b beside
 * `stress-ng --cpu 2`, started detached (in a session, so an autogroup, of its own, as a
 * neighbour's hog would be; the writer and this process share the bench's) as bench 11's hog
 * rows start it, killed and awaited after; the fault cost calibrated beside it, as a watch
 * started then would be. The notes give how contended the writer was: its run-queue wait over
 * its runnable time (schedstat), watched and unwatched. 8c is judged as 8 reads it (throughput
 * lost, and the writer's CPU per write, against the median tick's estimate). 8d is judged in
 * rounds of three (bench/lib/ab-rounds.ts: two unwatched runs and the watched one, in all six
 * orders): the median round's throughput and the writer's CPU per write >= 0.95x, and the
 * estimate within 1.5x / 3 points of the CPU per write that watching added. Not by the dips:
 * beside a hog the writer's rate per 10 ms slot is the hog's time slicing as much as our ticks,
 * and the tick's own wake-up (this process, in the writer's autogroup) moves when the scheduler
 * runs the writer, in phase with the tick; the dip reading is kept in the note with its floor.
 */
import os from 'node:os';
import { probeCapabilities } from '../../core/kernel/capabilities.ts';
import { RegionList } from '../../core/scan/region-list.ts';
import {
  calibrateFaultCost,
  MachineCpuClock,
  faultCost,
  TargetCpuClock,
  type FaultCost,
  type OverheadEstimate,
  type ReprotectFlushes,
} from '../../core/watch/overhead.ts';
import { OverheadBudget } from '../../core/watch/overhead-budget.ts';
import {
  tickEstimate,
  tickFlushes,
  tickLoad,
  type TickReadings,
} from '../../core/watch/tick-figures.ts';
import { WriteWatcher, type WatchTick } from '../../core/watch/watcher.ts';
import { startHog } from '../lib/hog.ts';
import { startTarget, type Target } from '../lib/native.ts';
import { have } from '../../testing/ports.ts';
import {
  estimateFits,
  goalAtMost,
  infoGoal,
  makeCase,
  median,
  skippedCase,
  type CaseResult,
} from '../lib/stats.ts';
import { timeLostToTicks, type SlotRun } from '../lib/write-dips.ts';
import {
  boundHeld,
  boundVerdict,
  ciText,
  ratioText,
  summarizeAb,
  threeRunOrder,
} from '../lib/ab-rounds.ts';
import type { BenchContext } from './context.ts';

const PAGES = 262144; // 1 GiB
const INTERVAL_MS = 100;
const SLOT_MS = 10;

export const WATCHED_WRITER_NAME =
  '8 watched writer: random page writes in 1 GiB, exact watch at 100 ms vs unwatched (C)';
export const BOUNDED_WRITER_NAME =
  '8b watched writer under --max-overhead 5: time per write vs unwatched (C)';
export const HOG_WATCHED_WRITER_NAME =
  '8c watched writer under stress-ng --cpu 2: exact watch at 100 ms vs unwatched (C)';
export const HOG_BOUNDED_WRITER_NAME =
  '8d watched writer under --max-overhead 5 and stress-ng --cpu 2: time per write vs unwatched (C)';
export const WATCHED_WRITER_NAMES = [
  WATCHED_WRITER_NAME,
  BOUNDED_WRITER_NAME,
  HOG_WATCHED_WRITER_NAME,
  HOG_BOUNDED_WRITER_NAME,
];

/** One pair of rows: 8/8b on a quiet machine, 8c/8d beside a CPU hog. */
interface Variant {
  exactName: string;
  boundedName: string;
  /** The rows' tag in progress lines and notes. */
  exactTag: string;
  boundedTag: string;
  /** The fault cost the watch calibrated (as the CLI does at its start: under the hog for 8c/8d). */
  cost: FaultCost;
  /** Beside `stress-ng --cpu 2`: the rows' verdict is issue 22's criterion. */
  hog: boolean;
}

/**
 * A controller run after each tick (the --max-overhead hook), given what the watch driver
 * makes of the tick (core/watch/tick-figures.ts: its flushes, its estimate, the clocks'
 * readings); returns the interval's stretch for the next tick. null = exact watch at INTERVAL_MS.
 * The readings' ownMs is this process's CPU time since the tick before, all threads (it does
 * nothing else while the writer writes: the tick, its figures, reading the writer's answer); on
 * a watch's first tick 0, not measured (the driver's first tick carries its other threads' CPU
 * time since the arm instead, also not measured: neither is a tick's own cost).
 */
export type TickControl =
  | ((
      w: WriteWatcher,
      tick: WatchTick,
      flushes: ReprotectFlushes,
      est: OverheadEstimate,
      readings: TickReadings,
    ) => number)
  | null;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const goalInfo = () => infoGoal('info: watched / unwatched time per write');
/** This process's CPU time, all threads, us. */
const processCpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/** The target writes for `ms`; returns its write count. */
async function writeFor(t: Target, ms: number): Promise<number> {
  t.proc.send(`r ${ms}`);
  const answer = (await t.proc.line()).split(' ');
  return Number(answer[1]);
}

/** The target writes for `ms`, counting its writes per SLOT_MS. */
async function writeInSlots(t: Target, ms: number): Promise<SlotRun> {
  t.proc.send(`r ${ms} ${SLOT_MS}`);
  const [, , startNs, ...counts] = (await t.proc.line()).split(' ');
  return {
    slotMs: SLOT_MS,
    startNs: BigInt(startNs),
    counts: counts.map(Number),
  };
}

/**
 * Unmeasured writes until every page has been written 20 times over, expected (uniform random
 * writes: e^-20 of the pages left, 0.0005 of 262144): each page a tick re-protected has taken
 * its fault here, and with no tick after, the watch protects none until the next.
 */
async function drain(t: Target): Promise<void> {
  let writes = 0;
  for (let i = 0; writes < 20 * PAGES; i++) {
    if (i >= 200) throw new Error(`the writer made ${writes} writes in 20 s: too few to drain`);
    const n = await writeFor(t, 100);
    if (!Number.isFinite(n)) throw new Error(`the writer's answer was no write count (${n})`);
    writes += n;
  }
}

interface WatchedRun<W> {
  written: W;
  faulted: number[];
  /** Per tick: the written pages (exact) or their estimate (sampled). */
  estimated: number[];
  /** Per tick: its time (CLOCK_MONOTONIC ns) and the overhead estimate. */
  ticksNs: bigint[];
  /** Per tick: the estimate (overhead.ts estimateOverhead, as the driver makes it) and its range. */
  estPct: number[];
  estLow: number[];
  estHigh: number[];
  /** Per tick: the writer's CPU time and run-queue wait since the tick before (schedstat), ms. */
  cpuMs: number[];
  waitMs: number[];
  /** Per tick: this process's CPU time since the tick before (TickReadings.ownMs), and the span. */
  ownMs: number[];
  spanMs: number[];
  stretch: number;
}

/**
 * `write` starts the target writing; `w` ticks every INTERVAL_MS x stretch (first tick one
 * interval in) until it is done, `control` choosing the next stretch after each tick.
 * `primed`: a tick (unmeasured, no estimate, no control) right before the writer starts, so the
 * run's first interval faults as every later one does (what the writer wrote since the watch's
 * last tick is protected again), and that tick's own CPU time shows in the first tick's figure,
 * as a tick before it would in a watch running on. Unprimed, the first tick is the watch's
 * first as the driver has it: its own CPU time 0, not measured (TickReadings.ownMeasured).
 */
async function runWatched<W>(
  write: () => Promise<W>,
  w: WriteWatcher,
  control: TickControl,
  stretch = 1,
  cost: FaultCost = faultCost(),
  primed = false,
): Promise<WatchedRun<W>> {
  const out = new RegionList(1 << 17);
  // Our CPU time read at each tick's start (before w.tick): a tick's own work, its figures and
  // the controller, shows in the next tick's figure, as the driver's (tickThreadUs) does.
  let ownUs = processCpuUs();
  // Primed: the first interval starts before the priming tick, as a steady one starts before
  // the tick before it (its `now`), so its span matches its own CPU time's (which includes the
  // priming tick's). The clocks below are read after it, as they are after each tick (below).
  const primedAt = performance.now();
  if (primed) w.tick(out);
  // The writer's CPU time per tick, and the machine's, as the watch driver reads them.
  const cpu = new TargetCpuClock(w.pid);
  cpu.sinceLastMs();
  const machine = new MachineCpuClock();
  machine.sinceLastMs();
  const run: Omit<WatchedRun<W>, 'written'> = {
    faulted: [],
    estimated: [],
    ticksNs: [],
    estPct: [],
    estLow: [],
    estHigh: [],
    cpuMs: [],
    waitMs: [],
    ownMs: [],
    spanMs: [],
    stretch,
  };
  let done = false;
  let ticks = 0;
  const written = write().finally(() => (done = true));
  let last = primed ? primedAt : performance.now();
  let next = last + INTERVAL_MS * stretch;
  while (!done) {
    // Short naps, so a run that ends mid-interval is not overrun by a long one.
    await sleep(Math.max(0, Math.min(50, next - performance.now())));
    if (done || performance.now() < next) continue;
    const now = performance.now();
    const nowUs = processCpuUs();
    const ownMeasured = primed || ticks > 0;
    const ownMs = ownMeasured ? (nowUs - ownUs) / 1000 : 0;
    ownUs = nowUs;
    ticks++;
    run.ticksNs.push(process.hrtime.bigint());
    const tick = w.tick(out);
    run.faulted.push(tick.faultedPages);
    run.estimated.push(tick.exact ? tick.writtenPages : (tick.sample?.estimatedPages ?? NaN));
    // As the driver (core/watch/driver.ts figures): the re-protect's flushes, our own CPU time
    // (read above, before the tick) and the machine's.
    const cpuMs = cpu.sinceLastMs();
    const waitMs = cpuMs === null ? null : cpu.lastWaitMs;
    const readings: TickReadings = {
      coveredMs: now - last,
      cpuMs,
      waitMs,
      ownMs,
      ownMeasured,
      busyMs: machine.sinceLastMs(),
    };
    const flushes = tickFlushes(tick, out);
    const est = tickEstimate(tick, flushes, cost, readings);
    run.estPct.push(est.pct);
    run.estLow.push(est.lowPct);
    run.estHigh.push(est.highPct);
    run.cpuMs.push(cpuMs ?? NaN);
    run.waitMs.push(waitMs ?? NaN);
    run.ownMs.push(ownMs);
    run.spanMs.push(now - last);
    if (control) run.stretch = control(w, tick, flushes, est, readings);
    last = now;
    next = now + INTERVAL_MS * run.stretch;
  }
  return { written: await written, ...run };
}

/** Writes of a slotted run between two instants (whole slots, scaled to the span). */
function writesBetween(run: SlotRun, aNs: bigint, bNs: bigint): number {
  const slot = (ns: bigint) => Number(ns - run.startNs) / 1e6 / run.slotMs;
  const first = Math.max(0, Math.ceil(slot(aNs)));
  const end = Math.min(run.counts.length, Math.floor(slot(bNs)));
  if (end <= first) return 0;
  let sum = 0;
  for (let s = first; s < end; s++) sum += run.counts[s];
  return (sum * (slot(bNs) - slot(aNs))) / (end - first);
}

export async function watchedWriterCases(ctx: BenchContext): Promise<CaseResult[]> {
  // --only "8d " runs 8d alone (each row takes a minute or more).
  const only = ctx.only ?? [];
  const want = (name: string): boolean => only.length === 0 || only.some((o) => name.includes(o));
  const goal = goalInfo();
  const caps = probeCapabilities();
  const built = ctx.built;
  const names = WATCHED_WRITER_NAMES.filter(want);
  if (!built.ok) return names.map((n) => skippedCase(n, goal, built.reason));
  if (!caps.uffdWpAsync || !caps.pagemapScan)
    return names.map((n) =>
      skippedCase(n, goal, `write watching unavailable: ${caps.uffdProblem ?? 'no PAGEMAP_SCAN'}`),
    );
  const t = await startTarget(built.bin.target, ['watch', String(PAGES)]);
  let w: WriteWatcher | null = null;
  const out: CaseResult[] = [];
  try {
    await writeFor(t, 100); // warm-up: every page present
    w = WriteWatcher.attach(t.pid);
    const quiet: Variant = {
      exactName: WATCHED_WRITER_NAME,
      boundedName: BOUNDED_WRITER_NAME,
      exactTag: '8',
      boundedTag: '8b',
      cost: faultCost(),
      hog: false,
    };
    await variantCases(ctx, t, w, quiet, want, out);
    const hogNames = [HOG_WATCHED_WRITER_NAME, HOG_BOUNDED_WRITER_NAME].filter(want);
    if (hogNames.length === 0) return out;
    if (!have('stress-ng')) {
      const why = 'stress-ng not installed (Debian: apt-get install stress-ng)';
      return [...out, ...hogNames.map((n) => skippedCase(n, goal, why))];
    }
    // As bench 11's hog rows (bench/lib/hog.ts): a neighbour's hog, in its own session
    // (autogroup) as a neighbour's would be; the writer (and this process) share the other. A
    // failure here fails the hog rows only: 8 and 8b stand.
    const firstHogRow = out.length;
    let hogEnded = false;
    try {
      const hog = await startHog();
      try {
        // Calibrated beside the hog, as a watch started on this machine now would be.
        const hogged: Variant = {
          exactName: HOG_WATCHED_WRITER_NAME,
          boundedName: HOG_BOUNDED_WRITER_NAME,
          exactTag: '8c',
          boundedTag: '8d',
          cost: calibrateFaultCost(),
          hog: true,
        };
        await variantCases(ctx, t, w, hogged, want, out);
        // stress-ng's --timeout is a backstop: the rows were measured beside it only if it ran on.
        hogEnded = !hog.running();
        if (hogEnded)
          throw new Error(`the hog (stress-ng) ${hog.ended()} before the rows' measurements ended`);
      } finally {
        await hog.stop();
      }
    } catch (err) {
      const why = `failed: ${(err as Error).message}`;
      ctx.log(`  8c/8d ${why}`);
      // A row finished beside a hog that ran on stands; the rest fail.
      if (hogEnded) out.splice(firstHogRow);
      const done = new Set(out.map((r) => r.name));
      out.push(...hogNames.filter((n) => !done.has(n)).map((n) => skippedCase(n, goal, why)));
    }
    return out;
  } finally {
    w?.close();
    await t.proc.stop();
  }
}

async function variantCases(
  ctx: BenchContext,
  t: Target,
  w: WriteWatcher,
  v: Variant,
  want: (name: string) => boolean,
  out: CaseResult[],
): Promise<void> {
  if (want(v.exactName)) out.push(await exactCase(ctx, t, w, v));
  if (want(v.boundedName)) out.push(await boundedCase(ctx, t, w, v));
}

/** The writer's CPU time and run-queue wait over one run (its threads' schedstat), ms. */
async function withCpu<R>(
  t: Target,
  run: () => Promise<R>,
): Promise<{ result: R; cpuMs: number; waitMs: number }> {
  const clock = new TargetCpuClock(t.pid);
  clock.sinceLastMs();
  const result = await run();
  const cpuMs = clock.sinceLastMs() ?? NaN;
  return { result, cpuMs, waitMs: clock.lastWaitMs ?? NaN };
}

const sum = (xs: readonly number[]) => xs.reduce((a, x) => a + x, 0);
const mean = (xs: readonly number[]) => sum(xs) / Math.max(1, xs.length);
/** wait / (run + wait) over runs, percent: how much of its runnable time it waited for a CPU. */
const waitSharePct = (cpu: readonly number[], wait: readonly number[]) =>
  (100 * sum(wait)) / (sum(wait) + sum(cpu));
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');

/** Case 8 (8c beside the hog): exact watch at 100 ms against unwatched runs, alternating. */
async function exactCase(
  ctx: BenchContext,
  t: Target,
  w: WriteWatcher,
  v: Variant,
): Promise<CaseResult> {
  const rounds = ctx.quick ? 2 : 5;
  const ms = ctx.quick ? 500 : 1000;
  const cost = v.cost;
  const range = { startPage: t.startPage, endPage: t.endPage };
  const plain: number[] = [];
  const watched: number[] = [];
  // The writer's CPU time per million writes, and its CPU time and run-queue wait per run.
  const plainCpu: number[] = [];
  const watchedCpu: number[] = [];
  const cpuRuns = { plain: [] as number[], watched: [] as number[] };
  const waitRuns = { plain: [] as number[], watched: [] as number[] };
  const faulted: number[] = [];
  const est: number[] = [];
  const estLow: number[] = [];
  const estHigh: number[] = [];
  for (let r = 0; r < rounds; r++) {
    ctx.log(`  ${v.exactTag} round ${r + 1}/${rounds}`);
    const runPlain = async () => {
      const p = await withCpu(t, () => writeFor(t, ms));
      plain.push((ms * 1e6) / p.result);
      plainCpu.push((p.cpuMs * 1e6) / p.result);
      cpuRuns.plain.push(p.cpuMs);
      waitRuns.plain.push(p.waitMs);
    };
    if (r % 2 === 1) await runPlain();
    w.arm([range]);
    const res = await withCpu(t, () => runWatched(() => writeFor(t, ms), w, null, 1, cost));
    w.disarm();
    watched.push((ms * 1e6) / res.result.written);
    watchedCpu.push((res.cpuMs * 1e6) / res.result.written);
    cpuRuns.watched.push(res.cpuMs);
    waitRuns.watched.push(res.waitMs);
    faulted.push(...res.result.faulted.slice(1)); // the first tick's interval began at arm
    est.push(...res.result.estPct.slice(1));
    estLow.push(...res.result.estLow.slice(1));
    estHigh.push(...res.result.estHigh.slice(1));
    if (r % 2 === 0) await runPlain();
  }
  const pct = median(est);
  const measured = 1 - median(plain) / median(watched);
  // The share of its CPU time that being watched added (what the estimate models).
  const cpuAdded = 1 - median(plainCpu) / median(watchedCpu);
  const fits = estimateFits(pct, Math.max(0, measured * 100));
  const cpuFits = estimateFits(pct, Math.max(0, cpuAdded * 100));
  const waitPct = waitSharePct(cpuRuns.watched, waitRuns.watched);
  const plainWaitPct = waitSharePct(cpuRuns.plain, waitRuns.plain);
  const row = makeCase(
    v.exactName,
    median(watched),
    median(plain),
    v.hog
      ? infoGoal('estimate within 1.5x (3 points under 5%) of the throughput lost')
      : goalInfo(),
    {
      note: `ms per million writes; throughput watched ${(median(plain) / median(watched)).toFixed(2)}x of unwatched (${(measured * 100).toFixed(0)}% lost); estimate (overhead.ts, median tick): ${pct.toFixed(0)}% (${median(estLow).toFixed(0)}-${median(estHigh).toFixed(0)}%) from ${median(faulted)} faulted pages per tick x ${cost.usPerFault.toFixed(2)} us, ${fits ? 'within' : 'NOT within'} 1.5x / 3 points of the loss; the writer's CPU per write watched ${(median(watchedCpu) / median(plainCpu)).toFixed(2)}x of unwatched (+${f1(cpuAdded * 100)}% share of its CPU), estimate ${cpuFits ? 'within' : 'NOT within'} 1.5x of it; the writer waited for a CPU ${f1(waitPct)}% of its runnable time watched, ${f1(plainWaitPct)}% unwatched (schedstat), ran ${f1(median(cpuRuns.watched))} ms of CPU per ${ms} ms run watched, ${f1(median(cpuRuns.plain))} unwatched; load ${os.loadavg()[0].toFixed(1)}`,
      unit: 'ms per million writes',
      throughput_ratio: Number((median(plain) / median(watched)).toPrecision(4)),
      measured_loss_pct: Number((measured * 100).toPrecision(3)),
      cpu_added_pct: Number((cpuAdded * 100).toPrecision(3)),
      estimated_loss_pct: Number(pct.toPrecision(3)),
      estimated_low_pct: Number(median(estLow).toPrecision(3)),
      estimated_high_pct: Number(median(estHigh).toPrecision(3)),
      estimate_fits: fits,
      wait_share_pct: Number(waitPct.toPrecision(3)),
      unwatched_wait_share_pct: Number(plainWaitPct.toPrecision(3)),
      load_1m: Number(os.loadavg()[0].toFixed(1)),
      fault_us: Number(cost.usPerFault.toPrecision(4)),
      faulted_pages_per_tick: median(faulted),
    },
  );
  if (v.hog) row.pass = fits;
  return row;
}

/**
 * Synthetic ticks for an unwatched slotted run: every `everyMs` from one interval in, as
 * runWatched ticks a watched run. timeLostToTicks over them is the dip reading's floor: what it
 * reads where no tick cost anything (on a quiet machine ~0; beside a hog, whatever the hog's
 * preemptions make of it).
 */
function syntheticTicks(run: SlotRun, everyMs: number): bigint[] {
  const endNs = run.startNs + BigInt(Math.round(run.counts.length * run.slotMs * 1e6));
  const step = BigInt(Math.round(everyMs * 1e6));
  const ticks: bigint[] = [];
  for (let at = run.startNs + step; at <= endNs; at += step) ticks.push(at);
  return ticks;
}

/**
 * Case 8b (8d beside the hog): the bound in its steady state, its cost read off the writer's
 * rate (top comment); each watched run followed by an unwatched run of the same length, for the
 * dip reading's floor and the writer's CPU time per write.
 */
async function boundedCase(
  ctx: BenchContext,
  t: Target,
  w: WriteWatcher,
  v: Variant,
): Promise<CaseResult> {
  const goal = goalAtMost(
    1 / 0.95,
    v.hog
      ? 'median round >= 0.95x in throughput and CPU per write; estimate within 1.5x (3 points under 5%) of the CPU per write added'
      : 'throughput >= 0.95x of unwatched',
  );
  const budget = new OverheadBudget(5, v.cost.usPerFault);
  const fractions: number[] = [];
  const stretches: number[] = [];
  // Judged by the writer's own CPU time per tick and the rest the driver passes (tickLoad).
  const control: TickControl = (ww, tick, flushes, est, readings) => {
    const next = budget.next(
      { fraction: ww.sampleFraction, stretch: stretches.at(-1) ?? 1 },
      tickLoad(tick, flushes, est, readings, () =>
        ww.enteringPages(Math.min(1, ww.sampleFraction * 2)),
      ),
    );
    if (next.fraction !== ww.sampleFraction) ww.setSampleFraction(next.fraction);
    fractions.push(next.fraction);
    stretches.push(next.stretch);
    return next.stretch;
  };
  const stretchNow = () => stretches.at(-1) ?? 1;
  // A watched run as a watch running on has it: primed (runWatched), so its first interval
  // faults as the later ones do; then drained, so what its last tick re-protected faults in
  // unmeasured writes, not in the unwatched run after it. The writer's CPU time and wait
  // (withCpu) over the run alone.
  const watchedRun = async <R>(write: () => Promise<R>) => {
    const run = await withCpu(t, () => runWatched(write, w, control, stretchNow(), v.cost, true));
    await drain(t);
    return run;
  };
  // Slow start, as the driver arms a bounded watch.
  w.setSampleFraction(budget.start(t.endPage - t.startPage, INTERVAL_MS).fraction);
  w.arm([{ startPage: t.startPage, endPage: t.endPage }]);
  try {
    // Unmeasured until the controller's choice holds for a whole run (it doubles the interval
    // at most once a tick, so reaching 3.2 s from 100 ms takes ~6 s).
    for (let settle = 0; settle < 6; settle++) {
      const before = { f: w.sampleFraction, s: stretchNow() };
      await watchedRun(() => writeFor(t, Math.max(2000, 3 * INTERVAL_MS * before.s)));
      if (w.sampleFraction === before.f && stretchNow() === before.s) break;
    }
    fractions.length = 0;
    stretches.splice(0, stretches.length - 1);
    const wantMs = ctx.quick ? 10_000 : 40_000;
    // Beside the hog the verdict is read from rounds of three (bench/lib/ab-rounds.ts: two
    // unwatched runs and the watched one, in all six orders), at least this many of them: the
    // dip reading does not hold there (see the note's floor and the README).
    const minRounds = v.hog ? (ctx.quick ? 3 : 6) : 0;
    const maxRounds = v.hog ? 12 : 10;
    let lostMs = 0;
    let spanMs = 0;
    let intervals = 0;
    // The same reading over the unwatched runs' synthetic ticks (syntheticTicks).
    const floor = { lostMs: 0, spanMs: 0, intervals: 0 };
    let estimatedPages = 0;
    let expectedPages = 0;
    const estPct: number[] = [];
    const estLow: number[] = [];
    const estHigh: number[] = [];
    // Per round, per million writes: ms of wall time and of the writer's CPU time, watched (W)
    // and unwatched (P; Q the second unwatched run in rounds of three); the writer's CPU and
    // run-queue wait per run.
    const ab = { plainMs: [] as number[], plain2Ms: [] as number[], watchedMs: [] as number[] };
    const abCpu = {
      plainCpu: [] as number[],
      plain2Cpu: [] as number[],
      watchedCpu: [] as number[],
    };
    const cpuRuns = { watched: [] as number[], plain: [] as number[] };
    const waitRuns = { watched: [] as number[], plain: [] as number[] };
    const writesIn = (run: SlotRun) => sum(run.counts);
    // This process's CPU time over the watched runs' ticks (the tick, its figures, the
    // controller, reading the writer's answer), and the span they covered.
    const own = { ms: 0, spanMs: 0 };
    const ownTicks: number[] = [];
    const runMs = { watched: [] as number[], plain: [] as number[] };
    for (let r = 0; (spanMs < wantMs || r < minRounds) && r < maxRounds; r++) {
      ctx.log(
        `  ${v.boundedTag} round ${r + 1} (${(spanMs / 1000).toFixed(0)} of ${wantMs / 1000} s measured)`,
      );
      const everyMs = INTERVAL_MS * stretchNow();
      // Beside the hog, rounds of three of shorter runs (each still spans 4 intervals).
      const ms = v.hog
        ? Math.min(10_000, Math.max(2000, 4 * everyMs))
        : Math.min(20_000, Math.max(2000, 6 * everyMs));
      // Quiet: each watched run followed by an unwatched one (the floor, the CPU per write).
      const order = v.hog ? threeRunOrder(r) : 'WP';
      for (const which of order) {
        if (which === 'W') {
          const watched = await watchedRun(() => writeInSlots(t, ms));
          const run = watched.result;
          const lost = timeLostToTicks(run.written, run.ticksNs);
          lostMs += lost.lostMs;
          spanMs += lost.spanMs;
          intervals += lost.intervals;
          const writes = writesIn(run.written);
          ab.watchedMs.push((ms * 1e6) / writes);
          abCpu.watchedCpu.push((watched.cpuMs * 1e6) / writes);
          cpuRuns.watched.push(watched.cpuMs);
          waitRuns.watched.push(watched.waitMs);
          // Each tick from the second on covers an interval inside this run.
          own.ms += sum(run.ownMs.slice(1));
          ownTicks.push(...run.ownMs.slice(1));
          runMs.watched.push(ms);
          own.spanMs += sum(run.spanMs.slice(1));
          for (let k = 1; k < run.ticksNs.length; k++) {
            const inTick = writesBetween(run.written, run.ticksNs[k - 1], run.ticksNs[k]);
            expectedPages += PAGES * (1 - Math.exp(-inTick / PAGES));
            estimatedPages += Number.isFinite(run.estimated[k]) ? run.estimated[k] : 0;
            estPct.push(run.estPct[k]);
            estLow.push(run.estLow[k]);
            estHigh.push(run.estHigh[k]);
          }
        } else {
          // Unwatched: armed, but no page protected (the watched run's drain wrote them all)
          // and no tick: none of our faults.
          const plainRun = await withCpu(t, () => writeInSlots(t, ms));
          const aa = timeLostToTicks(plainRun.result, syntheticTicks(plainRun.result, everyMs));
          floor.lostMs += aa.lostMs;
          floor.spanMs += aa.spanMs;
          floor.intervals += aa.intervals;
          const writes = writesIn(plainRun.result);
          (which === 'Q' ? ab.plain2Ms : ab.plainMs).push((ms * 1e6) / writes);
          (which === 'Q' ? abCpu.plain2Cpu : abCpu.plainCpu).push((plainRun.cpuMs * 1e6) / writes);
          cpuRuns.plain.push(plainRun.cpuMs);
          runMs.plain.push(ms);
          waitRuns.plain.push(plainRun.waitMs);
        }
      }
    }
    if (intervals === 0)
      return skippedCase(
        v.boundedName,
        goal,
        'no interval between two ticks was long enough to judge',
      );
    const dipThroughput = 1 - lostMs / spanMs;
    const meanEst = mean(estPct);
    const lostPct = (100 * lostMs) / spanMs;
    const floorPct = floor.spanMs > 0 ? (100 * floor.lostMs) / floor.spanMs : NaN;
    const dipFits = estimateFits(meanEst, Math.max(0, lostPct));
    // Round by round: throughput and CPU per write watched against the round's unwatched run(s).
    const rounds = summarizeAb({
      plainMs: ab.plainMs,
      watchedMs: ab.watchedMs,
      plainCpu: abCpu.plainCpu,
      watchedCpu: abCpu.watchedCpu,
      ...(v.hog ? { plain2Ms: ab.plain2Ms, plain2Cpu: abCpu.plain2Cpu } : {}),
    });
    const cpuAddedPct = rounds.cpuAddedPct.median;
    const cpuFits = estimateFits(meanEst, Math.max(0, cpuAddedPct));
    const roundLossPct = (1 - rounds.throughput.median) * 100;
    const roundFits = estimateFits(meanEst, Math.max(0, roundLossPct));
    const waitPct = waitSharePct(cpuRuns.watched, waitRuns.watched);
    const plainWaitPct = waitSharePct(cpuRuns.plain, waitRuns.plain);
    const cpuPerSecond = {
      watched: (1000 * sum(cpuRuns.watched)) / sum(runMs.watched),
      plain: (1000 * sum(cpuRuns.plain)) / sum(runMs.plain),
    };
    const dipText = `dip reading: throughput ${dipThroughput.toFixed(3)}x of unwatched, ${lostMs.toFixed(0)} ms of ${(spanMs / 1000).toFixed(1)} s lost to ${intervals} ticks' faults (the writer's rate after each tick vs later in its interval), the estimate ${dipFits ? 'within' : 'NOT within'} 1.5x / 3 points of the ${lostPct.toFixed(1)}% lost; the same reading over the unwatched runs (ticks where none were, its floor): ${f1(floorPct)}% of ${(floor.spanMs / 1000).toFixed(1)} s`;
    const roundText = `${rounds.rounds} rounds${v.hog ? ' of three (two unwatched runs, one watched, in all six orders)' : ' (watched, then unwatched)'}: throughput ${ratioText(rounds.throughput)} of unwatched, [${ciText(rounds.throughputCi)}], the estimate ${roundFits ? 'within' : 'NOT within'} 1.5x / 3 points of its ${f1(roundLossPct)}% lost; the writer's CPU per write ${ratioText(rounds.cpu)} (+${f1(cpuAddedPct)}% share of its CPU, median round; mean ${f1(rounds.cpuAddedMean.mean)} ± ${f1(rounds.cpuAddedMean.se)}), the estimate ${cpuFits ? 'within' : 'NOT within'} 1.5x / 3 points of it${v.hog ? `; A/A (the two unwatched runs): throughput ${ratioText(rounds.aaThroughput)}, CPU per write ${ratioText(rounds.aaCpu)}; bound ${boundVerdict(rounds, 0.95)}` : ''}`;
    const ownPct = (100 * own.ms) / own.spanMs;
    const common = `estimated ${meanEst.toFixed(1)}% (${mean(estLow).toFixed(1)}-${mean(estHigh).toFixed(1)}%, mean tick); this process's CPU while watching ${f1(ownPct)}% of a CPU (${f1(median(ownTicks))} ms a tick, median); the writer ran ${f1(cpuPerSecond.watched)} ms of CPU a second watched, ${f1(cpuPerSecond.plain)} unwatched; the writer waited for a CPU ${f1(waitPct)}% of its runnable time watched, ${f1(plainWaitPct)}% unwatched (schedstat); load ${os.loadavg()[0].toFixed(1)}; fault ${v.cost.usPerFault.toFixed(2)} us (calibrated); sample fraction ${median(fractions)}, interval x${median(stretches)} (${INTERVAL_MS * median(stretches)} ms); estimated written pages / expected distinct pages written ${(estimatedPages / expectedPages).toFixed(2)} (goal within 10%)`;
    const extra = {
      dip_throughput_ratio: Number(dipThroughput.toPrecision(4)),
      dip_loss_pct: Number(lostPct.toPrecision(3)),
      dip_floor_loss_pct: Number.isFinite(floorPct) ? Number(floorPct.toPrecision(3)) : null,
      rounds: rounds.rounds,
      round_throughput_ratio: Number(rounds.throughput.median.toPrecision(4)),
      round_throughput_ci_lo: Number(rounds.throughputCi.lo.toPrecision(4)),
      round_throughput_ci_hi: Number(rounds.throughputCi.hi.toPrecision(4)),
      round_cpu_ratio: Number(rounds.cpu.median.toPrecision(4)),
      cpu_added_pct: Number(cpuAddedPct.toPrecision(3)),
      round_cpu_added_pct: rounds.roundCpu.map((x) => Number((100 * (1 - x)).toPrecision(3))),
      aa_throughput_median: Number(rounds.aaThroughput.median.toPrecision(4)),
      aa_cpu_median: Number(rounds.aaCpu.median.toPrecision(4)),
      estimated_loss_pct: Number(meanEst.toPrecision(3)),
      estimated_low_pct: Number(mean(estLow).toPrecision(3)),
      estimated_high_pct: Number(mean(estHigh).toPrecision(3)),
      wait_share_pct: Number(waitPct.toPrecision(3)),
      unwatched_wait_share_pct: Number(plainWaitPct.toPrecision(3)),
      own_cpu_pct: Number(ownPct.toPrecision(3)),
      writer_cpu_ms_per_s_watched: Number(cpuPerSecond.watched.toPrecision(4)),
      writer_cpu_ms_per_s_unwatched: Number(cpuPerSecond.plain.toPrecision(4)),
      fault_us: Number(v.cost.usPerFault.toPrecision(4)),
      load_1m: Number(os.loadavg()[0].toFixed(1)),
      intervals,
      sample_fraction: median(fractions),
      interval_stretch: median(stretches),
      estimate_ratio: Number((estimatedPages / expectedPages).toPrecision(3)),
    };
    if (!v.hog)
      // Quiet: the dip reading is the verdict (top comment); the rounds are for comparison.
      return makeCase(v.boundedName, spanMs, spanMs - lostMs, goal, {
        note: `throughput ${dipThroughput.toFixed(3)}x of unwatched by the ${dipText}; ${common}; in ${roundText}`,
        unit: 'ms of writing: watched vs the same writes unwatched',
        throughput_ratio: Number(dipThroughput.toPrecision(4)),
        measured_loss_pct: Number(lostPct.toPrecision(3)),
        estimate_fits: dipFits,
        ...extra,
      });
    // Beside the hog: the rounds are the verdict (ms per million writes, median rounds).
    const held = boundHeld(rounds, 0.95);
    // ours: the unwatched median over the median round's throughput, so the ratio is the one the
    // verdict reads (1 / the median round's throughput), not median(W) / median(P).
    const plainMedian = median(ab.plainMs);
    const row = makeCase(v.boundedName, plainMedian / rounds.throughput.median, plainMedian, goal, {
      note: `in ${roundText}; ${common}; the ${dipText}`,
      unit: 'ms per million writes: the unwatched median, and it over the median round throughput (the verdict is the rounds)',
      throughput_ratio: Number(rounds.throughput.median.toPrecision(4)),
      measured_loss_pct: Number(roundLossPct.toPrecision(3)),
      estimate_fits: cpuFits,
      bound_verdict: boundVerdict(rounds, 0.95),
      ...extra,
    });
    row.pass = held && cpuFits;
    return row;
  } finally {
    w.setSampleFraction(1);
    w.disarm();
  }
}
