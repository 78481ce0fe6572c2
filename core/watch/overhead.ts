/**
 * What being watched costs the target: the write-protect fault cost, measured on the running
 * kernel, and an ESTIMATE of the target's slowdown from it.
 *
 * Calibration (calibrateFaultCost, ~30 ms, in pagescope's OWN process; the target is never
 * touched): write 128 pages of 4 KiB (no THP), each under a page table of its own (513 pages
 * apart), register them with a userfaultfd in async write-protect mode, then per round:
 * write-protect them (PAGEMAP_SCAN WP_MATCHING), and per chunk of 16 pages time one write to
 * each (each takes its first-write fault, resolved by the kernel) and the same writes again (no
 * fault). The difference per page is the cost of one fault; the median over all chunks is kept,
 * so a busy neighbour preempting one chunk does not move it.
 *
 * Why spread out: what a fault costs depends on how warm the target's page tables and the
 * caches around them are, which our process cannot reproduce. Pages under one page table fault
 * cheapest (this VM: 15-17 us), pages each under its own page table dearest (20-31 us); the
 * fault a random writer over 1 GiB paid, read off its write rate (bench case 8b), was 19-31 us.
 * The dearer layout is measured, so the estimate errs towards more overhead, not less; the
 * controller keeps further room for its error (overhead-budget.ts, ESTIMATE_ERROR).
 *
 * The model (estOverheadPct): a watched page that is written takes exactly one fault per tick
 * (the tick re-protects it), so in a tick of T ms in which F protected pages were written the
 * target spent F x c in faults, c the calibrated cost. Slowdown = F x c / T: the share of the
 * interval the target spent faulting instead of working, i.e. throughput watched = (1 - slowdown)
 * x throughput unwatched. It is an estimate:
 * - F is summed over the target's threads but T is wall time: a target whose threads write in
 *   parallel loses less wall time than F x c (the figure is then an upper bound per thread);
 * - c is measured in pagescope's process (above), so a target's own cost may differ either way
 *   (this VM: 0.65-1.55x of c for bench case 8's random writer, run to run); an exact watch of a big
 *   range also competes with the target for its page tables while it scans, which the model
 *   leaves out (that writer paid ~50 us per fault when all of its 1 GiB was re-protected
 *   every 100 ms). KERNEL-NOTES "Cost of being watched": redis at 16-33k pages per 100 ms tick
 *   ran at 0.62-0.73x; this model says 0.54-0.78x with c = 1.4 us.
 * - with sampling (WriteWatcher.setSampleFraction), only sampled pages are re-protected, so F is
 *   the tick's `faultedPages`, not its extrapolated count.
 */
import { PagescopeError } from '../kernel/errors.ts';
import { closeFd, errno } from '../kernel/libc.ts';
import {
  MAP_ANONYMOUS,
  MAP_NORESERVE,
  MAP_PRIVATE,
  madvise,
  memset,
  mmap,
  munmap,
  PROT_RW,
} from '../kernel/mm.ts';
import { Category, PM_SCAN_CHECK_WPASYNC, PM_SCAN_WP_MATCHING } from '../kernel/pagemap-abi.ts';
import { PagemapScanBackend } from '../scan/pagemap-scan-backend.ts';
import { RegionList } from '../scan/region-list.ts';
import { openOwnWpRange } from './own-wp-range.ts';

const PAGE = 4096;
/** Write-protects every written page of a range (what a watch tick does), listing them. */
const PROTECT = {
  flags: PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
  categoryMask: Category.WRITTEN,
  returnMask: Category.WRITTEN,
} as const;
const MADV_NOHUGEPAGE = 15;
/** Pages per timed write (see calibrateFaultCost). */
const CHUNK_PAGES = 16;

export interface FaultCost {
  /** Median cost of one write-protect fault (first write to a protected page), microseconds. */
  usPerFault: number;
  /** Pages written per round, and rounds measured. */
  pages: number;
  rounds: number;
  /** Every round's per-page cost, microseconds (spread = how noisy the machine was). */
  samplesUs: number[];
  /** Wall time the calibration took, ms. */
  calibrationMs: number;
}

export interface CalibrationOptions {
  /** Pages per round (default 128). */
  pages?: number;
  /** Rounds (default 5). */
  rounds?: number;
  /**
   * Distance between the written pages, in pages (default 513: each page under a page table of
   * its own, as random writes over a big heap land; 1 = contiguous, the cheapest faults).
   */
  stridePages?: number;
}

/**
 * Measures the write-protect fault cost on this kernel (see the top comment). Throws a
 * PagescopeError when the kernel has no userfaultfd async write-protect (no watch is possible).
 */
export function calibrateFaultCost(options: CalibrationOptions = {}): FaultCost {
  const pages = Math.max(16, Math.floor(options.pages ?? 128));
  const rounds = Math.max(1, Math.floor(options.rounds ?? 5));
  const stride = Math.max(1, Math.floor(options.stridePages ?? 513));
  const len = pages * stride * PAGE;
  const t0 = performance.now();
  const base = mmap(0, len, PROT_RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE);
  const pageAt = (i: number): number => base + i * stride * PAGE;
  if (base === -1) throw new PagescopeError(`mmap failed (errno ${errno()})`, 'kernel');
  let uffd = -1;
  let pagemap: PagemapScanBackend | null = null;
  try {
    madvise(base, len, MADV_NOHUGEPAGE);
    for (let i = 0; i < pages; i++) memset(pageAt(i), 1, PAGE);
    const own = openOwnWpRange(base, len);
    if ('refused' in own) throw unavailable(own.refused);
    uffd = own.fd;
    const ownPagemap = new PagemapScanBackend(process.pid);
    pagemap = ownPagemap;
    const scratch = new RegionList(pages);
    const protect = (): void => {
      scratch.clear();
      try {
        ownPagemap.scanRange(base / PAGE, (base + len) / PAGE, 0, PROTECT, scratch);
      } catch (err) {
        throw unavailable(`PAGEMAP_SCAN: ${(err as Error).message}`);
      }
    };
    // Timed in chunks, each written twice in a row (faulting, then not): the median chunk is
    // what a fault costs when no neighbour preempted us in the middle of it.
    const chunks = Math.max(1, Math.floor(pages / CHUNK_PAGES));
    const perChunk: number[] = [];
    const samplesUs: number[] = [];
    for (let r = 0; r < rounds; r++) {
      protect();
      const round: number[] = [];
      for (let k = 0; k < chunks; k++) {
        const first = k * CHUNK_PAGES;
        const a = performance.now();
        // Every page: its first write since the protect.
        for (let i = first; i < first + CHUNK_PAGES; i++) memset(pageAt(i), 2 + (r & 63), 64);
        const b = performance.now();
        // The same writes, no fault.
        for (let i = first; i < first + CHUNK_PAGES; i++) memset(pageAt(i), 3 + (r & 63), 64);
        const c = performance.now();
        round.push(((b - a - (c - b)) * 1000) / CHUNK_PAGES);
      }
      samplesUs.push(medianOf(round));
      perChunk.push(...round);
    }
    return {
      usPerFault: Math.max(0, medianOf(perChunk)),
      pages,
      rounds,
      samplesUs,
      calibrationMs: performance.now() - t0,
    };
  } finally {
    if (uffd >= 0) closeFd(uffd);
    pagemap?.close();
    munmap(base, len);
  }
}

function medianOf(values: readonly number[]): number {
  const s = [...values].sort((x, y) => x - y);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function unavailable(detail: string): PagescopeError {
  return new PagescopeError(
    `Cannot measure the write-protect fault cost: this kernel refused userfaultfd async write-protect (${detail}).`,
    'no-wp-async',
  );
}

let cached: FaultCost | null = null;

/** calibrateFaultCost once per process (the first caller pays its few ms). */
export function faultCost(): FaultCost {
  cached ??= calibrateFaultCost();
  return cached;
}

/**
 * ESTIMATED slowdown of the target in percent (0..100): the share of a tick of `intervalMs` the
 * target spent in `faultedPages` write-protect faults of `usPerFault` each (model: top comment).
 * 0 for no faults; capped at 100 (the target did nothing but fault).
 */
export function estOverheadPct(
  faultedPages: number,
  intervalMs: number,
  usPerFault: number,
): number {
  if (!(faultedPages > 0) || !(usPerFault > 0)) return 0;
  if (!(intervalMs > 0)) return 100;
  return Math.min(100, (faultedPages * usPerFault) / (intervalMs * 10));
}
