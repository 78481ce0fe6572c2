// RegionList's storage: prepare (sized once, no copy), growth past it, and the merge rule.
import { describe, expect, it } from 'vitest';
import { PREPARE_MAX, RegionList } from './region-list.ts';

/** Pushes `n` regions that never merge (alternating categories, one page each). */
function fill(r: RegionList, n: number, from = 0): void {
  for (let i = from; i < from + n; i++) r.push(i, i + 1, i & 1 ? 3 : 5, 0);
}

describe('prepare', () => {
  it('sizes an empty list without copying and keeps it empty', () => {
    const r = new RegionList(0);
    r.prepare(0);
    expect(r.length).toBe(0);
    expect(r.pageCount()).toBe(0);
    expect(r.categoriesAt(0)).toBe(-1);
    expect(r.snapshot().length).toBe(0);
    r.prepare(1000);
    expect(r.startPage.length).toBe(1000);
    expect(r.grows).toBe(0);
  });

  it('holds exactly the prepared count without growing, and grows once past it, contents kept', () => {
    const r = new RegionList(0);
    r.prepare(4096);
    const before = r.startPage;
    fill(r, 4096);
    expect(r.length).toBe(4096);
    expect(r.startPage).toBe(before); // the same arrays: not one copy
    expect(r.grows).toBe(0);
    fill(r, 1, 4096);
    expect(r.grows).toBe(1);
    expect(r.startPage.length).toBe(8192);
    for (const i of [0, 1, 4095, 4096]) {
      expect(r.startPage[i]).toBe(i);
      expect(r.endPage[i]).toBe(i + 1);
      expect(r.categories[i]).toBe(i & 1 ? 3 : 5);
    }
    expect(r.pageCount()).toBe(4097);
  });

  it('empties a full list and reuses its arrays when they are large enough', () => {
    const r = new RegionList(0);
    r.prepare(100);
    fill(r, 100);
    const arrays = [r.startPage, r.endPage, r.categories, r.vmaIndex];
    r.prepare(50);
    expect(r.length).toBe(0);
    expect([r.startPage, r.endPage, r.categories, r.vmaIndex]).toEqual(arrays);
    r.prepare(200); // larger: new arrays, nothing copied (the list is empty)
    expect(r.startPage.length).toBe(200);
    expect(r.grows).toBe(0);
  });

  it('caps a huge bound at PREPARE_MAX (a reservation of terabytes allocates no more)', () => {
    const r = new RegionList(0);
    r.prepare(2 ** 40);
    expect(r.startPage.length).toBe(PREPARE_MAX);
    expect(r.vmaIndex.length).toBe(PREPARE_MAX);
    r.prepare(Number.POSITIVE_INFINITY);
    expect(r.startPage.length).toBe(PREPARE_MAX);
    // Written regions at the far end are kept; past the cap it grows by doubling.
    r.length = PREPARE_MAX - 1;
    r.push(10, 11, 1, 2);
    expect(r.grows).toBe(0);
    r.push(20, 21, 1, 2);
    expect(r.grows).toBe(1);
    expect(r.startPage.length).toBe(2 * PREPARE_MAX);
    expect(r.startPage[PREPARE_MAX - 1]).toBe(10);
    expect(r.startPage[PREPARE_MAX]).toBe(20);
  });
});

describe('reserve and push', () => {
  it('reserve makes room in one reallocation however far it is asked to grow', () => {
    const r = new RegionList(16);
    fill(r, 10);
    r.reserve(100_000);
    expect(r.grows).toBe(1);
    expect(r.startPage.length).toBe(131072); // 16 doubled to the first size that holds it
    expect(r.startPage[9]).toBe(9);
    r.reserve(10); // enough already: nothing
    expect(r.grows).toBe(1);
  });

  it('a list made with capacity 0 grows on its first push', () => {
    const r = new RegionList(0);
    r.push(1, 2, 8, 0);
    expect(r.length).toBe(1);
    expect(r.startPage.length).toBe(16);
  });

  it('merges a region that continues the last one (same categories and VMA) at any capacity', () => {
    const r = new RegionList(0);
    r.prepare(1);
    r.push(0, 1, 8, 0);
    r.push(1, 5, 8, 0); // merged: no room needed
    expect(r.length).toBe(1);
    expect(r.endPage[0]).toBe(5);
    r.push(5, 6, 8, 1); // another VMA: not merged
    expect(r.length).toBe(2);
    expect(r.grows).toBe(1);
  });
});
