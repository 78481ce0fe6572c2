import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HISTOGRAM_WIDTH, PageBit } from '../../../core/protocol/page-bits.ts';
import { buildLuts, packHex, PALETTE } from './colour.ts';
import { buildDisplaySpace, COMPACT_PAGES, DisplaySpace } from './display-space.ts';
import { rasterize } from './raster.ts';
import type { Layout } from './viewport.ts';

/** An overview of `total` pages in buckets of B with MAPPED|PRESENT set where `filled(page)`. */
function overviewOf(total: number, B: number, filled: (p: number) => boolean) {
  const buckets = Math.ceil(total / B);
  const histogram = new Uint32Array(buckets * HISTOGRAM_WIDTH);
  for (let p = 0; p < total; p++) {
    if (!filled(p)) continue;
    const row = Math.floor(p / B) * HISTOGRAM_WIDTH;
    histogram[row] += 1;
    histogram[row + 8] += 1;
  }
  return { buckets, pagesPerBucket: B, histogram };
}

// VMAs: 1000 used pages, a 100k-page empty reservation, 2000 used pages.
const vmas = [
  { offset: 0, startPage: 0, endPage: 1000 },
  { offset: 1000, startPage: 5000, endPage: 105_000 },
  { offset: 101_000, startPage: 200_000, endPage: 202_000 },
];
const total = 103_000;
const overview = overviewOf(total, 100, (p) => p < 1000 || p >= 101_000);

describe('buildDisplaySpace', () => {
  it('squeezes a long run with no page table and keeps the rest at full size', () => {
    const s = buildDisplaySpace(total, overview, vmas);
    expect(s.isIdentity).toBe(false);
    expect(s.totalDisplay).toBe(1000 + COMPACT_PAGES + 2000);
    expect(s.toDisplay(999)).toBe(999);
    expect(s.toDisplay(1000)).toBe(1000);
    expect(s.toDisplay(101_000)).toBe(1000 + COMPACT_PAGES);
    expect(s.toHost(1000 + COMPACT_PAGES + 5)).toBe(101_005);
    expect(s.toDisplayEnd(101_000)).toBe(1000 + COMPACT_PAGES);
  });
  it('leaves the space alone when no empty run is long enough', () => {
    const dotted = overviewOf(total, 100, (p) => p % 10_000 === 0);
    expect(buildDisplaySpace(total, dotted, vmas).isIdentity).toBe(true);
    expect(buildDisplaySpace(total, null, vmas).isIdentity).toBe(true);
  });
  it('squeezes an empty run inside a VMA that has pages at its ends', () => {
    const inner = overviewOf(
      total,
      100,
      (p) => p < 1000 || p >= 101_000 || p === 1050 || p === 100_950,
    );
    const s = buildDisplaySpace(total, inner, vmas);
    const squeezed = s.segments.filter((g) => g.squeezed);
    expect(squeezed).toHaveLength(1);
    expect(squeezed[0].hostStart).toBe(1100);
    expect(squeezed[0].hostEnd).toBe(100_900);
  });
  it('never squeezes across a VMA boundary or inside a small VMA', () => {
    // The empty run spans the end of VMA 0 and the whole reservation: only the reservation goes.
    const tail = overviewOf(total, 100, (p) => p < 500 || p >= 101_000);
    const s = buildDisplaySpace(total, tail, vmas);
    const squeezed = s.segments.filter((g) => g.squeezed);
    expect(squeezed.map((g) => [g.hostStart, g.hostEnd])).toEqual([[1000, 101_000]]);
    // A small VMA that is entirely empty stays at full size.
    const small = [{ offset: 0, startPage: 0, endPage: 103_000 - 90_000 }];
    expect(
      buildDisplaySpace(
        total,
        overviewOf(total, 100, () => false),
        small,
      ).isIdentity,
    ).toBe(true);
  });
  it('toHost and toDisplay round-trip on ordinary pages and are monotonic', () => {
    const s = buildDisplaySpace(total, overview, vmas);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: total - 1 }),
        fc.integer({ min: 0, max: total - 1 }),
        (a, b) => {
          const seg = s.segmentAtHost(a);
          if (!seg.squeezed) expect(s.toHost(s.toDisplay(a))).toBe(a);
          if (a <= b) expect(s.toDisplay(a)).toBeLessThanOrEqual(s.toDisplay(b));
        },
      ),
    );
  });
});

describe('rasterize through a display space', () => {
  it('draws ordinary pages from the window and the squeezed VMA as empty', () => {
    const s = buildDisplaySpace(total, overview, vmas);
    const bits = new Uint16Array(total);
    for (let p = 0; p < total; p++)
      if (p < 1000 || p >= 101_000) bits[p] = PageBit.PRESENT | PageBit.MAPPED;
    bits[101_000] = PageBit.SWAPPED | PageBit.MAPPED;
    const cols = 100;
    const rows = Math.ceil(s.totalDisplay / cols);
    const layout: Layout = {
      cellPx: 3,
      cols,
      rows,
      pagesPerCell: 1,
      pagesPerRow: cols,
      firstIndex: 0,
      endIndex: s.totalDisplay,
      totalPages: s.totalDisplay,
    };
    const out = new Uint32Array(cols * rows);
    const theme = PALETTE.dark;
    const luts = buildLuts(theme, 'residency');
    const n = rasterize(out, {
      layout,
      luts,
      overview,
      window: { startIndex: 0, endIndex: total, bits },
      space: s,
    });
    expect(n).toBe(s.totalDisplay);
    expect(out[0]).toBe(packHex(theme.present));
    expect(out[1000]).toBe(luts.empty);
    expect(out[1000 + COMPACT_PAGES - 1]).toBe(luts.empty);
    expect(out[1000 + COMPACT_PAGES]).toBe(packHex(theme.swapped));
    expect(out[1000 + COMPACT_PAGES + 1]).toBe(packHex(theme.present));
    // Without a window the overview gives the same picture at bucket resolution.
    const out2 = new Uint32Array(cols * rows);
    rasterize(out2, { layout, luts, overview, window: null, space: s });
    expect(out2[0]).toBe(packHex(theme.present));
    expect(out2[1000]).toBe(luts.empty);
    expect(out2[1000 + COMPACT_PAGES + 200]).toBe(packHex(theme.present));
  });
  it('the identity space changes nothing', () => {
    const s = DisplaySpace.identity(10);
    expect(s.toDisplay(7)).toBe(7);
    expect(s.toHost(7)).toBe(7);
    expect(s.totalDisplay).toBe(10);
  });
});
