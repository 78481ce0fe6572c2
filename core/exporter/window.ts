/**
 * One watched process's recent writes, as the exporter reports them: write working sets over
 * trailing windows (1 s, 10 s, 60 s), the dirty rate, and the busiest VMAs.
 *
 * Strategy: the exporter is one more consumer of a session's tick stream. Each tick brings the
 * pages written since the tick before (exact, or a sample: then `fraction` < 1 and `writtenEst`
 * is the watcher's extrapolation). This keeps the last minute of ticks, with their written ranges
 * in absolute page numbers (the frame's collapsed indices shift when the maps change, absolute
 * pages do not), and answers at scrape time:
 * - working set over W: the distinct pages written by the ticks that cover the last W (a tick is
 *   in when it began at most W plus half an interval ago; the last tick always is). Exact when
 *   every tick in it was exact; sampled ones are scaled up by the window's mean fraction (an
 *   estimate, and the sample fraction gauge says so);
 * - dirty rate over W: pages written (the ticks' estimates) over the time those ticks cover,
 *   never per tick: a late tick covers more time and more writes;
 * - per VMA: each tick's written pages by VMA name (anonymous memory by its kind, so the label's
 *   values stay few however often the process maps memory), rates over W, the top N and "other".
 * Pure: no /proc, no clock (ticks carry their own times); the unit test drives it directly.
 */
import type { VmaInfo } from '../protocol/messages.ts';
import { labelledName } from '../protocol/vma-name.ts';

export interface WriteTick {
  /** ms on the session's clock, at the end of the tick. */
  t: number;
  /** ms the tick's writes cover (since the tick before). */
  coverMs: number;
  /** Written pages of the tick, absolute [s0, e0, s1, e1, ...] (the sampled ones when sampled). */
  written: Float64Array;
  /** Written pages of all watched memory: exact, or the extrapolation from the sample. */
  writtenEst: number;
  /** +/- pages around writtenEst at about 95% (the watcher's): 0 exact, -1 not stated. */
  errPages?: number;
  /** Share of the watched pages sampled: 1 = exact. */
  fraction: number;
  /** Estimated written pages per VMA name. */
  byVma: Map<string, number>;
}

/** Ticks older than this (behind the newest) are dropped: the longest window is 60 s. */
export const KEEP_MS = 65_000;

/** The name a VMA is reported under: its file's base name, [heap], [stack], else [anon]. */
export function vmaLabel(v: Pick<VmaInfo, 'path' | 'label' | 'kind'>): string {
  return labelledName(v) || (v.kind === 'anon' ? '[anon]' : `[${v.kind}]`);
}

/**
 * Collapsed written ranges [s, e, ...] (a frame's `written`) in absolute pages, by the VMA table
 * they were made against (sorted by offset). A range across VMA boundaries is split.
 */
export function toAbsolute(collapsed: Float64Array, vmas: readonly VmaInfo[]): Float64Array {
  const out: number[] = [];
  let v = 0;
  for (let r = 0; r + 1 < collapsed.length; r += 2) {
    let s = collapsed[r];
    const e = collapsed[r + 1];
    while (s < e) {
      while (v < vmas.length && vmas[v].offset + vmas[v].endPage - vmas[v].startPage <= s) v++;
      if (v >= vmas.length) break;
      const vm = vmas[v];
      if (vm.offset > s) s = vm.offset;
      if (s >= e) break;
      const end = Math.min(e, vm.offset + vm.endPage - vm.startPage);
      const a = vm.startPage + (s - vm.offset);
      const b = vm.startPage + (end - vm.offset);
      if (out.length && out[out.length - 1] === a) out[out.length - 1] = b;
      else out.push(a, b);
      s = end;
    }
  }
  return Float64Array.from(out);
}

/** Distinct pages in the union of sorted-per-tick [s, e) pairs of several ticks. */
export function unionPages(lists: readonly Float64Array[]): number {
  let n = 0;
  for (const l of lists) n += l.length >> 1;
  const starts = new Float64Array(n);
  const ends = new Float64Array(n);
  const order = new Uint32Array(n);
  let k = 0;
  for (const l of lists)
    for (let i = 0; i + 1 < l.length; i += 2) {
      starts[k] = l[i];
      ends[k] = l[i + 1];
      order[k] = k;
      k++;
    }
  order.sort((a, b) => starts[a] - starts[b]);
  let total = 0;
  let curS = -1;
  let curE = -1;
  for (let i = 0; i < n; i++) {
    const s = starts[order[i]];
    const e = ends[order[i]];
    if (s > curE) {
      total += curE - curS;
      curS = s;
      curE = e;
    } else if (e > curE) curE = e;
  }
  return total + (curE - curS);
}

/** The watcher's sampling, as the window needs it (core/watch/sampling.ts). */
export interface SampleModel {
  /** Pages per grain: every sample is a union of whole grains. */
  blockPages: number;
  /** Whether grain `b` is in the sample at `fraction`. */
  inSample(b: number, fraction: number): boolean;
  /** Watched pages now, and those of them in the samples at every one of `fractions`. */
  pages(...fractions: number[]): { watched: number; sampled: number };
}

/** The parts of [s, e) pairs inside the samples at every one of `fractions`. */
export function clipToSample(
  pairs: Float64Array,
  m: SampleModel,
  fractions: readonly number[],
): Float64Array {
  const out: number[] = [];
  const B = m.blockPages;
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    const s = pairs[i];
    const e = pairs[i + 1];
    for (let b = Math.floor(s / B); b * B < e; b++) {
      if (!fractions.every((f) => m.inSample(b, f))) continue;
      const a = Math.max(s, b * B);
      const z = Math.min(e, (b + 1) * B);
      if (out.length && out[out.length - 1] === a) out[out.length - 1] = z;
      else out.push(a, z);
    }
  }
  return Float64Array.from(out);
}

export class WriteWindow {
  private ticks: WriteTick[] = [];
  /** Written pages since the watch began (estimates included): the written-bytes counter. */
  totalWrittenPages = 0;

  push(tick: WriteTick): void {
    this.ticks.push(tick);
    this.totalWrittenPages += tick.writtenEst;
    const oldest = tick.t - KEEP_MS;
    let drop = 0;
    while (drop < this.ticks.length - 1 && this.ticks[drop].t < oldest) drop++;
    if (drop) this.ticks.splice(0, drop);
  }

  get length(): number {
    return this.ticks.length;
  }

  get last(): WriteTick | undefined {
    return this.ticks[this.ticks.length - 1];
  }

  /** The ticks that cover the last `windowMs` (see the top of the file); [] before a tick. */
  private within(windowMs: number): WriteTick[] {
    const last = this.last;
    if (!last) return [];
    const from = last.t - windowMs - last.coverMs / 2;
    let i = this.ticks.length - 1;
    while (i > 0 && this.ticks[i - 1].t - this.ticks[i - 1].coverMs >= from) i--;
    return this.ticks.slice(i);
  }

  /**
   * Distinct pages written in the last `windowMs`, and whether that is exact (every tick in it
   * exact); null before the first tick. A sampled window is estimated from the pages every one
   * of its ticks sampled (the samples of the fractions in it, intersected: nested within 2 MiB
   * blocks and within 64 KiB units, not across), by the ratio of written to watched pages in
   * them, as the watcher estimates a tick.
   */
  workingSet(windowMs: number, sample?: SampleModel): { pages: number; exact: boolean } | null {
    const ticks = this.within(windowMs);
    if (!ticks.length) return null;
    const fmin = ticks.reduce((a, t) => Math.min(a, t.fraction), 1);
    if (fmin === 1 || !sample)
      return { pages: unionPages(ticks.map((t) => t.written)), exact: fmin === 1 };
    const fractions = [...new Set(ticks.map((t) => t.fraction))].filter((f) => f < 1);
    const inSample = ticks.map((t) => clipToSample(t.written, sample, fractions));
    const { watched, sampled } = sample.pages(...fractions);
    const seen = unionPages(inSample);
    return { pages: sampled > 0 ? (seen * watched) / sampled : 0, exact: false };
  }

  /** Pages per second written over the last `windowMs` (time-weighted); null before a tick. */
  dirtyRate(windowMs: number): number | null {
    const ticks = this.within(windowMs);
    if (!ticks.length) return null;
    let pages = 0;
    let ms = 0;
    for (const t of ticks) {
      pages += t.writtenEst;
      ms += t.coverMs;
    }
    return ms > 0 ? (pages * 1000) / ms : 0;
  }

  /**
   * +/- pages per second around dirtyRate(windowMs) at about 95%: the ticks' stated errors
   * summed, not combined as independent: every tick of a window samples the same 2 MiB blocks
   * (a hash of their numbers), so a sample that holds more (or fewer) of the written blocks than
   * its share errs the same way tick after tick, and the error of a sum is at most the sum of
   * the errors (root of the sum of squares stated +/-14 kB/s where the rate was off by more:
   * sample-error.test.ts). 0 when every tick was exact, null when a tick stated none (the sample
   * changed in it) or before a tick.
   */
  dirtyRateError(windowMs: number): number | null {
    const ticks = this.within(windowMs);
    let sum = 0;
    let ms = 0;
    for (const t of ticks) {
      const e = t.fraction === 1 ? 0 : (t.errPages ?? -1);
      if (e < 0) return null;
      sum += e;
      ms += t.coverMs;
    }
    return ticks.length && ms > 0 ? (sum * 1000) / ms : null;
  }

  /**
   * Pages per second by VMA name over the last `windowMs`: the `top` busiest by name, then the
   * rest summed under `other` (present only when there is a rest). Sorted by rate, then name.
   */
  vmaRates(windowMs: number, top: number, other = 'other'): Array<[string, number]> {
    const ticks = this.within(windowMs);
    const sum = new Map<string, number>();
    let ms = 0;
    for (const t of ticks) {
      ms += t.coverMs;
      for (const [name, n] of t.byVma) sum.set(name, (sum.get(name) ?? 0) + n);
    }
    if (ms <= 0) return [];
    const rows = [...sum]
      .map(([name, n]): [string, number] => [name, (n * 1000) / ms])
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    const head = rows.slice(0, top);
    if (rows.length > top) head.push([other, rows.slice(top).reduce((a, r) => a + r[1], 0)]);
    return head;
  }
}
