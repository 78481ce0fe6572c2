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
import { HUGE_AFTER, type ArrayPlacer, type RegionList } from './region-list.ts';

const PAGE = 4096;
const HUGE = 2 << 20;
/** Arrays smaller than this keep 4 KiB pages. */
export const HUGE_MIN = 2 * HUGE;

/**
 * Places a prepared list's arrays so that each one's entry HUGE_AFTER begins a 2 MiB page: the
 * walk then writes its first HUGE_AFTER regions in 4 KiB pages and everything after in huge
 * pages, with no stretch of 4 KiB pages up to the next 2 MiB boundary in between (up to 2 MiB
 * per array, ~1,000 faults for the four, when the arrays lay where malloc put them). The slack
 * (8 MiB) is address space only: never written, never backed.
 */
export const HUGE_PLACER: ArrayPlacer = {
  slack: 4 * HUGE,
  offsets(buffer, sizes) {
    const addr = Number(koffi.address(new Uint8Array(buffer)));
    const out: number[] = [];
    if (addr % 16 !== 0) {
      // Not where malloc puts big blocks: one after the other, as without a placer.
      let o = 0;
      for (const size of sizes) {
        out.push(o);
        o += size;
      }
      return out;
    }
    let cursor = 0;
    for (const [k, size] of sizes.entries()) {
      const element = [8, 8, 4, 2][k];
      const boundary = addr + cursor + HUGE_AFTER * element;
      const at = cursor + ((HUGE - (boundary % HUGE)) % HUGE);
      out.push(at);
      cursor = at + size;
    }
    // addr is a multiple of 16 and every boundary of 2 MiB: each offset is a multiple of 8.
    return out;
  },
};

/**
 * Advises MADV_HUGEPAGE on what `list`'s arrays hold beyond max(its regions, `hugeAt`) (each
 * array's whole 2 MiB pages from there), once: `list.hugeAt` is set to Infinity. Called before
 * the walk writes past `hugeAt`, so with HUGE_PLACER's layout every page from there can be huge.
 * Returns how many arrays took it.
 */
export function adviseHugeRest(list: RegionList): number {
  const from = Math.max(list.length, Number.isFinite(list.hugeAt) ? list.hugeAt : 0);
  list.hugeAt = Infinity;
  let advised = 0;
  for (const a of [list.startPage, list.endPage, list.categories, list.vmaIndex]) {
    if (a.byteLength < HUGE_MIN) continue;
    const addr = Number(koffi.address(a));
    // From the first whole 2 MiB page past `from` to the array's last whole 4 KiB page:
    // nothing of the regions already written (4 KiB pages stay) nor of the next array.
    const start = Math.ceil((addr + from * a.BYTES_PER_ELEMENT) / HUGE) * HUGE;
    const end = Math.floor((addr + a.byteLength) / PAGE) * PAGE;
    if (end - start < HUGE) continue;
    if (madvise(start, end - start, MADV_HUGEPAGE) === 0) advised++;
  }
  return advised;
}
