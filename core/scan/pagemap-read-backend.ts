/**
 * The fallback backend: read /proc/PID/pagemap, 8 bytes per page, and derive the categories
 * PAGEMAP_SCAN would report, following fs/proc/task_mmu.c's pagemap_page_category():
 *   present pte  -> PRESENT, WRITTEN unless uffd-wp, FILE for non-anon pages, SOFT_DIRTY
 *   swap pte     -> SWAPPED (markers included), WRITTEN unless uffd-wp, GUARD, FILE, SOFT_DIRTY
 *   none/hole    -> nothing
 * One difference it cannot remove (measured on 6.18): PAGEMAP_SCAN reports WRITTEN for an
 * untouched page (pte_none) inside a page table that exists, and 0 where no page table exists;
 * this reader reports 0 for both. Compare WRITTEN only on present or swapped pages.
 * It cannot see WPALLOWED (a VMA property), PFNZERO or HUGE (they need the PFN and page flags),
 * so `visibleCategories` excludes them. Works on any kernel; used before 6.7 or on request.
 *
 * The entries are read in chunks into a reused buffer and decoded from their high 32-bit words
 * only (every flag lives in bits 55..63), so no BigInt is made per page.
 */
import { KernelError } from '../kernel/errors.ts';
import { closeFd, openFile, O_RDONLY, pread } from '../kernel/libc.ts';
import { Category } from '../kernel/pagemap-abi.ts';
import type { RangeResult, ScanBackend, ScanOptions } from './backend.ts';
import type { RegionList } from './region-list.ts';
import type { CategorySums } from './summary.ts';

// Flag bits of the high word (bit 63 of the entry = bit 31 of the high word).
const HI_PRESENT = 1 << 31;
const HI_SWAPPED = 1 << 30;
const HI_FILE = 1 << 29;
const HI_GUARD = 1 << 26;
const HI_UFFD_WP = 1 << 25;
const HI_SOFT_DIRTY = 1 << 23;

export const PAGEMAP_READ_CATEGORIES =
  Category.WRITTEN |
  Category.FILE |
  Category.PRESENT |
  Category.SWAPPED |
  Category.SOFT_DIRTY |
  Category.GUARD;

/** Categories of one pagemap entry, given its high word. */
export function categoriesFromPagemapHigh(hi: number): number {
  let c = 0;
  if (hi & HI_PRESENT) {
    c |= Category.PRESENT;
  } else if (hi & HI_SWAPPED) {
    c |= Category.SWAPPED;
    if (hi & HI_GUARD) c |= Category.GUARD;
  } else {
    return 0;
  }
  if (!(hi & HI_UFFD_WP)) c |= Category.WRITTEN;
  if (hi & HI_FILE) c |= Category.FILE;
  if (hi & HI_SOFT_DIRTY) c |= Category.SOFT_DIRTY;
  return c;
}

function matches(cats: number, o: ScanOptions): boolean {
  const x = cats ^ (o.categoryInverted ?? 0);
  const mask = o.categoryMask ?? 0;
  const anyof = o.categoryAnyofMask ?? 0;
  return (x & mask) === mask && (anyof === 0 || (x & anyof) !== 0);
}

export class PagemapReadBackend implements ScanBackend {
  readonly name = 'pagemap' as const;
  readonly visibleCategories = PAGEMAP_READ_CATEGORIES;
  /** -1 once closed. */
  private fd: number;
  private readonly chunkPages: number;
  private readonly words: Uint32Array;

  constructor(
    readonly pid: number,
    options: { chunkPages?: number } = {},
  ) {
    this.chunkPages = options.chunkPages ?? 65536;
    this.words = new Uint32Array(new ArrayBuffer(this.chunkPages * 8));
    this.fd = openFile(`/proc/${pid}/pagemap`, O_RDONLY, { pid });
  }

  scanRange(
    startPage: number,
    endPage: number,
    vmaIndex: number,
    options: ScanOptions,
    out: RegionList,
    sums?: CategorySums,
  ): RangeResult {
    if (options.flags) {
      throw new Error('the pagemap backend cannot write-protect (PM_SCAN flags need PAGEMAP_SCAN)');
    }
    const returnMask = (options.returnMask ?? this.visibleCategories) & this.visibleCategories;
    const maxPages = options.maxPages ?? 0;
    const words = this.words;
    let pages = 0;
    for (let chunk = startPage; chunk < endPage; chunk += this.chunkPages) {
      const count = Math.min(this.chunkPages, endPage - chunk);
      const view = words.subarray(0, count * 2);
      // Offsets of high addresses exceed 2^53: compute them as BigInt.
      const n = pread(this.fd, view, BigInt(chunk) * 8n);
      if (n < 0) throw KernelError.fromErrno('read pagemap', { pid: this.pid });
      const got = Math.floor(n / 8);
      for (let i = 0; i < got; i++) {
        const cats = categoriesFromPagemapHigh(words[i * 2 + 1]);
        if (!matches(cats, options)) continue;
        out.push(chunk + i, chunk + i + 1, cats & returnMask, vmaIndex);
        sums?.add(cats & returnMask, 1);
        pages++;
        if (maxPages && pages >= maxPages) return { pages, walkEndPage: chunk + i + 1 };
      }
      if (got < count) return { pages, walkEndPage: chunk + got }; // the mapping went away
    }
    return { pages, walkEndPage: endPage };
  }

  /** Idempotent: closed again, the number may be another thread's descriptor by then. */
  close(): void {
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    closeFd(fd);
  }
}
