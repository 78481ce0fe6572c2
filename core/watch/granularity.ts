/**
 * The write-watch granularity, measured rather than assumed.
 *
 * Strategy: in pagescope's OWN process (the target's THP settings are never touched), map 4 MiB,
 * ask for a transparent huge page on its aligned 2 MiB half (MADV_HUGEPAGE), fill it, register
 * it with a userfaultfd in async write-protect mode, protect it, write one byte, and count how
 * many pages PAGEMAP_SCAN then reports as written. On Linux 6.18 the kernel splits the huge page
 * on that write and reports one page. Measured once per process (a few milliseconds).
 */
import { addressOf, closeFd, errno, ioctl, openFile, O_RDONLY } from '../kernel/libc.ts';
import {
  HUGE_PAGE_SIZE as HUGE,
  MADV_HUGEPAGE,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  madvise,
  memset,
  mmap,
  munmap,
  PROT_RW,
} from '../kernel/mm.ts';
import {
  Category,
  PAGEMAP_SCAN,
  PM_SCAN_ARG_SIZE,
  PM_SCAN_CHECK_WPASYNC,
  PM_SCAN_WP_MATCHING,
  PmScanArg,
} from '../kernel/pagemap-abi.ts';
import { openOwnWpRange } from './own-wp-range.ts';

export interface Granularity {
  /** Pages reported written after a one-byte write into a protected region. */
  pages: number;
  /** Whether the probe got a huge page to test with (false: THP off or unavailable here). */
  hugePageTested: boolean;
}

let cached: Granularity | null = null;

export function measureGranularity(): Granularity {
  if (cached) return cached;
  cached = probe();
  return cached;
}

function probe(): Granularity {
  const len = 2 * HUGE;
  const base = mmap(0, len, PROT_RW, MAP_PRIVATE | MAP_ANONYMOUS);
  if (base === -1) return { pages: 1, hugePageTested: false };
  const start = Math.ceil(base / HUGE) * HUGE;
  let uffd = -1;
  let pagemap = -1;
  try {
    madvise(start, HUGE, MADV_HUGEPAGE);
    memset(start, 1, HUGE);
    pagemap = openFile('/proc/self/pagemap', O_RDONLY);
    const vec = new BigUint64Array(new ArrayBuffer(24 * 1024));
    const arg = new BigUint64Array(new ArrayBuffer(PM_SCAN_ARG_SIZE));
    const scan = (flags: number, mask: number, returnMask: number): number => {
      arg.fill(0n);
      arg[PmScanArg.size] = BigInt(PM_SCAN_ARG_SIZE);
      arg[PmScanArg.flags] = BigInt(flags);
      arg[PmScanArg.start] = BigInt(start);
      arg[PmScanArg.end] = BigInt(start + HUGE);
      arg[PmScanArg.vec] = addressOf(vec);
      arg[PmScanArg.vecLen] = 1024n;
      arg[PmScanArg.categoryMask] = BigInt(mask);
      arg[PmScanArg.returnMask] = BigInt(returnMask);
      const n = ioctl(pagemap, PAGEMAP_SCAN, arg);
      if (n < 0) throw new Error(`PAGEMAP_SCAN: errno ${errno()}`);
      let pages = 0;
      for (let i = 0; i < n; i++) pages += Number((vec[i * 3 + 1] - vec[i * 3]) >> 12n);
      return pages;
    };
    const hugePageTested = scan(0, Category.HUGE, Category.HUGE) === HUGE / 4096;
    const own = openOwnWpRange(start, HUGE);
    if ('refused' in own) return { pages: 1, hugePageTested: false };
    uffd = own.fd;
    const flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC;
    scan(flags, Category.WRITTEN, Category.WRITTEN);
    memset(start + 5 * 4096 + 17, 2, 1);
    const pages = scan(flags, Category.WRITTEN, Category.WRITTEN);
    return { pages: Math.max(1, pages), hugePageTested };
  } catch {
    return { pages: 1, hugePageTested: false };
  } finally {
    if (uffd >= 0) closeFd(uffd);
    if (pagemap >= 0) closeFd(pagemap);
    munmap(base, len);
  }
}
