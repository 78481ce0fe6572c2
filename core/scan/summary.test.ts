/**
 * The summary rules (summary.ts) on category words as the kernel reports them (KERNEL-NOTES,
 * "Categories as this kernel reports them"), including the ones the fixture cannot make without
 * a userfaultfd registration: markers and watched (WPALLOWED) pages.
 */
import { describe, expect, it } from 'vitest';
import { Category } from '../kernel/pagemap-abi.ts';
import type { Vma } from '../proc/maps.ts';
import { RegionList } from './region-list.ts';
import { addCounts, addPages, emptyCounts, summarize } from './summary.ts';

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

describe('summarize', () => {
  const vma = (index: number, startPage: number, endPage: number): Vma => ({
    index,
    startPage,
    endPage,
    startHex: '',
    endHex: '',
    perms: 'rw-p',
    offset: 0,
    dev: '00:00',
    inode: 0,
    path: '',
    label: '',
    kind: 'anon',
  });

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
