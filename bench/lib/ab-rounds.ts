/**
 * Interleaved A/B rounds on a shared machine (bench case 11, issue 22): what watching costs a
 * target, judged round by round instead of by medians of each side.
 *
 * On this 2-core VM shared at load 12-20 a target's throughput swings 2x between runs seconds
 * apart and its CPU time per request 10-25% (more CPU the more it waited for one: a preempted
 * target comes back to cold caches), while a bounded watch costs it 1-2%. Each round runs the
 * same work unwatched and watched back to back (A-B, then B-A), so a round's ratio compares two
 * runs under nearly the same load; the median over 8+ rounds and its spread (quartiles) say how
 * far the measurement can be trusted, and the same ratio between successive UNWATCHED runs (A/A)
 * is the noise floor: a watched/unwatched ratio inside the A/A spread is no measurable cost.
 */
import { median } from './stats.ts';

/** The middle and the quartiles of some values (linear interpolation; NaN when empty). */
export interface Spread {
  q1: number;
  median: number;
  q3: number;
}

export function spreadOf(values: readonly number[]): Spread {
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (!s.length) return { q1: NaN, median: NaN, q3: NaN };
  const at = (p: number): number => {
    const x = (s.length - 1) * p;
    const lo = Math.floor(x);
    return s[lo] + (s[Math.min(s.length - 1, lo + 1)] - s[lo]) * (x - lo);
  };
  return { q1: at(0.25), median: median(s), q3: at(0.75) };
}

/** Mean and its standard error (NaN error with fewer than 2 values). */
export function meanAndError(values: readonly number[]): { mean: number; se: number } {
  const v = values.filter((x) => Number.isFinite(x));
  if (!v.length) return { mean: NaN, se: NaN };
  const mean = v.reduce((a, x) => a + x, 0) / v.length;
  if (v.length < 2) return { mean, se: NaN };
  const sd = Math.sqrt(v.reduce((a, x) => a + (x - mean) ** 2, 0) / (v.length - 1));
  return { mean, se: sd / Math.sqrt(v.length) };
}

/** One side's runs, round by round (index i of each array is round i). */
export interface AbRuns {
  plainMs: readonly number[];
  watchedMs: readonly number[];
  plainCpu: readonly number[];
  watchedCpu: readonly number[];
}

export interface AbSummary {
  rounds: number;
  /** Throughput watched / unwatched per round (unwatched ms / watched ms, same work). */
  throughput: Spread;
  /** CPU time per request unwatched / watched per round: 1 = watching added nothing. */
  cpu: Spread;
  /** Share of the target's CPU time per request that watching added, % per round. */
  cpuAddedPct: Spread;
  /** Its mean and standard error over the rounds, %. */
  cpuAddedMean: { mean: number; se: number };
  /** The same ratios between successive unwatched runs (A/A): the noise floor. */
  aaThroughput: Spread;
  aaCpu: Spread;
}

export function summarizeAb(runs: AbRuns): AbSummary {
  const n = Math.min(
    runs.plainMs.length,
    runs.watchedMs.length,
    runs.plainCpu.length,
    runs.watchedCpu.length,
  );
  const idx = [...Array(n).keys()];
  const added = idx.map((i) => (1 - runs.plainCpu[i] / runs.watchedCpu[i]) * 100);
  const aa = idx.slice(1);
  return {
    rounds: n,
    throughput: spreadOf(idx.map((i) => runs.plainMs[i] / runs.watchedMs[i])),
    cpu: spreadOf(idx.map((i) => runs.plainCpu[i] / runs.watchedCpu[i])),
    cpuAddedPct: spreadOf(added),
    cpuAddedMean: meanAndError(added),
    aaThroughput: spreadOf(aa.map((i) => runs.plainMs[i - 1] / runs.plainMs[i])),
    aaCpu: spreadOf(aa.map((i) => runs.plainCpu[i - 1] / runs.plainCpu[i])),
  };
}

/**
 * A bound of `atLeast` (0.95: --max-overhead 5) held when the median round kept at least that
 * share of the unwatched throughput AND of the unwatched CPU time per request.
 */
export function boundHeld(s: AbSummary, atLeast: number): boolean {
  return s.throughput.median >= atLeast && s.cpu.median >= atLeast;
}

const f2 = (x: number): string => x.toFixed(2);

/** "0.98x (0.91-1.04)": a spread of ratios as the note prints it. */
export function ratioText(s: Spread): string {
  return `${f2(s.median)}x (${f2(s.q1)}-${f2(s.q3)})`;
}
