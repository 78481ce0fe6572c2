/**
 * Case 8: what being watched costs a writer. A C target writes one byte to random pages of
 * 1 GiB for a fixed time (bench/c/target.c "r MS") and reports how many writes it made; the
 * figure is ms per million writes, watched (WriteWatcher armed on the whole mapping, ticking
 * every 100 ms in this process while the target writes) against unwatched, alternating round by
 * round. Watched, every page written in a tick takes one write-protect fault (KERNEL-NOTES
 * "Cost of being watched"); the note compares the measured slowdown with overhead.ts's estimate
 * from the calibrated fault cost and the faulted pages of the ticks.
 *
 * Hook for the watch driver's --max-overhead controller: `runWatched(..., control)` calls
 * `control(watcher, tick)` after every tick, where a controller can call
 * watcher.setSampleFraction(); a "--max-overhead 5" column is one more `variants` entry.
 */
import { probeCapabilities } from '../../core/kernel/capabilities.ts';
import { RegionList } from '../../core/scan/region-list.ts';
import { estOverheadPct, faultCost } from '../../core/watch/overhead.ts';
import { WriteWatcher, type WatchTick } from '../../core/watch/watcher.ts';
import { startTarget, type Target } from '../lib/native.ts';
import { infoGoal, makeCase, median, skippedCase, type CaseResult } from '../lib/stats.ts';
import type { BenchContext } from './context.ts';

const PAGES = 262144; // 1 GiB
const INTERVAL_MS = 100;

export const WATCHED_WRITER_NAME =
  '8 watched writer: random page writes in 1 GiB, exact watch at 100 ms vs unwatched (C)';

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
): Promise<{ writes: number; faulted: number[] }> {
  const out = new RegionList(1 << 17);
  const faulted: number[] = [];
  let done = false;
  const writes = writeFor(t, ms).finally(() => (done = true));
  let next = performance.now() + INTERVAL_MS;
  while (!done) {
    await sleep(Math.max(0, next - performance.now()));
    next += INTERVAL_MS;
    const tick = w.tick(out);
    faulted.push(tick.faultedPages);
    control?.(w, tick);
  }
  return { writes: await writes, faulted };
}

export async function watchedWriterCases(ctx: BenchContext): Promise<CaseResult[]> {
  const goal = infoGoal('info: watched / unwatched time per write');
  const caps = probeCapabilities();
  const built = ctx.built;
  if (!built.ok) return [skippedCase(WATCHED_WRITER_NAME, goal, built.reason)];
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
    const faulted: number[] = [];
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
    ];
  } finally {
    w?.close();
    await t.proc.stop();
  }
}
