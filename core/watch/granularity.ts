/**
 * The write-watch granularity, measured rather than assumed.
 *
 * Strategy: in pagescope's OWN process (the target's THP settings are never touched), map 4 MiB,
 * ask for a transparent huge page on its aligned 2 MiB half (MADV_HUGEPAGE), fill it, register
 * it with a userfaultfd in async write-protect mode, protect it, write one byte, and count how
 * many pages PAGEMAP_SCAN then reports as written. On Linux 6.18 the kernel splits the huge page
 * on that write and reports one page. Measured once per process (a few milliseconds).
 */
import { closeFd } from '../kernel/libc.ts';
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
  PAGE_SIZE,
  PM_SCAN_CHECK_WPASYNC,
  PM_SCAN_WP_MATCHING,
} from '../kernel/pagemap-abi.ts';
import { PagemapScanBackend } from '../scan/pagemap-scan-backend.ts';
import { RegionList } from '../scan/region-list.ts';
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
  let pagemap: PagemapScanBackend | null = null;
  try {
    madvise(start, HUGE, MADV_HUGEPAGE);
    memset(start, 1, HUGE);
    const ownPagemap = new PagemapScanBackend(process.pid);
    pagemap = ownPagemap;
    const out = new RegionList(16);
    const scan = (flags: number, mask: number, returnMask: number): number => {
      out.clear();
      const first = start / PAGE_SIZE;
      const options = { flags, categoryMask: mask, returnMask };
      return ownPagemap.scanRange(first, first + HUGE / PAGE_SIZE, 0, options, out).pages;
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
    pagemap?.close();
    munmap(base, len);
  }
}
