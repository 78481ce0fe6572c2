/**
 * A mapping of our own process with as many regions as pages, for the scan tests: private
 * anonymous memory of `pages` pages in which every other page (0, 2, 4, ...) is written, so a
 * walk meets present and empty pages alternately. Made before the file's tests, unmapped after.
 * MADV_NOHUGEPAGE first: with THP "always", the first write would map a 2 MiB huge page (one
 * region where the tests expect one a page).
 */
import { afterAll, beforeAll, expect } from 'vitest';
import {
  MADV_NOHUGEPAGE,
  madvise,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  memset,
  mmap,
  munmap,
  PROT_RW,
} from '../core/kernel/mm.ts';
import { Category, PAGE_SHIFT, PAGE_SIZE } from '../core/kernel/pagemap-abi.ts';
import type { RegionList } from '../core/scan/region-list.ts';

export interface StripedMapping {
  /** Its address (0n until the file's tests start). */
  mem: bigint;
  /** Its first page number. */
  start: number;
}

export function stripedMapping(pages: number): StripedMapping {
  const m: StripedMapping = { mem: 0n, start: 0 };
  beforeAll(() => {
    const addr = mmap(0, pages * PAGE_SIZE, PROT_RW, MAP_PRIVATE | MAP_ANONYMOUS);
    if (addr === -1) throw new Error(`mmap of ${pages} pages failed`);
    // Best effort, as elsewhere (a kernel without THP refuses it, and has no huge pages either).
    madvise(addr, pages * PAGE_SIZE, MADV_NOHUGEPAGE);
    for (let i = 0; i < pages; i += 2) memset(addr + i * PAGE_SIZE, 1, PAGE_SIZE);
    m.mem = BigInt(addr);
    m.start = Number(m.mem >> BigInt(PAGE_SHIFT));
  });
  afterAll(() => {
    if (m.mem) munmap(Number(m.mem), pages * PAGE_SIZE);
  });
  return m;
}

/**
 * What a walk of the first `pages` pages of `m` must have put in `out`: one region a page, in
 * order, in VMA `vmaIndex`, written and present on even pages, written only on odd ones.
 */
export function expectRegionPerPage(
  m: StripedMapping,
  pages: number,
  out: RegionList,
  vmaIndex: number,
): void {
  expect(out.length).toBe(pages);
  for (let i = 0; i < pages; i++) {
    expect(out.startPage[i]).toBe(m.start + i);
    expect(out.endPage[i]).toBe(m.start + i + 1);
    const want = i % 2 === 0 ? Category.WRITTEN | Category.PRESENT : Category.WRITTEN;
    expect(out.categories[i] & ~Category.SOFT_DIRTY).toBe(want);
    expect(out.vmaIndex[i]).toBe(vmaIndex);
  }
}
