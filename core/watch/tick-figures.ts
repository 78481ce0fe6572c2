/**
 * A tick's cost figures as a watch makes them, from the tick and the clocks read around it:
 * what its re-protect flushed (overhead.ts reprotectFlushes), the estimate (estimateOverhead)
 * and what the --max-overhead controller is told (overhead-budget.ts TickLoad). One place for
 * the watch driver (driver.ts figures) and the benchmarks that drive a WriteWatcher themselves
 * (bench 8/8b/8c/8d), so both judge the same estimate and feed the controller the same inputs.
 */
import type { RegionList } from '../scan/region-list.ts';
import {
  competingOwnMs,
  contentionFactor,
  contentionShare,
  costRange,
  estimateOverhead,
  ownHighMs,
  reprotectFlushes,
  type FaultCost,
  type OverheadEstimate,
  type ReprotectFlushes,
} from './overhead.ts';
import type { TickLoad } from './overhead-budget.ts';
import { sampleUnitPages } from './sampling.ts';
import type { WatchTick } from './watch-types.ts';

/** The clocks' readings over one tick. */
export interface TickReadings {
  /** The wall time the tick covered, ms. */
  coveredMs: number;
  /** The target's CPU time in the tick (TargetCpuClock), null when unknown. */
  cpuMs: number | null;
  /** Its threads' run-queue wait in the tick, null when unknown. */
  waitMs: number | null;
  /** Our CPU time for the watch since the tick before (OwnCpuClock). */
  ownMs: number;
  /** False on a watch's first tick (TickLoad.ownMeasured). */
  ownMeasured: boolean;
  /** The machine's busy CPU time in the tick (MachineCpuClock), null when unknown. */
  busyMs: number | null;
}

/**
 * The flushes of re-protecting the tick's written pages (`written`, its list): one TLB flush of
 * the target per 2 MiB block, of its whole TLB where the range flushed is over the ceiling (a
 * sample's units are walked unit run by unit run); none without faults.
 */
export function tickFlushes(tick: WatchTick, written: RegionList): ReprotectFlushes {
  if (tick.faultedPages <= 0) return { blocks: 0, wholeTlb: 0 };
  const unitPages = tick.exact ? undefined : sampleUnitPages(tick.sample?.fraction ?? 1);
  return reprotectFlushes(written, undefined, unitPages);
}

/** The tick's estimate (estimateOverhead) at the calibrated `cost`. */
export function tickEstimate(
  tick: WatchTick,
  flushes: ReprotectFlushes,
  cost: Pick<FaultCost, 'usPerFault' | 'q1Us' | 'q3Us'>,
  r: TickReadings,
): OverheadEstimate {
  return estimateOverhead({
    faultedPages: tick.faultedPages,
    usPerFault: cost.usPerFault,
    intervalMs: r.coveredMs,
    targetCpuMs: r.cpuMs,
    range: costRange(cost),
    targetWaitMs: r.waitMs,
    flushedBlocks: flushes.blocks,
    ownCpuMs: r.ownMs,
    machineBusyMs: r.busyMs,
    wholeTlbFlushes: flushes.wholeTlb,
  });
}

/** Written pages of all watched memory this tick: exact, or the sample's extrapolation. */
export function writtenAtFull(tick: WatchTick): number {
  return !tick.exact && tick.sample ? tick.sample.estimatedPages : tick.writtenPages;
}

/**
 * What the controller is told of the tick (OverheadBudget.next). `widerPages`: the pages a
 * sample twice as wide would cover (TickLoad.widerPages).
 */
export function tickLoad(
  tick: WatchTick,
  flushes: ReprotectFlushes,
  est: OverheadEstimate,
  r: TickReadings,
  widerPages: () => number,
): TickLoad {
  const { coveredMs, cpuMs, waitMs, ownMs } = r;
  return {
    writtenPagesAtFull: writtenAtFull(tick),
    faultedPages: tick.faultedPages,
    flushedBlocks: flushes.blocks,
    wholeTlbFlushes: flushes.wholeTlb,
    sampledPages: tick.exact ? undefined : tick.sample?.sampledPages,
    elapsedMs: coveredMs,
    targetCpuMs: cpuMs,
    costFactor: contentionFactor(cpuMs, waitMs, coveredMs),
    waitShare: contentionShare(cpuMs, waitMs),
    highPct: est.highPct,
    ownMs: competingOwnMs(ownMs, cpuMs, waitMs, coveredMs, r.busyMs),
    ownHighMs: ownHighMs(ownMs, cpuMs, waitMs, coveredMs),
    ownMeasured: r.ownMeasured,
    widerPages,
  };
}
