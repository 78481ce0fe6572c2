/** pageRanges: merging, duplicates, the bound and the count of what it left out. */
import { describe, expect, it } from 'vitest';
import { pageRanges } from './page-ranges.ts';

describe('pageRanges', () => {
  it('merges adjacent pages and ignores duplicates and order', () => {
    expect(pageRanges([7, 3, 4, 5, 5, 10, 9, 20], 256)).toEqual({
      ranges: [
        [3, 6],
        [7, 8],
        [9, 11],
        [20, 21],
      ],
      moreRanges: 0,
    });
    expect(pageRanges([], 256)).toEqual({ ranges: [], moreRanges: 0 });
  });

  it('keeps at most max ranges, lowest first, and counts the rest', () => {
    // 1000 isolated pages (every other page): 1000 ranges.
    const pages = Array.from({ length: 1000 }, (_, i) => 2 * i);
    const r = pageRanges(pages, 256);
    expect(r.ranges.length).toBe(256);
    expect(r.moreRanges).toBe(744);
    expect(r.ranges[0]).toEqual([0, 1]);
    expect(r.ranges[255]).toEqual([510, 511]);
  });

  it('keeps page numbers of 48-bit addresses exact', () => {
    const top = 2 ** 35 - 1;
    expect(pageRanges(new Set([top, top - 1]), 4).ranges).toEqual([[top - 1, top + 1]]);
  });
});
