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
 *
 * Rounds of three (AbRuns.plain2Ms/plain2Cpu: two unwatched runs and one watched, in an order
 * that cycles through all six, so each run is first, middle and last equally often and each pair
 * is adjacent as often as the others): the watched run is judged against the mean of its round's
 * two unwatched runs, and the two unwatched runs against each other are the noise floor measured
 * in the same rounds, under the same load, at the same spacing (with one unwatched run a round
 * the floor compared runs a round apart: a watched run between them, seconds more of drift).
 * Under no effect the judged ratio's spread is about sqrt(3/4) of the floor's (one run against
 * the mean of two, against one against one). The median's 95% confidence interval is by order
 * statistics (distribution-free: the binomial count of rounds under the median; medianCi).
 */
import { estimateFits, median } from './stats.ts';

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
  /**
   * A second unwatched run in each round (rounds of three, see the top): the watched run is
   * judged against the mean of the two, and the two against each other are the A/A floor.
   */
  plain2Ms?: readonly number[];
  plain2Cpu?: readonly number[];
}

/** A median with its confidence interval (order statistics; medianCi). */
export interface MedianCi {
  median: number;
  lo: number;
  hi: number;
  /** The interval's coverage (>= the level asked; 1 - 2 x the binomial tail). */
  coverage: number;
}

/**
 * The median of `values` and a distribution-free confidence interval for it, of at least
 * `level` (default 0.95) where the count allows: [x(k), x(n+1-k)] of the sorted values, k the
 * largest with P(Binomial(n, 1/2) < k) <= (1 - level) / 2 (n = 12: x(3)..x(10), 96%; n = 8:
 * the least and the greatest, 99%). With fewer than 6 values no interval reaches 95%: the least
 * and the greatest, and the coverage they have.
 */
export function medianCi(values: readonly number[], level = 0.95): MedianCi {
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  const n = s.length;
  if (!n) return { median: NaN, lo: NaN, hi: NaN, coverage: 0 };
  // P(B < k) for B ~ Binomial(n, 1/2), k = 0..n.
  const below: number[] = [0];
  let c = 1; // C(n, j)
  for (let j = 0; j < n; j++) {
    below.push(below[j] + c / 2 ** n);
    c = (c * (n - j)) / (j + 1);
  }
  let k = 1;
  while (k + 1 <= (n + 1) / 2 && below[k + 1] <= (1 - level) / 2) k++;
  return {
    median: median(s),
    lo: s[k - 1],
    hi: s[n - k],
    coverage: Math.max(0, 1 - 2 * below[k]),
  };
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
  /**
   * The same ratios between unwatched runs (A/A): the noise floor. Rounds of three: the round's
   * two unwatched runs; else successive rounds' unwatched runs.
   */
  aaThroughput: Spread;
  aaCpu: Spread;
  /** Whether the floor was measured within the rounds (rounds of three). */
  aaInRound: boolean;
  /** The median round's ratios with their 95% confidence intervals (medianCi). */
  throughputCi: MedianCi;
  cpuCi: MedianCi;
  aaThroughputCi: MedianCi;
  aaCpuCi: MedianCi;
  /** Each round's throughput and CPU-per-request ratios, in round order. */
  roundThroughput: number[];
  roundCpu: number[];
}

/**
 * Each round's unwatched figure: with a second unwatched run a round (rounds of three), the mean
 * of the round's two; else the one run's. Throws where `second` is given but has fewer rounds
 * than `first` (a round of three that lost its second run is not a round of two).
 */
export function roundMeans(first: readonly number[], second?: readonly number[]): number[] {
  if (second === undefined) return [...first];
  if (second.length < first.length)
    throw new Error(
      `rounds of three: ${first.length} rounds but ${second.length} second unwatched runs`,
    );
  return first.map((x, i) => (x + second[i]) / 2);
}

export function summarizeAb(runs: AbRuns): AbSummary {
  const n = Math.min(
    runs.plainMs.length,
    runs.watchedMs.length,
    runs.plainCpu.length,
    runs.watchedCpu.length,
  );
  const p2ms = runs.plain2Ms;
  const p2cpu = runs.plain2Cpu;
  if ((p2ms === undefined) !== (p2cpu === undefined))
    throw new Error('rounds of three need both plain2Ms and plain2Cpu');
  const three = p2ms !== undefined && p2cpu !== undefined;
  const idx = [...Array(n).keys()];
  // The unwatched reference of each round: the mean of its two unwatched runs, or its one
  // (roundMeans throws where a round's second run is missing).
  const refMs = roundMeans(runs.plainMs.slice(0, n), p2ms);
  const refCpu = roundMeans(runs.plainCpu.slice(0, n), p2cpu);
  const throughput = idx.map((i) => refMs[i] / runs.watchedMs[i]);
  const cpu = idx.map((i) => refCpu[i] / runs.watchedCpu[i]);
  const added = idx.map((i) => (1 - refCpu[i] / runs.watchedCpu[i]) * 100);
  const aaMs = three
    ? idx.map((i) => runs.plainMs[i] / p2ms[i])
    : idx.slice(1).map((i) => runs.plainMs[i - 1] / runs.plainMs[i]);
  const aaCpu = three
    ? idx.map((i) => runs.plainCpu[i] / p2cpu[i])
    : idx.slice(1).map((i) => runs.plainCpu[i - 1] / runs.plainCpu[i]);
  return {
    rounds: n,
    throughput: spreadOf(throughput),
    cpu: spreadOf(cpu),
    cpuAddedPct: spreadOf(added),
    cpuAddedMean: meanAndError(added),
    aaThroughput: spreadOf(aaMs),
    aaCpu: spreadOf(aaCpu),
    aaInRound: three,
    throughputCi: medianCi(throughput),
    cpuCi: medianCi(cpu),
    aaThroughputCi: medianCi(aaMs),
    aaCpuCi: medianCi(aaCpu),
    roundThroughput: throughput,
    roundCpu: cpu,
  };
}

/**
 * The order of round `i`'s runs in rounds of three: all six orders of (P)lain, (Q) the second
 * plain and (W)atched, in turn, so over six rounds each run takes each place twice.
 */
export const THREE_RUN_ORDERS = ['PWQ', 'QWP', 'WPQ', 'WQP', 'PQW', 'QPW'] as const;
export function threeRunOrder(i: number): (typeof THREE_RUN_ORDERS)[number] {
  return THREE_RUN_ORDERS[((i % 6) + 6) % 6];
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

/** "0.98x [95% CI 0.93-1.02]": a median with its interval as the note prints it. */
export function ciText(c: MedianCi): string {
  return `${f2(c.median)}x [${Math.round(c.coverage * 100)}% CI ${f2(c.lo)}-${f2(c.hi)}]`;
}

/**
 * What the rounds say of a bound of `atLeast`: 'held' (the median round at or over it), and of a
 * miss whether the shortfall is measurable: 'missed' when the median's interval lies wholly under
 * the bound, 'missed-within-noise' when it reaches over it (the rounds cannot tell the miss from
 * the noise; more rounds can). By the lower of the throughput and CPU-per-request medians.
 */
export function boundVerdict(
  s: AbSummary,
  atLeast: number,
): 'held' | 'missed' | 'missed-within-noise' {
  if (boundHeld(s, atLeast)) return 'held';
  const under = [s.throughputCi, s.cpuCi].filter((c) => !(c.median >= atLeast));
  return under.some((c) => c.hi < atLeast) ? 'missed' : 'missed-within-noise';
}

/**
 * What the rounds say of an estimate of `estPct` (% of the target's CPU time) against the share
 * of its CPU time per request that watching added: 'met' where it fits the median round
 * (estimateFits: within 1.5x, or 3 points when both are under 5%); of a miss, whether it is
 * measurable: 'missed-within-noise' where some share inside the median's interval (cpuCi, each
 * ratio r read as (1 - r) x 100%) would fit, 'missed' where none would (more rounds cannot make
 * it fit).
 */
export function estimateVerdict(
  s: AbSummary,
  estPct: number,
): 'met' | 'missed' | 'missed-within-noise' {
  const fits = (m: number): boolean => estimateFits(estPct, Math.max(0, m));
  if (fits(s.cpuAddedPct.median)) return 'met';
  const lo = (1 - s.cpuCi.hi) * 100;
  const hi = (1 - s.cpuCi.lo) * 100;
  if (!(lo <= hi)) return 'missed';
  // The shares that fit form one interval; it meets [lo, hi] where one of its ends (or the
  // estimate itself), clamped into [lo, hi], fits.
  const ends = [estPct, estPct / 1.5, estPct * 1.5, estPct - 3, Math.min(estPct + 3, 4.999)];
  return ends.some((x) => fits(Math.min(hi, Math.max(lo, x)))) ? 'missed-within-noise' : 'missed';
}
