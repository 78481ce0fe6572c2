/**
 * The PAGEMAP_SCAN requests of a write watch: which categories a walk matches and returns, and
 * whether it re-protects what it reports.
 *
 * Strategy: one place for the four requests the watcher's parts use (registration protects,
 * the tick and the sampled tick get+reset, GetWriteWatch reads), each with why it is shaped so.
 */
import { Category, PM_SCAN_CHECK_WPASYNC, PM_SCAN_WP_MATCHING } from '../kernel/pagemap-abi.ts';

/** Pages written since the last protect, excluding zero-page mappings (read, not written). */
export const WRITTEN_OPTIONS = {
  categoryMask: Category.WRITTEN | Category.PFNZERO,
  categoryInverted: Category.PFNZERO,
  returnMask: Category.WRITTEN,
} as const;

/** A tick's get+reset: re-protect what is reported; fail rather than walk unregistered VMAs. */
export const TICK_FLAGS = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC;

/**
 * The steady-state tick: category_mask = return_mask = WRITTEN exactly, which is the kernel's
 * fast path in pagemap_scan_pmd_entry (it tests only the uffd-wp bit per PTE instead of working
 * out every category of every page; measured ~12% of case 4's tick). It would count an
 * unprotected zero-page mapping (a page only read) as written, so it is used only on pieces
 * where none can exist: armed pieces were write-protected whole (zero pages included, and a
 * read of a protected page maps the zero page protected), and a piece that appears during a
 * tick is read and protected whole by FRESH_OPTIONS.
 */
export const TICK_OPTIONS = {
  flags: TICK_FLAGS,
  categoryMask: Category.WRITTEN,
  returnMask: Category.WRITTEN,
} as const;

/**
 * A fresh piece's first tick, in one atomic pass: protect every page not yet protected and say,
 * per region, whether it is present and not the zero page. Only those held data written before
 * we registered the VMA; never-touched pages in an existing page table (pte_none) and pages only
 * read (the zero page) also come back "WRITTEN" from a freshly registered VMA and are not writes.
 */
export const FRESH_OPTIONS = {
  flags: TICK_FLAGS,
  categoryMask: Category.WRITTEN,
  returnMask: Category.WRITTEN | Category.PRESENT | Category.PFNZERO,
} as const;
