/**
 * Page bits as the UI draws them: the kernel's categories already interpreted by the host
 * (markers are not swap, WRITTEN only where watched). One Uint16 per page in full-resolution
 * windows; overview buckets carry one count per bit (see frame.ts).
 */
export const PageBit = {
  PRESENT: 1 << 0,
  SWAPPED: 1 << 1,
  FILE: 1 << 2,
  ZERO: 1 << 3,
  HUGE: 1 << 4,
  GUARD: 1 << 5,
  /** Written during this tick (watched pages only). */
  WRITTEN: 1 << 6,
  /** Under write-watch. */
  WATCHED: 1 << 7,
  /** Has a page table entry of any kind (present, swap entry or marker). */
  MAPPED: 1 << 8,
} as const;

export const PAGE_BIT_NAMES = [
  'present',
  'swapped',
  'file',
  'zero',
  'huge',
  'guard',
  'written',
  'watched',
  'mapped',
] as const;
export type PageBitName = (typeof PAGE_BIT_NAMES)[number];
/** Number of per-bucket counters in an overview histogram. */
export const HISTOGRAM_WIDTH = PAGE_BIT_NAMES.length;
