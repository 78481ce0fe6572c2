/**
 * The PAGEMAP_SCAN ABI (include/uapi/linux/fs.h, Linux 6.7+), defined here once.
 *
 * The system headers on our machines predate the ioctl, so the layout is written out by hand and
 * checked against the running kernel by pagemap-abi.test.ts. Addresses are u64 in the kernel; in
 * JS they are carried as page numbers (address >> 12) in Float64 arrays, exact below 2^53.
 */

export const PAGEMAP_SCAN = 0xc0606610; // _IOWR('f', 16, struct pm_scan_arg)
export const PM_SCAN_ARG_SIZE = 96;
export const PAGE_REGION_SIZE = 24;

/** Offsets of struct pm_scan_arg's u64 fields, in 8-byte words. */
export const PmScanArg = {
  size: 0,
  flags: 1,
  start: 2,
  end: 3,
  walkEnd: 4,
  vec: 5,
  vecLen: 6,
  maxPages: 7,
  categoryInverted: 8,
  categoryMask: 9,
  categoryAnyofMask: 10,
  returnMask: 11,
} as const;

export const PM_SCAN_WP_MATCHING = 1 << 0;
export const PM_SCAN_CHECK_WPASYNC = 1 << 1;

/** Page categories (PAGE_IS_*). */
export const Category = {
  WPALLOWED: 1 << 0,
  WRITTEN: 1 << 1,
  FILE: 1 << 2,
  PRESENT: 1 << 3,
  SWAPPED: 1 << 4,
  PFNZERO: 1 << 5,
  HUGE: 1 << 6,
  SOFT_DIRTY: 1 << 7,
  GUARD: 1 << 8,
} as const;

export type CategoryName =
  | 'wpallowed'
  | 'written'
  | 'file'
  | 'present'
  | 'swapped'
  | 'pfnzero'
  | 'huge'
  | 'softdirty'
  | 'guard';

/** Names in bit order, as the CLI's JSON and the protocol spell them. */
export const CATEGORY_NAMES: readonly CategoryName[] = [
  'wpallowed',
  'written',
  'file',
  'present',
  'swapped',
  'pfnzero',
  'huge',
  'softdirty',
  'guard',
];

/** Every category bit this ABI knows (the kernel may accept fewer; see capabilities). */
export const ALL_CATEGORIES = (1 << CATEGORY_NAMES.length) - 1;

export function categoryNames(bits: number): CategoryName[] {
  const out: CategoryName[] = [];
  for (let i = 0; i < CATEGORY_NAMES.length; i++) if (bits & (1 << i)) out.push(CATEGORY_NAMES[i]);
  return out;
}

/** Bits of a /proc/PID/pagemap entry (the 8-byte-per-page interface, Documentation/admin-guide/mm/pagemap.rst). */
export const PagemapEntry = {
  PRESENT: 1n << 63n,
  SWAPPED: 1n << 62n,
  FILE_OR_SHARED_ANON: 1n << 61n,
  GUARD: 1n << 58n,
  UFFD_WP: 1n << 57n,
  EXCLUSIVE: 1n << 56n,
  SOFT_DIRTY: 1n << 55n,
  PFN_MASK: (1n << 55n) - 1n,
} as const;

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
