/**
 * PagemapScanBackend.scanPieces: one walk over adjacent VMAs gives exactly what one walk per VMA
 * gives, region for region, each with its own VMA index — including where the kernel merged a
 * region across a VMA boundary (equal categories on both sides) and where the vector fills and
 * the walk continues from walk_end in the middle of a piece.
 *
 * The mapping is our own: 48 anonymous pages split into three VMAs by making the middle third
 * rwx (still writable, so touched pages carry the same categories on both sides of a boundary).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PAGE_SIZE } from '../kernel/pagemap-abi.ts';
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  memset,
  mmap,
  mprotect,
  munmap,
  PROT_NONE,
  PROT_RW,
} from '../kernel/mm.ts';
import { readMaps } from '../proc/maps.ts';
import { PagemapScanBackend } from './pagemap-scan-backend.ts';
import { RegionList } from './region-list.ts';

const PAGES = 48;
const PROT_EXEC = 4;
let addr = -1;
let start = 0;
const ends = [16, 32, 48];
const vmaIndices = [5, 6, 7];

beforeAll(() => {
  // One PROT_NONE page on each side, so the kernel cannot merge ours with a neighbour mapping.
  const outer = mmap(0, (PAGES + 2) * PAGE_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS);
  expect(outer).toBeGreaterThan(0);
  addr = outer + PAGE_SIZE;
  expect(mprotect(addr, PAGES * PAGE_SIZE, PROT_RW)).toBe(0);
  expect(mprotect(addr + 16 * PAGE_SIZE, 16 * PAGE_SIZE, PROT_RW | PROT_EXEC)).toBe(0);
  // Runs that cross both boundaries, a lone page, and untouched stretches.
  for (const p of [10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 30, 31, 32, 33, 34, 40])
    memset(addr + p * PAGE_SIZE, 1, PAGE_SIZE);
  start = addr / PAGE_SIZE;
  for (let i = 0; i < 3; i++) ends[i] += start;
});
afterAll(() => {
  if (addr > 0) munmap(addr - PAGE_SIZE, (PAGES + 2) * PAGE_SIZE);
});

const rows = (r: RegionList): number[][] =>
  Array.from({ length: r.length }, (_, i) => [
    r.startPage[i] - start,
    r.endPage[i] - start,
    r.categories[i],
    r.vmaIndex[i],
  ]);

it('the mapping really is three VMAs and the kernel merges regions across their boundaries', () => {
  const vmas = readMaps(process.pid).filter(
    (v) => v.startPage >= start && v.endPage <= start + PAGES,
  );
  expect(vmas.map((v) => [v.startPage - start, v.endPage - start])).toEqual([
    [0, 16],
    [16, 32],
    [32, 48],
  ]);
  const backend = new PagemapScanBackend(process.pid);
  try {
    const whole = new RegionList();
    backend.scanRange(start, start + PAGES, 0, {}, whole);
    // One region spans page 10..21 although a VMA boundary lies at 16.
    expect(rows(whole).some(([s, e]) => s <= 10 && e >= 21)).toBe(true);
  } finally {
    backend.close();
  }
});

it.each([4096, 7, 3, 1])(
  'vecLen %i: one walk over three VMAs equals one walk per VMA, split at the VMA ends',
  (vecLen) => {
    const backend = new PagemapScanBackend(process.pid, { vecLen });
    try {
      const perPiece = new RegionList(1);
      let pagesPerPiece = 0;
      let from = start;
      for (let k = 0; k < 3; k++) {
        pagesPerPiece += backend.scanRange(from, ends[k], vmaIndices[k], {}, perPiece).pages;
        from = ends[k];
      }
      const merged = new RegionList(1);
      const res = backend.scanPieces(start, ends, vmaIndices, {}, merged);
      expect(rows(merged)).toEqual(rows(perPiece));
      expect(res).toEqual({ pages: pagesPerPiece, walkEndPage: start + PAGES });
      expect(res.pages).toBe(PAGES);
      // No region crosses a piece end, and each carries its piece's VMA index.
      for (const [s, e, , v] of rows(merged)) {
        const k = ends.findIndex((end) => s + start < end);
        expect(e + start).toBeLessThanOrEqual(ends[k]);
        expect(v).toBe(vmaIndices[k]);
      }
    } finally {
      backend.close();
    }
  },
);

it('a walk that starts inside the first piece keeps the piece cursor right', () => {
  const backend = new PagemapScanBackend(process.pid, { vecLen: 2 });
  try {
    const out = new RegionList();
    backend.scanPieces(start + 12, ends, vmaIndices, {}, out);
    expect(out.startPage[0] - start).toBe(12);
    expect(out.vmaIndex[0]).toBe(5);
    expect(
      rows(out)
        .filter(([s]) => s >= 16)
        .every(([s, , , v]) => v === (s < 32 ? 6 : 7)),
    ).toBe(true);
  } finally {
    backend.close();
  }
});

it('pieces separated by unmapped space: one walk, regions still per piece', () => {
  // A second mapping of 24 pages with pages 8..12 unmapped: two VMAs and a gap.
  const base = mmap(0, 24 * PAGE_SIZE, PROT_RW, MAP_PRIVATE | MAP_ANONYMOUS);
  expect(base).toBeGreaterThan(0);
  try {
    expect(munmap(base + 8 * PAGE_SIZE, 4 * PAGE_SIZE)).toBe(0);
    for (const p of [6, 7, 12, 13, 20]) memset(base + p * PAGE_SIZE, 1, PAGE_SIZE);
    const b = base / PAGE_SIZE;
    const backend = new PagemapScanBackend(process.pid, { vecLen: 2 });
    try {
      const perPiece = new RegionList(1);
      backend.scanRange(b, b + 8, 3, {}, perPiece);
      backend.scanRange(b + 12, b + 24, 4, {}, perPiece);
      const merged = new RegionList(1);
      const res = backend.scanPieces(b, [b + 8, b + 24], [3, 4], {}, merged);
      expect(rows(merged)).toEqual(rows(perPiece));
      expect(res.pages).toBe(20);
    } finally {
      backend.close();
    }
  } finally {
    munmap(base, 24 * PAGE_SIZE);
  }
});

it("with the pieces' starts, a mapping made in a gap after the maps were read is dropped, as a walk per piece drops it", () => {
  // Two VMAs with a 4-page gap, then the gap mapped again (with a written page) as a mapping
  // the caller's maps do not have: a session's tick between its maps read and its walk.
  const base = mmap(0, 24 * PAGE_SIZE, PROT_RW, MAP_PRIVATE | MAP_ANONYMOUS);
  expect(base).toBeGreaterThan(0);
  try {
    expect(munmap(base + 8 * PAGE_SIZE, 4 * PAGE_SIZE)).toBe(0);
    for (const p of [6, 7, 13, 20]) memset(base + p * PAGE_SIZE, 1, PAGE_SIZE);
    // PROT_READ only, so the kernel keeps it a VMA of its own between the two.
    const late = mmap(
      base + 8 * PAGE_SIZE,
      4 * PAGE_SIZE,
      1,
      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
    );
    expect(late).toBe(base + 8 * PAGE_SIZE);
    const b = base / PAGE_SIZE;
    const backend = new PagemapScanBackend(process.pid, { vecLen: 2 });
    try {
      const perPiece = new RegionList(1);
      backend.scanRange(b, b + 8, 3, {}, perPiece);
      backend.scanRange(b + 12, b + 24, 4, {}, perPiece);
      const merged = new RegionList(1);
      const res = backend.scanPieces(b, [b + 8, b + 24], [3, 4], {}, merged, [b, b + 12]);
      expect(rows(merged)).toEqual(rows(perPiece));
      expect(res.pages).toBe(20);
      // Every region lies inside its own piece.
      for (let i = 0; i < merged.length; i++) {
        const inFirst = merged.endPage[i] <= b + 8;
        expect(merged.startPage[i]).toBeGreaterThanOrEqual(inFirst ? b : b + 12);
        expect(merged.vmaIndex[i]).toBe(inFirst ? 3 : 4);
      }
    } finally {
      backend.close();
    }
  } finally {
    munmap(base, 24 * PAGE_SIZE);
  }
});
