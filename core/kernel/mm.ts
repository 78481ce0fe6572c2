/**
 * Memory management on pagescope's OWN address space: mmap, munmap, mprotect, madvise, memset,
 * memchr and naming an anonymous VMA, with the constants they take. The demo workload builds its
 * regions with these, the granularity probe its test huge page, and kernel tests their fixtures.
 *
 * Like libc.ts, every wrapper returns the raw result and leaves errno in `errno()`. Addresses are
 * plain numbers: user addresses on x86_64 stay below 2^47, exact in a double.
 */
import { libc } from './libc.ts';

export const PROT_NONE = 0;
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_RW = PROT_READ | PROT_WRITE;

export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;
export const MAP_NORESERVE = 0x4000;

export const MADV_DONTNEED = 4;
export const MADV_HUGEPAGE = 14;
export const MADV_NOHUGEPAGE = 15;
export const MADV_PAGEOUT = 21;
/** Linux 6.13+. */
export const MADV_GUARD_INSTALL = 102;
export const MADV_GUARD_REMOVE = 103;

/** A PMD-sized transparent huge page on x86_64. */
export const HUGE_PAGE_SIZE = 2 << 20;

const PR_SET_VMA = 0x53564d41;
const PR_SET_VMA_ANON_NAME = 0;

const c = {
  mmap: libc.func(
    'uintptr_t mmap(uintptr_t addr, size_t len, int prot, int flags, int fd, int64_t off)',
  ),
  munmap: libc.func('int munmap(uintptr_t addr, size_t len)'),
  mprotect: libc.func('int mprotect(uintptr_t addr, size_t len, int prot)'),
  madvise: libc.func('int madvise(uintptr_t addr, size_t len, int advice)'),
  memset: libc.func('uintptr_t memset(uintptr_t p, int c, size_t n)'),
  memchr: libc.func('uintptr_t memchr(uintptr_t p, int c, size_t n)'),
  prctl: libc.func(
    'int prctl(int op, unsigned long sub, uintptr_t addr, size_t len, const char *name)',
  ),
};

/** mmap; the address of the new mapping, or -1 (MAP_FAILED) with errno set. */
export function mmap(
  addr: number,
  len: number,
  prot: number,
  flags: number,
  fd = -1,
  offset = 0,
): number {
  const r = Number(c.mmap(addr, len, prot, flags, fd, offset));
  // MAP_FAILED is (void *)-1, 2^64 - 1 as a number.
  return r > 0 && r < 2 ** 48 ? r : -1;
}

export function munmap(addr: number, len: number): number {
  return c.munmap(addr, len);
}

export function mprotect(addr: number, len: number, prot: number): number {
  return c.mprotect(addr, len, prot);
}

export function madvise(addr: number, len: number, advice: number): number {
  return c.madvise(addr, len, advice);
}

/** Writes `len` bytes of `byte` at `addr` (faulting the pages in for writing). */
export function memset(addr: number, byte: number, len: number): void {
  c.memset(addr, byte, len);
}

/** Reads up to `len` bytes at `addr` looking for `byte`: its address, or 0. */
export function memchr(addr: number, byte: number, len: number): number {
  return Number(c.memchr(addr, byte, len));
}

/** Names an anonymous mapping (`[anon:NAME]` in maps; Linux 5.17+ with CONFIG_ANON_VMA_NAME). */
export function nameAnonVma(addr: number, len: number, name: string): number {
  return c.prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, addr, len, name);
}
