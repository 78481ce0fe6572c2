/**
 * Per-VMA summaries: page counts per category, with the kernel's quirks interpreted honestly.
 *
 * The rules (measured on Linux 6.18, see KERNEL-NOTES):
 * - SWAPPED is set for every non-present PTE that is a swap entry, and the kernel also uses swap
 *   entries as markers: a guard page (GUARD) and an untouched page under userfaultfd
 *   write-protection (a uffd-wp PTE marker) both report SWAPPED. So `swapped` counts only
 *   SWAPPED pages that are neither guards nor write-protected-and-unwritten markers. A page that
 *   was really swapped out and is write-protected looks exactly like a marker; it is counted
 *   in `markers`, never in `swapped`, so swap is never over-reported.
 * - WRITTEN means "not write-protected". In a VMA without async write-protection (no WPALLOWED)
 *   nothing is ever protected, so every populated page reports WRITTEN and it means nothing:
 *   `written` counts WRITTEN only on WPALLOWED pages, i.e. pages pagescope is watching.
 * - Pages with no page table at all are reported with categories 0: they count only in `pages`.
 */
import { Category } from '../kernel/pagemap-abi.ts';
import type { Vma } from '../proc/maps.ts';
import type { RegionList } from './region-list.ts';

export interface PageCounts {
  pages: number;
  present: number;
  swapped: number;
  file: number;
  zero: number;
  huge: number;
  guard: number;
  written: number;
  wpallowed: number;
  softdirty: number;
  /** uffd-wp markers (write-protected, never-populated pages; may hide protected swapped pages). */
  markers: number;
}

export const COUNT_KEYS: ReadonlyArray<keyof PageCounts> = [
  'pages',
  'present',
  'swapped',
  'file',
  'zero',
  'huge',
  'guard',
  'written',
  'wpallowed',
  'softdirty',
  'markers',
];

export function emptyCounts(): PageCounts {
  return {
    pages: 0,
    present: 0,
    swapped: 0,
    file: 0,
    zero: 0,
    huge: 0,
    guard: 0,
    written: 0,
    wpallowed: 0,
    softdirty: 0,
    markers: 0,
  };
}

const { WPALLOWED, WRITTEN, FILE, PRESENT, SWAPPED, PFNZERO, HUGE, SOFT_DIRTY, GUARD } = Category;

/** A swap entry that is a uffd-wp marker (or a write-protected swapped page; see above). */
export function isMarker(c: number): boolean {
  return (c & (SWAPPED | PRESENT | GUARD | WPALLOWED | WRITTEN)) === (SWAPPED | WPALLOWED);
}

/** Really swapped out: a swap entry that is neither a guard page nor a uffd-wp marker. */
export function isRealSwap(c: number): boolean {
  return (c & (SWAPPED | PRESENT | GUARD)) === SWAPPED && !isMarker(c);
}

/** Adds `n` pages of categories `c` to `into`, by the rules above. */
export function addPages(into: PageCounts, c: number, n: number): void {
  into.pages += n;
  if (c & PRESENT) into.present += n;
  if (isRealSwap(c)) into.swapped += n;
  else if (isMarker(c)) into.markers += n;
  if (c & GUARD) into.guard += n;
  if (c & FILE) into.file += n;
  if (c & PFNZERO) into.zero += n;
  if (c & HUGE) into.huge += n;
  if (c & WPALLOWED) {
    into.wpallowed += n;
    if (c & WRITTEN) into.written += n;
  }
  if (c & SOFT_DIRTY) into.softdirty += n;
}

export function addCounts(into: PageCounts, from: PageCounts): void {
  for (const k of COUNT_KEYS) into[k] += from[k];
}

/**
 * Summaries for each VMA (indexed like `vmas`) from the regions of one scan. `pages` counts the
 * scanned pages of each VMA, including those the kernel skipped (VM_PFNMAP), so a partial
 * range shows its true size.
 */
export function summarize(
  vmas: readonly Vma[],
  regions: RegionList,
  scanned: ReadonlyMap<number, number>,
): PageCounts[] {
  const out = vmas.map(() => emptyCounts());
  // A million regions carry only a few distinct category words per VMA: pages are summed per
  // category word over each run of regions of one VMA (one add per region), and spread into
  // the counts by addPages once per run and word. (No closure over the loop's state: V8 keeps
  // variables a closure writes in a heap context, which made this loop ~25% slower.)
  const pend = new Float64Array(1 << 10);
  const touched = new Uint16Array(1 << 10);
  const { length, vmaIndex, categories, startPage, endPage } = regions;
  for (let i = 0; i < length;) {
    const v = vmaIndex[i];
    let nTouched = 0;
    for (; i < length && vmaIndex[i] === v; i++) {
      const c = categories[i] & 0x3ff;
      if (pend[c] === 0) touched[nTouched++] = c;
      pend[c] += endPage[i] - startPage[i];
    }
    const counts = out[v];
    for (let t = 0; t < nTouched; t++) {
      const c = touched[t];
      addPages(counts, c, pend[c]);
      pend[c] = 0;
    }
  }
  for (const [vmaIndex, pages] of scanned) out[vmaIndex].pages = pages;
  return out;
}

/**
 * Pages per category word, summed while a walk decodes its regions (one VMA at a time), so a
 * scan's summaries need no second pass over its regions: on a cold `pagescope scan` of ~1M
 * regions that pass cost ~10 ms of ~50 (issue 22). The sums do not depend on how regions were
 * merged, so they equal summarize() over the same regions. `pend[c]` holds the pages of word
 * `c` (masked as summarize masks it) since the last `flushInto`; `touched` lists the words seen.
 */
export class CategorySums {
  readonly pend = new Float64Array(1 << 10);
  /** One spare slot: the decode loop writes touched[nTouched] before counting it. */
  readonly touched = new Uint16Array((1 << 10) + 1);
  nTouched = 0;

  /** Adds `n` pages of categories `c` (the slow way; decode loops inline it). */
  add(c: number, n: number): void {
    if (!(n > 0)) return;
    const k = c & 0x3ff;
    if (this.pend[k] === 0) this.touched[this.nTouched++] = k;
    this.pend[k] += n;
  }

  /** Forgets the pages summed since the last flush. */
  reset(): void {
    for (let t = 0; t < this.nTouched; t++) this.pend[this.touched[t]] = 0;
    this.nTouched = 0;
  }

  /** Adds the pages summed so far into `counts` by addPages' rules, and starts again. */
  flushInto(counts: PageCounts): void {
    const { pend, touched } = this;
    for (let t = 0; t < this.nTouched; t++) {
      const c = touched[t];
      addPages(counts, c, pend[c]);
      pend[c] = 0;
    }
    this.nTouched = 0;
  }
}
