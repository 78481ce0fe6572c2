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
 * the watcher's sample fraction. Goal: throughput >= 0.95x of unwatched. The note compares the
 * written-page estimate with the pages the writer wrote: its writes are uniform over the 1 GiB,
 * so W writes in a tick touch N(1 - e^(-W/N)) distinct pages of N (expected value).
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

/** A controller run after each tick (the --max-overhead hook); null = exact watch. */
export type TickControl = ((w: WriteWatcher, tick: WatchTick) => void) | null;

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
): Promise<{ writes: number; faulted: number[]; estimated: number[] }> {
  const out = new RegionList(1 << 17);
  const faulted: number[] = [];
  const estimated: number[] = [];
  let done = false;
  const writes = writeFor(t, ms).finally(() => (done = true));
  let next = performance.now() + INTERVAL_MS;
  while (!done) {
    await sleep(Math.max(0, next - performance.now()));
    next += INTERVAL_MS;
    const tick = w.tick(out);
    faulted.push(tick.faultedPages);
    estimated.push(tick.exact ? tick.writtenPages : (tick.sample?.estimatedPages ?? NaN));
    control?.(w, tick);
  }
  return { writes: await writes, faulted, estimated };
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
    const budget = new OverheadBudget(5, cost.usPerFault);
    const control: TickControl = (ww, tick) => {
      const next = budget.next(ww.sampleFraction, {
        writtenPagesAtFull: tick.exact ? tick.writtenPages : (tick.sample?.estimatedPages ?? 0),
        elapsedMs: INTERVAL_MS,
      });
      if (next !== ww.sampleFraction) ww.setSampleFraction(next);
      fractions.push(next);
    };
    await writeFor(t, 100); // warm-up: every page present
    w = WriteWatcher.attach(t.pid);
    const range = { startPage: t.startPage, endPage: t.endPage };
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
      const b = await runWatched(t, w, ms, control);
      w.setSampleFraction(1);
      w.disarm();
      bounded.push((ms * 1e6) / b.writes);
      const perTick = b.writes / b.estimated.length;
      const expected = b.estimated.length * PAGES * (1 - Math.exp(-perTick / PAGES));
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
          note: `throughput ${(median(plain) / median(bounded)).toFixed(2)}x of unwatched; median sample fraction ${median(fractions)}; estimated written pages / expected distinct pages written ${median(estimateRatios).toFixed(2)} (goal within 10%)`,
          unit: 'ms per million writes',
          throughput_ratio: Number((median(plain) / median(bounded)).toPrecision(4)),
          sample_fraction: median(fractions),
          estimate_ratio: Number(median(estimateRatios).toPrecision(3)),
        },
      ),
    ];
  } finally {
    w?.close();
    await t.proc.stop();
  }
}
