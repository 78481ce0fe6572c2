/**
 * The summary rules (summary.ts) on category words as the kernel reports them (KERNEL-NOTES,
 * "Categories as this kernel reports them"), including the ones the fixture cannot make without
 * a userfaultfd registration: markers and watched (WPALLOWED) pages.
 */
import { describe, expect, it } from 'vitest';
import { Category } from '../kernel/pagemap-abi.ts';
import { anonVma } from '../../testing/anon-vma.ts';
import { RegionList } from './region-list.ts';
import { addCounts, addPages, CategorySums, emptyCounts, summarize } from './summary.ts';

const { WPALLOWED, WRITTEN, FILE, PRESENT, SWAPPED, PFNZERO, HUGE, SOFT_DIRTY, GUARD } = Category;

function counts(c: number, n = 1) {
  const into = emptyCounts();
  addPages(into, c, n);
  return into;
}

describe('addPages', () => {
  it.each([
    ['touched anon page', WRITTEN | PRESENT, { present: 1 }],
    ['zero page', WRITTEN | PRESENT | PFNZERO, { present: 1, zero: 1 }],
    ['file page', WRITTEN | PRESENT | FILE, { present: 1, file: 1 }],
    ['THP', WRITTEN | PRESENT | HUGE, { present: 1, huge: 1 }],
    ['real swap', WRITTEN | SWAPPED, { swapped: 1 }],
    ['guard marker (SWAPPED is a marker)', WRITTEN | SWAPPED | GUARD, { guard: 1 }],
    ['uffd-wp marker (SWAPPED is a marker)', WPALLOWED | SWAPPED, { wpallowed: 1, markers: 1 }],
    ['watched, written', WPALLOWED | WRITTEN | PRESENT, { wpallowed: 1, written: 1, present: 1 }],
    ['watched, not written', WPALLOWED | PRESENT, { wpallowed: 1, present: 1 }],
    [
      'watched, swapped after a write',
      WPALLOWED | WRITTEN | SWAPPED,
      { wpallowed: 1, written: 1, swapped: 1 },
    ],
    ['pte_none inside a page table', WRITTEN, {}],
    ['no page table', 0, {}],
    ['soft-dirty', WRITTEN | PRESENT | SOFT_DIRTY, { present: 1, softdirty: 1 }],
  ] as Array<[string, number, Record<string, number>]>)('%s', (_, c, want) => {
    expect(counts(c, 3)).toEqual({
      ...emptyCounts(),
      pages: 3,
      ...Object.fromEntries(Object.entries(want).map(([k, v]) => [k, v * 3])),
    });
  });

  it('addCounts sums every key', () => {
    const a = counts(WRITTEN | PRESENT, 2);
    addCounts(a, counts(WRITTEN | SWAPPED | GUARD, 5));
    expect(a).toEqual({ ...emptyCounts(), pages: 7, present: 2, guard: 5 });
  });
});

const vma = anonVma;

describe('summarize', () => {
  it('sums regions per VMA and takes pages from what was scanned', () => {
    const vmas = [vma(0, 100, 200), vma(1, 300, 310)];
    const r = new RegionList(2);
    r.push(100, 110, WRITTEN | PRESENT, 0);
    r.push(110, 120, WRITTEN | PRESENT, 0); // merges
    r.push(120, 200, 0, 0);
    r.push(300, 302, WRITTEN | SWAPPED, 1);
    r.push(302, 303, WRITTEN | SWAPPED | GUARD, 1);
    expect(r.length).toBe(4);
    const s = summarize(
      vmas,
      r,
      new Map([
        [0, 100],
        [1, 7],
      ]),
    );
    expect(s[0]).toEqual({ ...emptyCounts(), pages: 100, present: 20 });
    expect(s[1]).toEqual({ ...emptyCounts(), pages: 7, swapped: 2, guard: 1 });
  });
});

describe('CategorySums (summaries summed while decoding)', () => {
  const WORDS = [
    0,
    WRITTEN,
    WRITTEN | PRESENT,
    WRITTEN | PRESENT | PFNZERO,
    WRITTEN | PRESENT | FILE,
    WRITTEN | PRESENT | HUGE,
    WRITTEN | SWAPPED,
    WRITTEN | SWAPPED | GUARD,
    WPALLOWED | SWAPPED,
    WPALLOWED | WRITTEN | PRESENT,
    WPALLOWED | PRESENT | SOFT_DIRTY,
    // Bits above the 10 summarize looks at: masked the same way on both paths.
    0x400 | WRITTEN | PRESENT,
  ];

  it('flushed per VMA, equal summarize() over the same regions (several VMAs, merged regions, a VMA in two pieces)', () => {
    const vmas = [vma(0, 0, 5000), vma(1, 6000, 9000), vma(2, 9000, 9500)];
    const scanned = new Map([
      [0, 5000],
      [1, 3000],
      [2, 500],
    ]);
    const r = new RegionList(4);
    const sums = new CategorySums();
    const fused = vmas.map(() => emptyCounts());
    let seed = 7;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    // VMA 0 in two pieces (two ranges), each flushed on its own, as Scanner.scan does.
    const pieces = [
      [0, 0, 2000],
      [0, 2000, 5000],
      [1, 6000, 9000],
      [2, 9000, 9500],
    ];
    for (const [v, start, end] of pieces) {
      for (let p = start; p < end;) {
        const len = Math.min(end - p, 1 + rand(5));
        const c = WORDS[rand(3) === 0 ? rand(WORDS.length) : 2];
        r.push(p, p + len, c, v); // adjacent equal regions merge: the sums must not care
        sums.add(c, len);
        p += len;
      }
      sums.flushInto(fused[v]);
    }
    for (const [v, pages] of scanned) fused[v].pages = pages;
    expect(r.length).toBeLessThan(9000 / 3); // some merged
    expect(fused).toEqual(summarize(vmas, r, scanned));
    expect(fused[0].present).toBeGreaterThan(0);
    expect(fused[1].swapped + fused[1].markers + fused[1].guard).toBeGreaterThan(0);
  });

  it('reset forgets what was not flushed; an empty add is ignored', () => {
    const sums = new CategorySums();
    sums.add(PRESENT, 5);
    sums.add(WRITTEN, 0);
    sums.reset();
    sums.add(PRESENT | FILE, 2);
    const into = emptyCounts();
    sums.flushInto(into);
    expect(into).toEqual({ ...emptyCounts(), pages: 2, present: 2, file: 2 });
    sums.flushInto(into); // nothing left
    expect(into.pages).toBe(2);
  });
});

describe('RegionList', () => {
  it('merges only adjacent equal regions of the same VMA, grows, and finds pages', () => {
    const r = new RegionList(1);
    r.push(0, 1, PRESENT, 0);
    r.push(1, 2, PRESENT, 0);
    r.push(2, 3, PRESENT, 1); // another VMA
    r.push(4, 5, PRESENT, 1); // a gap
    r.push(5, 6, SWAPPED, 1);
    expect(r.length).toBe(4);
    expect([...r.startPage.subarray(0, 4)]).toEqual([0, 2, 4, 5]);
    expect(r.pageCount()).toBe(5);
    expect(r.pagesWith(PRESENT)).toBe(4);
    expect(r.categoriesAt(1)).toBe(PRESENT);
    expect(r.categoriesAt(3)).toBe(-1);
    expect(r.categoriesAt(5)).toBe(SWAPPED);
    const snap = r.snapshot();
    r.clear();
    expect(r.length).toBe(0);
    expect(snap.length).toBe(4);
    expect(snap.categoriesAt(5)).toBe(SWAPPED);
  });
});
