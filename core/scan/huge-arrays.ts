/**
 * Transparent huge pages for a RegionList's big arrays (pagescope's own memory).
 *
 * A fresh array's pages are handed out by the kernel one 4 KiB fault at a time as the walk first
 * writes them: ~6,000 faults for the ~23 MiB of a 1M-region scan, ~7 ms of a cold
 * `pagescope scan` on the 2-core VMs (issue 22). With MADV_HUGEPAGE (THP "madvise" or "always"),
 * one fault hands out 2 MiB: measured 41 -> 36 ms for the walk of 1M regions in a new process.
 * Only once a walk has passed HUGE_AFTER regions (region-list.ts, `hugeAt`): most processes
 * have a few thousand regions but reservations of gigabytes, so the arrays are sized big and a
 * huge page from the start would zero 2 MiB per array for kilobytes used. Best effort: when the
 * kernel refuses (no THP support) the pages come 4 KiB at a time, as before.
 */
import { koffi } from '../kernel/libc.ts';
import { madvise, MADV_HUGEPAGE } from '../kernel/mm.ts';
import type { RegionList } from './region-list.ts';

const PAGE = 4096;
const HUGE = 2 << 20;
/** Arrays smaller than this keep 4 KiB pages. */
export const HUGE_MIN = 2 * HUGE;

/**
 * Advises MADV_HUGEPAGE on what `list`'s arrays hold beyond its current regions (each array's
 * whole 2 MiB pages past them), once: `list.hugeAt` is set to Infinity. Returns how many
 * arrays took it.
 */
export function adviseHugeRest(list: RegionList): number {
  list.hugeAt = Infinity;
  let advised = 0;
  for (const a of [list.startPage, list.endPage, list.categories, list.vmaIndex]) {
    if (a.byteLength < HUGE_MIN) continue;
    const addr = Number(koffi.address(a));
    // From the first whole 2 MiB page past the regions to the array's last whole 4 KiB page:
    // nothing of the regions already written (4 KiB pages stay) nor of the next array.
    const start = Math.ceil((addr + list.length * a.BYTES_PER_ELEMENT) / HUGE) * HUGE;
    const end = Math.floor((addr + a.byteLength) / PAGE) * PAGE;
    if (end - start < HUGE) continue;
    if (madvise(start, end - start, MADV_HUGEPAGE) === 0) advised++;
  }
  return advised;
}
