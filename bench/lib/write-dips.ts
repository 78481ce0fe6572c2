/**
 * What a watch's ticks cost a writer, read off the writer's own write rate (bench case 8b).
 *
 * Why not compare a watched run with an unwatched one: on the shared VM the benchmarks run on,
 * the same writer's unwatched rate drifts by up to 40% within seconds (30-60 M writes/s seen in
 * one minute), far more than the 5% to be measured. A tick's cost instead shows as a dip in the
 * writer's rate right after the tick: the target faults on the pages the tick protected, then
 * writes at its full rate until the next tick (measured: 150 ms of dip after a 1/64 tick, then
 * flat). So each interval between two ticks is its own reference: the writer's mean rate over the
 * interval's second half is what it does unwatched (no protected page is left to fault on by
 * then), and the writes missing from the first half against that rate are the time the tick cost.
 * Drift slower than an interval cancels out; faster noise averages out over many intervals.
 *
 * The counts come from the target writing in slots (bench/c/target.c "r MS SLOT"): writes per
 * SLOT ms from a CLOCK_MONOTONIC start, the clock of process.hrtime too.
 */

/** A writer's run: its writes per slot, from `startNs` (CLOCK_MONOTONIC). */
export interface SlotRun {
  slotMs: number;
  startNs: bigint;
  counts: readonly number[];
}

/** Time a run's ticks cost the writer. */
export interface TimeLost {
  /** ms of writing lost to the ticks, over all the intervals judged. */
  lostMs: number;
  /** ms of those intervals. */
  spanMs: number;
  /** Intervals judged: those between two ticks, at least MIN_SLOTS slots long. */
  intervals: number;
}

/** An interval shorter than this many slots says too little about its own reference rate. */
export const MIN_SLOTS = 8;

/**
 * The time lost to ticks (see the top comment), given the ticks' times (CLOCK_MONOTONIC ns).
 * Only whole slots between two ticks count; shorter intervals are skipped.
 */
export function timeLostToTicks(run: SlotRun, ticksNs: readonly bigint[]): TimeLost {
  const slotOf = (ns: bigint): number => Number(ns - run.startNs) / 1e6 / run.slotMs;
  let lostMs = 0;
  let spanMs = 0;
  let intervals = 0;
  for (let k = 0; k + 1 < ticksNs.length; k++) {
    const first = Math.ceil(slotOf(ticksNs[k]));
    const end = Math.min(run.counts.length, Math.floor(slotOf(ticksNs[k + 1])));
    if (first < 0 || end - first < MIN_SLOTS) continue;
    const half = first + Math.ceil((end - first) / 2);
    let sum = 0;
    for (let s = half; s < end; s++) sum += run.counts[s];
    const reference = sum / (end - half);
    if (!(reference > 0)) continue;
    let missing = 0;
    for (let s = first; s < half; s++) missing += reference - run.counts[s];
    lostMs += (missing / reference) * run.slotMs;
    spanMs += (end - first) * run.slotMs;
    intervals++;
  }
  return { lostMs, spanMs, intervals };
}
