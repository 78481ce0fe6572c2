/**
 * What being watched costs the target: the write-protect fault cost, measured on the running
 * kernel, and an ESTIMATE of the share of the target's CPU time spent on write faults.
 *
 * Calibration (calibrateFaultCost, ~30 ms, in pagescope's OWN process; the target is never
 * touched): write 128 pages of 4 KiB (no THP), each under a page table of its own (513 pages
 * apart), register them with a userfaultfd in async write-protect mode, then per round:
 * write-protect them (PAGEMAP_SCAN WP_MATCHING), and per chunk of 16 pages time one write to
 * each (each takes its first-write fault, resolved by the kernel) and the same writes again (no
 * fault). The difference per page is the cost of one fault; the median over all chunks is kept.
 * Chunks are timed by this thread's CPU clock (CLOCK_THREAD_CPUTIME_ID), not the wall clock: a
 * busy neighbour that preempts a chunk stops that clock too, so the preemption is not counted
 * as fault cost (wall-timed single calibrations read 359-1,456 us under load against 15-31 us
 * quiet; KERNEL-NOTES "Cost of being watched"). The fault's cost itself is paid as CPU time of
 * the faulting thread on these VMs (user time: the hypervisor's share shows up there).
 *
 * Why spread out: what a fault costs depends on how warm the target's page tables and the
 * caches around them are, which our process cannot reproduce. Pages under one page table fault
 * cheapest (this VM: 15-17 us), pages each under its own page table dearest (20-31 us); the
 * fault a random writer over 1 GiB paid, read off its write rate (bench case 8b), was 19-31 us.
 * The dearer layout is measured, so the estimate errs towards more overhead, not less; the
 * controller keeps further room for its error (overhead-budget.ts, ESTIMATE_ERROR).
 *
 * The model (estimateOverhead): a watched page that is written takes exactly one fault per tick
 * (the tick re-protects it), so in a tick in which F protected pages were written the target
 * spent F x c in faults, c the calibrated cost. The figure is F x c / C, C the CPU time the
 * target's threads ran in the tick (TargetCpuClock: /proc/PID/task/TID/schedstat, summed over
 * the threads): the share of the target's CPU time spent on write faults (to which the part of
 * pagescope's own CPU time that competed with the target is added: below). For a target that
 * uses all the CPU it gets, that is its slowdown (throughput watched = (1 - share) x
 * unwatched) however busy the machine is. Dividing by the wall interval instead (estOverheadPct,
 * the figure before) understated it on a busy machine, where the target had only part of a CPU
 * (KERNEL-NOTES "Where the cost goes": redis under a CPU hog lost 94.6%, the wall figure said
 * 29.7%, the CPU-time figure 76%). A contended target pays more per fault than c (a preempted
 * target returns to cold caches and TLB): c is raised by its wait for a CPU in the tick
 * (contentionFactor, below). It is an estimate:
 * - a target that ran almost no CPU in a tick (asleep, or starved) has no meaningful share: C
 *   is floored at MIN_CPU_SHARE of the interval (of at most FLOOR_SPAN_MS of it: cpuFloorMs)
 *   and the figure marked low confidence, so one
 *   idle tick with a few faults never reads 100%;
 * - a thread that exited during the tick takes its last run time with it (its CPU since the
 *   previous reading is missing from C): the figure then errs high, never low;
 * - c is measured in pagescope's process (above), so a target's own cost may differ either way
 *   (this VM: 0.65-1.55x of c for bench case 8's random writer, run to run); an exact watch of a
 *   big range also competes with the target for its page tables while it scans, which the model
 *   leaves out (that writer paid ~50 us per fault when all of its 1 GiB was re-protected
 *   every 100 ms).
 * - with sampling (WriteWatcher.setSampleFraction), only sampled pages are re-protected, so F is
 *   the tick's `faultedPages`, not its extrapolated count.
 * - the re-protect costs the target too, apart from its faults: each 2 MiB block (one page table)
 *   in which the tick write-protected written pages is one TLB flush of the target's address
 *   space, sent to the CPU it runs on (reprotectFlushes, FLUSH_COST). Dense writes share their
 *   blocks' flushes (an exact watch of redis: ~80 blocks for ~5,700 faults a tick, 1.4%), but a
 *   sample of 64 KiB units spread over the space puts nearly every fault in a block of its own,
 *   so each fault brings one flush. Where a block's flush covers more than the kernel's
 *   page-by-page ceiling (x86: 33 pages; an exact watch nearly always), it empties the target's
 *   whole TLB, which it refills: one TLB_REFILL_US a tick (the flushes of a tick come back to
 *   back; measured per block it is ~1 us whether whole or not: TLB_REFILL_US).
 * - pagescope's own CPU time is the target's where the two compete: on a machine the target
 *   (and its client) fill, each ms of a tick, of V8 compiling or collecting, is a ms the target
 *   waits for a CPU (bench 11c: a 0.5 s redis burst under --max-overhead 5 lost 3-8% of its
 *   throughput, while its faults accounted for 1.2-1.9%). It is measured, not modelled: the
 *   process's CPU time in the tick, charged up to the target's run-queue wait in the same tick
 *   (competingOwnMs), the target's share of it (its CPU time over the machine's), added to the
 *   faults' time; the range's high end holds all of it that competed (ownHighMs). Nothing is
 *   charged where the target never waited for a CPU (an idle CPU took our work), so a quiet
 *   machine reads as before. What our presence costs a target beyond that time is not modelled,
 *   though measured (2026-12-06, bench 11j: pgbench -c 1 on one postgres backend beside
 *   `stress-ng --cpu 2`, 12-18 interleaved rounds of 3 s windows a run). The pair runs in one of
 *   two modes for seconds at a time: the backend preempted by pgbench's wakeup on its own CPU
 *   (~7 involuntary switches a transaction, ~112 us of its CPU each) or sleeping and woken from
 *   the other CPU (voluntary switches, 144-148 us, pgbench's own CPU 2x). Watched windows were in
 *   the slow mode 7, 3, 3 and 3 of 12, unwatched 13, 4, 1 and 4 of 24, and one slow watched
 *   window reads +20-35% for its round, so the median round swings (+4.5 to +7.0% against ~3.8%
 *   estimated; the 48 rounds together +4.9%). A watch of ANOTHER process (the checkpointer: no fault, flush or lock in the
 *   backend's address space) raised the backend's CPU per transaction by +1.1 to +4.1% (three
 *   runs) and pgbench's by +3.7 to +5.4%; one of a sleeping process +0.2%; and redis under the
 *   same hog paid nothing measurable (bench 11e/11h: -2.4 and -4.8%), so no constant of ours
 *   fits both. Read against its client (what the backend paid that pgbench did not), the
 *   backend's own watch added -3.2 to +3.0%: its faults and flushes cost it no more than the
 *   figure prices them at (~2.8%; README, 11j).
 * - Isolated faults are not modelled, though measured (calibrateIsolatedFaultCost, not run at
 *   start-up): a fault that comes after a stretch of a memory-bound thread's own work costs it
 *   more than c (under this VM's shadow paging a fault is several switches to the hypervisor,
 *   and the thread pays afterwards for what they evicted). In our own process a loop reading all
 *   over a buffer paid, per fault 200 us of its CPU apart, 1.2-1.5x c (16 MiB, load 10-12),
 *   2.2x (64 MiB, load 10), 2.5-4x (16-64 MiB, load 18-20); 10 us apart, ~c; one block or one
 *   each made no difference, nor did a re-protect without the write. Priced into the estimate
 *   and --max-overhead (min(F, C / gap) faults of a tick at that cost), it halved the faults of
 *   bench 11's bounded redis rows without lowering what they measured (11h at load 18-24: 533
 *   faults a run, +8.5 +/- 3.2% CPU per request, against 1,121 and -2.4 +/- 5.1% before; a 0.5
 *   s burst, 11c: 43-45 faults, +7.7-8.3% either way, 220-270 us per added fault), and pushed a
 *   C writer of 1 GiB, which has nothing warm to lose, to 1/4096 at x8 the interval: not the
 *   cause of redis's excess under the bound, so left out of the model.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import { PagescopeError } from '../kernel/errors.ts';
import { closeFd, errno, koffi, threadCpuUs } from '../kernel/libc.ts';
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
import {
  cpuFloorMs,
  FLOOR_SPAN_MS,
  FLUSH_COST,
  MIN_CPU_SHARE,
  TLB_REFILL_HIGH_US,
  TLB_REFILL_US,
} from './overhead-budget.ts';
import { openOwnWpRange } from './own-wp-range.ts';
import { readProcText } from '../proc/read-proc.ts';
import { readStatFile, statNumber } from '../proc/stat.ts';

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

const TICK_NS = 1e9 / 100; // USER_HZ

export interface FaultCost {
  /**
   * Median cost of one write-protect fault (first write to a protected page), microseconds of
   * this thread's CPU time.
   */
  usPerFault: number;
  /** Pages written per round, and rounds measured. */
  pages: number;
  rounds: number;
  /** Every round's per-page cost, microseconds (spread = how noisy the machine was). */
  samplesUs: number[];
  /** Every chunk's per-page cost, microseconds, in the order measured. */
  chunksUs: number[];
  /**
   * Quartiles of the chunks' per-page costs, microseconds: how far the chunks spread around the
   * median (it widens the estimate's stated range, costRange).
   */
  q1Us: number;
  q3Us: number;
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
        const a = threadCpuUs();
        // Every page: its first write since the protect.
        for (let i = first; i < first + CHUNK_PAGES; i++) memset(pageAt(i), 2 + (r & 63), 64);
        const b = threadCpuUs();
        // The same writes, no fault.
        for (let i = first; i < first + CHUNK_PAGES; i++) memset(pageAt(i), 3 + (r & 63), 64);
        const c = threadCpuUs();
        round.push((b - a - (c - b)) / CHUNK_PAGES);
      }
      samplesUs.push(medianOf(round));
      perChunk.push(...round);
    }
    const sorted = [...perChunk].sort((x, y) => x - y);
    return {
      usPerFault: Math.max(0, medianOf(perChunk)),
      pages,
      rounds,
      samplesUs,
      chunksUs: perChunk,
      q1Us: Math.max(0, sorted[Math.floor((sorted.length - 1) / 4)]),
      q3Us: Math.max(0, sorted[Math.ceil(((sorted.length - 1) * 3) / 4)]),
      calibrationMs: performance.now() - t0,
    };
  } finally {
    if (uffd >= 0) closeFd(uffd);
    pagemap?.close();
    munmap(base, len);
  }
}

/** The isolated fault's calibration (calibrateIsolatedFaultCost). */
export interface IsolatedFaultCost {
  /**
   * Median CPU cost, microseconds, of one write-protect fault in a thread that reads all over a
   * buffer of ISO_BUFFER_MIB and ran `gapUs` of CPU since its previous fault, its after-effects
   * included (what the fault made it lose and refill).
   */
  usPerFault: number;
  /** The CPU time the reader ran between two faults, microseconds (median). */
  gapUs: number;
  /** Rounds measured, and every round's per-fault figure, microseconds. */
  rounds: number;
  samplesUs: number[];
  /** Wall time the calibration took, ms. */
  calibrationMs: number;
}

/** The reader's buffer: beyond the TLB's reach, as a busy heap is. */
const ISO_BUFFER_MIB = 16;
/** Faults per round: one page in each 2 MiB block of the buffer. */
const ISO_FAULTS = 8;
/** Rounds (each one unit with faults, one without, in alternating order). */
const ISO_ROUNDS = 6;
/** The CPU time the reader runs after each write, microseconds: an isolated fault's spacing. */
const ISO_GAP_US = 200;
const MADV_POPULATE_WRITE = 23;

/**
 * The cost of an ISOLATED write-protect fault (top comment, "Isolated faults"), in pagescope's
 * own process: a loop reading random bytes all over a 16 MiB buffer (no THP) runs units of
 * ISO_FAULTS segments of fixed work (~ISO_GAP_US of CPU each), each segment starting with one
 * write. In the faulting unit the written pages (one in each 2 MiB block) were write-protected
 * just before it (PAGEMAP_SCAN WP, as a tick re-protects a sparse sample); in the plain unit their
 * neighbours, never protected, are written instead. A round's (faulting - plain) thread CPU
 * time over ISO_FAULTS is what one fault cost the reader, after-effects included; the median
 * of ISO_ROUNDS rounds is kept (one preempted or polluted unit does not move it). ~30-60 ms of
 * CPU, noisy (one run to the next at load ~20: 17-77 us against 20-30 back to back). Throws as calibrateFaultCost does.
 */
export function calibrateIsolatedFaultCost(): IsolatedFaultCost {
  const t0 = performance.now();
  const len = ISO_BUFFER_MIB << 20;
  const pages = len / PAGE;
  const base = mmap(0, len, PROT_RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE);
  if (base === -1) throw new PagescopeError(`mmap failed (errno ${errno()})`, 'kernel');
  let uffd = -1;
  let pagemap: PagemapScanBackend | null = null;
  try {
    madvise(base, len, MADV_NOHUGEPAGE);
    // Populated by the kernel in one call where it can (a fault per page costs ~15 us here).
    if (madvise(base, len, MADV_POPULATE_WRITE) !== 0) memset(base, 1, len);
    const mem = new Uint8Array(koffi.view(base as never, len));
    const own = openOwnWpRange(base, len);
    if ('refused' in own) throw unavailable(own.refused);
    uffd = own.fd;
    const ownPagemap = new PagemapScanBackend(process.pid);
    pagemap = ownPagemap;
    const scratch = new RegionList(4);
    const step = Math.max(1, Math.floor(pages / ISO_FAULTS));
    const faulting = Array.from({ length: ISO_FAULTS }, (_, i) => i * step + 200);
    const plain = faulting.map((p) => p + 1);
    let x = 0x2545f491;
    let sink = 0;
    const read = (n: number): void => {
      for (let r = 0; r < n; r++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        sink += mem[((x >>> 0) % pages) * PAGE + ((x >>> 20) & 4095)];
      }
    };
    // Every page read once first: this VM's hypervisor fills its shadow of a page's mapping at
    // the first touch (~5 us each), which is no fault's cost. Then reads per segment: ISO_GAP_US
    // of CPU, measured after a warm-up (the JIT, the caches).
    for (let p = 0; p < pages; p++) sink += mem[p * PAGE];
    for (let w = 0; w < 4; w++) read(8192);
    const a = threadCpuUs();
    read(8192);
    const n = Math.max(256, Math.round((8192 / Math.max(1, threadCpuUs() - a)) * ISO_GAP_US));
    const unit = (written: readonly number[], r: number): number => {
      const u = threadCpuUs();
      for (const p of written) {
        mem[p * PAGE + 8] = r;
        read(n);
      }
      return threadCpuUs() - u;
    };
    const samplesUs: number[] = [];
    const gaps: number[] = [];
    for (let r = 0; r < ISO_ROUNDS; r++) {
      // Written (and not protected) before each round: the protect below finds them written.
      for (const p of faulting) mem[p * PAGE] = r;
      const run = (faults: boolean): number => {
        if (!faults) return unit(plain, r);
        for (const p of faulting) {
          scratch.clear();
          try {
            ownPagemap.scanRange(base / PAGE + p, base / PAGE + p + 1, 0, PROTECT, scratch);
          } catch (err) {
            throw unavailable(`PAGEMAP_SCAN: ${(err as Error).message}`);
          }
        }
        return unit(faulting, r);
      };
      // Alternating which comes first, so a drift within the round cancels over the rounds.
      const [withFaults, without] =
        r & 1 ? [run(true), run(false)] : ((w) => [run(true), w])(run(false));
      samplesUs.push((withFaults - without) / ISO_FAULTS);
      gaps.push(without / ISO_FAULTS);
    }
    return {
      usPerFault: Math.max(0, medianOf(samplesUs)),
      gapUs: medianOf(gaps) + (sink & 0),
      rounds: ISO_ROUNDS,
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
 * The figure as it was before the target's CPU time was read (and the fallback when it cannot
 * be): the share of a tick of `intervalMs` of WALL time spent in `faultedPages` write-protect
 * faults of `usPerFault` each, percent, capped at 100. Understates the cost on a busy machine.
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

export { cpuFloorMs, FLOOR_SPAN_MS, FLUSH_COST, MIN_CPU_SHARE };

/** Pages in one page table's span (2 MiB of 4 KiB pages): what one TLB flush of a tick covers. */
const FLUSH_SPAN_PAGES = 512;

/** x86's default tlb_single_page_flush_ceiling (arch/x86/mm/tlb.c). */
export const X86_FLUSH_CEILING = 33;
const CEILING_FILE = '/sys/kernel/debug/x86/tlb_single_page_flush_ceiling';
let ceilingCached: number | null = null;

/**
 * The longest range, in pages, the kernel flushes page by page rather than as the target's
 * whole TLB (TLB_REFILL_US): on x86 debugfs's tlb_single_page_flush_ceiling where it can be read
 * (root, debugfs mounted), else its default, 33. Other architectures decide otherwise (arm64: a
 * range of 512 pages, a whole block, is flushed whole; others by their own rules): 0, every
 * re-protected block may flush the whole TLB (the figure errs high by one refill a tick).
 */
export function flushCeilingPages(): number {
  if (ceilingCached !== null) return ceilingCached;
  let c = process.arch === 'x64' ? X86_FLUSH_CEILING : 0;
  if (process.arch === 'x64') {
    try {
      const v = Number(readFileSync(CEILING_FILE, 'latin1').trim());
      if (Number.isInteger(v) && v >= 0) c = v;
    } catch {
      // no debugfs, or not root: the default
    }
  }
  ceilingCached = c;
  return c;
}

/** What re-protecting a tick's written pages flushes (reprotectFlushes). */
export interface ReprotectFlushes {
  /** The 2 MiB blocks holding written pages: one TLB flush of the target each. */
  blocks: number;
  /** Of those, the blocks whose flush is the target's whole TLB (a range over the ceiling). */
  wholeTlb: number;
}

/**
 * The flushes of re-protecting `written` (a tick's list, in address order): one per 2 MiB block
 * holding written pages, and whether it flushes the whole TLB: the kernel flushes from the
 * block's first written page to where its walk of the block stopped (TLB_REFILL_US), taken as
 * the block's end, or, for a sample of `unitPages` units walked unit run by unit run, the end
 * of the unit holding that first page (the walk may run on through the next unit when it is
 * sampled too: then it is longer). A VMA that ends inside the block stops the walk sooner: the
 * count errs towards whole flushes. `ceilingPages`: flushCeilingPages().
 */
export function reprotectFlushes(
  written: {
    readonly length: number;
    readonly startPage: ArrayLike<number>;
    readonly endPage: ArrayLike<number>;
  },
  ceilingPages = flushCeilingPages(),
  unitPages = FLUSH_SPAN_PAGES,
): ReprotectFlushes {
  const unit = Math.max(1, Math.min(FLUSH_SPAN_PAGES, Math.floor(unitPages)));
  let blocks = 0;
  let wholeTlb = 0;
  let last = -1;
  for (let i = 0; i < written.length; i++) {
    const start = written.startPage[i];
    const end = written.endPage[i];
    if (!(end > start)) continue;
    const first = Math.max(Math.floor(start / FLUSH_SPAN_PAGES), last + 1);
    const lastOf = Math.floor((end - 1) / FLUSH_SPAN_PAGES);
    for (let b = first; b <= lastOf; b++) {
      // The block's first written page: this region's start in its first block, else the
      // block's own start (the region runs on through it).
      const p = Math.max(start, b * FLUSH_SPAN_PAGES);
      const walkEnd = Math.min((b + 1) * FLUSH_SPAN_PAGES, (Math.floor(p / unit) + 1) * unit);
      blocks++;
      if (walkEnd - p > ceilingPages) wholeTlb++;
    }
    last = Math.max(last, lastOf);
  }
  return { blocks, wholeTlb };
}

/**
 * How far a target's own fault cost may lie from the calibrated one, as factors of it: 0.65-1.55x
 * for bench case 8's random writer, run to run (top comment); redis's, counted from its lost
 * throughput, 0.93x (16.4 us against 17.7). The estimate's stated range is the figure at these
 * factors, widened by the calibration's own spread (costRange).
 */
export const TARGET_COST_LOW = 0.65;
export const TARGET_COST_HIGH = 1.55;

/** Factors of the calibrated cost a target's fault may cost: the range an estimate states. */
export interface CostRange {
  low: number;
  high: number;
}

/**
 * The range of an estimate made with `cost`: TARGET_COST_LOW..HIGH, widened by as much as the
 * calibration's quartiles lie from its median (a calibration on a noisy machine states a wider
 * range rather than moving its median: 19-31 us quiet, and chunks of hundreds of us under load
 * when timed by the wall clock).
 */
export function costRange(cost: Pick<FaultCost, 'usPerFault' | 'q1Us' | 'q3Us'>): CostRange {
  const m = cost.usPerFault;
  if (!(m > 0)) return { low: TARGET_COST_LOW, high: TARGET_COST_HIGH };
  return {
    low: TARGET_COST_LOW * Math.min(1, Math.max(0, cost.q1Us) / m),
    high: TARGET_COST_HIGH * Math.max(1, cost.q3Us / m),
  };
}

const DEFAULT_RANGE: CostRange = { low: TARGET_COST_LOW, high: TARGET_COST_HIGH };

/**
 * The part of pagescope's own CPU time in a tick that was taken from the target, in ms of the
 * target's CPU time (what it would have run without us). `ownCpuMs`: our CPU time in the tick
 * (OwnCpuClock: the watch's ticks, V8's compiler and GC helpers).
 * - Only where the target competed with us: at most the target's run-queue wait in the tick
 *   (`targetWaitMs`, schedstat). CPU time we ran while the target was runnable shows as its
 *   wait; CPU time we ran on a CPU it did not want (an idle CPU, a target asleep) costs it
 *   nothing and adds no wait. Nothing where the target barely ran (under cpuFloorMs), or where
 *   its wait is unknown (no schedstat: nothing says it competed).
 * - Of that, the target's share: on a machine with no idle CPU the scheduler takes what we run
 *   from all that runs, each in proportion to the CPU it gets, so the target loses that time x
 *   its CPU time over the CPU time of everything but us (`machineBusyMs`, /proc/stat, less
 *   ours; MachineCpuClock). Every CPU-bound task then runs slower by the same share, our time
 *   over the others' (a target and its client that fill two CPUs: our ms over ~2 x the tick;
 *   beside a CPU hog the same, where a charge of our whole time over the target's CPU time
 *   read 2-4x that, and 20x at load 25). Unknown (null): all of it (errs high). Threads pinned
 *   to the CPU we run on lose more than their share (errs low there).
 */
export function competingOwnMs(
  ownCpuMs: number | null,
  targetCpuMs: number | null,
  targetWaitMs: number | null,
  intervalMs: number,
  machineBusyMs: number | null = null,
): number {
  if (ownCpuMs === null || !(ownCpuMs > 0)) return 0;
  if (targetCpuMs === null || !(targetCpuMs >= cpuFloorMs(intervalMs))) return 0;
  if (targetWaitMs === null || !(targetWaitMs > 0)) return 0;
  const competed = Math.min(ownCpuMs, targetWaitMs);
  if (machineBusyMs === null || !(machineBusyMs >= 0)) return competed;
  const others = Math.max(targetCpuMs, machineBusyMs - ownCpuMs);
  return others > 0 ? (competed * targetCpuMs) / others : competed;
}

/**
 * The high end of competingOwnMs: all of our CPU time in the tick that competed with the target
 * (up to its run-queue wait), not the target's share of it. Measured (bench 11e, redis in a 0.5 s
 * burst beside `stress-ng --cpu 2`, 24 rounds of three): watched, redis ran 0.93x of its
 * unwatched CPU time per wall second (A/A 1.02x) while our process took ~15 ms a second, ~3% of
 * redis's CPU time, charged at its share as ~0.8%: the target (and the client it waits on) lost
 * about all of our time and more. What the estimate's range states, and what a contended
 * --max-overhead tick holds (overhead-budget.ts).
 */
export function ownHighMs(
  ownCpuMs: number | null,
  targetCpuMs: number | null,
  targetWaitMs: number | null,
  intervalMs: number,
): number {
  return competingOwnMs(ownCpuMs, targetCpuMs, targetWaitMs, intervalMs, null);
}

/**
 * The CPU time the whole machine has run since boot, all CPUs, ms: /proc/stat's first line,
 * user + nice + system + irq + softirq (not idle, iowait or steal; guest time is in user
 * already), in clock ticks (10 ms a CPU). null when unreadable.
 */
export function readMachineBusyMs(): number | null {
  try {
    const line = readProcText('/proc/stat').slice(0, 256).split('\n')[0];
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const busy = (f[0] + f[1] + f[2] + f[5] + f[6]) * (TICK_NS / 1e6);
    return Number.isFinite(busy) ? busy : null;
  } catch {
    return null;
  }
}

/**
 * One reading of the machine's busy CPU time (readMachineBusyMs) for all the watches of one
 * tick: a group watch's members (group-watch.ts) each keep a MachineCpuClock over it, and
 * /proc/stat is read once per group tick instead of once per member. Read at the first get()
 * after expire(); every get() until the next expire() returns that reading.
 */
export class SharedMachineReading {
  private value: number | null | undefined = undefined;

  constructor(private readonly read: () => number | null = readMachineBusyMs) {}

  /** The reading of this tick (read now if none was taken since the last expire()). */
  get(): number | null {
    if (this.value === undefined) this.value = this.read();
    return this.value;
  }

  /** The next get() reads again (a new tick). */
  expire(): void {
    this.value = undefined;
  }
}

/**
 * The CPU time the whole machine ran, all CPUs, since the previous reading, ms (+/- 20 ms on two
 * CPUs per reading, readMachineBusyMs' clock ticks). null on the first reading or when
 * unreadable. `read`: where the readings come from (default: /proc/stat at each call; a group
 * watch's members share one per tick, SharedMachineReading).
 */
export class MachineCpuClock {
  private last: number | null = null;

  constructor(private readonly read: () => number | null = readMachineBusyMs) {}

  sinceLastMs(): number | null {
    const busy = this.read();
    const prev = this.last;
    this.last = busy;
    return prev === null || busy === null ? null : Math.max(0, busy - prev);
  }
}

/** The estimate of one tick (estimateOverhead). */
export interface OverheadEstimate {
  /**
   * Estimated share of the target's CPU time spent on write faults and on pagescope's own work
   * that competed with it (competingOwnMs), percent, 0..100.
   */
  pct: number;
  /** The part of `pct` that is pagescope's own work (competingOwnMs over the same CPU time). */
  ownPct: number;
  /**
   * The range the share may be in, percent, 0..100: the figure at the low and high ends of the
   * fault cost's range (costRange); divided by the CPU time the target really ran where that was
   * under the floor (the high end is then not floored), and up to 100 where its CPU time is
   * unknown (the wall interval: the target may have had almost none of it).
   */
  lowPct: number;
  highPct: number;
  /** What it was divided by: the target's CPU time ('cpu'), or the wall interval ('wall'). */
  basis: 'cpu' | 'wall';
  /**
   * The figure is shaky: the target ran less than MIN_CPU_SHARE of the interval (floored), its
   * CPU time could not be read (wall interval), or the faults' estimated time exceeds the CPU
   * time it had (the calibrated cost does not fit this target).
   */
  lowConfidence: boolean;
}

/**
 * How much dearer a target's fault gets per unit of contention (contentionShare): the point
 * estimate uses a cost of c x (1 + CONTENTION_COST x k), the high end of the range c x high x
 * (1 + CONTENTION_HIGH x k), the low end stays at c x low (the target may pay no extra).
 * Measured (bench case 11, redis, quick rounds, load 5-21): the calibration under `stress-ng
 * --cpu 2`, timed by our CPU clock, moved only ~1.05-1.1x (22 -> 24 us), while redis, waiting
 * for a CPU 62-96% of its runnable time, paid 1.0-1.7x the calibrated cost per added fault in
 * the exact and postgres rows (its CPU time watched minus unwatched over the faults watching
 * added; 0.93x quiet, KERNEL-NOTES "Where the cost goes"), and the estimate without this term
 * read 0.5-0.8x of the share of its CPU time watching added (needed x1.25-2.0). The extra is paid in the target (a
 * preempted target comes back to cold caches and TLB, and its next faults and the tick's
 * re-protect pay for it), so it cannot be calibrated in our process and is read off the
 * target's own scheduler accounting instead. 0.8 at a wait share of ~0.9 is x1.7, inside the
 * x1.25-2.0 measured within the 1.5x the estimate aims at; a target that never waits keeps c.
 */
export const CONTENTION_COST = 0.8;
export const CONTENTION_HIGH = 1.6;
/**
 * What a tick whose re-protect flushed the target's WHOLE TLB costs it, us: the TLB it refills
 * afterwards (each miss a two-dimensional page walk in a VM), once per tick, beyond FLUSH_COST's
 * calibrated fault per re-protected block; the figure counts TLB_REFILL_US, the stated range 0
 * (a target whose working set misses the TLB anyway, or a small one) to TLB_REFILL_HIGH_US.
 * Which flushes are whole (reprotectFlushes): the kernel (fs/proc/task_mmu.c
 * pagemap_scan_pmd_entry, 6.18) flushes, per 2 MiB block it re-protects pages in, the range
 * from the FIRST re-protected page to where its walk of that block stopped (the block's end,
 * or the VMA's or the scanned range's if sooner), not to the last re-protected page; on x86
 * (arch/x86/mm/tlb.c) a range over tlb_single_page_flush_ceiling pages (33) is a flush of the
 * whole TLB of the target's address space, on every CPU it runs on, a shorter one an invlpg per
 * page (checked with the tlb:tlb_flush tracepoint: 4 written pages at a block's start flush it
 * all, the 4 last pages 4 pages). Measured (2026-12-06, this 2-core KVM guest, faults ~0.85 us;
 * bench/c/tlbflush.c, a reader chasing pointers through W pages on one CPU, a protector
 * process re-protecting 4 written pages in each of 70 blocks every 100 ms on the other, 40
 * interleaved ticks per mode, the reader's time around each scan against its own median):
 * a re-protected block cost the reader -1.6 to +1.5 us (noise: +/-1.5 us a block) whether its
 * flush was whole or 4 pages, at W = 64 to 16,384 pages, the protector in another process or a
 * thread of the target, on the other CPU or on the reader's; the whole flushes of one scan,
 * back to back, cost about one refill of the reader's TLB: +56, +105, +134 us a scan at W =
 * 1,536, 4,096, 16,384 against the 4-page flushes (quartiles +/-100 us). Those runs credited
 * each scan to the mode after it (a bug in tlbflush.c, since fixed); credited right (W = 4,096,
 * three runs quiet and three beside `stress-ng --cpu 2`), a block cost 1.4-2.3 us quiet and
 * 0.4-2.3 us under the hog, whole flush or 4 pages alike: no refill that stands out of the
 * noise, so TLB_REFILL_US is an allowance on the side of erring high. So not 55-100 us a
 * block, as postgres's excess over the estimate once suggested (one A-B-A run of 5 s parts,
 * +8 to +15% of its CPU per transaction; interleaved rounds since: README, issue 22's table).
 * TLB_REFILL_US (100) is about what those scans measured; it is a constant, not calibrated in
 * our process, because what a refill costs is the target's working set's (its pages in the
 * TLB), which our process cannot reproduce. TLB_REFILL_HIGH_US (300): a second-level TLB of
 * 1,536-2,048 entries, all of them the target's, refilled at up to ~150 us a thousand misses
 * (a two-dimensional walk whose tables miss the caches).
 */
export { TLB_REFILL_HIGH_US, TLB_REFILL_US };

/**
 * The share of its runnable time the target spent waiting for a CPU in the tick: wait / (run +
 * wait), both from its threads' schedstat (TargetCpuClock); 0 when either is unknown.
 */
export function contentionShare(cpuMs: number | null, waitMs: number | null): number {
  if (cpuMs === null || waitMs === null || !(cpuMs >= 0) || !(waitMs >= 0)) return 0;
  const runnable = cpuMs + waitMs;
  return runnable > 0 ? waitMs / runnable : 0;
}

/**
 * The factor on the calibrated cost per fault for a tick in which the target ran `cpuMs` and
 * waited `waitMs` for a CPU: 1 + CONTENTION_COST x the contention share; 1 when either is
 * unknown or the target barely ran (under cpuFloorMs(`intervalMs`): floored, see below).
 * estimateOverhead and the --max-overhead controller (overhead-budget.ts) use the same one.
 */
export function contentionFactor(
  cpuMs: number | null,
  waitMs: number | null,
  intervalMs: number,
): number {
  if (cpuMs === null || !(cpuMs >= cpuFloorMs(intervalMs))) return 1;
  return 1 + CONTENTION_COST * contentionShare(cpuMs, waitMs);
}

/** What one tick's estimate is made of (estimateOverhead). */
export interface OverheadInputs {
  /** Pages the tick found written and re-protected: each took one fault in the tick. */
  faultedPages: number;
  /** The calibrated cost of one fault, us (FaultCost.usPerFault). */
  usPerFault: number;
  /** The tick's wall interval, ms (what cpuFloorMs floors the target's CPU time at). */
  intervalMs: number;
  /**
   * The CPU time the target's threads ran in the tick, ms (TargetCpuClock); null when unknown:
   * the wall interval instead.
   */
  targetCpuMs: number | null;
  /**
   * Factors of the calibrated cost a target's fault may cost: the range stated (costRange;
   * default TARGET_COST_LOW..TARGET_COST_HIGH).
   */
  range?: CostRange;
  /**
   * The time the target's threads waited for a CPU in the tick, ms (TargetCpuClock.lastWaitMs;
   * null or absent: unknown, taken as none).
   */
  targetWaitMs?: number | null;
  /** The 2 MiB blocks the tick re-protected pages in (reprotectFlushes; default 0). */
  flushedBlocks?: number;
  /**
   * pagescope's own CPU time in the tick, ms (OwnCpuClock; null or absent: none), of which
   * competingOwnMs is charged.
   */
  ownCpuMs?: number | null;
  /**
   * The whole machine's busy CPU time in the tick, ms (MachineCpuClock; null or absent:
   * unknown, all of our competing time charged).
   */
  machineBusyMs?: number | null;
  /** The re-protect's flushes that emptied the target's whole TLB (reprotectFlushes; default 0). */
  wholeTlbFlushes?: number;
}

/**
 * ESTIMATED share of the target's CPU time spent on write faults this tick (top comment), and on
 * pagescope's own work that competed with it (`ownCpuMs`, of which competingOwnMs is charged):
 * ((`faultedPages` + FLUSH_COST x `flushedBlocks`) x `usPerFault` + TLB_REFILL_US where
 * `wholeTlbFlushes` > 0, the tick flushed the target's whole TLB) / `targetCpuMs` (the wall
 * interval where null), the CPU time floored at cpuFloorMs(`intervalMs`). The range puts the
 * refill at 0 to TLB_REFILL_HIGH_US (the target's TLB working set is unknown). With
 * `targetWaitMs`, the cost per fault is raised by CONTENTION_COST x the contention share,
 * bounded (at most x1.8, and not at all in a floored tick), so one noisy reading cannot swing
 * the figure far.
 */
export function estimateOverhead({
  faultedPages,
  usPerFault,
  intervalMs,
  targetCpuMs,
  range = DEFAULT_RANGE,
  targetWaitMs = null,
  flushedBlocks = 0,
  ownCpuMs = null,
  machineBusyMs = null,
  wholeTlbFlushes = 0,
}: OverheadInputs): OverheadEstimate {
  const k = contentionShare(targetCpuMs, targetWaitMs);
  // A flush comes only with re-protected pages: none without faults.
  const units = faultedPages > 0 ? faultedPages + FLUSH_COST * Math.max(0, flushedBlocks) : 0;
  // The whole-TLB flushes of one tick come back to back: one refill (TLB_REFILL_US).
  const refill = units > 0 && wholeTlbFlushes > 0;
  const refillMs = refill ? TLB_REFILL_US / 1000 : 0;
  const baseMs = units > 0 && usPerFault > 0 ? (units * usPerFault) / 1000 : 0;
  const floorMs = cpuFloorMs(intervalMs);
  // A target that barely ran (floored) says little about what its faults cost: its contention
  // widens the high end only, the figure keeps the calibrated cost.
  const faultMs = baseMs * contentionFactor(targetCpuMs, targetWaitMs, intervalMs) + refillMs;
  const highMs =
    baseMs * range.high * (1 + CONTENTION_HIGH * k) + (refill ? TLB_REFILL_HIGH_US / 1000 : 0);
  const share = (ms: number, over: number): number =>
    ms === 0 ? 0 : over > 0 ? Math.min(100, (100 * ms) / over) : 100;
  if (targetCpuMs === null || !(targetCpuMs >= 0)) {
    const pct = Math.min(
      100,
      estOverheadPct(units, intervalMs, usPerFault) + share(refillMs, intervalMs),
    );
    return {
      pct,
      ownPct: 0,
      lowPct: Math.min(pct, share(baseMs * range.low, intervalMs)),
      highPct: baseMs > 0 ? 100 : 0,
      basis: 'wall',
      lowConfidence: true,
    };
  }
  const denominator = Math.max(targetCpuMs, floorMs);
  // Our own work that took the target's CPU (competingOwnMs): its share in the figure and the
  // low end; the high end below holds all of it that competed (ownHighMs).
  const ownMs = competingOwnMs(ownCpuMs, targetCpuMs, targetWaitMs, intervalMs, machineBusyMs);
  // The high end holds all of our time that competed with the target, not its share of it
  // (ownHighMs: beside a CPU hog the target lost more; overhead-budget.ts CONTENDED_SHARE).
  const ownHigh = ownHighMs(ownCpuMs, targetCpuMs, targetWaitMs, intervalMs);
  const pct = share(faultMs + ownMs, denominator);
  return {
    pct,
    ownPct: share(ownMs, denominator),
    lowPct: Math.min(pct, share(baseMs * range.low + ownMs, denominator)),
    highPct: Math.max(pct, share(highMs + Math.max(ownMs, ownHigh), targetCpuMs)),
    basis: 'cpu',
    lowConfidence: faultMs > 0 && (targetCpuMs < floorMs || faultMs > 1.5 * targetCpuMs),
  };
}

/**
 * pagescope's own CPU time for a watch, since the previous reading, ms: the watching thread's
 * CPU time while it worked for the watch (what the owner measures around its ticks and hands
 * over: `watchThreadUs`), plus, where the watch runs on the main thread (the CLI: a process
 * that does nothing else), all the CPU time of the process's OTHER threads (process.cpuUsage
 * less this thread's clock): V8's compiler and GC helpers, libuv's pool. What the watching
 * thread does for its owner between ticks (a benchmark spawning its load) is not the watch's.
 * In a worker thread (a session of `serve` or the app) the other threads are the host's and
 * other sessions': none of it is counted, or the budget would lengthen this watch's interval
 * for work that a longer interval does not make smaller. A group watch's members, on one thread,
 * each count the other threads: errs high. The first reading primes it (0).
 */
export class OwnCpuClock {
  private lastProcessUs: number | null = null;
  private lastThreadUs = 0;

  constructor(private readonly otherThreads = isMainThread) {}

  sinceLastMs(watchThreadUs: number): number {
    if (!this.otherThreads) {
      const primed = this.lastProcessUs !== null;
      this.lastProcessUs = 0;
      return primed ? Math.max(0, watchThreadUs) / 1000 : 0;
    }
    const u = process.cpuUsage();
    const processUs = u.user + u.system;
    const threadUs = threadCpuUs();
    const prev = this.lastProcessUs;
    const prevThread = this.lastThreadUs;
    this.lastProcessUs = processUs;
    this.lastThreadUs = threadUs;
    if (prev === null) return 0;
    // process.cpuUsage counts in us from getrusage, the thread clock in ns: never below 0.
    const othersUs = Math.max(0, processUs - prev - (threadUs - prevThread));
    return (Math.max(0, watchThreadUs) + othersUs) / 1000;
  }
}

/**
 * The CPU time a process's threads ran, read per tick from /proc/PID/task/TID/schedstat (its
 * first field: ns on the CPU, user and kernel; one small read per thread). `sinceLastMs()`
 * gives the CPU time since its previous call: a thread new since then counts all its run time
 * (it was born in the interval), a thread gone since then is dropped (its last share is lost,
 * so the estimate errs high). Falls back to /proc/PID/task/TID/stat utime+stime (clock ticks)
 * when schedstat is missing. The same call also reads schedstat's second field, the time the
 * threads waited on a run queue (runnable, not running): `lastWaitMs` is its growth over the
 * same span (null without schedstat), what contentionShare() turns into a share.
 */
export class TargetCpuClock {
  private last = new Map<number, number>();
  private lastWait = new Map<number, number>();
  private primed = false;
  /** Run-queue wait of the target's threads over the span of the last sinceLastMs(), ms. */
  lastWaitMs: number | null = null;

  constructor(readonly pid: number) {}

  /** CPU ms of the target's threads since the previous call; null on the first or when unreadable. */
  sinceLastMs(): number | null {
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${this.pid}/task`);
    } catch {
      this.lastWaitMs = null;
      return null;
    }
    const now = new Map<number, number>();
    const nowWait = new Map<number, number>();
    let deltaNs = 0;
    let waitNs: number | null = 0;
    for (const t of tids) {
      const tid = Number(t);
      const ns = threadRunNs(this.pid, tid);
      if (ns === null) continue; // exited between readdir and read
      now.set(tid, ns[0]);
      const before = this.last.get(tid);
      deltaNs += before === undefined ? ns[0] : Math.max(0, ns[0] - before);
      if (ns[1] === null) waitNs = null;
      else {
        nowWait.set(tid, ns[1]);
        const w0 = this.lastWait.get(tid);
        if (waitNs !== null) waitNs += w0 === undefined ? ns[1] : Math.max(0, ns[1] - w0);
      }
    }
    const wasPrimed = this.primed;
    this.last = now;
    this.lastWait = nowWait;
    this.primed = now.size > 0;
    const ok = wasPrimed && now.size > 0;
    this.lastWaitMs = ok && waitNs !== null ? waitNs / 1e6 : null;
    return ok ? deltaNs / 1e6 : null;
  }
}

/**
 * The share of a CPU a process has run at over its life (utime + stime over the time since it
 * started, /proc/PID/stat and /proc/uptime): the budget's start falls back on it where no recent
 * window was measured. null when unreadable or the process is younger than a tick.
 */
export function lifetimeCpuShare(pid: number): number | null {
  try {
    const s = readStatFile(`/proc/${pid}/stat`);
    // utime, stime, starttime: fields 14, 15 and 22.
    const cpuS = (statNumber(s, 14) + statNumber(s, 15)) / 100;
    const upS = Number(readFileSync('/proc/uptime', 'latin1').split(' ')[0]);
    const ageS = upS - statNumber(s, 22) / 100;
    return ageS > 0.01 && Number.isFinite(cpuS) ? cpuS / ageS : null;
  } catch {
    return null;
  }
}

/** A thread's [run ns, run-queue wait ns] (wait null from the stat fallback); null when gone. */
function threadRunNs(pid: number, tid: number): [number, number | null] | null {
  try {
    const s = readProcText(`/proc/${pid}/task/${tid}/schedstat`).split(' ');
    const ns = Number(s[0]);
    const wait = Number(s[1]);
    if (Number.isFinite(ns)) return [ns, Number.isFinite(wait) ? wait : null];
  } catch {
    // no schedstat (CONFIG_SCHED_INFO off), or the thread is gone: try stat
  }
  try {
    const s = readStatFile(`/proc/${pid}/task/${tid}/stat`);
    return [(statNumber(s, 14) + statNumber(s, 15)) * TICK_NS, null]; // utime, stime
  } catch {
    return null;
  }
}
