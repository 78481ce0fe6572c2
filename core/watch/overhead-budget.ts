/**
 * The --max-overhead controller: picks the watcher's sample fraction tick by tick so that the
 * ESTIMATED slowdown of the target (overhead.ts) stays at or under a budget.
 *
 * Strategy (DAMON bounds its monitoring cost the same way: fewer regions sampled, not fewer
 * samples skipped): after each tick, the pages the target would have faulted on with every page
 * protected (the exact count, or the sampled tick's extrapolation) give the slowdown an exact
 * watch would cost (the model of overhead.ts, uncapped); sampling f of the pages costs about f of
 * that, so budget / that is the fraction that fits. Fractions are powers of two between 1 and 1/64, so the sample
 * changes rarely (each change costs one tick without a stated error):
 * - too costly: drop at once to the largest power of two that fits;
 * - room to spare: widen one step (x2) only when the doubled sample would still fit with a 20%
 *   margin, so a load at the edge of the budget does not flap between two fractions.
 * With no budget (null) the watch stays exact: fraction 1.
 */

export const MIN_SAMPLE_FRACTION = 1 / 64;
const WIDEN_MARGIN = 1.2;

/** What a tick tells the controller. */
export interface TickLoad {
  /** Written pages of all watched memory this tick: exact, or the sampled extrapolation. */
  writtenPagesAtFull: number;
  /** ms the tick covered (since the previous one). */
  elapsedMs: number;
}

/** The largest power of two (1, 1/2, 1/4, ...) at or under `f`, never below the minimum. */
export function powerOfTwoAtMost(f: number): number {
  if (!(f < 1)) return 1;
  if (!(f > MIN_SAMPLE_FRACTION)) return MIN_SAMPLE_FRACTION;
  return Math.max(MIN_SAMPLE_FRACTION, 2 ** Math.floor(Math.log2(f)));
}

export class OverheadBudget {
  constructor(
    /** The budget, percent of the target's time (0 < maxPct <= 100). */
    readonly maxPct: number,
    /** Calibrated cost of one write-protect fault, microseconds (overhead.ts). */
    readonly usPerFault: number,
  ) {}

  /** The sample fraction for the next tick, given the current one and this tick's load. */
  next(current: number, load: TickLoad): number {
    const exactPct =
      load.elapsedMs > 0
        ? (Math.max(0, load.writtenPagesAtFull) * this.usPerFault) / (load.elapsedMs * 10)
        : Infinity;
    if (exactPct === 0) return current < 1 ? Math.min(1, current * 2) : 1;
    const fits = this.maxPct / exactPct;
    const target = powerOfTwoAtMost(fits);
    if (target < current) return target;
    if (current < 1 && fits >= current * 2 * WIDEN_MARGIN) return current * 2;
    return current;
  }
}
