/**
 * What a page-table backend does: walk one range of one process and append its regions.
 * Two implementations produce the same RegionList format: PAGEMAP_SCAN (Linux 6.7+) and the
 * 8-bytes-per-page /proc/PID/pagemap read (any kernel, fewer categories).
 */
import type { RegionList } from './region-list.ts';
import type { CategorySums } from './summary.ts';

export type BackendName = 'scan' | 'pagemap';

export interface ScanOptions {
  /** PM_SCAN_* flags (WP_MATCHING, CHECK_WPASYNC). Only the scan backend supports flags. */
  flags?: number;
  /** A page is reported when ((cats ^ inverted) & mask) === mask ... (see KERNEL-NOTES). */
  categoryMask?: number;
  categoryAnyofMask?: number;
  categoryInverted?: number;
  /** Categories reported; defaults to every category the kernel knows. */
  returnMask?: number;
  /** Stop after this many matching pages (0 = no limit). */
  maxPages?: number;
}

export interface RangeResult {
  /** Matching pages appended. */
  pages: number;
  /** Page where the walk stopped (the range end unless maxPages was reached). */
  walkEndPage: number;
}

export interface ScanBackend {
  readonly name: BackendName;
  /** The categories this backend can report at all. */
  readonly visibleCategories: number;
  scanRange(
    startPage: number,
    endPage: number,
    vmaIndex: number,
    options: ScanOptions,
    out: RegionList,
    /** When given, also receives the pages of every region appended, per category word. */
    sums?: CategorySums,
  ): RangeResult;
  close(): void;
}
