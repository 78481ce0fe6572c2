import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Category } from '../kernel/pagemap-abi.ts';
import type { Vma } from '../proc/maps.ts';
import { HISTOGRAM_WIDTH, PageBit, PAGE_BIT_NAMES } from '../protocol/page-bits.ts';
import { RegionList } from '../scan/region-list.ts';
import { Scanner } from '../scan/scanner.ts';
import { summarize } from '../scan/summary.ts';
import {
  aggregate,
  layoutOf,
  pageBitsOf,
  toCollapsed,
  VMA_COUNT_FIELDS,
  type Aggregate,
} from './aggregate.ts';
import { ENTRY_OVERHEAD_BYTES, HistoryRing } from './history.ts';
import { anonVma } from '../../testing/anon-vma.ts';
import { tickCounters } from '../../testing/counters.ts';

const { WPALLOWED, WRITTEN, PRESENT, SWAPPED, GUARD, FILE, PFNZERO } = Category;

const vma = anonVma;

const col = (bit: number): number => Math.log2(bit);
const columnSum = (hist: Uint32Array, bit: number): number => {
  let s = 0;
  for (let i = col(bit); i < hist.length; i += HISTOGRAM_WIDTH) s += hist[i];
  return s;
};

describe('pageBitsOf', () => {
  it('interprets the kernel quirks as summary.ts does', () => {
    expect(pageBitsOf(0)).toBe(0);
    expect(pageBitsOf(WRITTEN | PRESENT)).toBe(PageBit.PRESENT | PageBit.MAPPED);
    expect(pageBitsOf(WRITTEN | PRESENT | PFNZERO)).toBe(
      PageBit.PRESENT | PageBit.ZERO | PageBit.MAPPED,
    );
    // uffd-wp marker: not swap
    expect(pageBitsOf(WPALLOWED | SWAPPED)).toBe(PageBit.MAPPED);
    // guard page: not swap
    expect(pageBitsOf(WRITTEN | SWAPPED | GUARD)).toBe(PageBit.GUARD | PageBit.MAPPED);
    // real swap
    expect(pageBitsOf(WRITTEN | SWAPPED)).toBe(PageBit.SWAPPED | PageBit.MAPPED);
    expect(pageBitsOf(FILE | PRESENT) & PageBit.FILE).toBeTruthy();
    // WRITTEN never comes from the plain scan
    expect(pageBitsOf(WPALLOWED | WRITTEN | PRESENT) & PageBit.WRITTEN).toBe(0);
  });
});

describe('aggregate', () => {
  // Two VMAs with a gap between them: [100, 110) and [1000, 1020) -> collapsed [0, 30).
  const vmas = [vma(0, 100, 110), vma(1, 1000, 1020)];
  const layout = layoutOf(vmas);
  const regions = new RegionList();
  regions.push(100, 104, WRITTEN | PRESENT, 0); // 4 present
  regions.push(104, 110, 0, 0); // 6 without page table
  regions.push(1000, 1005, WRITTEN | SWAPPED, 1); // 5 swapped
  regions.push(1005, 1020, WPALLOWED | WRITTEN | PRESENT, 1); // 15 present

  it('collapses gaps and counts every page once per bit', () => {
    expect(layout.totalPages).toBe(30);
    expect(Array.from(layout.offsets)).toEqual([0, 10]);
    for (const buckets of [1, 3, 7, 30, 1000]) {
      const a = aggregate(layout, regions, [], [], { buckets });
      expect(a.buckets).toBeLessThanOrEqual(Math.min(buckets, 30));
      expect(a.buckets * a.pagesPerBucket).toBeGreaterThanOrEqual(30);
      expect(columnSum(a.histogram, PageBit.PRESENT)).toBe(19);
      expect(columnSum(a.histogram, PageBit.SWAPPED)).toBe(5);
      expect(columnSum(a.histogram, PageBit.MAPPED)).toBe(24);
      expect(a.present).toBe(19);
      expect(a.swapped).toBe(5);
      expect(a.window).toBeNull();
    }
  });

  it('marks watched and written pages, and fills the window per page', () => {
    const watched = [{ startPage: 1003, endPage: 1010 }];
    const written = [1004, 1006, 1008, 1009];
    const a = aggregate(layout, regions, watched, written, {
      buckets: 30,
      window: { startIndex: 8, endIndex: 20 },
    });
    expect(a.watched).toBe(7);
    expect(a.writtenPages).toBe(3);
    expect(Array.from(a.written)).toEqual([14, 16, 18, 19]);
    expect(columnSum(a.histogram, PageBit.WRITTEN)).toBe(3);
    const bits = a.window!.bits;
    expect(bits.length).toBe(12);
    expect(bits[0]).toBe(0); // page 108: no page table
    expect(bits[2]).toBe(PageBit.SWAPPED | PageBit.MAPPED); // collapsed 10 = page 1000
    expect(bits[5]).toBe(PageBit.SWAPPED | PageBit.MAPPED | PageBit.WATCHED); // page 1003
    expect(bits[6]).toBe(PageBit.SWAPPED | PageBit.MAPPED | PageBit.WATCHED | PageBit.WRITTEN);
    expect(bits[7] & PageBit.PRESENT && bits[7] & PageBit.WRITTEN).toBeTruthy(); // page 1005
    expect(bits[8] & PageBit.WRITTEN).toBe(0);
  });

  it('clips a window past the end', () => {
    const a = aggregate(layout, regions, [], [], {
      buckets: 4,
      window: { startIndex: 25, endIndex: 100 },
    });
    expect(a.window!.endIndex).toBe(30);
    expect(a.window!.bits.length).toBe(5);
  });

  it('maps absolute ranges across VMAs and gaps', () => {
    expect(Array.from(toCollapsed(layout, [50, 2000]))).toEqual([0, 30]);
    expect(Array.from(toCollapsed(layout, [108, 1002]))).toEqual([8, 12]);
    expect(Array.from(toCollapsed(layout, [200, 900]))).toEqual([]);
  });

  it('keeps Uint32 counts exact for a 64 TiB reservation in one bucket', () => {
    const big = layoutOf([vma(0, 2 ** 30, 2 ** 30 + 2 ** 34)]);
    const r = new RegionList();
    r.push(2 ** 30, 2 ** 30 + 2 ** 34, WRITTEN | PRESENT, 0);
    const a = aggregate(big, r, [], [], { buckets: 1 });
    expect(a.pagesPerBucket).toBeLessThan(2 ** 32);
    expect(columnSum(a.histogram, PageBit.PRESENT)).toBe(2 ** 34);
  });

  it('histograms add up to the per-page truth for random region lists', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 0, max: 0x1ff })), {
          minLength: 1,
          maxLength: 40,
        }),
        fc.integer({ min: 1, max: 64 }),
        (spans, buckets) => {
          let p = 0;
          const r = new RegionList();
          const perPage: number[] = [];
          for (const [len, cats] of spans) {
            r.push(p, p + len, cats, 0);
            for (let i = 0; i < len; i++) perPage.push(pageBitsOf(cats));
            p += len;
          }
          const lay = layoutOf([vma(0, 0, p)]);
          const a = aggregate(lay, r, [], [], { buckets, window: { startIndex: 0, endIndex: p } });
          expect(Array.from(a.window!.bits)).toEqual(perPage);
          for (let k = 0; k < PAGE_BIT_NAMES.length; k++) {
            const expected = perPage.filter((b) => b & (1 << k)).length;
            expect(columnSum(a.histogram, 1 << k)).toBe(expected);
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});

/** [present, swapped, written] of VMA i. */
const countsOf = (a: Aggregate, i: number): number[] =>
  Array.from(a.vmaCounts.subarray(i * VMA_COUNT_FIELDS, (i + 1) * VMA_COUNT_FIELDS));

describe('per-VMA counts', () => {
  // A server's layout in small: a big heap, 1-page VMAs on both sides of a 1-page `---p` guard
  // (no page table: the scan says 0 present), then a stack. 7 buckets of 17 pages each straddle
  // several VMAs, so sharing buckets out (as the memory map once did) gets the small ones wrong.
  const vmas = [
    vma(0, 1000, 1100),
    vma(1, 1100, 1101),
    { ...vma(2, 1101, 1102), perms: '---p' },
    vma(3, 1102, 1103),
    vma(4, 5000, 5016),
  ];
  const layout = layoutOf(vmas);
  const r = new RegionList();
  r.push(1000, 1100, WRITTEN | PRESENT, 0);
  r.push(1100, 1101, WRITTEN | PRESENT, 1);
  r.push(1101, 1102, 0, 2); // the guard: a page-table slot, nothing in it
  r.push(1102, 1103, WRITTEN | PRESENT, 3);
  r.push(5000, 5008, WRITTEN | SWAPPED, 4); // real swap
  r.push(5008, 5012, WPALLOWED | SWAPPED, 4); // uffd-wp markers: not swap
  r.push(5012, 5016, WRITTEN | PRESENT, 4);

  it('are the scan’s own counts for 1-page VMAs and a guard page, whatever the buckets', () => {
    for (const buckets of [1, 3, 7, 64, 1000]) {
      const a = aggregate(layout, r, [], [1099, 1101, 1102, 1103, 5014, 5015], { buckets });
      expect(countsOf(a, 0), `${buckets} buckets`).toEqual([100, 0, 1]);
      expect(countsOf(a, 1), `${buckets} buckets`).toEqual([1, 0, 1]);
      expect(countsOf(a, 2), `${buckets} buckets`).toEqual([0, 0, 0]);
      expect(countsOf(a, 3), `${buckets} buckets`).toEqual([1, 0, 1]);
      expect(countsOf(a, 4), `${buckets} buckets`).toEqual([4, 8, 1]);
    }
  });

  it('count written ranges that cross VMA ends and gaps in each VMA', () => {
    const a = aggregate(layout, r, [], [1050, 1103, 4000, 5003], { buckets: 5 });
    expect(a.vmaCounts[0 * 3 + 2]).toBe(50);
    expect(a.vmaCounts[1 * 3 + 2]).toBe(1);
    expect(a.vmaCounts[2 * 3 + 2]).toBe(1);
    expect(a.vmaCounts[3 * 3 + 2]).toBe(1);
    expect(a.vmaCounts[4 * 3 + 2]).toBe(3);
  });

  it('equal summarize() for random layouts of small VMAs', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.integer({ min: 1, max: 4 }), // VMA length
            fc.integer({ min: 0, max: 3 }), // gap before it
            fc.array(fc.integer({ min: 0, max: 0x1ff }), { minLength: 1, maxLength: 4 }),
          ),
          { minLength: 1, maxLength: 30 },
        ),
        fc.integer({ min: 1, max: 16 }),
        (spec, buckets) => {
          const vs: Vma[] = [];
          const regions = new RegionList();
          let p = 10;
          for (const [len, gap, cats] of spec) {
            p += gap;
            const v = vma(vs.length, p, p + len);
            vs.push(v);
            for (let i = 0; i < len; i++)
              regions.push(p + i, p + i + 1, cats[i % cats.length], v.index);
            p += len;
          }
          const lay = layoutOf(vs);
          const a = aggregate(lay, regions, [], [], { buckets });
          const truth = summarize(vs, regions, new Map());
          vs.forEach((v, i) =>
            expect(countsOf(a, i)).toEqual([truth[i].present, truth[i].swapped, 0]),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('equal the scanner’s summaries of a real process (this one) at 50 buckets', () => {
    const scanner = new Scanner(process.pid);
    try {
      const res = scanner.scan();
      const a = aggregate(layoutOf(res.vmas), res.regions, [], [], { buckets: 50 });
      let smallOnes = 0;
      res.vmas.forEach((v, i) => {
        if (v.kind === 'vsyscall') return;
        if (v.endPage - v.startPage <= 2) smallOnes++;
        expect(countsOf(a, i)).toEqual([res.summaries[i].present, res.summaries[i].swapped, 0]);
      });
      expect(smallOnes).toBeGreaterThan(0); // node maps 1- and 2-page VMAs (ELF headers, guards)
    } finally {
      scanner.close();
    }
  });
});

describe('HistoryRing', () => {
  it('stays within its byte budget over many ticks and keeps the newest', () => {
    const budget = 64 * 1024;
    const ring = new HistoryRing(budget);
    let maxUsed = 0;
    for (let t = 1; t <= 20_000; t++) {
      const written = new Float64Array((t % 50) * 2);
      ring.push({
        counters: tickCounters({ tick: t, present: t, written: t % 50, watched: 0 }),
        vmaVersion: 1,
        written,
      });
      maxUsed = Math.max(maxUsed, ring.usedBytes);
    }
    expect(maxUsed).toBeLessThanOrEqual(budget);
    const ticks = ring.counters();
    expect(ticks[ticks.length - 1].tick).toBe(20_000);
    expect(ticks.length).toBeGreaterThan(budget / (ENTRY_OVERHEAD_BYTES + 800));
    expect(ticks.length).toBeLessThan(20_000);
    // oldest first, contiguous
    for (let i = 1; i < ticks.length; i++) expect(ticks[i].tick).toBe(ticks[i - 1].tick + 1);
    expect(maxUsed).toBeGreaterThan(budget * 0.9);
  });

  it('keeps the counters of an entry bigger than the budget, without its ranges', () => {
    const ring = new HistoryRing(1000);
    ring.push({
      counters: tickCounters({ tick: 1, t: 0, present: 0, written: 0, watched: 0, scanMs: 0 }),
      vmaVersion: 1,
      written: new Float64Array(10_000),
    });
    expect(ring.length).toBe(1);
    expect(ring.usedBytes).toBe(ENTRY_OVERHEAD_BYTES);
    expect(() => new HistoryRing(10)).toThrow(/at least/);
  });
});
