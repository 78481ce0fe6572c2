/**
 * Write working-set analytics: pure functions over a series of ticks (time, written page ranges
 * in absolute page numbers, resident pages), the same for a live session's history and for a
 * recording.
 *
 * Every tick's written ranges are exact (the watcher's get+reset of that tick's interval), so
 * "distinct pages written in a window" is exact too: all range ends of the run are sorted once
 * into elementary segments, and a window sliding over the ticks keeps a count per segment and
 * the total length of segments with a non-zero count. Cost: the segments each tick touches, twice
 * (in and out of the window), not the pages.
 *
 * The pre-copy estimate is an estimate (and says so): it replays the classic iterative
 * pre-copy model (QEMU/CRIU) against the measured curve of distinct pages written per window
 * length. Only watched memory is counted as written.
 *
 * Ticks are not always on time (a loaded machine, a slow target): a tick's written pages are the
 * writes since the tick before, however long ago that was. So rates are time-weighted (pages
 * over the wall time they cover, never averaged per tick: a tick after a 12 s gap would count
 * 12 s of writes as one interval's), a window whose ticks include such a gap is marked, and a
 * window longer than the run is not computed (tickTiming, windowSummary).
 */
import { PAGE_SIZE } from '../kernel/pagemap-abi.ts';

export interface SeriesTick {
  /** ms since the start. */
  t: number;
  /** Written ranges of the tick, absolute pages [s0, e0, s1, e1, ...], sorted and disjoint. */
  written: Float64Array;
  /** Resident pages (present) and swapped pages at that tick, and pages under write-watch. */
  present: number;
  swapped: number;
  watched: number;
  /** The interval in force at this tick (a bounded watch lengthens it); absent or 0: the series'. */
  intervalMs?: number;
}

export interface Series {
  intervalMs: number;
  ticks: SeriesTick[];
}

const MiB = 1024 * 1024;

/**
 * Elementary segments of every range end in the run, and each tick's ranges as segment spans.
 * Built once per Series (cached): typed arrays, one sort of all range ends.
 */
class Segments {
  readonly bounds: Float64Array;
  /** Every tick's spans [firstSegment, endSegment, ...], one after another. */
  readonly spanData: Uint32Array;
  /** Tick i's spans are spanData[spanStart[i] .. spanStart[i + 1]). */
  readonly spanStart: Uint32Array;
  /** Segments the spans cover, all ticks together: the cost of counting segment by segment. */
  readonly work: number;

  constructor(ticks: readonly SeriesTick[]) {
    let total = 0;
    for (const t of ticks) total += t.written.length & ~1;
    this.bounds = sortedEnds(ticks, total);
    let n = 0;
    this.spanData = new Uint32Array(total);
    this.spanStart = new Uint32Array(ticks.length + 1);
    let work = 0;
    ticks.forEach((t, i) => {
      this.spanStart[i] = n;
      const w = t.written;
      let at = 0; // a tick's range ends rise: each is searched from the one before
      for (let r = 0; r + 1 < w.length; r += 2) {
        const a = (at = this.indexOf(w[r], at));
        const b = (at = this.indexOf(w[r + 1], at));
        this.spanData[n++] = a;
        this.spanData[n++] = b;
        work += b - a;
      }
    });
    this.spanStart[ticks.length] = n;
    this.work = work;
  }

  /** The index of bound v (present), searched from `from` on: galloping, then halving. */
  private indexOf(v: number, from: number): number {
    let lo = from;
    let hi = from;
    for (let step = 1; hi < this.bounds.length - 1 && this.bounds[hi] < v; step *= 2) {
      lo = hi + 1;
      hi = Math.min(this.bounds.length - 1, hi + step);
    }
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.bounds[mid] < v) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  length(k: number): number {
    return this.bounds[k + 1] - this.bounds[k];
  }

  get count(): number {
    return Math.max(0, this.bounds.length - 1);
  }

  /** Counting segment by segment costs `work`; a cover tree costs log2(segments) a span. */
  get useTree(): boolean {
    const spans = this.spanData.length / 2;
    return this.work > 4 * spans * Math.max(1, Math.log2(this.count + 1)) + 1024;
  }
}

/**
 * Segments are built once per series (a report asks for a dozen curves of the same one); the
 * cache holds while the series' tick list is the same array with the same first and last ticks.
 */
/** Every range end of the run, sorted, each once (a function of its own: the array of all of
 * them, duplicates included, is garbage as soon as it returns). */
function sortedEnds(ticks: readonly SeriesTick[], total: number): Float64Array {
  const all = new Float64Array(total);
  let n = 0;
  for (const t of ticks) {
    const w = t.written;
    for (let i = 0; i + 1 < w.length; i += 2) {
      all[n++] = w[i];
      all[n++] = w[i + 1];
    }
  }
  all.sort();
  let m = 0;
  for (let i = 0; i < all.length; i++) if (m === 0 || all[i] !== all[m - 1]) all[m++] = all[i];
  return all.slice(0, m);
}

const segmentsOf = new WeakMap<
  readonly SeriesTick[],
  { n: number; first?: SeriesTick; last?: SeriesTick; seg: Segments }
>();
function segments(series: Series): Segments {
  const ticks = series.ticks;
  const c = segmentsOf.get(ticks);
  if (c && c.n === ticks.length && c.first === ticks[0] && c.last === ticks[ticks.length - 1])
    return c.seg;
  const seg = new Segments(ticks);
  segmentsOf.set(ticks, { n: ticks.length, first: ticks[0], last: ticks[ticks.length - 1], seg });
  return seg;
}

/** How a series' windows are counted (for the tests): segment by segment, or in a cover tree. */
export function countingMode(series: Series): 'segments' | 'tree' {
  return segments(series).useTree ? 'tree' : 'segments';
}

/**
 * The length of the union of spans added (+1) and removed (-1): a segment tree over the
 * elementary segments holding, per node, how many spans cover it whole and the covered length
 * below it (the classic area-of-union structure). O(log segments) a span.
 */
class CoverTree {
  private readonly size: number;
  private readonly cnt: Int32Array;
  private readonly cov: Float64Array;
  private readonly tot: Float64Array;

  constructor(seg: Segments) {
    let size = 1;
    while (size < seg.count) size *= 2;
    this.size = size;
    this.cnt = new Int32Array(2 * size);
    this.cov = new Float64Array(2 * size);
    this.tot = new Float64Array(2 * size);
    for (let k = 0; k < seg.count; k++) this.tot[size + k] = seg.length(k);
    for (let v = size - 1; v >= 1; v--) this.tot[v] = this.tot[2 * v] + this.tot[2 * v + 1];
  }

  get covered(): number {
    return this.cov[1];
  }

  update(a: number, b: number, d: number, v = 1, lo = 0, hi = this.size): void {
    if (b <= lo || hi <= a) return;
    if (a <= lo && hi <= b) this.cnt[v] += d;
    else {
      const mid = (lo + hi) >>> 1;
      this.update(a, b, d, 2 * v, lo, mid);
      this.update(a, b, d, 2 * v + 1, mid, hi);
    }
    this.cov[v] =
      this.cnt[v] > 0 ? this.tot[v] : v >= this.size ? 0 : this.cov[2 * v] + this.cov[2 * v + 1];
  }
}

/** A sliding multiset of ticks: how many distinct pages the ticks inside it wrote. */
class Window {
  private readonly counts: Uint32Array | null;
  private readonly tree: CoverTree | null;
  private flat = 0;

  constructor(private readonly seg: Segments) {
    this.tree = seg.useTree ? new CoverTree(seg) : null;
    this.counts = this.tree ? null : new Uint32Array(seg.count);
  }

  get distinct(): number {
    return this.tree ? this.tree.covered : this.flat;
  }

  add(i: number, sign: 1 | -1): void {
    const { spanData, spanStart } = this.seg;
    const end = spanStart[i + 1];
    if (this.tree) {
      for (let r = spanStart[i]; r < end; r += 2)
        this.tree.update(spanData[r], spanData[r + 1], sign);
      return;
    }
    const counts = this.counts as Uint32Array;
    for (let r = spanStart[i]; r < end; r += 2)
      for (let k = spanData[r]; k < spanData[r + 1]; k++) {
        if (sign === 1) {
          if (counts[k]++ === 0) this.flat += this.seg.length(k);
        } else if (--counts[k] === 0) this.flat -= this.seg.length(k);
      }
  }
}

function slide(
  series: Series,
  seg: Segments,
  windowMs: number,
  each: (i: number, d: number, lo: number) => void,
): void {
  const w = new Window(seg);
  const ticks = series.ticks;
  let lo = 0;
  for (let i = 0; i < ticks.length; i++) {
    w.add(i, 1);
    while (ticks[lo].t <= ticks[i].t - windowMs) w.add(lo++, -1);
    each(i, w.distinct, lo);
  }
}

/** A tick counts as late by a gap when it came more than GAP_FACTOR intervals after the one before. */
export const GAP_FACTOR = 2;

const dueInterval = (series: Series, i: number): number =>
  series.ticks[i].intervalMs || series.intervalMs;

/** Where tick i's writes begin: the tick before it, or one interval before the first tick. */
function coverStart(series: Series, i: number): number {
  const ticks = series.ticks;
  return i > 0 ? ticks[i - 1].t : ticks[0].t - dueInterval(series, 0);
}

/** Pages a tick wrote (its ranges' total length). */
function pagesOf(w: Float64Array): number {
  let n = 0;
  for (let r = 0; r + 1 < w.length; r += 2) n += w[r + 1] - w[r];
  return n;
}

export interface TickGap {
  /** The tick after the gap (position in the series), and the gap's ends and length in ms. */
  index: number;
  fromMs: number;
  toMs: number;
  ms: number;
}

export interface TickTiming {
  askedIntervalMs: number;
  /** From the ticks' times: (last - first) / (ticks - 1), and the median gap; null under 2 ticks. */
  meanIntervalMs: number | null;
  medianIntervalMs: number | null;
  /** Gaps longer than GAP_FACTOR x the interval in force: how many, the longest, the first 20. */
  gaps: { count: number; longestMs: number; list: TickGap[] };
}

/** The run's real tick rate and its gaps (a tick's own interval, if it has one, is the reference). */
export function tickTiming(series: Series): TickTiming {
  const ticks = series.ticks;
  const n = ticks.length;
  const diffs: number[] = [];
  const list: TickGap[] = [];
  let count = 0;
  let longestMs = 0;
  for (let i = 1; i < n; i++) {
    const ms = ticks[i].t - ticks[i - 1].t;
    diffs.push(ms);
    if (ms > GAP_FACTOR * dueInterval(series, i)) {
      count++;
      longestMs = Math.max(longestMs, ms);
      if (list.length < 20) list.push({ index: i, fromMs: ticks[i - 1].t, toMs: ticks[i].t, ms });
    }
  }
  diffs.sort((a, b) => a - b);
  const m = diffs.length;
  return {
    askedIntervalMs: series.intervalMs,
    meanIntervalMs: m ? (ticks[n - 1].t - ticks[0].t) / m : null,
    medianIntervalMs: m ? (m % 2 ? diffs[m >> 1] : (diffs[m / 2 - 1] + diffs[m / 2]) / 2) : null,
    gaps: { count, longestMs, list },
  };
}

/** gapsUpTo[i]: gaps before ticks 1..i (the gap before tick i counts at i: its writes span it). */
function gapsUpTo(series: Series): Uint32Array {
  const ticks = series.ticks;
  const out = new Uint32Array(ticks.length);
  for (let i = 1; i < ticks.length; i++)
    out[i] =
      out[i - 1] + (ticks[i].t - ticks[i - 1].t > GAP_FACTOR * dueInterval(series, i) ? 1 : 0);
  return out;
}

export interface WindowSummary {
  windowMs: number;
  /** False when the window is longer than the run: then last, mean and peak are null (n/a). */
  fits: boolean;
  /** Over the positions where a whole window fits in the run (the whole run: its end only). */
  last: number | null;
  mean: number | null;
  peak: number | null;
  positions: number;
  /** Of those positions, the windows whose ticks span a gap (their writes cover more time). */
  spanningGap: number;
  lastSpansGap: boolean;
  peakSpansGap: boolean;
}

/** Distinct pages written per window of `windowMs`, summed up only where a whole window fits. */
export function windowSummary(series: Series, windowMs: number): WindowSummary {
  const ticks = series.ticks;
  const out: WindowSummary = {
    windowMs,
    fits: false,
    last: null,
    mean: null,
    peak: null,
    positions: 0,
    spanningGap: 0,
    lastSpansGap: false,
    peakSpansGap: false,
  };
  if (ticks.length === 0) return out;
  const runStart = coverStart(series, 0);
  const whole = windowMs === Infinity;
  if (!whole && ticks[ticks.length - 1].t - runStart < windowMs) return out;
  out.fits = true;
  const gaps = gapsUpTo(series);
  let sum = 0;
  let peak = -1;
  slide(series, segments(series), windowMs, (i, d, lo) => {
    if (whole ? i !== ticks.length - 1 : ticks[i].t - runStart < windowMs) return;
    const spans = gaps[i] - (lo > 0 ? gaps[lo - 1] : 0) > 0;
    out.positions++;
    sum += d;
    if (spans) out.spanningGap++;
    if (d > peak) {
      peak = d;
      out.peakSpansGap = spans;
    }
    out.last = d;
    out.lastSpansGap = spans;
  });
  out.peak = peak;
  out.mean = sum / out.positions;
  return out;
}

/**
 * Working-set curve: for each tick, the distinct pages written in the ticks of the last
 * `windowMs` (Infinity: since the start).
 */
export function workingSetCurve(series: Series, windowMs: number): number[] {
  const seg = segments(series);
  const out: number[] = [];
  slide(series, seg, windowMs, (_, d) => out.push(d));
  return out;
}

/**
 * Mean distinct pages written per `windowMs` of wall time, over the positions where a whole
 * window fits in the run (the run's whole distinct set when the window is longer than the run).
 * Time-weighted: a window's ticks wrote over the time since the tick before its first one, which
 * a gap makes longer than the window; its count is scaled down by window / that time.
 */
export function meanDistinctPerWindow(series: Series, windowMs: number, seg?: Segments): number {
  const ticks = series.ticks;
  if (ticks.length === 0) return 0;
  const s = seg ?? segments(series);
  const runStart = coverStart(series, 0);
  let sum = 0;
  let n = 0;
  let last = 0;
  slide(series, s, windowMs, (i, d, lo) => {
    last = d;
    if (ticks[i].t - runStart >= windowMs) {
      sum += (d * windowMs) / Math.max(windowMs, ticks[i].t - coverStart(series, lo));
      n++;
    }
  });
  if (n > 0) return sum / n;
  // Window longer than the run: everything the run wrote.
  const all = new Window(s);
  for (let i = 0; i < ticks.length; i++) all.add(i, 1);
  return Math.max(last, all.distinct);
}

export interface DirtyRate {
  /**
   * Bytes written per second of wall time, as MiB/s: every tick's written pages (the writes since
   * the tick before) after the first, over the time from the first tick to the last. Time-weighted,
   * so late ticks neither inflate nor hide it. (One tick: its pages over one interval.)
   */
  meanMiBps: number;
  meanBytesPerSecond: number;
  /** The pages and the wall time that mean is over. */
  writtenPages: number;
  coveredMs: number;
  /** The highest rate of a window of `windowMs` (its ticks' pages over the time they cover). */
  peakMiBps: number;
  /** Per tick, the rate of the window ending there (0 until a whole window has passed). */
  perTickMiBps: number[];
  windowMs: number;
}

export function dirtyRate(series: Series, windowMs = 1000): DirtyRate {
  const ticks = series.ticks;
  const n = ticks.length;
  // prefix[i]: pages written by ticks before i.
  const prefix = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) prefix[i + 1] = prefix[i] + pagesOf(ticks[i].written);
  const writtenPages = n > 1 ? prefix[n] - prefix[1] : prefix[n];
  const coveredMs = n > 1 ? ticks[n - 1].t - ticks[0].t : n === 1 ? dueInterval(series, 0) : 0;
  const meanBytesPerSecond = coveredMs > 0 ? (writtenPages * PAGE_SIZE * 1000) / coveredMs : 0;
  const runStart = n ? coverStart(series, 0) : 0;
  const per: number[] = [];
  let peak = 0;
  let lo = 0;
  for (let i = 0; i < n; i++) {
    while (ticks[lo].t <= ticks[i].t - windowMs) lo++;
    if (ticks[i].t - runStart < windowMs) {
      per.push(0);
      continue;
    }
    const ms = Math.max(windowMs, ticks[i].t - coverStart(series, lo));
    const rate = ((prefix[i + 1] - prefix[lo]) * PAGE_SIZE * 1000) / ms / MiB;
    per.push(rate);
    peak = Math.max(peak, rate);
  }
  return {
    meanMiBps: meanBytesPerSecond / MiB,
    meanBytesPerSecond,
    writtenPages,
    coveredMs,
    peakMiBps: peak,
    perTickMiBps: per,
    windowMs,
  };
}

export interface PrecopyOptions {
  /** Link speed in bytes per second. */
  linkBytesPerSecond: number;
  /** Pause the workload for the last copy once what is left fits this (QEMU default 300 ms). */
  downtimeMs?: number;
  maxIterations?: number;
  /** Pages to copy in the first round (default: present + swapped at the last tick). */
  memoryPages?: number;
}

export interface PrecopyEstimate {
  estimate: true;
  linkBytesPerSecond: number;
  memoryPages: number;
  /** Pages sent in each round, the first being the whole memory. */
  rounds: Array<{ pages: number; ms: number }>;
  iterations: number;
  /** Pages left dirty for the stop-and-copy. */
  finalDirtyPages: number;
  downtimeMs: number;
  totalPagesSent: number;
  totalMs: number;
  converged: boolean;
  /** Why the rounds stopped. */
  stopped: 'fits-downtime' | 'not-shrinking' | 'max-iterations';
}

/**
 * The iterative pre-copy model: round 0 sends all memory; every later round sends what was
 * written while the round before was being sent, estimated as the measured mean distinct pages
 * written in a window that long. Rounds stop when what is left can be sent within the downtime,
 * when it stops shrinking (the workload dirties faster than the link drains) or at the limit.
 */
export function precopyEstimate(series: Series, opts: PrecopyOptions): PrecopyEstimate {
  const ticks = series.ticks;
  const last = ticks[ticks.length - 1];
  const memoryPages = opts.memoryPages ?? (last ? last.present + last.swapped : 0);
  const downtimeMs = opts.downtimeMs ?? 300;
  const maxIterations = opts.maxIterations ?? 30;
  const bps = opts.linkBytesPerSecond;
  const msFor = (pages: number): number => ((pages * PAGE_SIZE) / bps) * 1000;
  const seg = segments(series);
  const cache = new Map<number, number>();
  // Pages dirtied in `ms`: the time-weighted curve, never more than the time-weighted rate gives.
  const pagesPerMs = dirtyRate(series).meanBytesPerSecond / PAGE_SIZE / 1000;
  const dirtyIn = (ms: number): number => {
    const key = Math.max(series.intervalMs, Math.round(ms));
    let d = cache.get(key);
    if (d === undefined) {
      d = Math.min(meanDistinctPerWindow(series, key, seg), pagesPerMs * key);
      cache.set(key, d);
    }
    return Math.round(d);
  };
  const rounds = [{ pages: memoryPages, ms: msFor(memoryPages) }];
  let stopped: PrecopyEstimate['stopped'] = 'max-iterations';
  let dirty = dirtyIn(rounds[0].ms);
  while (rounds.length <= maxIterations) {
    if (msFor(dirty) <= downtimeMs) {
      stopped = 'fits-downtime';
      break;
    }
    if (dirty >= rounds[rounds.length - 1].pages && rounds.length > 1) {
      stopped = 'not-shrinking';
      break;
    }
    rounds.push({ pages: dirty, ms: msFor(dirty) });
    dirty = dirtyIn(rounds[rounds.length - 1].ms);
  }
  const sent = rounds.reduce((a, r) => a + r.pages, 0) + dirty;
  return {
    estimate: true,
    linkBytesPerSecond: bps,
    memoryPages,
    rounds,
    iterations: rounds.length,
    finalDirtyPages: dirty,
    downtimeMs: msFor(dirty),
    totalPagesSent: sent,
    totalMs: rounds.reduce((a, r) => a + r.ms, 0) + msFor(dirty),
    converged: stopped === 'fits-downtime',
    stopped,
  };
}

/** Write frequency classes: share of the run's ticks in which a page was written. */
export const HOT_SHARE = 0.5;
export const WARM_SHARE = 0.1;

export interface WriteFrequency {
  /** Pages written in at least HOT_SHARE of the ticks. */
  hot: number;
  /** At least WARM_SHARE, below HOT_SHARE. */
  warm: number;
  /** Written at least once, below WARM_SHARE. */
  cold: number;
  ticks: number;
  /** Runs of absolute pages with the number of ticks they were written in: [start, end, ticks]. */
  runs: Array<[number, number, number]>;
}

/** `runs: false` leaves WriteFrequency.runs empty (a report needs only the three counts). */
export function writeFrequency(series: Series, opts: { runs?: boolean } = {}): WriteFrequency {
  const wantRuns = opts.runs !== false;
  const seg = segments(series);
  // Ticks writing each segment: a difference array over the spans, then its prefix sums.
  const counts = new Int32Array(seg.count + 1);
  for (let r = 0; r + 1 < seg.spanData.length; r += 2) {
    counts[seg.spanData[r]]++;
    counts[seg.spanData[r + 1]]--;
  }
  for (let k = 1; k < counts.length; k++) counts[k] += counts[k - 1];
  const n = Math.max(1, series.ticks.length);
  let hot = 0;
  let warm = 0;
  let cold = 0;
  const runs: Array<[number, number, number]> = [];
  for (let k = 0; k < seg.count; k++) {
    const c = counts[k];
    if (c === 0) continue;
    const len = seg.length(k);
    const share = c / n;
    if (share >= HOT_SHARE) hot += len;
    else if (share >= WARM_SHARE) warm += len;
    else cold += len;
    if (!wantRuns) continue;
    const lastRun = runs[runs.length - 1];
    if (lastRun && lastRun[1] === seg.bounds[k] && lastRun[2] === c) lastRun[1] = seg.bounds[k + 1];
    else runs.push([seg.bounds[k], seg.bounds[k + 1], c]);
  }
  return { hot, warm, cold, ticks: series.ticks.length, runs };
}

/** One VMA's share of the writes. VMAs are told apart by start address and path. */
export interface VmaWriteRow {
  start: number;
  end: number;
  path: string;
  label?: string;
  /** Sum over ticks of the pages written (a page written in 3 ticks counts 3 times). */
  pageWrites: number;
  distinctPages: number;
  /** pageWrites x page size over the run's duration. */
  writeMiBps: number;
  /** pageWrites / all pageWrites. */
  share: number;
}

export interface VmaSpan {
  startPage: number;
  endPage: number;
  path: string;
  label?: string;
}

/**
 * Per-VMA table of writes. `vmasAt(i)` gives tick i's VMA table (address order). Sorted by
 * pageWrites, largest first; `sortVmaRows` re-sorts by another column.
 */
export function perVmaWrites(
  series: Series,
  vmasAt: (i: number) => readonly VmaSpan[],
): VmaWriteRow[] {
  type Row = VmaWriteRow & { starts: Float64Array; ends: Float64Array; n: number };
  const rows = new Map<string, Row>();
  // Two walks over every tick's ranges cut at VMA bounds: the first counts each row's pieces,
  // the second fills arrays of exactly that size (no growing copies of millions of ranges).
  const walk = (each: (row: Row, s: number, e: number) => void): void =>
    series.ticks.forEach((t, i) => {
      const vmas = vmasAt(i);
      let v = 0;
      let rowOf = -1;
      let row: Row | undefined;
      for (let r = 0; r + 1 < t.written.length; r += 2) {
        let s = t.written[r];
        const e = t.written[r + 1];
        while (s < e) {
          while (v < vmas.length && vmas[v].endPage <= s) v++;
          if (v >= vmas.length) break;
          const vm = vmas[v];
          if (vm.startPage >= e) break;
          s = Math.max(s, vm.startPage);
          const pe = Math.min(e, vm.endPage);
          if (rowOf !== v || !row) {
            const key = `${vm.startPage}:${vm.path}`;
            row = rows.get(key);
            if (!row) {
              row = {
                start: vm.startPage,
                end: vm.endPage,
                path: vm.path,
                pageWrites: 0,
                distinctPages: 0,
                writeMiBps: 0,
                share: 0,
                starts: new Float64Array(0),
                ends: new Float64Array(0),
                n: 0,
              };
              if (vm.label) row.label = vm.label;
              rows.set(key, row);
            }
            rowOf = v;
            row.end = Math.max(row.end, vm.endPage);
          }
          each(row, s, pe);
          s = pe;
        }
      }
    });
  walk((row) => row.n++);
  for (const row of rows.values()) {
    row.starts = new Float64Array(row.n);
    row.ends = new Float64Array(row.n);
    row.n = 0;
  }
  let all = 0;
  walk((row, s, e) => {
    row.pageWrites += e - s;
    all += e - s;
    row.starts[row.n] = s;
    row.ends[row.n++] = e;
  });
  const ticks = series.ticks;
  const seconds =
    ticks.length === 0 ? 0 : (ticks[ticks.length - 1].t - ticks[0].t + series.intervalMs) / 1000;
  const out: VmaWriteRow[] = [];
  for (const row of rows.values()) {
    const { starts, ends, n: _n, ...rest } = row;
    rest.distinctPages = unionLength(starts, ends);
    rest.writeMiBps = seconds > 0 ? (rest.pageWrites * PAGE_SIZE) / MiB / seconds : 0;
    rest.share = all > 0 ? rest.pageWrites / all : 0;
    out.push(rest);
  }
  return sortVmaRows(out, 'pageWrites');
}

export function sortVmaRows(
  rows: VmaWriteRow[],
  by: 'pageWrites' | 'distinctPages' | 'share',
): VmaWriteRow[] {
  return [...rows].sort((a, b) => b[by] - a[by] || a.start - b.start);
}

/**
 * Pages covered by ranges [starts[i], ends[i]) in any order: the starts and the ends sorted
 * apart, in place (typed arrays), then one sweep counting how many ranges cover each stretch.
 */
function unionLength(starts: Float64Array, ends: Float64Array): number {
  const n = starts.length;
  starts.sort();
  ends.sort();
  let total = 0;
  let depth = 0;
  let at = 0;
  let i = 0;
  let j = 0;
  while (j < n) {
    const x = i < n && starts[i] < ends[j] ? starts[i] : ends[j];
    if (depth > 0) total += x - at;
    at = x;
    if (i < n && starts[i] < ends[j]) {
      depth++;
      i++;
    } else {
      depth--;
      j++;
    }
  }
  return total;
}
