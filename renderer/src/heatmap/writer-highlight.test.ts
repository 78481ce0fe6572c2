/** The "by writer" highlight: pages -> cells through VMAs, the display space and the view. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { VmaInfo } from '../../../core/protocol/messages.ts';
import { COMPACT_PAGES, DisplaySpace } from './display-space.ts';
import { computeLayout } from './viewport.ts';
import { highlightCells } from './writer-highlight.ts';

const vma = (offset: number, startPage: number, pages: number): VmaInfo =>
  ({
    offset,
    startPage,
    endPage: startPage + pages,
    start: `0x${startPage.toString(16)}`,
  }) as VmaInfo;

const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);

describe('highlightCells', () => {
  // Two 100-page VMAs far apart in addresses, adjacent in the collapsed space.
  const vmas = [vma(0, 0x100, 100), vma(100, 0x1000, 100)];
  const space = DisplaySpace.identity(200);
  const l = computeLayout(200, 300, 300, { k: 1, y: 0 });

  it('one page a cell: the range pages cells, counted per VMA', () => {
    expect(l.pagesPerCell).toBe(1);
    const h = highlightCells([[0x110, 0x120]], vmas, space, l);
    expect([...h.cells]).toEqual(range(16, 32));
    expect(h.byVma).toEqual({ '0x100': 16 });
  });

  it('a range across the gap between VMAs lights the end of one and the start of the next', () => {
    const h = highlightCells([[0x150, 0x1010]], vmas, space, l);
    expect([...h.cells]).toEqual(range(80, 116));
    expect(h.byVma).toEqual({ '0x100': 20, '0x1000': 16 });
  });

  it('pages in no VMA light nothing', () => {
    const h = highlightCells(
      [
        [0, 0x100],
        [0x5000, 0x5010],
      ],
      vmas,
      space,
      l,
    );
    expect(h.cells.length).toBe(0);
    expect(h.byVma).toEqual({});
  });

  it('several pages a cell: a cell with any written page lights, once', () => {
    const big = [vma(0, 0, 1_000_000)];
    const bl = computeLayout(1_000_000, 900, 600, { k: 1, y: 0 });
    expect(bl.pagesPerCell).toBeGreaterThan(1);
    const p = bl.pagesPerCell;
    // Pages 10p..10p+1 and 10p+p-1 share cell 10; 11p starts cell 11.
    const h = highlightCells(
      [
        [10 * p, 10 * p + 2],
        [11 * p - 1, 11 * p + 1],
      ],
      big,
      DisplaySpace.identity(1_000_000),
      bl,
    );
    expect([...h.cells]).toEqual([10, 11]);
  });

  it('a squeezed stretch maps its pages onto its few display cells; out of view is clipped', () => {
    const sq = new DisplaySpace(103_000, [
      { hostStart: 0, hostEnd: 1000, displayStart: 0, squeezed: false },
      { hostStart: 1000, hostEnd: 101_000, displayStart: 1000, squeezed: true },
      { hostStart: 101_000, hostEnd: 103_000, displayStart: 1000 + COMPACT_PAGES, squeezed: false },
    ]);
    const vs = [vma(0, 0, 1000), vma(1000, 5000, 100_000), vma(101_000, 200_000, 2000)];
    const sl = computeLayout(sq.totalDisplay, 300, 300, { k: 1, y: 0 });
    expect(sl.pagesPerCell).toBe(1);
    // The squeezed VMA's whole 100k pages: exactly its COMPACT_PAGES display cells.
    const h = highlightCells([[5000, 105_000]], vs, sq, sl);
    expect([...h.cells]).toEqual(range(1000, 1000 + COMPACT_PAGES));
    // Zoomed so the view starts past the first VMA: its pages are not drawn, so not lit.
    const zl = computeLayout(sq.totalDisplay, 300, 300, { k: 8, y: -8 * 300 * 0.5 });
    expect(zl.firstIndex).toBeGreaterThan(1000);
    expect(highlightCells([[0, 1000]], vs, sq, zl).cells.length).toBe(0);
  });

  it('matches a page-by-page reference on any ranges, zoom and scroll', () => {
    const vs = [vma(0, 10, 3000), vma(3000, 9000, 5000), vma(8000, 20_000, 4000)];
    const sp = DisplaySpace.identity(12_000);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 25_000 }), fc.integer({ min: 1, max: 3000 })), {
          maxLength: 6,
        }),
        fc.integer({ min: 1, max: 20 }),
        fc.double({ min: 0, max: 0.95, noNaN: true }),
        (rs, k, frac) => {
          const lay = computeLayout(12_000, 240, 180, { k, y: -frac * k * 180 });
          const ranges = rs.map(([a, n]) => [a, a + n] as [number, number]);
          const want = new Set<number>();
          for (const [a, b] of ranges)
            for (let page = a; page < b; page++) {
              const v = vs.find((x) => x.startPage <= page && page < x.endPage);
              if (!v) continue;
              const d = sp.toDisplay(v.offset + page - v.startPage);
              if (d < lay.firstIndex || d >= lay.endIndex) continue;
              want.add(Math.floor((d - lay.firstIndex) / lay.pagesPerCell));
            }
          const got = highlightCells(ranges, vs, sp, lay);
          expect([...got.cells]).toEqual([...want].sort((x, y) => x - y));
        },
      ),
      { numRuns: 200 },
    );
  });
});
