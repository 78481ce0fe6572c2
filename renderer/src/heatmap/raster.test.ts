import { describe, expect, it } from 'vitest';
import { HISTOGRAM_WIDTH, PageBit } from '../../../core/protocol/page-bits.ts';
import { BIT, buildLuts, packHex, PALETTE } from './colour.ts';
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
