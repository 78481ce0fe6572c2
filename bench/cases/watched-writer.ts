/**
 * Case 8: what being watched costs a writer. A C target writes one byte to random pages of
 * 1 GiB for a fixed time (bench/c/target.c "r MS") and reports how many writes it made; the
 * figure is ms per million writes, watched (WriteWatcher armed on the whole mapping, ticking
 * every 100 ms in this process while the target writes) against unwatched, alternating round by
 * round. Watched, every page written in a tick takes one write-protect fault (KERNEL-NOTES
 * "Cost of being watched"); the note compares the measured slowdown with overhead.ts's estimate
 * from the calibrated fault cost and the faulted pages of the ticks.
 *
 * Case 8b: the same writer watched under `--max-overhead 5`: after every tick the
 * OverheadBudget controller (core/watch/overhead-budget.ts, as the watch driver uses it) sets
 * the watcher's sample fraction and the interval's stretch, in its steady state (carried over
 * from an unmeasured 2 s run, as a watch of minutes has it). Goal: throughput >= 0.95x of
 * unwatched. The note compares the written-page estimate with the pages the writer wrote: its
 * writes are uniform over the 1 GiB, so W writes in a tick touch N(1 - e^(-W/N)) distinct pages
 * of N (expected value).
 */
import { probeCapabilities } from '../../core/kernel/capabilities.ts';
import { RegionList } from '../../core/scan/region-list.ts';
import { estOverheadPct, faultCost } from '../../core/watch/overhead.ts';
import { OverheadBudget } from '../../core/watch/overhead-budget.ts';
import { WriteWatcher, type WatchTick } from '../../core/watch/watcher.ts';
import { startTarget, type Target } from '../lib/native.ts';
import {
  goalAtMost,
  infoGoal,
  makeCase,
  median,
  skippedCase,
  type CaseResult,
} from '../lib/stats.ts';
import type { BenchContext } from './context.ts';

const PAGES = 262144; // 1 GiB
const INTERVAL_MS = 100;

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

/**
 * The target writes for `ms` while `w` ticks every INTERVAL_MS; returns the writes and the
 * faulted pages per tick.
 */
async function runWatched(
  t: Target,
  w: WriteWatcher,
  ms: number,
  control: TickControl,
  stretch = 1,
): Promise<{
  writes: number;
  faulted: number[];
  estimated: number[];
  tickMs: number[];
  stretch: number;
}> {
  const out = new RegionList(1 << 17);
  const faulted: number[] = [];
  const estimated: number[] = [];
  const tickMs: number[] = [];
  let done = false;
  const writes = writeFor(t, ms).finally(() => (done = true));
  let last = performance.now();
  let next = last + INTERVAL_MS * stretch;
  while (!done) {
    await sleep(Math.max(0, next - performance.now()));
    const now = performance.now();
    const tick = w.tick(out);
    faulted.push(tick.faultedPages);
    estimated.push(tick.exact ? tick.writtenPages : (tick.sample?.estimatedPages ?? NaN));
    tickMs.push(now - last);
    if (control) stretch = control(w, tick, now - last);
    last = now;
    next = now + INTERVAL_MS * stretch;
  }
  return { writes: await writes, faulted, estimated, tickMs, stretch };
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
    return [
      skippedCase(
        WATCHED_WRITER_NAME,
        goal,
        `write watching unavailable: ${caps.uffdProblem ?? 'no PAGEMAP_SCAN'}`,
      ),
    ];
  const rounds = ctx.quick ? 2 : 5;
  const ms = ctx.quick ? 500 : 1000;
  const cost = faultCost();
  const t = await startTarget(built.bin.target, ['watch', String(PAGES)]);
  let w: WriteWatcher | null = null;
  try {
    const plain: number[] = [];
    const watched: number[] = [];
    const bounded: number[] = [];
    const faulted: number[] = [];
    const fractions: number[] = [];
    /** Per bounded run: estimated written pages over the run / expected distinct pages. */
    const estimateRatios: number[] = [];
    const stretches: number[] = [];
    const budget = new OverheadBudget(5, cost.usPerFault);
    let stretch = 1;
    const control: TickControl = (ww, tick, coveredMs) => {
      const next = budget.next(
        { fraction: ww.sampleFraction, stretch },
        {
          writtenPagesAtFull: tick.exact ? tick.writtenPages : (tick.sample?.estimatedPages ?? 0),
          faultedPages: tick.faultedPages,
          sampledPages: tick.sample?.sampledPages,
          elapsedMs: coveredMs,
        },
      );
      if (next.fraction !== ww.sampleFraction) ww.setSampleFraction(next.fraction);
      fractions.push(next.fraction);
      stretches.push(next.stretch);
      return (stretch = next.stretch);
    };
    await writeFor(t, 100); // warm-up: every page present
    w = WriteWatcher.attach(t.pid);
    const range = { startPage: t.startPage, endPage: t.endPage };
    // The bound in its steady state, as a watch of minutes has it: the controller's choice (sample
    // and stretch) is carried from this unmeasured run, and from each bounded run to the next.
    w.arm([range]);
    await runWatched(t, w, 2000, control);
    let boundedFraction = w.sampleFraction;
    w.setSampleFraction(1);
    w.disarm();
    fractions.length = 0;
    stretches.length = 0;
    for (let r = 0; r < rounds; r++) {
      ctx.log(`  8 round ${r + 1}/${rounds}`);
      const runPlain = async () => plain.push((ms * 1e6) / (await writeFor(t, ms)));
      if (r % 2 === 1) await runPlain();
      w.arm([range]);
      const res = await runWatched(t, w, ms, null);
      w.disarm();
      watched.push((ms * 1e6) / res.writes);
      faulted.push(...res.faulted.slice(1)); // the first tick's interval began at arm
      w.arm([range]);
      w.setSampleFraction(boundedFraction);
      // Long enough for a few ticks at the stretched interval: steady state, not the arm.
      const boundedMs = Math.min(15_000, Math.max(ms, 4 * INTERVAL_MS * stretch));
      const b = await runWatched(t, w, boundedMs, control, stretch);
      boundedFraction = w.sampleFraction;
      w.setSampleFraction(1);
      w.disarm();
      bounded.push((boundedMs * 1e6) / b.writes);
      // Writes spread over the ticks by their length (the writer's rate is steady).
      const totalMs = b.tickMs.reduce((a, x) => a + x, 0);
      let expected = 0;
      for (const len of b.tickMs)
        expected += PAGES * (1 - Math.exp(-(b.writes * len) / totalMs / PAGES));
      const est = b.estimated.reduce((a, x) => a + (Number.isFinite(x) ? x : 0), 0);
      estimateRatios.push(est / expected);
      if (r % 2 === 0) await runPlain();
    }
    const pct = estOverheadPct(median(faulted), INTERVAL_MS, cost.usPerFault);
    const measured = 1 - median(plain) / median(watched);
    return [
      makeCase(WATCHED_WRITER_NAME, median(watched), median(plain), goal, {
        note: `ms per million writes; throughput watched ${(median(plain) / median(watched)).toFixed(2)}x of unwatched (${(measured * 100).toFixed(0)}% lost); estimate (overhead.ts): ${pct.toFixed(0)}% from ${median(faulted)} faulted pages per tick x ${cost.usPerFault.toFixed(2)} us`,
        unit: 'ms per million writes',
        throughput_ratio: Number((median(plain) / median(watched)).toPrecision(4)),
        measured_loss_pct: Number((measured * 100).toPrecision(3)),
        estimated_loss_pct: Number(pct.toPrecision(3)),
        fault_us: Number(cost.usPerFault.toPrecision(4)),
        faulted_pages_per_tick: median(faulted),
      }),
      makeCase(
        BOUNDED_WRITER_NAME,
        median(bounded),
        median(plain),
        goalAtMost(1 / 0.95, 'throughput >= 0.95x of unwatched'),
        {
          note: `throughput ${(median(plain) / median(bounded)).toFixed(2)}x of unwatched; median sample fraction ${median(fractions)}, interval x${median(stretches)} (${INTERVAL_MS * median(stretches)} ms); estimated written pages / expected distinct pages written ${median(estimateRatios).toFixed(2)} (goal within 10%)`,
          unit: 'ms per million writes',
          throughput_ratio: Number((median(plain) / median(bounded)).toPrecision(4)),
          sample_fraction: median(fractions),
          interval_stretch: median(stretches),
          estimate_ratio: Number(median(estimateRatios).toPrecision(3)),
        },
      ),
    ];
  } finally {
    w?.close();
    await t.proc.stop();
  }
}
