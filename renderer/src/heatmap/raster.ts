/**
 * The heatmap rasterizer: fills one packed RGBA pixel per cell (an ImageData's Uint32 view,
 * cols x rows); the canvas then scales it up by the cell size with smoothing off.
 *
 * Three sources, best first, chosen per cell:
 * 1. the full-resolution window at one page per cell: one table lookup per page (the hot path
 *    that must draw a million pages in a few milliseconds);
 * 2. the window, several pages per cell: per-cell counts, then a blended colour;
 * 3. the overview histogram: the buckets overlapping the cell, summed, then blended.
 */
import { HISTOGRAM_WIDTH } from '../../../core/protocol/page-bits.ts';
import { colourFromCounts, type Luts } from './colour.ts';
import type { HeatStore } from './heat.ts';
import type { Layout } from './viewport.ts';

export interface OverviewData {
  buckets: number;
  pagesPerBucket: number;
  histogram: Uint32Array;
}

export interface WindowData {
  startIndex: number;
  endIndex: number;
  bits: Uint16Array;
}

export interface RasterInput {
  layout: Layout;
  luts: Luts;
  overview: OverviewData | null;
  window: WindowData | null;
  /** Writes mode: the heat store and the tick to look at. */
  heat?: HeatStore | null;
  tick?: number;
}

const counts = new Float64Array(HISTOGRAM_WIDTH);

/** Fill `out` (length >= cols * rows) for the layout. Returns the number of pages drawn. */
export function rasterize(out: Uint32Array, input: RasterInput): number {
  const { layout, luts, overview, window: win } = input;
  const { cols, rows, pagesPerCell: ppc, firstIndex, totalPages } = layout;
  const cells = cols * rows;
  const bg = luts.background;
  const writes = luts.mode === 'writes';
  const heat = writes ? (input.heat ?? null) : null;
  const now = input.tick ?? 0;
  let drawn = 0;

  const lastIndex = Math.min(totalPages, firstIndex + cells * ppc);
  const winCovers =
    win !== null &&
    win.startIndex <= firstIndex &&
    win.endIndex >= lastIndex &&
    win.bits.length > 0;

  if (winCovers && ppc === 1) {
    // Hot path: one page per cell.
    const bits = win.bits;
    const lut = luts.byBits;
    const n = lastIndex - firstIndex;
    const off = firstIndex - win.startIndex;
    for (let i = 0; i < n; i++) out[i] = lut[bits[off + i] & 511];
    if (heat) paintHeat(out, heat, luts, firstIndex, lastIndex, now);
    out.fill(bg, Math.max(0, n), cells);
    return n;
  }

  for (let cell = 0; cell < cells; cell++) {
    const a = firstIndex + cell * ppc;
    if (a >= totalPages) {
      out.fill(bg, cell, cells);
      break;
    }
    const b = Math.min(totalPages, a + ppc);
    const n = b - a;
    counts.fill(0);
    if (winCovers) {
      const bits = win.bits;
      const base = a - win.startIndex;
      for (let i = 0; i < n; i++) {
        let v = bits[base + i];
        let bit = 0;
        while (v !== 0) {
          if (v & 1) counts[bit]++;
          v >>>= 1;
          bit++;
        }
      }
    } else if (overview && overview.buckets > 0) {
      const B = overview.pagesPerBucket;
      const h = overview.histogram;
      const b0 = Math.floor(a / B);
      const b1 = Math.min(overview.buckets, Math.ceil(b / B));
      let pages = 0;
      for (let k = b0; k < b1; k++) {
        const size = Math.min(B, totalPages - k * B);
        const row = k * HISTOGRAM_WIDTH;
        for (let bit = 0; bit < HISTOGRAM_WIDTH; bit++) counts[bit] += h[row + bit];
        pages += size;
      }
      // Rescale bucket counts to the cell's size (a cell smaller than a bucket samples it).
      if (pages > 0 && pages !== n) {
        const f = n / pages;
        for (let bit = 0; bit < HISTOGRAM_WIDTH; bit++) counts[bit] *= f;
      }
    } else {
      out[cell] = luts.empty;
      continue;
    }
    const maxHeat = heat && counts[7] > 0 ? heat.maxLevel(a, b, now) : 0;
    out[cell] = colourFromCounts(counts, 0, n, luts, maxHeat);
    drawn += n;
  }
  return drawn;
}

/**
 * Writes mode, page-exact: paint the pages written in the last `span` ticks (oldest first, so a
 * page's newest write wins) over the cold colour the lookup pass gave every watched page. The cost
 * follows the recent write set, not the number of pages on screen.
 */
function paintHeat(
  out: Uint32Array,
  heat: HeatStore,
  luts: Luts,
  first: number,
  last: number,
  now: number,
): void {
  const table = heat.levelTable();
  const hl = luts.heat;
  const count = heat.count;
  const g = heat.pagesPerSlot;
  for (const rec of heat.recent) {
    const age = now - rec.tick;
    if (age < 0 || age >= heat.span) continue;
    const w = rec.written;
    for (let r = 0; r + 1 < w.length; r += 2) {
      const a = Math.max(first, w[r]);
      const b = Math.min(last, w[r + 1]);
      for (let p = a; p < b; p++) {
        const c = count[g === 1 ? p : Math.floor(p / g)];
        out[p - first] = hl[table[age * 9 + (c < 8 ? c : 8)]];
      }
    }
  }
}

/** Per-category page counts of a frame for the legend, from the overview histogram. */
export function totalsFromHistogram(overview: OverviewData): Float64Array {
  const t = new Float64Array(HISTOGRAM_WIDTH);
  const h = overview.histogram;
  for (let k = 0; k < overview.buckets; k++) {
    const row = k * HISTOGRAM_WIDTH;
    for (let bit = 0; bit < HISTOGRAM_WIDTH; bit++) t[bit] += h[row + bit];
  }
  return t;
}
