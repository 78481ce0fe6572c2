/**
 * The mm bindings on our own process, checked through what the kernel shows: /proc/self/maps for
 * the mapping and its protection, the pagemap file (8 bytes a page, bit 63 = present) for what
 * memset faulted in and madvise dropped.
 */
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { errnoName } from './errors.ts';
import { errno } from './libc.ts';
import {
  MADV_DONTNEED,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  madvise,
  memchr,
  memset,
  mmap,
  mprotect,
  munmap,
  nameAnonVma,
  PROT_NONE,
  PROT_RW,
} from './mm.ts';
import { PAGE_SIZE } from './pagemap-abi.ts';

const PAGES = 8;
const mapped: Array<[number, number]> = [];
afterEach(() => {
  for (const [addr, len] of mapped.splice(0)) munmap(addr, len);
});

function map(pages: number): number {
  const addr = mmap(0, pages * PAGE_SIZE, PROT_RW, MAP_PRIVATE | MAP_ANONYMOUS);
  expect(addr).not.toBe(-1);
  mapped.push([addr, pages * PAGE_SIZE]);
  return addr;
}

/**
 * The maps line of the VMA holding `addr`, or undefined. (Holding, not starting at: the kernel
 * merges a new mapping into an adjacent one with the same flags, which other tests in this
 * process may have made.)
 */
function mapsLine(addr: number): string | undefined {
  return fs
    .readFileSync('/proc/self/maps', 'latin1')
    .split('\n')
    .find((l) => {
      const m = /^([0-9a-f]+)-([0-9a-f]+) /.exec(l);
      return m !== null && parseInt(m[1], 16) <= addr && addr < parseInt(m[2], 16);
    });
}

function present(addr: number, pages: number): boolean[] {
  const fd = fs.openSync('/proc/self/pagemap', 'r');
  try {
    const buf = Buffer.alloc(pages * 8);
    fs.readSync(fd, buf, 0, buf.length, (addr / PAGE_SIZE) * 8);
    return Array.from({ length: pages }, (_, i) => buf.readBigUInt64LE(i * 8) >> 63n === 1n);
  } finally {
    fs.closeSync(fd);
  }
}

describe('mm bindings', () => {
  it('maps, writes, drops and unmaps pages of our own process', () => {
    const addr = map(PAGES);
    expect(mapsLine(addr)).toMatch(/^[0-9a-f]+-[0-9a-f]+ rw-p /);
    expect(present(addr, PAGES).some(Boolean)).toBe(false);
    memset(addr + 2 * PAGE_SIZE, 0x5a, 2 * PAGE_SIZE);
    expect(present(addr, PAGES)).toEqual([false, false, true, true, false, false, false, false]);
    expect(memchr(addr, 0x5a, PAGES * PAGE_SIZE)).toBe(addr + 2 * PAGE_SIZE);
    expect(memchr(addr, 0x77, PAGES * PAGE_SIZE)).toBe(0);
    expect(mprotect(addr, PAGE_SIZE, PROT_NONE)).toBe(0);
    expect(mapsLine(addr)).toMatch(/^[0-9a-f]+-[0-9a-f]+ ---p /);
    expect(mprotect(addr, PAGE_SIZE, PROT_RW)).toBe(0);
    // madvise(DONTNEED) on private anonymous memory drops the pages: the next read sees zeros.
    // (memchr's reads have mapped the other pages, to the zero page or, on a kernel without it,
    // to private pages: either way those count as present.)
    expect(madvise(addr + 2 * PAGE_SIZE, 2 * PAGE_SIZE, MADV_DONTNEED)).toBe(0);
    expect(present(addr, PAGES).slice(2, 4)).toEqual([false, false]);
    expect(memchr(addr, 0x5a, PAGES * PAGE_SIZE)).toBe(0);
    const [, len] = mapped.pop()!;
    expect(munmap(addr, len)).toBe(0);
    expect(mapsLine(addr)).toBeUndefined();
  });

  it('returns -1 with errno for a refused call', () => {
    expect(mmap(0, 0, PROT_RW, MAP_PRIVATE | MAP_ANONYMOUS)).toBe(-1);
    expect(errnoName(errno())).toBe('EINVAL');
    expect(munmap(PAGE_SIZE + 1, PAGE_SIZE)).toBe(-1);
    expect(errnoName(errno())).toBe('EINVAL');
  });

  it('names an anonymous mapping where the kernel can', (ctx) => {
    const addr = map(1);
    if (nameAnonVma(addr, PAGE_SIZE, 'pagescope-mm-test') !== 0) {
      // EINVAL is a kernel without CONFIG_ANON_VMA_NAME; any other errno is a bug of ours.
      expect(errnoName(errno())).toBe('EINVAL');
      ctx.skip('this kernel cannot name anonymous mappings (PR_SET_VMA: EINVAL)');
    }
    expect(mapsLine(addr)).toMatch(/\[anon:pagescope-mm-test\]$/);
  });
});
