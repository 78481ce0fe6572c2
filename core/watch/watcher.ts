/**
 * WriteWatcher: which pages a live, unmodified process writes, tick by tick.
 *
 * Strategy (KERNEL-NOTES "Write tracking" and "Another process's memory"):
 * - attach: a userfaultfd is created INSIDE the target (the context belongs to the mm that
 *   created it) by the attach helper process (attach-helper.ts, which pagescope's death cannot
 *   interrupt), copied out with pidfd_getfd and closed in the target, and handed to us; the only
 *   reference lives in pagescope. If pagescope dies, even by SIGKILL, the kernel drops every
 *   registration with the descriptor and the target is as before.
 * - arm: UFFDIO_API (WP_ASYNC | WP_UNPOPULATED) once, UFFDIO_REGISTER in WP mode one VMA piece
 *   at a time (refusals are reported per VMA and the rest is kept), then write-protect with
 *   PAGEMAP_SCAN(WP_MATCHING | CHECK_WPASYNC). Faults are resolved by the kernel: the target
 *   never blocks on us.
 * - tick: one PAGEMAP_SCAN walk per run of contiguous watched pieces returns the pages written
 *   since the last tick and re-protects them atomically. Zero-page mappings (a page that was
 *   only read) are excluded through category_inverted, so "written" means written. The maps
 *   (read each tick, or handed over by the session) are how VMAs that appear in or vanish from
 *   the watched ranges are followed.
 * - GetWriteWatch / ResetWriteWatch semantics: `getWritten` with or without reset and with a
 *   page limit (pages past the limit stay marked), `reset` of any sub-range.
 *
 * Every method is synchronous and must run on the thread that called `attach` (ptrace rule).
 */
import fs from 'node:fs';
import { KernelError, PagescopeError } from '../kernel/errors.ts';
import { closeFd, errno, ioctl } from '../kernel/libc.ts';
import { Category, PM_SCAN_CHECK_WPASYNC, PM_SCAN_WP_MATCHING } from '../kernel/pagemap-abi.ts';
import {
  UFFD_API,
  UFFD_FEATURE_WP_ASYNC,
  UFFD_FEATURE_WP_UNPOPULATED,
  UFFDIO_API,
  UFFDIO_REGISTER,
  UFFDIO_REGISTER_MODE_WP,
  UFFDIO_UNREGISTER,
  UFFDIO_WRITEPROTECT,
} from '../kernel/userfaultfd-abi.ts';
import { readMaps, type Vma } from '../proc/maps.ts';
import type { ScanOptions } from '../scan/backend.ts';
import { PagemapScanBackend } from '../scan/pagemap-scan-backend.ts';
import { RegionList } from '../scan/region-list.ts';
import type { PageRange } from '../scan/scanner.ts';
import { measureGranularity } from './granularity.ts';
import { refusalSentence, registerRefusal, type Refusal } from './refusal.ts';
import { closeRawFd, openPidfd } from '../kernel/ptrace.ts';
import { injectUserfaultfd } from './inject-userfaultfd.ts';
import { preflight, readTargetStatus, seizeError, withHeldThread } from './injector.ts';
import { attachThroughHelper } from './remote-attach.ts';
import { syscallSite } from './syscall-site.ts';

export interface VmaWatchState {
  vmaIndex: number;
  startPage: number;
  endPage: number;
  path: string;
  status: 'watched' | 'refused';
  /** Why it is refused, as a code (decide by this); set exactly when status is 'refused'. */
  refusal?: Refusal;
  /** The refusal's sentence for the user (refusalSentence(refusal)); never compare it. */
  reason?: string;
}

/**
 * A sampled tick's extrapolation (WriteWatcher.setSampleFraction): an ESTIMATE of the pages
 * written in all watched memory from the pages written in the sampled blocks.
 */
export interface WatchSample {
  /** The sample fraction asked for (0..1]. */
  fraction: number;
  /** Watched pages, and the pages of them in sampled blocks this tick. */
  watchedPages: number;
  sampledPages: number;
  /** Written pages seen (in sampled blocks, plus exact counts of memory new this tick). */
  observedPages: number;
  /** Extrapolated written pages of all watched memory (rounded). */
  estimatedPages: number;
  /**
   * Stated error, pages: the true count lies within estimatedPages +/- errorPages with about 95%
   * confidence (2 standard errors of the ratio estimator over blocks). null when it cannot be
   * stated (the sample widened during this tick: writes before the change were not seen).
   */
  errorPages: number | null;
}

export interface WatchTick {
  /** Pages listed in `out`: every written page when `exact`, else the sampled ones seen. */
  writtenPages: number;
  /** Whether writtenPages is every page written since the last tick (false while sampling). */
  exact: boolean;
  /**
   * Pages that took a write-protect fault in this interval (every written page re-protected by
   * the last tick): what the target paid for being watched (see overhead.ts estOverheadPct).
   */
  faultedPages: number;
  /** Set when the tick was sampled (not exact). */
  sample?: WatchSample;
  appeared: VmaWatchState[];
  disappeared: VmaWatchState[];
  /** 'running' or 'stopped' (SIGSTOP / job control: it writes nothing until continued). */
  targetState?: 'running' | 'stopped';
  /** Set when the watch is over (the target exited or executed another program). */
  ended?: string;
  /** Why, as a code: 'exit', 'exec' or 'closed'. */
  endedBy?: 'exit' | 'exec' | 'closed';
}

export interface AttachOptions {
  /** Attach even when the target runs under a seccomp filter. */
  force?: boolean;
  /** Internal: the caller already seized `tid` and holds it stopped (launch mode). */
  alreadyStoppedTid?: number;
  /**
   * The target is our own launched child, which ends with us (launch mode re-attaching after the
   * program executed another one): attach in this process, on this thread (the one that spawned
   * it), without the attach helper's start-up time.
   */
  ownChild?: boolean;
}

/** Pages written since the last protect, excluding zero-page mappings (read, not written). */
const WRITTEN_OPTIONS = {
  categoryMask: Category.WRITTEN | Category.PFNZERO,
  categoryInverted: Category.PFNZERO,
  returnMask: Category.WRITTEN,
} as const;

/** A tick's get+reset: re-protect what is reported; fail rather than walk unregistered VMAs. */
const TICK_FLAGS = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC;

/**
 * The steady-state tick: category_mask = return_mask = WRITTEN exactly, which is the kernel's
 * fast path in pagemap_scan_pmd_entry (it tests only the uffd-wp bit per PTE instead of working
 * out every category of every page; measured ~12% of case 4's tick). It would count an
 * unprotected zero-page mapping (a page only read) as written, so it is used only on pieces
 * where none can exist: armed pieces were write-protected whole (zero pages included, and a
 * read of a protected page maps the zero page protected), and a piece that appears during a
 * tick is read and protected whole by FRESH_OPTIONS.
 */
const TICK_OPTIONS = {
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
const FRESH_OPTIONS = {
  flags: TICK_FLAGS,
  categoryMask: Category.WRITTEN,
  returnMask: Category.WRITTEN | Category.PRESENT | Category.PFNZERO,
} as const;

/**
 * Sampling (setSampleFraction): the address space is cut into aligned blocks of 512 pages (2 MiB,
 * one page table) and a block is in the sample when a hash of its number falls under the
 * fraction, so a smaller fraction's sample is a subset of a larger one's and the choice does not
 * depend on which VMA holds the block. Only sampled blocks are read and re-protected each tick;
 * the others are unprotected (UFFDIO_WRITEPROTECT mode 0) when they leave the sample or are
 * armed while sampling, so they cost the target nothing. The count of all watched memory is extrapolated from the sample
 * with a ratio estimator (written / pages in the sampled blocks), with its standard error from
 * the spread of the blocks' counts.
 */
export const SAMPLE_BLOCK_PAGES = 512;

/** Whether block `b` (page / SAMPLE_BLOCK_PAGES, rounded down) is sampled at `fraction` (murmur3 finalizer). */
export function blockSampled(b: number, fraction: number): boolean {
  if (fraction >= 1) return true;
  let h = (b ^ Math.floor(b / 2 ** 32)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h = (h ^ (h >>> 16)) >>> 0;
  return h < fraction * 2 ** 32;
}

/**
 * The ratio estimate of a total from sampled blocks: `y` written and `x` pages per sampled
 * block, `totalBlocks` blocks and `totalPages` pages in all. Returns the estimate and 2 standard
 * errors (Cochran's ratio estimator variance, M^2 (1 - m/M) s_d^2 / m with d = y - r x), with
 * s_d^2 at least the spread of writes placed at random at the sample's rate (x r (1 - r) a
 * block): the sample is the same blocks every tick, not a random draw, so blocks written alike
 * (a writer that strides across them, testing/rate-writer.c) say nothing of the blocks left
 * out (cold memory beside the hot region: a C writer's rate was 3% off at +/-2 pages/s stated;
 * sample-error.test.ts).
 */
export function ratioEstimate(
  y: ArrayLike<number>,
  x: ArrayLike<number>,
  m: number,
  totalBlocks: number,
  totalPages: number,
): { estimate: number; error: number } {
  let ys = 0;
  let xs = 0;
  for (let i = 0; i < m; i++) {
    ys += y[i];
    xs += x[i];
  }
  if (m === 0 || xs === 0) return { estimate: 0, error: totalPages };
  const r = ys / xs;
  const estimate = r * totalPages;
  if (m >= totalBlocks) return { estimate, error: 0 };
  if (m < 2) return { estimate, error: totalPages };
  let sd = 0;
  for (let i = 0; i < m; i++) {
    const d = y[i] - r * x[i];
    sd += d * d;
  }
  sd /= m - 1;
  // Writes placed at random: each block's count a binomial of its pages at the rate seen.
  sd = Math.max(sd, (xs / m) * r * Math.max(0, 1 - r));
  const variance = (totalBlocks * totalBlocks * (1 - m / totalBlocks) * sd) / m;
  return { estimate, error: 2 * Math.sqrt(variance) };
}

interface Piece {
  vmaIndex: number;
  startPage: number;
  endPage: number;
  path: string;
  kind: Vma['kind'];
  /** PROT_NONE: nothing can write it until it is mprotect'ed (then it is registered). */
  noAccess?: boolean;
}

/**
 * Why a PROT_NONE VMA is not registered (refusal code 'no-access'). Registering it would make the
 * kernel build page tables for the whole range to hold its write-protect markers (measured: 45 MB
 * of page tables for V8's ~20 GiB of reservations, kept after the watch ends), for memory nobody
 * can write. When the process makes part of it accessible, that part becomes its own VMA and is
 * watched from the next tick, like any VMA appearing in a watched range. The sentence, for tests
 * and display only.
 */
export const NO_ACCESS_REASON = refusalSentence({ code: 'no-access' });

const key = (p: { startPage: number; endPage: number }): string => `${p.startPage}-${p.endPage}`;

/** Sorted, merged union of ranges. */
export function normalizeRanges(ranges: readonly PageRange[]): PageRange[] {
  const sorted = ranges
    .filter((r) => r.endPage > r.startPage)
    .map((r) => ({ startPage: r.startPage, endPage: r.endPage }))
    .sort((a, b) => a.startPage - b.startPage);
  const out: PageRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.startPage <= last.endPage) last.endPage = Math.max(last.endPage, r.endPage);
    else out.push(r);
  }
  return out;
}

/** `ranges` minus `cut`. */
export function subtractRanges(
  ranges: readonly PageRange[],
  cut: readonly PageRange[],
): PageRange[] {
  let cur = normalizeRanges(ranges);
  for (const c of cut) {
    const next: PageRange[] = [];
    for (const r of cur) {
      if (c.endPage <= r.startPage || c.startPage >= r.endPage) next.push(r);
      else {
        if (r.startPage < c.startPage) next.push({ startPage: r.startPage, endPage: c.startPage });
        if (c.endPage < r.endPage) next.push({ startPage: c.endPage, endPage: r.endPage });
      }
    }
    cur = next;
  }
  return cur;
}

function piecesOf(vmas: readonly Vma[], ranges: readonly PageRange[]): Piece[] {
  const out: Piece[] = [];
  for (const vma of vmas) {
    if (vma.kind === 'vsyscall') continue;
    for (const r of ranges) {
      const s = Math.max(r.startPage, vma.startPage);
      const e = Math.min(r.endPage, vma.endPage);
      if (s < e)
        out.push({
          vmaIndex: vma.index,
          startPage: s,
          endPage: e,
          path: vma.path,
          kind: vma.kind,
          noAccess: vma.perms?.startsWith('---'),
        });
    }
  }
  return out;
}

/**
 * Whether no VMA (watched or not) lies between two pieces in address order: they touch, or
 * `a` ends its VMA, `b` starts the next one and only unmapped space lies between.
 */
function nothingBetween(maps: readonly Vma[], a: Piece, b: Piece): boolean {
  if (b.startPage === a.endPage) return true;
  const va = maps[a.vmaIndex];
  const vb = maps[b.vmaIndex];
  return (
    b.vmaIndex === a.vmaIndex + 1 &&
    va?.index === a.vmaIndex &&
    vb?.index === b.vmaIndex &&
    va.endPage === a.endPage &&
    vb.startPage === b.startPage
  );
}

function covered(p: PageRange, union: readonly PageRange[]): boolean {
  return subtractRanges([p], union).length === 0;
}

function refusalOf(errnoValue: number, piece: Piece): Refusal {
  const name = new KernelError('UFFDIO_REGISTER', errnoValue).errnoName;
  return registerRefusal(name, piece.path || piece.kind);
}

/**
 * Makes the userfaultfd inside `pid` and returns our copy of it; the target keeps nothing.
 * Everything slow happens before the thread is held: the `syscall` instruction is found and
 * pagemap and mem are opened. Attach by pid goes through the attach helper process (pagescope's
 * death cannot interrupt it); launch mode injects here, at the exec stop of our own child.
 */
function acquireUserfaultfd(
  pid: number,
  tid: number,
  how: { atExecStop: boolean; inProcess: boolean },
): {
  fd: number;
  probeAddress: bigint;
  backend: PagemapScanBackend;
  memFd: number;
  heldMs: number;
} {
  // Opened before the thread is held. Refused here means refused to trace: say it that way.
  let backend: PagemapScanBackend;
  let memFd = -1;
  try {
    backend = new PagemapScanBackend(pid);
  } catch (err) {
    throw isDenied(err) ? seizeError(pid, EPERM) : err;
  }
  try {
    memFd = fs.openSync(`/proc/${pid}/mem`, 'r');
    if (how.inProcess) {
      const insn = syscallSite(pid);
      const pidfd = openPidfd(pid);
      try {
        const held = withHeldThread(
          pid,
          tid,
          { syscallAddress: insn, atExecStop: how.atExecStop },
          (t) => injectUserfaultfd(t, pid, pidfd),
        );
        return { fd: held.value, heldMs: held.heldMs, probeAddress: insn, backend, memFd };
      } finally {
        closeRawFd(pidfd);
      }
    }
    // A program that executes another one between our look and the stop (a launcher) is
    // detected at the stop and left alone; look again at the new program.
    for (let attempt = 1; ; attempt++) {
      const insn = syscallSite(pid);
      try {
        return { ...attachThroughHelper(pid, tid, insn), probeAddress: insn, backend, memFd };
      } catch (err) {
        if (!(err instanceof PagescopeError && err.code === 'program-changed') || attempt === 3)
          throw err;
        // Both descriptors belong to the old address space.
        backend.close();
        fs.closeSync(memFd);
        memFd = -1;
        backend = new PagemapScanBackend(pid);
        memFd = fs.openSync(`/proc/${pid}/mem`, 'r');
      }
    }
  } catch (err) {
    backend.close();
    if (memFd >= 0) fs.closeSync(memFd);
    throw isDenied(err) ? seizeError(pid, EPERM) : err;
  }
}

const EPERM = 1;

/** A permission error from opening the target's /proc files (Node's or ours). */
function isDenied(err: unknown): boolean {
  if (err instanceof KernelError) return err.errnoName === 'EACCES' || err.errnoName === 'EPERM';
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'EACCES' || code === 'EPERM';
}

function pickThread(pid: number): number {
  const main = readTargetStatus(pid);
  if (main && main.state !== 'Z') return pid;
  // The main thread exited while others run on: any live thread shares the mm.
  for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
    const st = fs.readFileSync(`/proc/${pid}/task/${t}/stat`, 'latin1');
    const state = st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3);
    if (state !== 'Z' && state !== 'X') return Number(t);
  }
  return pid;
}

export class WriteWatcher {
  /**
   * Observed granularity in pages: measured once per process on a huge page of pagescope's own
   * (see granularity.ts); 1 on Linux 6.18, where the first write splits a protected THP.
   */
  readonly granularityPages: number = measureGranularity().pages;
  private readonly scratch = new RegionList(256);
  private readonly regArg = new BigUint64Array(new ArrayBuffer(256));
  private apiDone = false;
  private ranges: PageRange[] = [];
  private registered = new Map<string, Piece>();
  private refused = new Map<string, VmaWatchState>();
  private closed = false;
  private endReason: string | null = null;
  private endKind: 'exit' | 'exec' | 'closed' | null = null;
  private armedAt = 0;
  /** The sample fraction (1 = exact: every page re-protected every tick). */
  private sampleFractionValue = 1;
  /** The sample widened since the last tick: the next tick cannot state an error. */
  private sampleWidened = false;
  /** Per sampled block of the current tick: written pages and pages (grown as needed). */
  private blockY = new Float64Array(1024);
  private blockX = new Float64Array(1024);
  /**
   * /proc/PID/stat kept open for the run state: a pread at offset 0 regenerates it (seq_file),
   * one syscall per tick instead of open+fstat+read+close of /proc/PID/status and a regex pass.
   */
  private statFd = -1;
  private readonly statBuf = Buffer.alloc(64);

  private constructor(
    readonly pid: number,
    private uffd: number,
    private readonly probeAddress: bigint,
    private readonly backend: PagemapScanBackend,
    private readonly memFd: number,
    /** How long the attach held the target's thread, ms (stop to release). */
    readonly attachHeldMs: number,
  ) {}

  /**
   * Injects a userfaultfd into `pid` (ptrace seize, inject, pidfd_getfd, inject close, detach).
   * Synchronous. Throws a PagescopeError/KernelError whose message is a sentence for the user.
   *
   * Threads: call it, and every other method, on one thread. If the target is a child of this
   * process, spawn it from that same thread (launchAndAttach does): a ptrace stop is visible to
   * every thread's waitpid, and libuv's SIGCHLD handler on another thread would collect it and
   * take it for the child's exit (the attach still succeeds, but that ChildProcess is ruined).
   */
  static attach(pid: number, options: AttachOptions = {}): WriteWatcher {
    preflight(pid, options);
    const tid = options.alreadyStoppedTid ?? pickThread(pid);
    const a = acquireUserfaultfd(pid, tid, {
      atExecStop: options.alreadyStoppedTid !== undefined,
      inProcess: options.ownChild === true || options.alreadyStoppedTid !== undefined,
    });
    return new WriteWatcher(pid, a.fd, a.probeAddress, a.backend, a.memFd, a.heldMs);
  }

  /** ms timestamp (performance.now) when the last arm() returned. */
  get armedAtMs(): number {
    return this.armedAt;
  }

  /** 'exit', 'exec' or 'closed' once the watch has ended, else null. */
  get endedBy(): 'exit' | 'exec' | 'closed' | null {
    return this.endKind;
  }

  /** Why the watch ended (exit, exec, close), or null while it runs. */
  get ended(): string | null {
    return this.endReason;
  }

  watchedRanges(): PageRange[] {
    return this.ranges.map((r) => ({ ...r }));
  }

  /** The VMA pieces currently registered. */
  watchedPieces(): VmaWatchState[] {
    return [...this.registered.values()].map((p) => this.state(p));
  }

  private state(p: Piece, refusal?: Refusal | null): VmaWatchState {
    return {
      vmaIndex: p.vmaIndex,
      startPage: p.startPage,
      endPage: p.endPage,
      path: p.path,
      status: refusal ? 'refused' : 'watched',
      ...(refusal ? { refusal, reason: refusalSentence(refusal) } : {}),
    };
  }

  private ensureOpen(): void {
    if (this.closed || this.endReason)
      throw new PagescopeError(
        `The write watch of process ${this.pid} has ended${this.endReason ? `: ${this.endReason}` : ''}.`,
        'watch-ended',
      );
  }

  private ensureApi(): void {
    if (this.apiDone) return;
    const api = new BigUint64Array(new ArrayBuffer(256), 0, 3);
    api[0] = BigInt(UFFD_API);
    api[1] = BigInt(UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED);
    if (ioctl(this.uffd, UFFDIO_API, api) < 0) {
      const e = KernelError.fromErrno('UFFDIO_API', { pid: this.pid });
      throw new PagescopeError(
        `This kernel refused userfaultfd async write-protection (UFFDIO_API: ${e.errnoName}); write watching needs Linux 6.7 or newer.`,
        'no-wp-async',
      );
    }
    this.apiDone = true;
  }

  /** UFFDIO_REGISTER(WP) of one piece; returns null or why it is refused. */
  private register(p: Piece): Refusal | null {
    if (p.kind === 'vdso' || p.kind === 'vvar' || p.kind === 'vsyscall')
      return { code: 'special-mapping', detail: p.path };
    if (p.noAccess) return { code: 'no-access' };
    const a = this.regArg;
    a[0] = BigInt(p.startPage) << 12n;
    a[1] = BigInt(p.endPage - p.startPage) << 12n;
    a[2] = BigInt(UFFDIO_REGISTER_MODE_WP);
    a[3] = 0n;
    if (ioctl(this.uffd, UFFDIO_REGISTER, a.subarray(0, 4)) < 0) return refusalOf(errno(), p);
    return null;
  }

  private unregister(p: PageRange): void {
    const a = this.regArg;
    a[0] = BigInt(p.startPage) << 12n;
    a[1] = BigInt(p.endPage - p.startPage) << 12n;
    ioctl(this.uffd, UFFDIO_UNREGISTER, a.subarray(0, 2)); // best effort: the VMA may be gone
  }

  /** UFFDIO_WRITEPROTECT(mode 0): the range's pages stop faulting (best effort). */
  private unprotect(p: PageRange): void {
    const a = this.regArg;
    a[0] = BigInt(p.startPage) << 12n;
    a[1] = BigInt(p.endPage - p.startPage) << 12n;
    a[2] = 0n;
    ioctl(this.uffd, UFFDIO_WRITEPROTECT, a.subarray(0, 3)); // the VMA may be gone: no matter
  }

  /** Calls `each` on every maximal run of p's pages whose sample blocks satisfy `pick`. */
  private forBlockRuns(
    p: Piece,
    pick: (block: number) => boolean,
    each: (run: Piece) => void,
  ): void {
    const B = SAMPLE_BLOCK_PAGES;
    let runStart = -1;
    let runEnd = -1;
    const last = Math.floor((p.endPage - 1) / B);
    for (let b = Math.floor(p.startPage / B); b <= last; b++) {
      if (pick(b)) {
        if (runStart < 0) runStart = Math.max(b * B, p.startPage);
        runEnd = Math.min((b + 1) * B, p.endPage);
      } else if (runStart >= 0) {
        each({ ...p, startPage: runStart, endPage: runEnd });
        runStart = -1;
      }
    }
    if (runStart >= 0) each({ ...p, startPage: runStart, endPage: runEnd });
  }

  private scan(p: Piece, options: ScanOptions, out: RegionList): number {
    return this.backend.scanRange(p.startPage, p.endPage, p.vmaIndex, options, out).pages;
  }

  /** get+reset of the contiguous pieces run[from..to) in one walk; each region keeps its VMA. */
  private scanRun(run: readonly Piece[], from: number, to: number, out: RegionList): number {
    const ends: number[] = [];
    const vmaIndices: number[] = [];
    for (let i = from; i < to; i++) {
      ends.push(run[i].endPage);
      vmaIndices.push(run[i].vmaIndex);
    }
    return this.backend.scanPieces(run[from].startPage, ends, vmaIndices, TICK_OPTIONS, out).pages;
  }

  /** Write-protects every page of a registered piece that is not protected (discarding output). */
  private protect(p: Piece): void {
    this.scratch.clear();
    this.scan(
      p,
      {
        flags: PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
        categoryMask: Category.WRITTEN,
        returnMask: Category.WRITTEN,
      },
      this.scratch,
    );
  }

  /**
   * Starts watching `ranges`: registers each VMA piece inside them (refusals are reported, the
   * rest is kept) and write-protects it. Writes count from the moment arm returns.
   */
  arm(ranges: PageRange[]): VmaWatchState[] {
    this.ensureOpen();
    // After an exec the VMAs in /proc/PID/maps belong to a new mm our descriptor cannot touch.
    if (this.checkEnded()) return [];
    this.ensureApi();
    const wanted = normalizeRanges(ranges);
    if (wanted.length === 0) throw new PagescopeError('No range to watch was given.', 'bad-range');
    const vmas = readMaps(this.pid);
    const states: VmaWatchState[] = [];
    for (const p of piecesOf(vmas, wanted)) {
      const k = key(p);
      if (this.registered.has(k)) {
        states.push(this.state(p));
        continue;
      }
      const known = this.refused.get(k);
      if (known) {
        states.push(known);
        continue;
      }
      const reason = this.register(p);
      if (reason) {
        const st = this.state(p, reason);
        this.refused.set(k, st);
        states.push(st);
        continue;
      }
      // A piece that overlaps watched ones (a VMA that grew since) supersedes them; only its
      // new part is protected, so writes already recorded in the old part are not lost.
      const old: PageRange[] = [];
      for (const [ok, op] of [...this.registered])
        if (op.startPage < p.endPage && p.startPage < op.endPage) {
          old.push(op);
          this.registered.delete(ok);
        }
      try {
        for (const part of subtractRanges([p], old)) {
          this.protect({ ...p, ...part });
          const f = this.sampleFractionValue;
          if (f < 1)
            this.forBlockRuns(
              { ...p, ...part },
              (b) => !blockSampled(b, f),
              (run) => this.unprotect(run),
            );
        }
      } catch (err) {
        this.unregister(p);
        // ESRCH: the address space is gone under us (the process executed another program or
        // exited mid-arm), as ENOMEM from the register says the mapping moved: not a refusal of
        // the mapping itself.
        const gone = err instanceof KernelError && err.errnoName === 'ESRCH';
        const st = this.state(
          p,
          gone
            ? { code: 'mapping-changed' }
            : { code: 'protect-failed', detail: (err as Error).message },
        );
        this.refused.set(k, st);
        states.push(st);
        continue;
      }
      this.registered.set(k, p);
      states.push(this.state(p));
    }
    this.ranges = normalizeRanges([...this.ranges, ...wanted]);
    this.armedAt = performance.now();
    return states;
  }

  /** Whether the mm we registered in still exists (false after exit or exec). */
  private mmAlive(): boolean {
    const b = Buffer.alloc(1);
    try {
      return fs.readSync(this.memFd, b, 0, 1, this.probeAddress) === 1;
    } catch {
      return false;
    }
  }

  /**
   * The main thread's state letter from /proc/PID/stat (same letter as State: in status), or
   * null when the process is gone. The first 64 bytes hold "pid (comm) S": comm is at most 15
   * bytes, and the state follows the last ')' (comm itself may contain ')').
   */
  private runState(): string | null {
    try {
      if (this.statFd < 0) this.statFd = fs.openSync(`/proc/${this.pid}/stat`, 'r');
      const b = this.statBuf;
      const n = fs.readSync(this.statFd, b, 0, b.length, 0);
      for (let i = n - 1; i > 0; i--)
        if (b[i] === 0x29) return i + 2 < n ? String.fromCharCode(b[i + 2]) : null;
      return null;
    } catch {
      return null;
    }
  }

  private finish(reason: string, kind: 'exit' | 'exec' | 'closed'): void {
    this.endReason = reason;
    this.endKind = kind;
    this.releaseAll();
  }

  private checkEnded(): boolean {
    if (this.endReason) return true;
    if (this.closed) return true;
    if (this.mmAlive()) return false;
    // An exec installs the new mm before the old one goes; an exit leaves none (empty maps).
    const st = readTargetStatus(this.pid);
    let hasMm = false;
    try {
      hasMm = fs.readFileSync(`/proc/${this.pid}/maps`, 'latin1').length > 0;
    } catch {
      hasMm = false;
    }
    if (!st || st.state === 'Z' || st.state === 'X' || !hasMm)
      this.finish(`process ${this.pid} exited`, 'exit');
    else
      this.finish(
        `process ${this.pid} executed a new program, so the watched memory no longer exists`,
        'exec',
      );
    return true;
  }

  /**
   * One tick: the pages written in every watched piece since the last tick (or arm), re-protected
   * atomically. `out` is cleared and filled (category WRITTEN). VMAs that appeared inside the
   * watched ranges are registered (their pages count from now on), vanished ones are dropped.
   * Never throws for the target exiting or exec'ing: `ended` says so and the watch is released.
   *
   * `vmas`: the target's maps as the caller read them this tick (the session does, for its own
   * scan); without them the watcher reads /proc/PID/maps itself. Exit and exec are detected by
   * the mm probe (checkEnded), not by the maps, so passing them loses nothing.
   */
  tick(out: RegionList, vmas?: readonly Vma[]): WatchTick {
    out.clear();
    const result: WatchTick = {
      writtenPages: 0,
      exact: true,
      faultedPages: 0,
      appeared: [],
      disappeared: [],
    };
    if (this.closed) {
      result.ended = this.endReason ?? 'the watch was closed';
      result.endedBy = this.endKind ?? 'closed';
      return result;
    }
    if (this.checkEnded()) {
      result.ended = this.endReason ?? 'ended';
      result.endedBy = this.endKind ?? 'exit';
      return result;
    }
    let maps: readonly Vma[];
    try {
      maps = vmas ?? readMaps(this.pid);
    } catch {
      this.checkEnded();
      result.ended = this.endReason ?? `process ${this.pid} exited`;
      if (!this.endReason) this.finish(result.ended, 'exit');
      result.endedBy = this.endKind ?? 'exit';
      return result;
    }
    const state = this.runState();
    result.targetState = state === 'T' || state === 't' ? 'stopped' : 'running';

    const current = piecesOf(maps, this.ranges);
    const currentKeys = new Set(current.map(key));
    const oldUnion = normalizeRanges([...this.registered.values()]);
    for (const [k, p] of this.registered) {
      if (!currentKeys.has(k)) {
        result.disappeared.push(this.state(p));
        this.registered.delete(k);
      }
    }
    for (const k of [...this.refused.keys()]) if (!currentKeys.has(k)) this.refused.delete(k);

    const toScan: Piece[] = [];
    /** Pieces registered in this tick that were not watched memory before (see TICK_OPTIONS). */
    const fresh = new Set<Piece>();
    for (const p of current) {
      const k = key(p);
      const refusal = this.refused.get(k);
      // A whole no-access VMA mprotect'ed in place keeps its range: register it now.
      if (refusal?.refusal?.code === 'no-access' && !p.noAccess) this.refused.delete(k);
      else if (refusal) continue;
      if (!this.registered.has(k)) {
        const continuing = covered(p, oldUnion);
        const reason = this.register(p);
        if (reason) {
          const s = this.state(p, reason);
          this.refused.set(k, s);
          result.appeared.push(s);
          continue;
        }
        this.registered.set(k, p);
        if (!continuing) {
          result.appeared.push(this.state(p));
          // A new file mapping's present pages may only have been read: protect them silently.
          if (p.kind === 'file') {
            try {
              this.protect(p);
            } catch {
              this.registered.delete(k);
            }
            continue;
          }
          fresh.add(p);
        }
      }
      toScan.push(p);
    }
    // Pieces come in address order. A run of registered pieces with nothing else mapped between
    // them is read and reset in one walk: with CHECK_WPASYNC the kernel requires every VMA in
    // the span to be registered, and an unmapped gap has no VMA (the walk skips it). Each call
    // with WP_MATCHING also pays a TLB flush, so with a few hundred watched VMAs (a node
    // process) this halves the kernel time, not only the ioctl count.
    const fraction = this.sampleFractionValue;
    const st = { blocks: 0, pages: 0, m: 0, observed: 0 };
    let freshPages = 0;
    let watchedPages = 0;
    for (const p of toScan) watchedPages += p.endPage - p.startPage;
    for (let i = 0; i < toScan.length;) {
      if (fraction < 1 && !fresh.has(toScan[i])) {
        // Sampled: only the sampled blocks are read and re-protected (see SAMPLE_BLOCK_PAGES).
        const p = toScan[i++];
        try {
          const seen = this.tickSampled(p, fraction, out, st);
          result.writtenPages += seen;
        } catch (err) {
          this.registered.delete(key(p));
          if (this.checkEnded()) return this.endedTick(result, out);
          if (!(err instanceof KernelError)) throw err;
        }
        continue;
      }
      let j = i + 1;
      if (!fresh.has(toScan[i]))
        while (
          j < toScan.length &&
          !fresh.has(toScan[j]) &&
          nothingBetween(maps, toScan[j - 1], toScan[j])
        )
          j++;
      const mark = out.length;
      let resumeAt = toScan[i].startPage;
      if (j - i > 1) {
        try {
          result.writtenPages += this.scanRun(toScan, i, j, out);
          i = j;
          continue;
        } catch (err) {
          if (!(err instanceof KernelError)) throw err;
          // A VMA of the run changed under us (MAP_FIXED over a watched one after the maps were
          // read). What earlier chunks of the walk returned is kept; the rest of the run falls
          // back to one call per piece below, so only the failing piece is dropped. (The
          // failing ioctl's own regions are lost to us: the kernel reports only the error.)
          for (let r = mark; r < out.length; r++)
            result.writtenPages += out.endPage[r] - out.startPage[r];
          if (out.length > mark) resumeAt = out.endPage[out.length - 1];
        }
      }
      for (; i < j; i++) {
        const p = toScan[i];
        if (p.endPage <= resumeAt) continue;
        const part = p.startPage < resumeAt ? { ...p, startPage: resumeAt } : p;
        try {
          if (fresh.has(p)) {
            const seen = this.scratch;
            seen.clear();
            this.scan(part, FRESH_OPTIONS, seen);
            for (let r = 0; r < seen.length; r++) {
              if ((seen.categories[r] & (Category.PRESENT | Category.PFNZERO)) !== Category.PRESENT)
                continue;
              out.push(seen.startPage[r], seen.endPage[r], Category.WRITTEN, p.vmaIndex);
              result.writtenPages += seen.endPage[r] - seen.startPage[r];
              freshPages += seen.endPage[r] - seen.startPage[r];
            }
          } else {
            result.writtenPages += this.scan(part, TICK_OPTIONS, out);
          }
        } catch (err) {
          // The mapping changed under us (munmap + mmap between reading maps and scanning):
          // forget the piece; the next tick sees the new layout.
          this.registered.delete(key(p));
          if (this.checkEnded()) return this.endedTick(result, out);
          if (!(err instanceof KernelError)) throw err;
        }
      }
    }
    // A VMA split or grown in place (mprotect, brk) is the same memory under new bounds: only
    // what is no longer covered at all has disappeared.
    const now = normalizeRanges([...this.registered.values()]);
    result.disappeared = result.disappeared.filter((d) => !covered(d, now));
    result.faultedPages = result.writtenPages - freshPages;
    if (fraction < 1 || this.sampleWidened) {
      const est = ratioEstimate(this.blockY, this.blockX, st.m, st.blocks, st.pages);
      const exactPart = result.writtenPages - st.observed;
      let sampledPages = 0;
      for (let b = 0; b < st.m; b++) sampledPages += this.blockX[b];
      result.exact = false;
      result.sample = {
        fraction,
        watchedPages,
        sampledPages: sampledPages + (watchedPages - st.pages),
        observedPages: result.writtenPages,
        estimatedPages: Math.round(exactPart + (fraction < 1 ? est.estimate : st.observed)),
        errorPages: this.sampleWidened ? null : Math.ceil(fraction < 1 ? est.error : 0),
      };
      this.sampleWidened = false;
    }
    return result;
  }

  private endedTick(result: WatchTick, out: RegionList): WatchTick {
    out.clear();
    result.writtenPages = 0;
    result.faultedPages = 0;
    result.ended = this.endReason ?? 'ended';
    result.endedBy = this.endKind ?? 'exit';
    return result;
  }

  /**
   * The sampled get+reset of one piece: one walk per run of consecutive sampled blocks, into
   * `out`; records each sampled block's written and total pages for the estimate. Returns the
   * written pages seen.
   */
  private tickSampled(
    p: Piece,
    fraction: number,
    out: RegionList,
    st: { blocks: number; pages: number; m: number; observed: number },
  ): number {
    const B = SAMPLE_BLOCK_PAGES;
    let seen = 0;
    let runStart = -1;
    let runEnd = -1;
    let runFirst = 0; // index in blockX/blockY of the run's first block
    const flush = (): void => {
      const mark = Math.max(0, out.length - 1); // the walk may extend the last region
      seen += this.backend.scanRange(runStart, runEnd, p.vmaIndex, TICK_OPTIONS, out).pages;
      const b0 = Math.floor(runStart / B);
      for (let r = mark; r < out.length; r++) {
        let a = Math.max(out.startPage[r], runStart);
        const e = Math.min(out.endPage[r], runEnd);
        while (a < e) {
          const bb = Math.floor(a / B);
          const ce = Math.min(e, (bb + 1) * B);
          this.blockY[runFirst + bb - b0] += ce - a;
          a = ce;
        }
      }
      runStart = -1;
    };
    const last = Math.floor((p.endPage - 1) / B);
    for (let b = Math.floor(p.startPage / B); b <= last; b++) {
      const s = Math.max(b * B, p.startPage);
      const e = Math.min((b + 1) * B, p.endPage);
      st.blocks++;
      st.pages += e - s;
      if (!blockSampled(b, fraction)) {
        if (runStart >= 0) flush();
        continue;
      }
      if (st.m === this.blockX.length) {
        const x = new Float64Array(st.m * 2);
        x.set(this.blockX);
        this.blockX = x;
        const y = new Float64Array(st.m * 2);
        y.set(this.blockY);
        this.blockY = y;
      }
      this.blockX[st.m] = e - s;
      this.blockY[st.m] = 0;
      if (runStart < 0) {
        runStart = s;
        runFirst = st.m;
      }
      runEnd = e;
      st.m++;
    }
    if (runStart >= 0) flush();
    st.observed += seen;
    return seen;
  }

  /** The sample fraction in force (1 = exact). */
  get sampleFraction(): number {
    return this.sampleFractionValue;
  }

  /**
   * Watches a sample of the memory from the next tick on, to bound what being watched costs the
   * target (overhead.ts): with `fraction` < 1 only pages in sampled blocks (SAMPLE_BLOCK_PAGES,
   * chosen by a hash of the block's address, about `fraction` of them) are re-protected each
   * tick; the others fault once more and then no longer. Ticks then report `exact: false` and a
   * `sample` with the extrapolated count and its stated error. 1 goes back to exact counts.
   *
   * Widening the sample (a larger fraction, or 1) write-protects the blocks that enter it at once;
   * what was written there since they left it is unknown, so the next tick is still `exact:
   * false` with no stated error, and the ones after are exact again (or sampled with an error).
   * getWritten/reset are exact only at fraction 1 (pages outside the sample read as written).
   */
  setSampleFraction(fraction: number): void {
    if (!(fraction > 0 && fraction <= 1))
      throw new PagescopeError(
        `The sample fraction must be more than 0 and at most 1 (got ${fraction}).`,
        'bad-request',
      );
    this.ensureOpen();
    const old = this.sampleFractionValue;
    if (fraction > old) {
      // Blocks entering the sample: protected now, counted from the next tick on.
      for (const p of [...this.registered.values()])
        this.forBlockRuns(
          p,
          (b) => blockSampled(b, fraction) && !blockSampled(b, old),
          (run) => {
            try {
              this.protect(run);
            } catch (err) {
              if (!(err instanceof KernelError)) throw err;
              // The VMA changed under us: the next tick sees the new layout.
            }
          },
        );
      this.sampleWidened = true;
    } else if (fraction < old) {
      // Blocks leaving the sample: unprotected now, so they cost the target nothing at all
      // (left protected, each of their pages would still fault once).
      for (const p of [...this.registered.values()])
        this.forBlockRuns(
          p,
          (b) => blockSampled(b, old) && !blockSampled(b, fraction),
          (run) => this.unprotect(run),
        );
    }
    this.sampleFractionValue = fraction;
  }

  private piecesIn(range?: PageRange): Piece[] {
    const all = [...this.registered.values()].sort((a, b) => a.startPage - b.startPage);
    if (!range) return all;
    const out: Piece[] = [];
    for (const p of all) {
      const s = Math.max(p.startPage, range.startPage);
      const e = Math.min(p.endPage, range.endPage);
      if (s < e) out.push({ ...p, startPage: s, endPage: e });
    }
    return out;
  }

  /**
   * GetWriteWatch: the written pages of `range` (watched parts only) into `out` (cleared first),
   * in address order. With `reset` they are re-protected atomically; with `maxPages` at most that
   * many are returned and the pages past the limit stay marked. Returns the page count.
   */
  getWritten(
    range: PageRange,
    options: { reset: boolean; maxPages?: number },
    out: RegionList,
  ): number {
    this.ensureOpen();
    out.clear();
    const flags = (options.reset ? PM_SCAN_WP_MATCHING : 0) | PM_SCAN_CHECK_WPASYNC;
    const limit = options.maxPages ?? 0;
    let pages = 0;
    for (const p of this.piecesIn(range)) {
      const remaining = limit ? limit - pages : 0;
      pages += this.scan(p, { flags, ...WRITTEN_OPTIONS, maxPages: remaining }, out);
      if (limit && pages >= limit) break;
    }
    return pages;
  }

  /** ResetWriteWatch: forget the writes in `range` (all watched memory when omitted). */
  reset(range?: PageRange): void {
    this.ensureOpen();
    for (const p of this.piecesIn(range)) this.protect(p);
  }

  /** Stops watching `ranges` (everything when omitted): unregisters, which also un-protects. */
  disarm(ranges?: PageRange[]): void {
    if (this.closed || this.endReason) return;
    if (!ranges) {
      for (const p of this.registered.values()) this.unregister(p);
      this.registered.clear();
      this.refused.clear();
      this.ranges = [];
      return;
    }
    const cut = normalizeRanges(ranges);
    for (const [k, p] of [...this.registered]) {
      const inside = piecesOf(
        [
          {
            index: p.vmaIndex,
            startPage: p.startPage,
            endPage: p.endPage,
            kind: p.kind,
            path: p.path,
          } as Vma,
        ],
        cut,
      );
      if (inside.length === 0) continue;
      for (const part of inside) this.unregister(part);
      this.registered.delete(k);
      for (const rest of subtractRanges([p], cut))
        this.registered.set(key(rest), { ...p, ...rest });
    }
    for (const [k, s] of [...this.refused])
      if (!subtractRanges([s], cut).length) this.refused.delete(k);
    this.ranges = subtractRanges(this.ranges, cut);
  }

  private releaseAll(): void {
    if (this.uffd >= 0) {
      closeFd(this.uffd); // the kernel unregisters everything with the last reference
      this.uffd = -1;
    }
    this.registered.clear();
    this.refused.clear();
    try {
      this.backend.close();
    } catch {
      // already closed
    }
    try {
      fs.closeSync(this.memFd);
    } catch {
      // already closed
    }
    if (this.statFd >= 0) {
      fs.closeSync(this.statFd);
      this.statFd = -1;
    }
  }

  /** Unregisters everything and closes the descriptor. Idempotent; never throws. */
  close(): void {
    if (this.closed) return;
    try {
      this.disarm();
    } catch {
      // the target may be gone; closing the descriptor releases everything anyway
    }
    this.closed = true;
    if (!this.endReason) {
      this.endReason = 'the watch was closed';
      this.endKind = 'closed';
      this.releaseAll();
    }
  }
}
