/**
 * Swapped shared memory, read from the object rather than the page tables.
 *
 * Why: a page of shmem (shared anonymous, memfd, SysV, /dev/shm) that the kernel swaps out
 * leaves NO swap entry in any process's page table (the PTE is simply cleared; the swap entry
 * lives in the object's page cache). PAGEMAP_SCAN and /proc/PID/pagemap therefore say "not
 * present", and a scan would count 0 swapped. The object knows.
 *
 * Strategy, per shared VMA, finest source first, and every figure says which source it came from:
 *  1. 'object': open the object through /proc/PID/map_files/START-END (root or CAP_SYS_ADMIN),
 *     walk its allocated pages in the VMA's range with lseek(SEEK_DATA/SEEK_HOLE) (shmem counts
 *     a swapped page as data), and ask mincore() on a PROT_READ mapping of our own, never
 *     touched, which of them are in memory (a page in the swap cache counts as in memory).
 *     Swapped = allocated and not in memory: exact per page, for the whole object range the
 *     VMA maps (whichever process's page tables map it or not).
 *  2. 'smaps': the VMA's `Swap:` line in /proc/PID/smaps, which for shmem VMAs is the object's
 *     swapped pages in that range (in kB, so whole pages). Used when map_files cannot be opened
 *     (not root), for hugetlb (never swapped) and when the object cannot be mapped.
 * The target is never touched: map_files is opened read-only and our mapping is never read.
 */
import { PAGE_SIZE } from '../kernel/pagemap-abi.ts';
import { koffi, libc } from '../kernel/libc.ts';
import { pageToHex, type Vma } from './maps.ts';
import { readSmaps } from './smaps.ts';

const SEEK_DATA = 3;
const SEEK_HOLE = 4;
const PROT_READ = 1;
const MAP_SHARED = 1;
const O_RDONLY_CLOEXEC = 0o2000000;
const ENXIO = 6;

const c = {
  open: libc.func('int open(const char *path, int flags)'),
  close: libc.func('int close(int fd)'),
  lseek: libc.func('int64_t lseek(int fd, int64_t offset, int whence)'),
  mmap: libc.func(
    'intptr_t mmap(intptr_t addr, size_t len, int prot, int flags, int fd, int64_t off)',
  ),
  munmap: libc.func('int munmap(intptr_t addr, size_t len)'),
  mincore: libc.func('int mincore(intptr_t addr, size_t len, _Out_ uint8_t *vec)'),
};

export type SwapSource = 'object' | 'smaps';

/** Where each source's figures come from, in words (the CLI's legend, the README). */
export const SWAP_SOURCES: Record<SwapSource, string> = {
  object: 'the object itself (map_files, SEEK_DATA/SEEK_HOLE and mincore)',
  smaps: "smaps' per-VMA Swap",
};

export interface ObjectPages {
  /** Pages of the object in the VMA's range that are swapped out. */
  swapped: number;
  /** Pages in memory (page cache), or null when the source cannot tell (smaps). */
  resident: number | null;
  /** Pages that exist in the object at all (in memory or swapped), or null (smaps). */
  allocated: number | null;
  source: SwapSource;
}

/** Whether a VMA's memory is a shmem object whose swapped pages its page tables do not show. */
export function isSharedObjectVma(v: Vma): boolean {
  return v.kind === 'shmem' && v.perms[3] === 's';
}

/** The name of the VMA in /proc/PID/map_files: its addresses in hex without leading zeros. */
export function mapFilesName(v: Vma): string {
  return `${pageToHex(v.startPage)}-${pageToHex(v.endPage)}`;
}

/**
 * The object's pages in one VMA's range, read from the object (source 'object'), or null when
 * that cannot be done here (then use smaps). Never throws for a process that exits meanwhile.
 */
export function objectPagesFromObject(pid: number, v: Vma): ObjectPages | null {
  const fd = Number(c.open(`/proc/${pid}/map_files/${mapFilesName(v)}`, O_RDONLY_CLOEXEC));
  if (fd < 0) return null;
  try {
    const pages = v.endPage - v.startPage;
    const len = pages * PAGE_SIZE;
    const start = v.offset;
    const end = start + len;
    // Allocated ranges in [start, end), in pages relative to start.
    const data: Array<[number, number]> = [];
    let pos = start;
    while (pos < end) {
      const d = Number(c.lseek(fd, pos, SEEK_DATA));
      if (d < 0) {
        if (koffi.errno() === ENXIO) break; // no data after pos
        return null;
      }
      if (d >= end) break;
      let h = Number(c.lseek(fd, d, SEEK_HOLE));
      if (h < 0) return null;
      h = Math.min(h, end);
      data.push([Math.floor((d - start) / PAGE_SIZE), Math.ceil((h - start) / PAGE_SIZE)]);
      pos = h;
    }
    if (data.length === 0) return { swapped: 0, resident: 0, allocated: 0, source: 'object' };
    const addr = Number(c.mmap(0, len, PROT_READ, MAP_SHARED, fd, start));
    if (addr === -1) return null;
    const vec = new Uint8Array(pages);
    try {
      if (Number(c.mincore(addr, len, vec)) !== 0) return null;
    } finally {
      c.munmap(addr, len);
    }
    let allocated = 0;
    let resident = 0;
    for (const [a, b] of data) {
      allocated += b - a;
      for (let i = a; i < b; i++) resident += vec[i] & 1;
    }
    return { swapped: allocated - resident, resident, allocated, source: 'object' };
  } finally {
    c.close(fd);
  }
}

/**
 * Every shared-object VMA's pages, keyed by VMA index: from the object where possible, else from
 * smaps (read once, only when some VMA needs it).
 */
export function sharedObjectPages(pid: number, vmas: Vma[]): Map<number, ObjectPages> {
  const out = new Map<number, ObjectPages>();
  const fallback: Vma[] = [];
  for (const v of vmas) {
    if (!isSharedObjectVma(v)) continue;
    const o = objectPagesFromObject(pid, v);
    if (o) out.set(v.index, o);
    else fallback.push(v);
  }
  for (const [i, o] of objectPagesFromSmaps(pid, fallback)) out.set(i, o);
  return out;
}

/** The smaps source for these VMAs (one read of smaps), keyed by VMA index. */
export function objectPagesFromSmaps(pid: number, vmas: Vma[]): Map<number, ObjectPages> {
  const out = new Map<number, ObjectPages>();
  if (vmas.length === 0) return out;
  let swapKb: Map<string, number>;
  try {
    swapKb = new Map(readSmaps(pid).map((e) => [e.startHex, e.fields.Swap ?? 0]));
  } catch {
    return out; // exited
  }
  for (const v of vmas) {
    const kb = swapKb.get(v.startHex);
    if (kb === undefined) continue; // the VMA changed since maps was read
    out.set(v.index, {
      swapped: (kb * 1024) / PAGE_SIZE,
      resident: null,
      allocated: null,
      source: 'smaps',
    });
  }
  return out;
}
