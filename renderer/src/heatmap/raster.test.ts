import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HISTOGRAM_WIDTH, PageBit } from '../../../core/protocol/page-bits.ts';
import { BIT, buildLuts, colourFromCounts, packHex, PALETTE, unpack } from './colour.ts';
import { DisplaySpace } from './display-space.ts';
import { HeatStore } from './heat.ts';
import { rasterize } from './raster.ts';
import { computeLayout, type Layout } from './viewport.ts';

const theme = PALETTE.dark;

function layoutOf(total: number, cols: number, rows: number, pagesPerCell: number): Layout {
  return {
    cellPx: 3,
    cols,
    rows,
    pagesPerCell,
    pagesPerRow: cols * pagesPerCell,
    firstIndex: 0,
    endIndex: Math.min(total, cols * rows * pagesPerCell),
    totalPages: total,
  };
}

describe('rasterize', () => {
  it('page-exact window: one pixel per page, background after the end', () => {
    const bits = new Uint16Array([PageBit.PRESENT, PageBit.SWAPPED, 0, PageBit.PRESENT]);
    const out = new Uint32Array(6);
    const luts = buildLuts(theme, 'residency');
    const n = rasterize(out, {
      layout: layoutOf(4, 3, 2, 1),
      luts,
      overview: null,
      window: { startIndex: 0, endIndex: 4, bits },
    });
    expect(n).toBe(4);
    expect([...out]).toEqual([
      packHex(theme.present),
      packHex(theme.swapped),
      packHex(theme.unmapped),
      packHex(theme.present),
      packHex(theme.background),
      packHex(theme.background),
    ]);
  });

  it('overview buckets: cells blend the counts of the buckets they cover', () => {
    // 8 pages in 4 buckets of 2: bucket 0 present, 1 swapped, 2 empty, 3 half present.
    const h = new Uint32Array(4 * HISTOGRAM_WIDTH);
    h[0 * HISTOGRAM_WIDTH + BIT.PRESENT] = 2;
    h[1 * HISTOGRAM_WIDTH + BIT.SWAPPED] = 2;
    h[3 * HISTOGRAM_WIDTH + BIT.PRESENT] = 1;
    const out = new Uint32Array(4);
    const luts = buildLuts(theme, 'residency');
    rasterize(out, {
      layout: layoutOf(8, 4, 1, 2),
      luts,
      overview: { buckets: 4, pagesPerBucket: 2, histogram: h },
      window: null,
    });
    expect(out[0]).toBe(packHex(theme.present));
    expect(out[1]).toBe(packHex(theme.swapped));
    expect(out[2]).toBe(packHex(theme.unmapped));
    expect(out[3]).not.toBe(packHex(theme.present));
    expect(out[3]).not.toBe(packHex(theme.unmapped));
  });

  it('window with several pages per cell agrees with the equivalent histogram', () => {
    const total = 4096;
    const bits = new Uint16Array(total);
    for (let i = 0; i < total; i++)
      bits[i] = i % 3 === 0 ? PageBit.PRESENT : i % 5 === 0 ? PageBit.SWAPPED : 0;
    const ppc = 16;
    const h = new Uint32Array((total / ppc) * HISTOGRAM_WIDTH);
    for (let i = 0; i < total; i++)
      for (let b = 0; b < HISTOGRAM_WIDTH; b++)
        if (bits[i] & (1 << b)) h[((i / ppc) | 0) * HISTOGRAM_WIDTH + b]++;
    const luts = buildLuts(theme, 'type');
    const l = layoutOf(total, 16, 16, ppc);
    const a = new Uint32Array(256);
    const b = new Uint32Array(256);
    rasterize(a, {
      layout: l,
      luts,
      overview: null,
      window: { startIndex: 0, endIndex: total, bits },
    });
    rasterize(b, {
      layout: l,
      luts,
      overview: { buckets: total / ppc, pagesPerBucket: ppc, histogram: h },
      window: null,
    });
    expect([...a]).toEqual([...b]);
  });

  it('writes mode colours watched pages by heat', () => {
    const bits = new Uint16Array([
      PageBit.WATCHED | PageBit.PRESENT,
      PageBit.WATCHED | PageBit.PRESENT,
      PageBit.PRESENT,
    ]);
    const heat = new HeatStore(3);
    heat.add(5, [0, 1]);
    const luts = buildLuts(theme, 'writes');
    const out = new Uint32Array(3);
    rasterize(out, {
      layout: layoutOf(3, 3, 1, 1),
      luts,
      overview: null,
      window: { startIndex: 0, endIndex: 3, bits },
      heat,
      tick: 5,
    });
    expect(out[0]).toBe(luts.heat[heat.level(0, 5)]);
    expect(heat.level(0, 5)).toBeGreaterThan(0);
    expect(out[1]).toBe(luts.heat[0]);
    expect(out[2]).toBe(packHex(theme.idle));
  });

  it('draws a million pages from a window at one page per cell', () => {
    const total = 1 << 20;
    const bits = new Uint16Array(total).map((_, i) =>
      i & 1 ? PageBit.PRESENT : PageBit.FILE | PageBit.PRESENT,
    );
    const l = computeLayout(total, 1024 * 3, 1024 * 3, { k: 1, y: 0 });
    expect(l.pagesPerCell).toBe(1);
    const out = new Uint32Array(l.cols * l.rows);
    const n = rasterize(out, {
      layout: l,
      luts: buildLuts(theme, 'type'),
      overview: null,
      window: { startIndex: 0, endIndex: total, bits },
    });
    expect(n).toBe(total);
    expect(out[0]).toBe(packHex(theme.file));
    expect(out[1]).toBe(packHex(theme.anon));
  });
});

describe('HeatStore', () => {
  it('is hottest right after a write and cold after the span', () => {
    const h = new HeatStore(100, 10);
    h.add(1, [10, 20]);
    expect(h.level(15, 1)).toBeGreaterThan(h.level(15, 5));
    expect(h.level(15, 11)).toBe(0);
    expect(h.level(5, 1)).toBe(0);
    expect(h.maxLevel(0, 100, 1)).toBe(h.level(10, 1));
  });
  it('pages written more often are hotter', () => {
    const h = new HeatStore(10, 20);
    for (let t = 1; t <= 8; t++) h.add(t, [0, 1]);
    h.add(8, [1, 2]);
    expect(h.level(0, 8)).toBeGreaterThan(h.level(1, 8));
  });
  it('groups pages into slots for huge spaces', () => {
    const h = new HeatStore(64 * 1024 * 1024);
    expect(h.pagesPerSlot).toBeGreaterThan(1);
    h.add(1, [100, 101]);
    expect(h.maxLevel(0, 1000, 1)).toBeGreaterThan(0);
    h.clear();
    expect(h.maxLevel(0, 1000, 1)).toBe(0);
  });
});

describe('rasterize from the overview', () => {
  /** Each cell as one blend of the buckets it overlaps, rescaled to its pages (no shortcuts). */
  function perCell(
    layout: Layout,
    space: DisplaySpace,
    overview: { buckets: number; pagesPerBucket: number; histogram: Uint32Array },
    luts: ReturnType<typeof buildLuts>,
  ): number[] {
    const out: number[] = [];
    const B = overview.pagesPerBucket;
    for (let cell = 0; cell < layout.cols * layout.rows; cell++) {
      const da = layout.firstIndex + cell * layout.pagesPerCell;
      if (da >= layout.totalPages) {
        out.push(luts.background);
        continue;
      }
      const seg = space.segmentAtDisplay(da);
      if (seg.squeezed) {
        out.push(luts.empty);
        continue;
      }
      const a = seg.hostStart + (da - seg.displayStart);
      const n = Math.min(seg.hostEnd, a + layout.pagesPerCell) - a;
      const counts = new Float64Array(HISTOGRAM_WIDTH);
      let pages = 0;
      for (let k = Math.floor(a / B); k < Math.min(overview.buckets, Math.ceil((a + n) / B)); k++) {
        for (let bit = 0; bit < HISTOGRAM_WIDTH; bit++)
          counts[bit] += overview.histogram[k * HISTOGRAM_WIDTH + bit];
        pages += Math.min(B, space.totalHost - k * B);
      }
      for (let bit = 0; bit < HISTOGRAM_WIDTH; bit++) counts[bit] *= n / pages;
      out.push(colourFromCounts(counts, 0, n, luts));
    }
    return out;
  }

  it('paints what a per-cell blend paints, for cells smaller or larger than the buckets', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 0, max: 500 }),
        fc.constantFrom('residency', 'type', 'writes'),
        fc.integer({ min: 0, max: 2 ** 31 }),
        (B, ppc, first, mode, seed) => {
          const total = 4000;
          const buckets = Math.ceil(total / B);
          const histogram = new Uint32Array(buckets * HISTOGRAM_WIDTH);
          let r = seed;
          for (let k = 0; k < buckets; k++) {
            const size = Math.min(B, total - k * B);
            r = (r * 1103515245 + 12345) >>> 0;
            const mapped = r % (size + 1);
            const present = (r >>> 8) % (mapped + 1);
            const row = k * HISTOGRAM_WIDTH;
            histogram[row + BIT.MAPPED] = mapped;
            histogram[row + BIT.PRESENT] = present;
            histogram[row + BIT.SWAPPED] = Math.min(mapped - present, (r >>> 16) % 3);
            histogram[row + BIT.FILE] = (r >>> 20) % (present + 1);
          }
          const overview = { buckets, pagesPerBucket: B, histogram };
          const space = DisplaySpace.identity(total);
          const cols = 20;
          const firstIndex = Math.min(first, 3999) - (Math.min(first, 3999) % (cols * ppc));
          const layout: Layout = {
            ...layoutOf(total, cols, 15, ppc),
            firstIndex,
            endIndex: Math.min(total, firstIndex + cols * 15 * ppc),
          };
          const luts = buildLuts(theme, mode);
          const out = new Uint32Array(cols * 15);
          rasterize(out, { layout, luts, overview, window: null, space });
          const want = perCell(layout, space, overview, luts);
          // The same colours, give or take a rounding step per channel.
          for (let i = 0; i < out.length; i++) {
            const [r0, g0, b0] = unpack(out[i]);
            const [r1, g1, b1] = unpack(want[i]);
            expect(
              Math.max(Math.abs(r0 - r1), Math.abs(g0 - g1), Math.abs(b0 - b1)),
            ).toBeLessThanOrEqual(1);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('rasterize from the window, several pages per cell', () => {
  it('paints what per-cell counts paint, alike cells or mixed', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 4 }),
        fc.constantFrom('residency', 'type', 'writes'),
        fc.array(fc.constantFrom(0, 256, 257, 259, 263, 258, 384 + 1), {
          minLength: 1,
          maxLength: 40,
        }),
        fc.integer({ min: 1, max: 9 }),
        (ppc, mode, pattern, run) => {
          const total = 600;
          const bits = new Uint16Array(total);
          for (let p = 0; p < total; p++) bits[p] = pattern[Math.floor(p / run) % pattern.length];
          const layout = layoutOf(total, 10, Math.ceil(total / (10 * ppc)), ppc);
          const luts = buildLuts(theme, mode);
          const out = new Uint32Array(layout.cols * layout.rows);
          rasterize(out, {
            layout,
            luts,
            overview: null,
            window: { startIndex: 0, endIndex: total, bits },
          });
          for (let cell = 0; cell * ppc < total; cell++) {
            const counts = new Float64Array(HISTOGRAM_WIDTH);
            const n = Math.min(ppc, total - cell * ppc);
            for (let i = 0; i < n; i++)
              for (let bit = 0; bit < HISTOGRAM_WIDTH; bit++)
                if (bits[cell * ppc + i] & (1 << bit)) counts[bit]++;
            expect(out[cell]).toBe(colourFromCounts(counts, 0, n, luts));
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
