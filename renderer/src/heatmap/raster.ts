/**
 * The heatmap rasterizer: fills one packed RGBA pixel per cell (an ImageData's Uint32 view,
 * cols x rows); the canvas then scales it up by the cell size with smoothing off.
 *
 * Three sources, best first, chosen per cell:
 * 1. the full-resolution window at one page per cell: one table lookup per page (the hot path
 *    that must draw a million pages in a few milliseconds);
 * 2. the window, several pages per cell: per-cell counts, then a blended colour (a cell whose
 *    pages are all alike, the common case, takes one page's colour from a per-table cache);
 * 3. the overview histogram: the buckets overlapping the cell, summed, then blended (a cell
 *    inside one bucket takes the bucket's colour, computed once for all the cells in it).
 */
import { HISTOGRAM_WIDTH } from '../../../core/protocol/page-bits.ts';
import { colourFromCounts, type Luts } from './colour.ts';
import { DisplaySpace } from './display-space.ts';
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
  /** Layout in display indices (see display-space.ts; the identity when nothing is squeezed). */
  layout: Layout;
  luts: Luts;
  overview: OverviewData | null;
  window: WindowData | null;
  /** Writes mode: the heat store and the tick to look at. */
  heat?: HeatStore | null;
  tick?: number;
  space?: DisplaySpace;
}

const counts = new Float64Array(HISTOGRAM_WIDTH);

/** Per colour tables: the colour of a cell whose pages all carry the same 9 bits (0 = unknown). */
const alikeTables = new WeakMap<Luts, Uint32Array>();

function alikeColour(luts: Luts, v: number): number {
  let t = alikeTables.get(luts);
  if (!t) alikeTables.set(luts, (t = new Uint32Array(512)));
  if (t[v] === 0) {
    const one = new Float64Array(HISTOGRAM_WIDTH);
    for (let bit = 0; bit < HISTOGRAM_WIDTH; bit++) if (v & (1 << bit)) one[bit] = 1;
    // Fully opaque colours are never 0, so 0 can mean "not computed yet".
    t[v] = colourFromCounts(one, 0, 1, luts, 0);
  }
  return t[v];
}

/** Fill `out` (length >= cols * rows) for the layout. Returns the number of pages drawn. */
export function rasterize(out: Uint32Array, input: RasterInput): number {
  const { layout, luts, overview, window: win } = input;
  const { cols, rows, pagesPerCell: ppc, firstIndex, totalPages } = layout;
  const space = input.space ?? DisplaySpace.identity(totalPages);
  const cells = cols * rows;
  const bg = luts.background;
  const writes = luts.mode === 'writes';
  const heat = writes ? (input.heat ?? null) : null;
  const now = input.tick ?? 0;
  let drawn = 0;

  const lastIndex = Math.min(totalPages, firstIndex + cells * ppc);
  // The window must hold every host page behind the visible display range.
  const winCovers =
    win !== null &&
    win.bits.length > 0 &&
    win.startIndex <= space.toHost(firstIndex) &&
    win.endIndex >= (lastIndex >= totalPages ? space.totalHost : space.toHost(lastIndex));

  if (winCovers && ppc === 1) {
    // Hot path: one page per cell, segment by segment.
    const bits = win.bits;
    const lut = luts.byBits;
    const n = lastIndex - firstIndex;
    let d = firstIndex;
    while (d < lastIndex) {
      const seg = space.segmentAtDisplay(d);
      const segEnd = Math.min(
        lastIndex,
        seg.squeezed
          ? space.toDisplayEnd(seg.hostEnd)
          : seg.displayStart + seg.hostEnd - seg.hostStart,
      );
      if (seg.squeezed) {
        out.fill(luts.empty, d - firstIndex, segEnd - firstIndex);
      } else {
        const off = seg.hostStart + (d - seg.displayStart) - win.startIndex - (d - firstIndex);
        for (let i = d - firstIndex; i < segEnd - firstIndex; i++)
          out[i] = lut[bits[off + i] & 511];
      }
      if (segEnd <= d) break;
      d = segEnd;
    }
    if (heat) paintHeat(out, heat, luts, space, firstIndex, lastIndex, now);
    out.fill(bg, Math.max(0, n), cells);
    return n;
  }

  // Overview cells inside one bucket take the bucket's colour (its fractions are the cell's):
  // computed once per bucket, not per cell, when the cells are smaller than the buckets.
  let lastBucket = -1;
  let lastColour = 0;
  for (let cell = 0; cell < cells; cell++) {
    const da = firstIndex + cell * ppc;
    if (da >= totalPages) {
      out.fill(bg, cell, cells);
      break;
    }
    const seg = space.segmentAtDisplay(da);
    if (seg.squeezed) {
      out[cell] = luts.empty;
      continue;
    }
    const a = seg.hostStart + (da - seg.displayStart);
    const b = Math.min(seg.hostEnd, a + ppc);
    const n = b - a;
    if (n <= 0) {
      out[cell] = luts.empty;
      continue;
    }
    if (winCovers) {
      const bits = win.bits;
      const base = a - win.startIndex;
      // A cell whose pages are all alike (most are) has the colour of one such page.
      const v0 = bits[base] & 511;
      let alike = true;
      for (let i = 1; i < n && alike; i++) alike = (bits[base + i] & 511) === v0;
      if (alike && !(heat && v0 & (1 << 7))) {
        out[cell] = alikeColour(luts, v0);
        drawn += n;
        continue;
      }
      counts.fill(0);
      for (let i = 0; i < n; i++) {
        let v = bits[base + i];
        let bit = 0;
        while (v !== 0) {
          if (v & 1) counts[bit]++;
          v >>>= 1;
          bit++;
        }
      }
      const maxHeat = heat && counts[7] > 0 ? heat.maxLevel(a, b, now) : 0;
      out[cell] = colourFromCounts(counts, 0, n, luts, maxHeat);
    } else if (overview && overview.buckets > 0) {
      const B = overview.pagesPerBucket;
      const h = overview.histogram;
      const b0 = Math.floor(a / B);
      const b1 = Math.min(overview.buckets, Math.ceil(b / B));
      // A cell smaller than a bucket samples it: the colour follows the bucket's fractions, so
      // the counts are taken over the buckets' pages (not rescaled to the cell's).
      if (b1 - b0 === 1) {
        const row = b0 * HISTOGRAM_WIDTH;
        const maxHeat = heat && h[row + 7] > 0 ? heat.maxLevel(a, b, now) : 0;
        if (maxHeat === 0 && b0 === lastBucket) {
          out[cell] = lastColour;
        } else {
          const size = Math.min(B, space.totalHost - b0 * B);
          out[cell] = colourFromCounts(h, row, size, luts, maxHeat);
          if (maxHeat === 0) {
            lastBucket = b0;
            lastColour = out[cell];
          }
        }
      } else {
        counts.fill(0);
        let pages = 0;
        for (let k = b0; k < b1; k++) {
          const row = k * HISTOGRAM_WIDTH;
          for (let bit = 0; bit < HISTOGRAM_WIDTH; bit++) counts[bit] += h[row + bit];
          pages += Math.min(B, space.totalHost - k * B);
        }
        const maxHeat = heat && counts[7] > 0 ? heat.maxLevel(a, b, now) : 0;
        out[cell] = colourFromCounts(counts, 0, pages > 0 ? pages : n, luts, maxHeat);
      }
    } else {
      out[cell] = luts.empty;
      continue;
    }
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
  space: DisplaySpace,
  first: number,
  last: number,
  now: number,
): void {
  const table = heat.levelTable();
  const hl = luts.heat;
  const count = heat.count;
  const g = heat.pagesPerSlot;
  const identity = space.isIdentity;
  for (const rec of heat.recent) {
    const age = now - rec.tick;
    if (age < 0 || age >= heat.span) continue;
    const w = rec.written;
    for (let r = 0; r + 1 < w.length; r += 2) {
      let ha = w[r];
      let hb = w[r + 1];
      // Host -> display: written ranges lie inside one VMA, so inside one segment.
      let shift = 0;
      if (!identity) {
        const seg = space.segmentAtHost(ha);
        if (seg.squeezed) continue;
        hb = Math.min(hb, seg.hostEnd);
        shift = seg.displayStart - seg.hostStart;
      }
      ha = Math.max(ha, first - shift);
      hb = Math.min(hb, last - shift);
      for (let p = ha; p < hb; p++) {
        const c = count[g === 1 ? p : Math.floor(p / g)];
        out[p + shift - first] = hl[table[age * 9 + (c < 8 ? c : 8)]];
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
