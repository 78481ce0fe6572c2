/**
 * Aggregation: one scan's regions -> what the UI asked to see.
 *
 * The collapsed page space puts the VMAs end to end (unmapped gaps removed); VMA i starts at
 * `layout.offsets[i]`. Every loop here runs over regions, watched ranges and buckets, never over
 * pages (except to fill the full-resolution window, which is bounded by the view request), so
 * a 64 GiB reservation costs what its few regions cost.
 *
 * Kernel categories become PageBits by the rules of scan/summary.ts: SWAPPED is reported only
 * for real swap (not guard pages, not uffd-wp markers); WRITTEN comes only from the write
 * watcher's get+reset of this tick, never from the plain scan (where unwatched pages all claim
 * WRITTEN); WATCHED marks pages inside the watched ranges; MAPPED marks any page-table entry.
 *
 * Per-VMA counts (the memory map's "res / swp / wr") are summed from the regions and written
 * ranges themselves, VMA by VMA, so they are exact: a bucket that straddles VMAs cannot be
 * shared out between them (a 1-page VMA would show 0 or a page that a neighbour owns).
 */
import { Category } from '../kernel/pagemap-abi.ts';
import type { Vma } from '../proc/maps.ts';
import type { RegionList } from '../scan/region-list.ts';
import { isRealSwap } from '../scan/summary.ts';
import type { PageRange } from '../scan/scanner.ts';
import { HISTOGRAM_WIDTH, PageBit } from '../protocol/page-bits.ts';

const { FILE, PRESENT, PFNZERO, HUGE, GUARD } = Category;

/** The PageBits of one kernel category word (without WATCHED/WRITTEN, which come from ranges). */
export function pageBitsOf(c: number): number {
  let b = 0;
  if (c !== 0) b |= PageBit.MAPPED;
  if (c & PRESENT) b |= PageBit.PRESENT;
  if (isRealSwap(c)) b |= PageBit.SWAPPED;
  if (c & GUARD) b |= PageBit.GUARD;
  if (c & FILE) b |= PageBit.FILE;
  if (c & PFNZERO) b |= PageBit.ZERO;
  if (c & HUGE) b |= PageBit.HUGE;
  return b;
}

/** Categories are 9 bits (GUARD is 1<<8): a lookup table beats the branches per region. */
const CATS_TO_BITS = new Uint16Array(1 << 10).map((_, c) => pageBitsOf(c));
/** For each PageBits value, the histogram columns it adds to, -1 terminated. */
const BIT_COLUMNS: Int8Array[] = Array.from({ length: 1 << HISTOGRAM_WIDTH }, (_, bits) => {
  const cols: number[] = [];
  for (let k = 0; k < HISTOGRAM_WIDTH; k++) if (bits & (1 << k)) cols.push(k);
  return Int8Array.from(cols);
});
const COL_PRESENT = Math.log2(PageBit.PRESENT);
const COL_SWAPPED = Math.log2(PageBit.SWAPPED);
const COL_WATCHED = Math.log2(PageBit.WATCHED);
const COL_WRITTEN = Math.log2(PageBit.WRITTEN);

export interface Layout {
  /** First collapsed index of each VMA (indexed like the maps). */
  offsets: Float64Array;
  /** VMA start pages, for binary search from an address to a VMA. */
  starts: Float64Array;
  ends: Float64Array;
  totalPages: number;
}

export function layoutOf(vmas: readonly Vma[]): Layout {
  const offsets = new Float64Array(vmas.length);
  const starts = new Float64Array(vmas.length);
  const ends = new Float64Array(vmas.length);
  let total = 0;
  for (let i = 0; i < vmas.length; i++) {
    offsets[i] = total;
    starts[i] = vmas[i].startPage;
    ends[i] = vmas[i].endPage;
    total += vmas[i].endPage - vmas[i].startPage;
  }
  return { offsets, starts, ends, totalPages: total };
}

/** The VMA index holding `page`, or -1 (pages in a gap). */
export function vmaAt(layout: Layout, page: number): number {
  let lo = 0;
  let hi = layout.starts.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (layout.ends[mid] <= page) lo = mid + 1;
    else if (layout.starts[mid] > page) hi = mid - 1;
    else return mid;
  }
  return -1;
}

/** The index of the first VMA starting after `page` (the VMA count when none does). */
function nextVma(layout: Layout, page: number): number {
  const starts = layout.starts;
  let lo = 0;
  let hi = starts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (starts[mid] <= page) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Maps absolute page ranges to collapsed ranges (split at VMA ends, gaps dropped), merged.
 * Written ranges come sorted, so the VMA of the previous range is tried before a binary search,
 * and the result is written into a typed array that grows by doubling (no array of numbers).
 */
export function toCollapsed(layout: Layout, ranges: ArrayLike<number>): Float64Array {
  const { starts, ends, offsets } = layout;
  let out = new Float64Array(Math.max(16, ranges.length + 16));
  let n = 0;
  let v = -1;
  for (let r = 0; r + 1 < ranges.length; r += 2) {
    let s = ranges[r];
    const e = ranges[r + 1];
    while (s < e) {
      if (v < 0 || s < starts[v] || s >= ends[v]) v = vmaAt(layout, s);
      if (v < 0) {
        // In a gap: jump to the next VMA start.
        v = nextVma(layout, s);
        if (v >= starts.length || starts[v] >= e) break;
        s = starts[v];
      }
      const pe = Math.min(e, ends[v]);
      const cs = offsets[v] + s - starts[v];
      const ce = cs + pe - s;
      if (n > 0 && out[n - 1] === cs) out[n - 1] = ce;
      else {
        if (n + 2 > out.length) {
          const bigger = new Float64Array(out.length * 2);
          bigger.set(out);
          out = bigger;
        }
        out[n++] = cs;
        out[n++] = ce;
      }
      s = pe;
    }
  }
  return out.slice(0, n);
}

/**
 * Adds spans of pages with their PageBits to the histogram (and the window). Spans come in
 * collapsed-address order, and a bucket holds dozens of small regions with only a few distinct
 * bit sets (present, marker, ...), so pages are first summed per bit set within the current
 * bucket and spread into the bit columns once per bucket and bit set ("flush"), not once per
 * region. Any order stays correct: a span in another bucket flushes first.
 */
class SpanAccumulator {
  /** Pages per bit set in the current bucket; `touched` lists the bit sets with pages. */
  private readonly pend = new Float64Array(1 << HISTOGRAM_WIDTH);
  private readonly touched = new Uint16Array(1 << HISTOGRAM_WIDTH);
  private nTouched = 0;
  private bucket = -1;
  /** Pages [lo, hi) of the current bucket: a span inside it needs no division. */
  private lo = 0;
  private hi = 0;

  constructor(
    private readonly hist: Uint32Array,
    private readonly ppb: number,
    private readonly winBits: Uint16Array | null,
    private readonly ws: number,
    private readonly we: number,
  ) {}

  add(cs: number, ce: number, bits: number): void {
    if (bits === 0 || ce <= cs) return;
    const ppb = this.ppb;
    let single = cs >= this.lo && ce <= this.hi;
    let b0 = this.bucket;
    let b1 = b0;
    if (!single) {
      b0 = Math.floor(cs / ppb);
      b1 = Math.floor((ce - 1) / ppb);
      if (b0 === b1) {
        this.flush();
        this.bucket = b0;
        this.lo = b0 * ppb;
        this.hi = this.lo + ppb;
        single = true;
      }
    }
    if (single) {
      if (this.pend[bits] === 0) this.touched[this.nTouched++] = bits;
      this.pend[bits] += ce - cs;
    } else {
      // A span over several buckets (a large region): straight into the columns.
      const cols = BIT_COLUMNS[bits];
      const hist = this.hist;
      for (let b = b0; b <= b1; b++) {
        const lo = b * ppb;
        const n = Math.min(ce, lo + ppb) - Math.max(cs, lo);
        const base = b * HISTOGRAM_WIDTH;
        for (let k = 0; k < cols.length; k++) hist[base + cols[k]] += n;
      }
    }
    const winBits = this.winBits;
    if (winBits && cs < this.we && ce > this.ws)
      winBits.fill(bits, Math.max(cs, this.ws) - this.ws, Math.min(ce, this.we) - this.ws);
  }

  /** Spreads the current bucket's per-bit-set sums into its histogram columns. */
  flush(): void {
    const base = this.bucket * HISTOGRAM_WIDTH;
    const hist = this.hist;
    for (let t = 0; t < this.nTouched; t++) {
      const bits = this.touched[t];
      const pages = this.pend[bits];
      this.pend[bits] = 0;
      const cols = BIT_COLUMNS[bits];
      for (let k = 0; k < cols.length; k++) hist[base + cols[k]] += pages;
    }
    this.nTouched = 0;
  }
}

export interface ViewSpec {
  buckets: number;
  window?: { startIndex: number; endIndex: number } | undefined;
}

export interface Aggregate {
  buckets: number;
  pagesPerBucket: number;
  histogram: Uint32Array;
  window: { startIndex: number; endIndex: number; bits: Uint16Array } | null;
  /** Collapsed written ranges of the tick. */
  written: Float64Array;
  present: number;
  swapped: number;
  watched: number;
  writtenPages: number;
  /**
   * Exact per-VMA counts, indexed like the maps: [present, swapped, written] for VMA i at
   * 3i..3i+2 (VMA_COUNT_FIELDS per VMA). Swapped is real swap only, as in the histogram.
   */
  vmaCounts: Uint32Array;
}

/** Fields per VMA in Aggregate.vmaCounts: present, swapped, written. */
export const VMA_COUNT_FIELDS = 3;

/**
 * Aggregates one tick. `watched` are absolute page ranges sorted by start and disjoint;
 * `writtenPages` is [start, end, start, end, ...] in absolute pages (the watcher's output).
 */
export function aggregate(
  layout: Layout,
  regions: RegionList,
  watched: readonly PageRange[],
  writtenPages: ArrayLike<number>,
  view: ViewSpec,
): Aggregate {
  const total = layout.totalPages;
  // Counts are Uint32: never let one bucket hold 2^32 pages (a 16 TiB bucket).
  const minBuckets = Math.ceil(total / 0xffffffff);
  const want = Math.max(1, minBuckets, Math.min(view.buckets, Math.max(1, total)));
  const ppb = Math.max(1, Math.ceil(total / want));
  const buckets = total === 0 ? 0 : Math.ceil(total / ppb);
  const hist = new Uint32Array(buckets * HISTOGRAM_WIDTH);
  let win: Aggregate['window'] = null;
  let ws = 0;
  let we = 0;
  if (view.window) {
    ws = Math.min(view.window.startIndex, total);
    we = Math.min(view.window.endIndex, total);
    win = { startIndex: ws, endIndex: we, bits: new Uint16Array(Math.max(0, we - ws)) };
  }
  const winBits = win?.bits;

  const acc = new SpanAccumulator(hist, ppb, winBits ?? null, ws, we);
  const n = regions.length;
  const { startPage, endPage, categories, vmaIndex } = regions;
  const { offsets, starts } = layout;
  // Watched ranges as flat arrays: read per region without going through objects.
  const nw = watched.length;
  const wStart = new Float64Array(nw);
  const wEnd = new Float64Array(nw);
  for (let k = 0; k < nw; k++) {
    wStart[k] = watched[k].startPage;
    wEnd[k] = watched[k].endPage;
  }
  const vmaCounts = new Uint32Array(offsets.length * VMA_COUNT_FIELDS);
  let w = 0; // index into watched, advancing with the (address-sorted) regions
  for (let i = 0; i < n; i++) {
    const v = vmaIndex[i];
    const s = startPage[i];
    const e = endPage[i];
    const delta = offsets[v] - starts[v];
    const bits = CATS_TO_BITS[categories[i] & 0x3ff];
    if (bits & PageBit.PRESENT) vmaCounts[v * VMA_COUNT_FIELDS] += e - s;
    if (bits & PageBit.SWAPPED) vmaCounts[v * VMA_COUNT_FIELDS + 1] += e - s;
    if (nw === 0) {
      acc.add(s + delta, e + delta, bits);
      continue;
    }
    while (w < nw && wEnd[w] <= s) w++;
    let p = s;
    let k = w;
    while (p < e) {
      if (k >= nw || wStart[k] >= e) {
        acc.add(p + delta, e + delta, bits);
        break;
      }
      const wsPage = Math.max(wStart[k], p);
      const wePage = Math.min(wEnd[k], e);
      if (wsPage > p) acc.add(p + delta, wsPage + delta, bits);
      acc.add(wsPage + delta, wePage + delta, bits | PageBit.WATCHED);
      p = wePage;
      k++;
    }
  }
  acc.flush();

  // Written pages per VMA, from the absolute ranges (sorted: the last VMA is tried first).
  {
    const ends = layout.ends;
    let v = -1;
    for (let r = 0; r + 1 < writtenPages.length; r += 2) {
      let a = writtenPages[r];
      const b = writtenPages[r + 1];
      while (a < b) {
        if (v < 0 || a < starts[v] || a >= ends[v]) v = vmaAt(layout, a);
        if (v < 0) {
          v = nextVma(layout, a);
          if (v >= starts.length) break;
          a = starts[v];
          continue;
        }
        const e = Math.min(b, ends[v]);
        vmaCounts[v * VMA_COUNT_FIELDS + 2] += e - a;
        a = e;
      }
    }
  }

  const written = toCollapsed(layout, writtenPages);
  let writtenCount = 0;
  for (let r = 0; r < written.length; r += 2) {
    const cs = written[r];
    const ce = written[r + 1];
    writtenCount += ce - cs;
    const b1 = Math.floor((ce - 1) / ppb);
    for (let b = Math.floor(cs / ppb); b <= b1; b++) {
      const lo = b * ppb;
      hist[b * HISTOGRAM_WIDTH + COL_WRITTEN] += Math.min(ce, lo + ppb) - Math.max(cs, lo);
    }
    if (winBits && cs < we && ce > ws)
      for (let p = Math.max(cs, ws); p < Math.min(ce, we); p++) winBits[p - ws] |= PageBit.WRITTEN;
  }

  let present = 0;
  let swapped = 0;
  let watchedCount = 0;
  for (let b = 0; b < buckets; b++) {
    present += hist[b * HISTOGRAM_WIDTH + COL_PRESENT];
    swapped += hist[b * HISTOGRAM_WIDTH + COL_SWAPPED];
    watchedCount += hist[b * HISTOGRAM_WIDTH + COL_WATCHED];
  }
  return {
    buckets,
    pagesPerBucket: ppb,
    histogram: hist,
    window: win,
    written,
    present,
    swapped,
    watched: watchedCount,
    writtenPages: writtenCount,
    vmaCounts,
  };
}
