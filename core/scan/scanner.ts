/**
 * The scanner: which pages of a process are where, for any set of ranges.
 *
 * It reads the VMAs, intersects them with the requested ranges (none = the whole process), and
 * walks each piece with a backend, one VMA at a time so every region knows its VMA. The
 * backend (and its open pagemap descriptor and buffers) lives as long as the Scanner, so a
 * session that scans ten times a second allocates nothing per tick. The region arrays are sized
 * from the pages to walk before the walk (never grown by copying), which is most of what a cold
 * scan of a big process costs beyond the kernel's walk. scanAsync (the CLI's one-off `scan`)
 * has the kernel walk on another thread while this one decodes (pagemap-scan-backend.ts), when
 * the cores are free (CPU pressure, POOL_PRESSURE_MAX); otherwise it is scan().
 */
import { probeCapabilities } from '../kernel/capabilities.ts';
import { PagescopeError } from '../kernel/errors.ts';
import { cpuPressure } from '../proc/cpu-pressure.ts';
import { readMaps, type Vma } from '../proc/maps.ts';
import type { BackendName, RangeResult, ScanBackend, ScanOptions } from './backend.ts';
import { PagemapReadBackend } from './pagemap-read-backend.ts';
import { type FallbackClocks, PagemapScanBackend } from './pagemap-scan-backend.ts';
import { HUGE_PLACER } from './huge-arrays.ts';
import { RegionList } from './region-list.ts';
import { CategorySums, emptyCounts, type PageCounts } from './summary.ts';

export interface PageRange {
  startPage: number;
  endPage: number;
}

export interface ScanResult {
  pid: number;
  backend: BackendName;
  vmas: Vma[];
  /** Pages scanned per VMA index (the VMA, or its part inside the requested ranges). */
  scannedPages: Map<number, number>;
  regions: RegionList;
  summaries: PageCounts[];
  scanMs: number;
}

export interface ScannerOptions {
  /** 'scan' (PAGEMAP_SCAN), 'pagemap' (the 8-byte reader), or 'auto' (scan when the kernel has it). */
  backend?: BackendName | 'auto';
  /**
   * PAGEMAP_SCAN's vector sizes, in regions (PagemapScanBackend's vecLen and pipeVecLen, and its
   * poolCalls and clocks): small ones make a small process's walk take many chunks (tests of the
   * chunking).
   */
  vectors?: {
    vecLen?: number;
    pipeVecLen?: number;
    poolCalls?: number;
    clocks?: FallbackClocks;
  };
  /** 'always': scanAsync walks on the thread pool whatever the CPU pressure (tests). */
  pool?: 'auto' | 'always';
}

/** Picks the backend: PAGEMAP_SCAN when present, else the reader. Returns why, for the user. */
export function chooseBackend(requested: BackendName | 'auto' = 'auto'): {
  name: BackendName;
  note: string | null;
} {
  const caps = probeCapabilities();
  if (requested === 'pagemap') return { name: 'pagemap', note: null };
  if (caps.pagemapScan) return { name: 'scan', note: null };
  return {
    name: 'pagemap',
    note: `kernel ${caps.kernel} has no PAGEMAP_SCAN ioctl (Linux 6.7+); falling back to reading /proc/PID/pagemap`,
  };
}

export function createBackend(
  pid: number,
  name: BackendName,
  vectors: ScannerOptions['vectors'] = {},
): ScanBackend {
  if (name === 'pagemap') return new PagemapReadBackend(pid);
  return new PagemapScanBackend(pid, {
    supportedCategories: probeCapabilities().supportedCategories,
    ...vectors,
  });
}

/** The parts of each VMA that lie inside `ranges` (or whole VMAs when `ranges` is empty). */
export function intersectRanges(
  vmas: readonly Vma[],
  ranges: readonly PageRange[],
): Array<{ vma: Vma; startPage: number; endPage: number }> {
  const out: Array<{ vma: Vma; startPage: number; endPage: number }> = [];
  for (const vma of vmas) {
    // [vsyscall] is the kernel's gate page above the user address space, not a VMA of the
    // process: PAGEMAP_SCAN answers EFAULT there. It is listed but never scanned.
    if (vma.kind === 'vsyscall') continue;
    if (ranges.length === 0) {
      out.push({ vma, startPage: vma.startPage, endPage: vma.endPage });
      continue;
    }
    for (const r of ranges) {
      const s = Math.max(r.startPage, vma.startPage);
      const e = Math.min(r.endPage, vma.endPage);
      if (s < e) out.push({ vma, startPage: s, endPage: e });
    }
  }
  return out;
}

/**
 * CPU pressure ("some avg10", /proc/pressure/cpu) above which scanAsync walks on its own thread:
 * when tasks already wait for the cores, each hand-off to the pool and back waits for the
 * scheduler. Bench 1d, paired with C in alternating rounds (2 cores, other work running): at
 * pressure 20-30%, 1.43x with the pool against 1.18x mostly on this thread; at 35-85%, 1.19-1.66x
 * against 1.08-1.47x; with the scans at real-time priority (no wait for a core) 1.05-1.08x with
 * the pool against 1.23-1.29x.
 */
export const POOL_PRESSURE_MAX = 10;

/** Whether scanAsync's walk on the thread pool can pay off now (see POOL_PRESSURE_MAX). */
export function poolWalkPays(pressure: number | null = cpuPressure()): boolean {
  return pressure === null || pressure <= POOL_PRESSURE_MAX;
}

export class Scanner {
  readonly backend: ScanBackend;
  private readonly regions = new RegionList(0);
  private readonly sums = new CategorySums();
  /** A scanAsync is under way (it fills `regions` and `sums` between its awaits). */
  private walking = false;

  private readonly pool: 'auto' | 'always';

  constructor(
    readonly pid: number,
    options: ScannerOptions = {},
  ) {
    this.backend = createBackend(pid, chooseBackend(options.backend).name, options.vectors);
    this.pool = options.pool ?? 'auto';
  }

  /**
   * Scans `ranges` (whole process when empty). The returned RegionList is reused by the next
   * scan: call `snapshot()` on it to keep it.
   */
  scan(ranges: readonly PageRange[] = [], options: ScanOptions = {}, vmas?: Vma[]): ScanResult {
    const walk = this.begin(ranges, options, vmas);
    for (const p of walk.pieces) {
      const res = this.backend.scanRange(
        p.startPage,
        p.endPage,
        p.vma.index,
        { ...options, maxPages: walk.remaining },
        this.regions,
        this.sums,
      );
      if (walk.done(p, res)) break;
    }
    return walk.finish();
  }

  /**
   * scan() with the kernel's walk beside the decoding where the backend can (PAGEMAP_SCAN:
   * scanRangeAsync), for one big scan started cold (`pagescope scan`): the same result, and
   * `scanMs` is still the wall time from the start to having every region and summary. One at a
   * time per Scanner (the sync scan() must not run while it is under way either: both fill the
   * same RegionList).
   */
  async scanAsync(
    ranges: readonly PageRange[] = [],
    options: ScanOptions = {},
    vmas?: Vma[],
  ): Promise<ScanResult> {
    const backend = this.backend;
    if (!(backend instanceof PagemapScanBackend) || (this.pool === 'auto' && !poolWalkPays()))
      return this.scan(ranges, options, vmas);
    backend.pipeline(); // before the region arrays (see pipeline())
    const walk = this.begin(ranges, options, vmas);
    this.walking = true;
    try {
      for (const p of walk.pieces) {
        const res = await backend.scanRangeAsync(
          p.startPage,
          p.endPage,
          p.vma.index,
          { ...options, maxPages: walk.remaining },
          this.regions,
          this.sums,
        );
        if (walk.done(p, res)) break;
      }
    } finally {
      this.walking = false;
    }
    return walk.finish();
  }

  /** What scan and scanAsync share: the pieces to walk, then each piece's bookkeeping. */
  private begin(ranges: readonly PageRange[], options: ScanOptions, vmas?: Vma[]) {
    const t0 = performance.now();
    if (this.walking) throw new Error('Scanner: a scan while its scanAsync is under way');
    const maps = vmas ?? readMaps(this.pid);
    const pieces = intersectRanges(maps, ranges);
    if (ranges.length > 0 && pieces.length === 0) {
      throw new PagescopeError(
        `No mapping of process ${this.pid} lies inside the requested range.`,
        'unmapped-range',
      );
    }
    const regions = this.regions;
    // Every region covers at least one page of a piece (and, with maxPages, one matching page):
    // the arrays are sized once for that, not grown by copying (region-list.ts).
    let bound = 0;
    for (const p of pieces) bound += p.endPage - p.startPage;
    if (options.maxPages) bound = Math.min(bound, options.maxPages);
    regions.prepare(bound, HUGE_PLACER);
    const scannedPages = new Map<number, number>();
    // The summaries are summed while the walk decodes (CategorySums), one piece (one VMA) at a
    // time: equal to summarize(maps, regions, scannedPages), without a second pass over them.
    const summaries = maps.map(() => emptyCounts());
    const sums = this.sums;
    sums.reset(); // a walk that threw last time may have left sums behind
    const walk = {
      pieces,
      /** maxPages left for the next piece (0: no limit). */
      remaining: options.maxPages ?? 0,
      /** After piece `p` was walked: true when maxPages is used up. */
      done: (p: (typeof pieces)[number], res: RangeResult): boolean => {
        sums.flushInto(summaries[p.vma.index]);
        scannedPages.set(
          p.vma.index,
          (scannedPages.get(p.vma.index) ?? 0) + p.endPage - p.startPage,
        );
        if (!options.maxPages) return false;
        walk.remaining -= res.pages;
        return walk.remaining <= 0;
      },
      finish: (): ScanResult => {
        for (const [vmaIndex, pages] of scannedPages) summaries[vmaIndex].pages = pages;
        return {
          pid: this.pid,
          backend: this.backend.name,
          vmas: maps,
          scannedPages,
          regions,
          summaries,
          scanMs: performance.now() - t0,
        };
      },
    };
    return walk;
  }

  close(): void {
    this.backend.close();
  }
}
