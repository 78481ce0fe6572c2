/**
 * How the overhead estimate reads wherever it is shown (the CLI's watch line, the UI's status
 * line and timeline, `report`): the figure and the range it may be in, said as an estimate, with
 * what it is a share of. One place, so every surface says the same thing the same way.
 */

/** What the figure means, in words (core/watch/overhead.ts). */
export const OVERHEAD_IS =
  "share of the target's CPU time spent on write faults and on pagescope's own work that competed with it";

/** A percent as the estimate shows it: one decimal under 10, whole above. */
export function pctText(pct: number): string {
  return pct < 10 ? pct.toFixed(1) : String(Math.round(pct));
}

/**
 * "3.2% (2.1-5.0%)": the estimate and its stated range, or the estimate alone when the range is
 * not stated (negative: recordings made before it was kept).
 */
export function overheadText(pct: number, lowPct: number, highPct: number): string {
  const range = lowPct >= 0 && highPct >= 0 ? ` (${pctText(lowPct)}-${pctText(highPct)}%)` : '';
  return `${pctText(pct)}%${range}`;
}
