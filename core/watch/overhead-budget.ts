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
 *
 * The estimate has an error of its own (overhead.ts: a target's fault cost 0.65-1.55x the
 * calibrated one, run to run), so the controller keeps the estimate under maxPct /
 * ESTIMATE_ERROR: a bound of 5% holds the estimate at 4% or less. With the x2 steps the estimate
 * usually settles well under that (bench case 8b: estimated 2.2-3.8%, paid 2.5-3.7%).
 *
 * At the smallest sample the budget may still not fit (a writer that rewrites all its memory
 * every tick pays a fault per sampled page per tick: 1/64 of 1 GiB is 4,096 faults, ~100 ms at
 * this VM's ~25 us per fault). The interval is then lengthened (x2 per tick, up to x64): a page
 * rewritten all the time faults once per tick whatever the tick's length, so a longer tick
 * spreads the same faults over more time. Room to spare gives the interval back first (the
 * user chose it), halving it only when twice the cost would still fit with the margin, then
 * widens the sample.
 */

export const MIN_SAMPLE_FRACTION = 1 / 64;
/** The longest the interval is stretched: x64 the one set (100 ms -> 6.4 s). */
export const MAX_STRETCH = 64;
const WIDEN_MARGIN = 1.2;
/** How far the calibrated fault cost may be from a target's own (overhead.ts). */
export const ESTIMATE_ERROR = 1.25;

/** What the controller sets: the sample fraction and the interval's stretch (1 = as set). */
export interface BudgetChoice {
  fraction: number;
  stretch: number;
}

/** What a tick tells the controller. */
export interface TickLoad {
  /** Written pages of all watched memory this tick: exact, or the sampled extrapolation. */
  writtenPagesAtFull: number;
  /** ms the tick covered (since the previous one). */
  elapsedMs: number;
  /** Pages that faulted this tick (what the sample cost); omitted: the fraction's share. */
  faultedPages?: number;
  /** Pages the sample covered this tick; 0 = none (it saw nothing, so says nothing). */
  sampledPages?: number;
}

/** The largest power of two (1, 1/2, 1/4, ...) at or under `f`, never below the minimum. */
export function powerOfTwoAtMost(f: number): number {
  if (!(f < 1)) return 1;
  if (!(f > MIN_SAMPLE_FRACTION)) return MIN_SAMPLE_FRACTION;
  return Math.max(MIN_SAMPLE_FRACTION, 2 ** Math.floor(Math.log2(f)));
}

export class OverheadBudget {
  /** The smallest fraction whose sample is not empty (see next); starts at the minimum. */
  private floor = MIN_SAMPLE_FRACTION;
  /** What the estimate is held under: the budget less room for the estimate's error. */
  private readonly aimPct: number;

  constructor(
    /** The budget, percent of the target's time (0 < maxPct <= 100). */
    readonly maxPct: number,
    /** Calibrated cost of one write-protect fault, microseconds (overhead.ts). */
    readonly usPerFault: number,
    /** Room for the estimate's error (1 = none: the estimate itself is held under maxPct). */
    estimateError = ESTIMATE_ERROR,
  ) {
    this.aimPct = maxPct / estimateError;
  }

  /** The sample fraction and stretch for the next tick, given the current ones and this tick's load. */
  next(current: BudgetChoice, load: TickLoad): BudgetChoice {
    const { fraction, stretch } = current;
    const pct = (pages: number): number =>
      load.elapsedMs > 0
        ? (Math.max(0, pages) * this.usPerFault) / (load.elapsedMs * 10)
        : Infinity;
    // A sample that covered no page (a small watch: 2 MiB blocks, a small fraction) saw nothing
    // at all: twice the fraction becomes the floor, so the sample is never empty again and the
    // budget is kept by the interval instead.
    if (load.sampledPages === 0 && fraction < 1) {
      this.floor = Math.min(1, Math.max(this.floor, fraction * 2));
      return { fraction: this.floor, stretch };
    }
    const exactPct = pct(load.writtenPagesAtFull);
    if (exactPct === 0) {
      if (stretch > 1) return { fraction, stretch: stretch / 2 };
      return { fraction: fraction < 1 ? Math.min(1, fraction * 2) : 1, stretch };
    }
    // What this tick cost: its own faults (2 MiB blocks make the share sampled differ from the
    // fraction asked in a small watch), else the fraction's share of the exact cost.
    const nowPct = pct(load.faultedPages ?? load.writtenPagesAtFull * fraction);
    const fits = this.aimPct / exactPct;
    if (nowPct > this.aimPct) {
      // At least one step down (the sampled share may exceed the fraction; see above).
      const target = Math.max(this.floor, powerOfTwoAtMost(Math.min(fits, fraction / 2)));
      if (target < fraction) return { fraction: target, stretch };
      // At the smallest sample and still over: a longer interval.
      return { fraction, stretch: Math.min(MAX_STRETCH, stretch * 2) };
    }
    // Room to spare. Half the interval may cost up to twice as much (a writer that rewrites its
    // pages faults once per tick whatever the tick's length).
    if (stretch > 1) {
      if (nowPct * 2 * WIDEN_MARGIN <= this.aimPct) return { fraction, stretch: stretch / 2 };
      return current;
    }
    if (fraction < 1 && fits >= fraction * 2 * WIDEN_MARGIN)
      return { fraction: fraction * 2, stretch };
    return current;
  }
}
