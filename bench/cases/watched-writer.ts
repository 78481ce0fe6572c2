/**
 * Case 8: what being watched costs a writer. A C target writes one byte to random pages of
 * 1 GiB for a fixed time (bench/c/target.c "r MS") and reports how many writes it made; the
 * figure is ms per million writes, watched (WriteWatcher armed on the whole mapping, ticking
 * every 100 ms in this process while the target writes) against unwatched, alternating round by
 * round. Watched, every page written in a tick takes one write-protect fault (KERNEL-NOTES
 * "Cost of being watched"); the note compares the measured slowdown with overhead.ts's estimate
 * from the calibrated fault cost and the faulted pages of the ticks. (The exact watch costs the
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
 * pages of N (expected value).
 */
import os from 'node:os';
import { probeCapabilities } from '../../core/kernel/capabilities.ts';
import { RegionList } from '../../core/scan/region-list.ts';
import {
  contentionFactor,
  costRange,
  estimateOverhead,
  faultCost,
  TargetCpuClock,
} from '../../core/watch/overhead.ts';
import { OverheadBudget } from '../../core/watch/overhead-budget.ts';
import { WriteWatcher, type WatchTick } from '../../core/watch/watcher.ts';
import { startTarget, type Target } from '../lib/native.ts';
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
import type { BenchContext } from './context.ts';

const PAGES = 262144; // 1 GiB
const INTERVAL_MS = 100;
const SLOT_MS = 10;

export const WATCHED_WRITER_NAME =
  '8 watched writer: random page writes in 1 GiB, exact watch at 100 ms vs unwatched (C)';
export const BOUNDED_WRITER_NAME =
  '8b watched writer under --max-overhead 5: time per write vs unwatched (C)';

/**
 * A controller run after each tick (the --max-overhead hook), given the ms the tick covered;
 * returns the interval's stretch for the next tick. null = exact watch at INTERVAL_MS.
 */
export type TickControl = ((w: WriteWatcher, tick: WatchTick, coveredMs: number) => number) | null;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
  stretch: number;
}

/**
 * `write` starts the target writing; `w` ticks every INTERVAL_MS x stretch (first tick one
 * interval in) until it is done, `control` choosing the next stretch after each tick.
 */
async function runWatched<W>(
  write: Promise<W>,
  w: WriteWatcher,
  control: TickControl,
  stretch = 1,
): Promise<WatchedRun<W>> {
  const cost = faultCost();
  const range = costRange(cost);
  const out = new RegionList(1 << 17);
  // The writer's CPU time per tick, as the watch driver reads it.
  const cpu = new TargetCpuClock(w.pid);
  cpu.sinceLastMs();
  const run: Omit<WatchedRun<W>, 'written'> = {
    faulted: [],
    estimated: [],
    ticksNs: [],
    estPct: [],
    estLow: [],
    estHigh: [],
    stretch,
  };
  let done = false;
  const written = write.finally(() => (done = true));
  let last = performance.now();
  let next = last + INTERVAL_MS * stretch;
  while (!done) {
    // Short naps, so a run that ends mid-interval is not overrun by a long one.
    await sleep(Math.max(0, Math.min(50, next - performance.now())));
    if (done || performance.now() < next) continue;
    const now = performance.now();
    run.ticksNs.push(process.hrtime.bigint());
    const tick = w.tick(out);
    run.faulted.push(tick.faultedPages);
    run.estimated.push(tick.exact ? tick.writtenPages : (tick.sample?.estimatedPages ?? NaN));
    const cpuMs = cpu.sinceLastMs();
    const est = estimateOverhead({
      faultedPages: tick.faultedPages,
      usPerFault: cost.usPerFault,
      intervalMs: now - last,
      targetCpuMs: cpuMs,
      range,
      targetWaitMs: cpu.lastWaitMs,
    });
    run.estPct.push(est.pct);
    run.estLow.push(est.lowPct);
    run.estHigh.push(est.highPct);
    if (control) run.stretch = control(w, tick, now - last);
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
  const goal = infoGoal('info: watched / unwatched time per write');
  const caps = probeCapabilities();
  const built = ctx.built;
  if (!built.ok)
    return [WATCHED_WRITER_NAME, BOUNDED_WRITER_NAME].map((n) =>
      skippedCase(n, goal, built.reason),
    );
  if (!caps.uffdWpAsync || !caps.pagemapScan)
    return [WATCHED_WRITER_NAME, BOUNDED_WRITER_NAME].map((n) =>
      skippedCase(n, goal, `write watching unavailable: ${caps.uffdProblem ?? 'no PAGEMAP_SCAN'}`),
    );
  const t = await startTarget(built.bin.target, ['watch', String(PAGES)]);
  let w: WriteWatcher | null = null;
  try {
    await writeFor(t, 100); // warm-up: every page present
    w = WriteWatcher.attach(t.pid);
    return [await exactCase(ctx, t, w, goal), await boundedCase(ctx, t, w)];
  } finally {
    w?.close();
    await t.proc.stop();
  }
}

/** Case 8: exact watch at 100 ms against unwatched runs, alternating. */
async function exactCase(
  ctx: BenchContext,
  t: Target,
  w: WriteWatcher,
  goal: ReturnType<typeof infoGoal>,
): Promise<CaseResult> {
  const rounds = ctx.quick ? 2 : 5;
  const ms = ctx.quick ? 500 : 1000;
  const cost = faultCost();
  const range = { startPage: t.startPage, endPage: t.endPage };
  const plain: number[] = [];
  const watched: number[] = [];
  const faulted: number[] = [];
  const est: number[] = [];
  const estLow: number[] = [];
  const estHigh: number[] = [];
  for (let r = 0; r < rounds; r++) {
    ctx.log(`  8 round ${r + 1}/${rounds}`);
    const runPlain = async () => plain.push((ms * 1e6) / (await writeFor(t, ms)));
    if (r % 2 === 1) await runPlain();
    w.arm([range]);
    const res = await runWatched(writeFor(t, ms), w, null);
    w.disarm();
    watched.push((ms * 1e6) / res.written);
    faulted.push(...res.faulted.slice(1)); // the first tick's interval began at arm
    est.push(...res.estPct.slice(1));
    estLow.push(...res.estLow.slice(1));
    estHigh.push(...res.estHigh.slice(1));
    if (r % 2 === 0) await runPlain();
  }
  const pct = median(est);
  const measured = 1 - median(plain) / median(watched);
  const fits = estimateFits(pct, Math.max(0, measured * 100));
  return makeCase(WATCHED_WRITER_NAME, median(watched), median(plain), goal, {
    note: `ms per million writes; throughput watched ${(median(plain) / median(watched)).toFixed(2)}x of unwatched (${(measured * 100).toFixed(0)}% lost); estimate (overhead.ts, median tick): ${pct.toFixed(0)}% (${median(estLow).toFixed(0)}-${median(estHigh).toFixed(0)}%) from ${median(faulted)} faulted pages per tick x ${cost.usPerFault.toFixed(2)} us, ${fits ? 'within' : 'NOT within'} 1.5x / 3 points of the loss; load ${os.loadavg()[0].toFixed(1)}`,
    unit: 'ms per million writes',
    throughput_ratio: Number((median(plain) / median(watched)).toPrecision(4)),
    measured_loss_pct: Number((measured * 100).toPrecision(3)),
    estimated_loss_pct: Number(pct.toPrecision(3)),
    estimate_fits: fits,
    load_1m: Number(os.loadavg()[0].toFixed(1)),
    fault_us: Number(cost.usPerFault.toPrecision(4)),
    faulted_pages_per_tick: median(faulted),
  });
}

/** Case 8b: the bound in its steady state, its cost read off the writer's rate (top comment). */
async function boundedCase(ctx: BenchContext, t: Target, w: WriteWatcher): Promise<CaseResult> {
  const budget = new OverheadBudget(5, faultCost().usPerFault);
  // Judged by the writer's own CPU time per tick, as the watch driver does.
  const cpu = new TargetCpuClock(t.pid);
  const fractions: number[] = [];
  const stretches: number[] = [];
  const control: TickControl = (ww, tick, coveredMs) => {
    const targetCpuMs = cpu.sinceLastMs();
    const next = budget.next(
      { fraction: ww.sampleFraction, stretch: stretches.at(-1) ?? 1 },
      {
        writtenPagesAtFull: tick.exact ? tick.writtenPages : (tick.sample?.estimatedPages ?? 0),
        faultedPages: tick.faultedPages,
        sampledPages: tick.sample?.sampledPages,
        elapsedMs: coveredMs,
        targetCpuMs,
        costFactor: contentionFactor(targetCpuMs, cpu.lastWaitMs, coveredMs),
      },
    );
    if (next.fraction !== ww.sampleFraction) ww.setSampleFraction(next.fraction);
    fractions.push(next.fraction);
    stretches.push(next.stretch);
    return next.stretch;
  };
  const stretchNow = () => stretches.at(-1) ?? 1;
  // Slow start, as the driver arms a bounded watch.
  w.setSampleFraction(budget.start(t.endPage - t.startPage, INTERVAL_MS).fraction);
  w.arm([{ startPage: t.startPage, endPage: t.endPage }]);
  cpu.sinceLastMs();
  try {
    // Unmeasured until the controller's choice holds for a whole run (it doubles the interval
    // at most once a tick, so reaching 3.2 s from 100 ms takes ~6 s).
    for (let settle = 0; settle < 6; settle++) {
      const before = { f: w.sampleFraction, s: stretchNow() };
      await runWatched(
        writeFor(t, Math.max(2000, 3 * INTERVAL_MS * before.s)),
        w,
        control,
        before.s,
      );
      if (w.sampleFraction === before.f && stretchNow() === before.s) break;
    }
    fractions.length = 0;
    stretches.splice(0, stretches.length - 1);
    const wantMs = ctx.quick ? 10_000 : 40_000;
    let lostMs = 0;
    let spanMs = 0;
    let intervals = 0;
    let estimatedPages = 0;
    let expectedPages = 0;
    const estPct: number[] = [];
    const estLow: number[] = [];
    const estHigh: number[] = [];
    for (let r = 0; spanMs < wantMs && r < 10; r++) {
      ctx.log(`  8b run ${r + 1} (${(spanMs / 1000).toFixed(0)} of ${wantMs / 1000} s measured)`);
      const ms = Math.min(20_000, Math.max(2000, 6 * INTERVAL_MS * stretchNow()));
      const run = await runWatched(writeInSlots(t, ms), w, control, stretchNow());
      const lost = timeLostToTicks(run.written, run.ticksNs);
      lostMs += lost.lostMs;
      spanMs += lost.spanMs;
      intervals += lost.intervals;
      // Each tick from the second on covers an interval inside this run.
      for (let k = 1; k < run.ticksNs.length; k++) {
        const writes = writesBetween(run.written, run.ticksNs[k - 1], run.ticksNs[k]);
        expectedPages += PAGES * (1 - Math.exp(-writes / PAGES));
        estimatedPages += Number.isFinite(run.estimated[k]) ? run.estimated[k] : 0;
        estPct.push(run.estPct[k]);
        estLow.push(run.estLow[k]);
        estHigh.push(run.estHigh[k]);
      }
    }
    if (intervals === 0)
      return skippedCase(
        BOUNDED_WRITER_NAME,
        goalAtMost(1 / 0.95, 'throughput >= 0.95x of unwatched'),
        'no interval between two ticks was long enough to judge',
      );
    const throughput = 1 - lostMs / spanMs;
    const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / Math.max(1, xs.length);
    const meanEst = mean(estPct);
    const lostPct = (100 * lostMs) / spanMs;
    const fits = estimateFits(meanEst, Math.max(0, lostPct));
    return makeCase(
      BOUNDED_WRITER_NAME,
      spanMs,
      spanMs - lostMs,
      goalAtMost(1 / 0.95, 'throughput >= 0.95x of unwatched'),
      {
        note: `throughput ${throughput.toFixed(3)}x of unwatched: ${lostMs.toFixed(0)} ms of ${(spanMs / 1000).toFixed(1)} s lost to ${intervals} ticks' faults (the writer's rate after each tick vs later in its interval); estimated ${meanEst.toFixed(1)}% (${mean(estLow).toFixed(1)}-${mean(estHigh).toFixed(1)}%), ${fits ? 'within' : 'NOT within'} 1.5x / 3 points of the ${lostPct.toFixed(1)}% lost; load ${os.loadavg()[0].toFixed(1)}; sample fraction ${median(fractions)}, interval x${median(stretches)} (${INTERVAL_MS * median(stretches)} ms); estimated written pages / expected distinct pages written ${(estimatedPages / expectedPages).toFixed(2)} (goal within 10%)`,
        unit: 'ms of writing: watched vs the same writes unwatched',
        throughput_ratio: Number(throughput.toPrecision(4)),
        measured_loss_pct: Number(((100 * lostMs) / spanMs).toPrecision(3)),
        estimated_loss_pct: Number(meanEst.toPrecision(3)),
        estimated_low_pct: Number(mean(estLow).toPrecision(3)),
        estimated_high_pct: Number(mean(estHigh).toPrecision(3)),
        estimate_fits: fits,
        load_1m: Number(os.loadavg()[0].toFixed(1)),
        intervals,
        sample_fraction: median(fractions),
        interval_stretch: median(stretches),
        estimate_ratio: Number((estimatedPages / expectedPages).toPrecision(3)),
      },
    );
  } finally {
    w.setSampleFraction(1);
    w.disarm();
  }
}
