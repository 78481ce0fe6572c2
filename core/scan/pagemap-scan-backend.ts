/**
 * The PAGEMAP_SCAN backend: one ioctl per chunk of regions on /proc/PID/pagemap.
 *
 * Strategy: the pm_scan_arg and the output vector are allocated once per backend and reused for
 * every call. The vector is an off-heap ArrayBuffer whose address goes into `arg.vec`, so the
 * kernel writes regions straight into memory JS reads through a Uint32Array view: no copies and
 * no BigInt per region. When the vector fills (or max_pages is reached), the kernel sets
 * `walk_end` and the walk continues from there; the decode merges the seam (RegionList.push's
 * rule). The decode loops are branch-free where V8 would otherwise deoptimize them mid-walk.
 *
 * A big walk started cold (`pagescope scan`, scanRangeAsync) runs the kernel's side on libuv's
 * thread pool, one chunk ahead of the decoding, in two vectors of its own; it goes back to this
 * thread when the hand-offs cost more than they save (a busy machine). Every other caller (the
 * watcher's ticks, sessions) walks on its own thread (scanRange, scanPieces).
 */
import { KernelError } from '../kernel/errors.ts';
import {
  addressOf,
  closeFd,
  ioctl,
  ioctlAsync,
  openFile,
  O_RDONLY,
  threadCpuUs,
} from '../kernel/libc.ts';
import {
  ALL_CATEGORIES,
  PAGE_REGION_SIZE,
  PAGE_SHIFT,
  PAGEMAP_SCAN,
  PM_SCAN_ARG_SIZE,
  PmScanArg,
} from '../kernel/pagemap-abi.ts';
import type { RangeResult, ScanBackend, ScanOptions } from './backend.ts';
import { adviseHugeRest } from './huge-arrays.ts';
import type { RegionList } from './region-list.ts';
import type { CategorySums } from './summary.ts';

/** 2^32 / 4096: converts the high word of an address into pages. */
const HI_PAGES = 2 ** (32 - PAGE_SHIFT);

export class PagemapScanBackend implements ScanBackend {
  readonly name = 'scan' as const;
  readonly visibleCategories: number;
  /** -1 once closed. */
  private fd: number;
  private readonly arg = new BigUint64Array(new ArrayBuffer(PM_SCAN_ARG_SIZE));
  private readonly vec: BigUint64Array;
  private readonly vecWords: Uint32Array;
  private readonly vecLen: number;
  /**
   * scanRangeAsync's vectors and pm_scan_arg (pipeline()): made up front by Scanner.scanAsync
   * (before its region arrays), else by the first scanRangeAsync walk past one vector.
   */
  private pipe: Pipe | null = null;
  private readonly pipeVecLen: number;
  private readonly syncFirst: boolean;
  private readonly poolCalls: number;
  private readonly clocks: FallbackClocks;
  /** An async walk is under way (its ioctl may be running on another thread). */
  private walking = false;
  /** close() was called during an async walk: the descriptor is closed when it ends. */
  private closeWhenIdle = false;

  constructor(
    readonly pid: number,
    options: {
      vecLen?: number;
      supportedCategories?: number;
      fd?: number;
      /** Regions per vector of scanRangeAsync's pipeline (default PIPE_VEC_LEN). */
      pipeVecLen?: number;
      /**
       * scanRangeAsync's first ioctl of a range on this thread (default true): a range that fits
       * one vector then costs no hand-off. False for tests of the asynchronous calls alone.
       */
      syncFirst?: boolean;
      /** At most this many calls on the pool per range, the rest on this thread (tests). */
      poolCalls?: number;
      /** The two clocks of scanRangeAsync's rule for leaving the pool (tests; see SYNC_AFTER). */
      clocks?: FallbackClocks;
    } = {},
  ) {
    this.vecLen = options.vecLen ?? 4096;
    this.pipeVecLen = options.pipeVecLen ?? PIPE_VEC_LEN;
    this.syncFirst = options.syncFirst ?? true;
    this.poolCalls = options.poolCalls ?? Infinity;
    this.clocks = options.clocks ?? REAL_CLOCKS;
    this.visibleCategories = options.supportedCategories ?? ALL_CATEGORIES;
    const buffer = new ArrayBuffer(Math.max(this.vecLen * PAGE_REGION_SIZE, 256));
    this.vec = new BigUint64Array(buffer);
    this.vecWords = new Uint32Array(buffer);
    this.fd = options.fd ?? openFile(`/proc/${pid}/pagemap`, O_RDONLY, { pid });
    this.arg[PmScanArg.size] = BigInt(PM_SCAN_ARG_SIZE);
    this.arg[PmScanArg.vec] = addressOf(this.vec);
    this.arg[PmScanArg.vecLen] = BigInt(this.vecLen);
  }

  /** The descriptor, for callers that issue their own PAGEMAP_SCAN (write-protect only). */
  get pagemapFd(): number {
    return this.fd;
  }

  scanRange(
    startPage: number,
    endPage: number,
    vmaIndex: number,
    options: ScanOptions,
    out: RegionList,
    sums?: CategorySums,
  ): RangeResult {
    return this.walk(startPage, endPage, vmaIndex, null, null, options, out, null, sums ?? null);
  }

  /**
   * One walk over pieces in address order: piece k ends at ends[k] and lies in VMA
   * `vmaIndices[k]`; the walk starts at `startPage` (piece 0's start). One chain of ioctls
   * instead of one per piece (the write watcher's tick over many watched VMAs). Pieces may be
   * separated by unmapped gaps (no region lies there); a region is given to the first piece
   * ending after its start. The kernel merges equal regions across a VMA boundary; such a
   * region is split here, so every region still carries its own VMA index. `ends` must be
   * strictly increasing. With `starts` (piece k begins at starts[k]), whatever the walk finds
   * in a gap between pieces is dropped: a mapping made after the caller read the maps, which
   * a walk per piece would not have seen either.
   */
  scanPieces(
    startPage: number,
    ends: ArrayLike<number>,
    vmaIndices: ArrayLike<number>,
    options: ScanOptions,
    out: RegionList,
    starts?: ArrayLike<number>,
  ): RangeResult {
    return this.walk(startPage, ends[ends.length - 1], -1, ends, vmaIndices, options, out, starts);
  }

  private walk(
    startPage: number,
    endPage: number,
    vmaIndex: number,
    ends: ArrayLike<number> | null,
    vmaIndices: ArrayLike<number> | null,
    options: ScanOptions,
    out: RegionList,
    starts: ArrayLike<number> | null = null,
    sums: CategorySums | null = null,
  ): RangeResult {
    const arg = this.arg;
    this.setQuery(arg, endPage, options);
    const maxPages = options.maxPages ?? 0;
    const words = this.vecWords;
    let pages = 0;
    let cursor = startPage;
    const pieceAt = { piece: 0 }; // with `ends`: the piece holding the current region's start
    while (cursor < endPage) {
      arg[PmScanArg.start] = BigInt(cursor) << 12n;
      arg[PmScanArg.maxPages] = BigInt(maxPages ? maxPages - pages : 0);
      const n = ioctl(this.fd, PAGEMAP_SCAN, arg);
      if (n < 0) throw KernelError.fromErrno('PAGEMAP_SCAN', { pid: this.pid });
      // Decoding is in small functions of their own: inlined in this loop, V8's code for it ran
      // ~15x slower (measured: 5.6 ms against 0.35 ms for 65,536 regions).
      if (n > 0) {
        // A walk that turns out big: the rest of the arrays in 2 MiB pages (huge-arrays.ts),
        // asked before the regions that pass `hugeAt` are written.
        if (out.length + n >= out.hugeAt) adviseHugeRest(out);
        pages +=
          ends === null
            ? sums === null
              ? decodeRegions(words, n, vmaIndex, out)
              : decodeRegionsSummed(words, n, vmaIndex, out, sums)
            : decodePieceRegions(words, n, ends, vmaIndices!, pieceAt, out, starts);
      }
      if (maxPages && pages >= maxPages) {
        // Stopped by max_pages: the walk ends where the kernel stopped.
        cursor = stoppedAt(n, arg, words, cursor);
        break;
      }
      const next = nextChunkStart(n, this.vecLen, arg, words, cursor, endPage);
      if (next < 0) break;
      cursor = next;
    }
    return { pages, walkEndPage: Math.min(cursor, endPage) };
  }

  /**
   * scanRange with the kernel's walk beside the decoding (for a big walk started cold: `pagescope
   * scan`). After the first ioctl (on this thread: a range that fits one vector costs nothing
   * more), each next ioctl runs on libuv's thread pool into one of two vectors of pipeVecLen
   * regions while this thread decodes the previous vector into `out`; the next is asked as soon
   * as the previous one's end is known, before its regions are decoded. The chunks are the same
   * kind of chunks scanRange walks (a vector of regions, continued after its last), decoded in
   * walk order, so `out`, `sums` and the result are scanRange's. With maxPages (each ioctl's
   * bound depends on the pages decoded before it), or a backend already in an async walk, it is
   * scanRange. Errors are scanRange's (KernelError with the failing call's errno). Until the
   * promise settles the backend must not be closed for good (close() waits for the walk's end).
   */
  async scanRangeAsync(
    startPage: number,
    endPage: number,
    vmaIndex: number,
    options: ScanOptions,
    out: RegionList,
    sums?: CategorySums,
  ): Promise<RangeResult> {
    if (options.maxPages || this.walking || this.fd < 0 || startPage >= endPage)
      return this.scanRange(startPage, endPage, vmaIndex, options, out, sums);
    this.walking = true;
    let pending: Promise<{ result: number; errno: number }> | null = null;
    try {
      const sumsOrNull = sums ?? null;
      let pages = 0;
      let cursor = startPage;
      let words = this.vecWords;
      let callArg: BigUint64Array = this.arg; // the pm_scan_arg of the call that filled `words`
      let n: number;
      let len: number;
      // What the calls on the pool cost this thread in waiting (wall time), against what the
      // same chunks would have cost it in the kernel (the first call's CPU time per region):
      // see SYNC_AFTER. The clocks are this.clocks (real ones but in tests).
      let msPerRegion = NaN;
      let waited = 0;
      let wouldWalk = 0;
      let calls = 0;
      let onThisThread = false;
      if (this.syncFirst) {
        this.setQuery(this.arg, endPage, options);
        this.arg[PmScanArg.start] = BigInt(cursor) << 12n;
        this.arg[PmScanArg.maxPages] = 0n;
        // By this thread's CPU clock: a call preempted by a busy machine is not slower work.
        const t0 = this.clocks.threadCpuUs();
        n = ioctl(this.fd, PAGEMAP_SCAN, this.arg);
        // errno first: the clock is an FFI call too, which may set it.
        if (n < 0) throw KernelError.fromErrno('PAGEMAP_SCAN', { pid: this.pid });
        msPerRegion = (this.clocks.threadCpuUs() - t0) / 1000 / n;
        len = this.vecLen;
        if (n < len) {
          // One vector held the whole range: as scanRange.
          pages = n > 0 ? this.decodeInto(words, n, vmaIndex, out, sumsOrNull) : 0;
          return { pages, walkEndPage: endPage };
        }
      } else {
        n = -1;
        len = 0;
      }
      const pipe = this.pipeline();
      this.setQuery(pipe.arg, endPage, options);
      let slot = 0;
      for (;;) {
        // The next chunk's start, from what this one returned (n = -1: nothing walked yet; next
        // = -1: nothing more to find), by scanRange's rule (nextChunkStart).
        const next = n < 0 ? cursor : nextChunkStart(n, len, callArg, words, cursor, endPage);
        const more = next >= 0 && next < endPage;
        if (more && !onThisThread) {
          pipe.arg[PmScanArg.start] = BigInt(next) << 12n;
          pipe.arg[PmScanArg.vec] = pipe.addresses[slot];
          pending = ioctlAsync(this.fd, PAGEMAP_SCAN, pipe.argAddress);
        }
        // Meanwhile, this chunk's regions (its vector is not the one the kernel writes now).
        if (n > 0) pages += this.decodeInto(words, n, vmaIndex, out, sumsOrNull);
        if (next >= 0) cursor = next;
        if (pending === null) {
          if (more) {
            // The rest on this thread, as scanRange walks it (this.arg and this.vec are free).
            const rest = this.walk(
              cursor,
              endPage,
              vmaIndex,
              null,
              null,
              options,
              out,
              null,
              sumsOrNull,
            );
            pages += rest.pages;
            cursor = rest.walkEndPage;
          }
          break;
        }
        const w0 = this.clocks.wallMs();
        const r = await pending;
        waited += this.clocks.wallMs() - w0;
        pending = null;
        if (r.result < 0) throw new KernelError('PAGEMAP_SCAN', r.errno, { pid: this.pid });
        n = r.result;
        len = this.pipeVecLen;
        words = pipe.words[slot];
        callArg = pipe.arg;
        slot ^= 1;
        wouldWalk += n * msPerRegion;
        calls++;
        if ((calls >= SYNC_AFTER && waited > wouldWalk) || calls >= this.poolCalls)
          onThisThread = true;
      }
      return { pages, walkEndPage: Math.min(cursor, endPage) };
    } finally {
      // A call still running (the decode threw) writes into our buffers and uses the fd: wait.
      if (pending) await pending.catch(() => undefined);
      this.walking = false;
      if (this.closeWhenIdle) this.close();
    }
  }

  /** Appends `n` regions of a vector to `out` (and `sums`), huge pages asked first when due. */
  private decodeInto(
    words: Uint32Array,
    n: number,
    vmaIndex: number,
    out: RegionList,
    sums: CategorySums | null,
  ): number {
    if (out.length + n >= out.hugeAt) adviseHugeRest(out);
    return sums === null
      ? decodeRegions(words, n, vmaIndex, out)
      : decodeRegionsSummed(words, n, vmaIndex, out, sums);
  }

  /**
   * The buffers of scanRangeAsync's calls (made once). Scanner.scanAsync makes them before the
   * region arrays: made after ~50 MiB of those, their allocation set off V8's scavenges for
   * "external memory pressure" (0.5-1 ms each, two per cold scan).
   */
  pipeline(): Pipe {
    if (this.pipe) return this.pipe;
    // Off-heap buffers (never moved by V8) whose addresses the calls on other threads use.
    const argBuffer = new ArrayBuffer(256);
    const arg = new BigUint64Array(argBuffer, 0, PM_SCAN_ARG_SIZE / 8);
    arg[PmScanArg.size] = BigInt(PM_SCAN_ARG_SIZE);
    arg[PmScanArg.vecLen] = BigInt(this.pipeVecLen);
    const words: Uint32Array[] = [];
    const addresses: bigint[] = [];
    for (let k = 0; k < 2; k++) {
      const buffer = new ArrayBuffer(Math.max(this.pipeVecLen * PAGE_REGION_SIZE, 256));
      words.push(new Uint32Array(buffer));
      addresses.push(addressOf(words[k]));
    }
    this.pipe = { arg, argAddress: addressOf(arg), words, addresses };
    return this.pipe;
  }

  /** The query part of a pm_scan_arg (all but start, vec and max_pages). */
  private setQuery(arg: BigUint64Array, endPage: number, options: ScanOptions): void {
    arg[PmScanArg.flags] = BigInt(options.flags ?? 0);
    arg[PmScanArg.end] = BigInt(endPage) << 12n;
    arg[PmScanArg.categoryInverted] = BigInt(options.categoryInverted ?? 0);
    arg[PmScanArg.categoryMask] = BigInt(options.categoryMask ?? 0);
    arg[PmScanArg.categoryAnyofMask] = BigInt(options.categoryAnyofMask ?? 0);
    arg[PmScanArg.returnMask] = BigInt(options.returnMask ?? this.visibleCategories);
    arg[PmScanArg.maxPages] = 0n;
  }

  /**
   * Idempotent: a descriptor number is closed once. Closed again, it may be another thread's
   * by then (fds are per process; every session worker and the main thread open some): the
   * exporter died by SIGABRT when a second close took its main thread's open file.
   */
  close(): void {
    if (this.fd < 0) return;
    // An ioctl on another thread may still use the number: closed when the walk ends.
    if (this.walking) {
      this.closeWhenIdle = true;
      return;
    }
    const fd = this.fd;
    this.fd = -1;
    closeFd(fd);
  }
}

/**
 * Regions per vector of scanRangeAsync's calls on the thread pool: each call costs a hand-off
 * each way, so fewer, bigger chunks (each vector is 768 KiB; measured 8Ki-64Ki at real-time
 * priority: 1.10x, 1.05x, 1.01x, 1.03x of C).
 */
const PIPE_VEC_LEN = 1 << 15;

/**
 * After this many calls on the pool, a walk whose waits for them add up to more than the same
 * chunks would have taken on this thread (measured by its first call) goes on with scanRange's
 * calls on this thread. Each call costs two thread wake-ups; on a quiet machine that is tens of
 * microseconds and the walk beside the decoding wins (bench 1d: 1.32x -> 1.05x of C, median of
 * 16 with the scans at real-time priority), but with every core busy each wake-up waits for the
 * scheduler (load 5-6 on 2 cores: 1.47x on this thread, 1.59-1.66x on the pool).
 */
export const SYNC_AFTER = 2;

/** What the rule of SYNC_AFTER measures: this thread's CPU time (µs) and wall time (ms). */
export interface FallbackClocks {
  threadCpuUs(): number;
  wallMs(): number;
}

const REAL_CLOCKS: FallbackClocks = { threadCpuUs, wallMs: () => performance.now() };

interface Pipe {
  /** pm_scan_arg of the calls on the thread pool, and its address. */
  arg: BigUint64Array;
  argAddress: bigint;
  /** The two vectors (as 32-bit words) and their addresses. */
  words: Uint32Array[];
  addresses: bigint[];
}

/**
 * Where a walk of [.., endPage) goes on after a call that started at `cursor` and returned `n`
 * regions into `words`, a vector of `len` (its pm_scan_arg: `arg`): `endPage` when the range is
 * walked, -1 when the walk made no progress (nothing more to find), else the next call's start.
 * The one place that decides when walk_end is trusted (scanRange's and scanRangeAsync's walks).
 *
 * The kernel stops early only when the vector is full or max_pages is reached, so a call that
 * returned fewer regions than vec_len walked the whole range. walk_end is not trusted then:
 * measured on 6.18, after the kernel's internal 512-region buffer was flushed once, a walk that
 * completes leaves walk_end at that flush point, not at `end` (pagemap-scan-backend.test.ts).
 * Continuing from there would report regions twice. After a full vector the walk continues
 * after its last region (walk_end equals it; the max guards against a stale walk_end ever
 * moving it backwards).
 */
function nextChunkStart(
  n: number,
  len: number,
  arg: BigUint64Array,
  words: Uint32Array,
  cursor: number,
  endPage: number,
): number {
  if (n < len) return endPage;
  const next = stoppedAt(n, arg, words, cursor);
  return next > cursor ? next : -1;
}

/**
 * Where a call that the kernel stopped early (a full vector, or max_pages reached) stopped: its
 * walk_end, or its last region's end if that is further (only then is walk_end read).
 */
function stoppedAt(n: number, arg: BigUint64Array, words: Uint32Array, cursor: number): number {
  const lastEnd = n > 0 ? endPageAt(words, n - 1) : cursor;
  return Math.max(Number(arg[PmScanArg.walkEnd] >> 12n), lastEnd);
}

/** End page of region `i` of a page_region vector read as 32-bit words. */
function endPageAt(words: Uint32Array, i: number): number {
  return words[i * 6 + 3] * HI_PAGES + (words[i * 6 + 2] >>> PAGE_SHIFT);
}

/**
 * Appends the `n` regions of the vector to `out`, all in VMA `vmaIndex`; returns their pages.
 * Straight into the RegionList's arrays with a local cursor: room for every region is made
 * once, so the loop has no grow check and no property reads per region. Merging is
 * RegionList.push's rule: extend the last region when it ends where this one starts with equal
 * categories and VMA (the seam between two chunks of one walk). Branch-free, the last region in
 * locals: a merge rewrites the last slot with its own start. With the merge as a branch, the
 * optimized loop deoptimized the first time it merged ("insufficient type feedback") and ran
 * unoptimized for the rest of a cold scan: on bench 1d's target, most of its 1M regions.
 */
function decodeRegions(words: Uint32Array, n: number, vmaIndex: number, out: RegionList): number {
  // Not out.reserve(...) itself: inlined here, its loads had no feedback of their own yet when V8
  // optimized this loop early in a cold scan, and that code deoptimized on its next call.
  if (out.startPage.length < out.length + n) out.reserve(out.length + n);
  const sp = out.startPage;
  const ep = out.endPage;
  const cat = out.categories;
  const vi = out.vmaIndex;
  let len = out.length;
  let pages = 0;
  // The last region (none, or one of another VMA: nothing merges with it).
  let lastStart = 0;
  let lastEnd = -1;
  let lastCat = -1;
  if (len > 0 && vi[len - 1] === vmaIndex) {
    lastStart = sp[len - 1];
    lastEnd = ep[len - 1];
    lastCat = cat[len - 1];
  }
  for (let i = 0, w = 0; i < n; i++, w += 6) {
    const s = words[w + 1] * HI_PAGES + (words[w] >>> PAGE_SHIFT);
    const e = words[w + 3] * HI_PAGES + (words[w + 2] >>> PAGE_SHIFT);
    const c = words[w + 4];
    pages += e - s;
    const merge = (s === lastEnd ? 1 : 0) & (c === lastCat ? 1 : 0);
    len -= merge;
    lastStart = merge === 1 ? lastStart : s;
    sp[len] = lastStart;
    ep[len] = e;
    cat[len] = c;
    vi[len] = vmaIndex;
    len++;
    lastEnd = e;
    lastCat = c & 0xffff; // as stored: a word above 16 bits never equals it, as in push
  }
  out.length = len;
  return pages;
}

/**
 * decodeRegions that also sums each region's pages per category word into `sums` (masked as
 * CategorySums.add masks it), for a scan whose summaries then need no pass over the regions.
 * A function of its own, so the loops without sums keep their code.
 */
function decodeRegionsSummed(
  words: Uint32Array,
  n: number,
  vmaIndex: number,
  out: RegionList,
  sums: CategorySums,
): number {
  if (out.startPage.length < out.length + n) out.reserve(out.length + n); // as in decodeRegions
  const sp = out.startPage;
  const ep = out.endPage;
  const cat = out.categories;
  const vi = out.vmaIndex;
  const pend = sums.pend;
  const touched = sums.touched;
  let nTouched = sums.nTouched;
  let len = out.length;
  let pages = 0;
  let lastStart = 0;
  let lastEnd = -1;
  let lastCat = -1;
  if (len > 0 && vi[len - 1] === vmaIndex) {
    lastStart = sp[len - 1];
    lastEnd = ep[len - 1];
    lastCat = cat[len - 1];
  }
  for (let i = 0, w = 0; i < n; i++, w += 6) {
    const s = words[w + 1] * HI_PAGES + (words[w] >>> PAGE_SHIFT);
    const e = words[w + 3] * HI_PAGES + (words[w + 2] >>> PAGE_SHIFT);
    const c = words[w + 4];
    const d = e - s;
    // Branch-free too: a branch first taken after the loop was optimized (a word new to the
    // walk, or the next scan's first region) deoptimized it (no feedback for the increment).
    const k = c & 0x3ff;
    touched[nTouched] = k;
    nTouched += pend[k] === 0 ? 1 : 0;
    pend[k] += d;
    pages += d;
    const merge = (s === lastEnd ? 1 : 0) & (c === lastCat ? 1 : 0);
    len -= merge;
    lastStart = merge === 1 ? lastStart : s;
    sp[len] = lastStart;
    ep[len] = e;
    cat[len] = c;
    vi[len] = vmaIndex;
    len++;
    lastEnd = e;
    lastCat = c & 0xffff;
  }
  out.length = len;
  sums.nTouched = nTouched;
  return pages;
}

/**
 * decodeRegions for a walk over pieces (see scanPieces): each region goes to the piece holding
 * its start (`at.piece`, advanced across calls), and a region the kernel merged across a piece
 * end is cut there, so every region keeps its own VMA index.
 */
function decodePieceRegions(
  words: Uint32Array,
  n: number,
  ends: ArrayLike<number>,
  vmaIndices: ArrayLike<number>,
  at: { piece: number },
  out: RegionList,
  starts: ArrayLike<number> | null = null,
): number {
  const room = out.length + n + ends.length;
  if (out.startPage.length < room) out.reserve(room); // as in decodeRegions
  const sp = out.startPage;
  const ep = out.endPage;
  const cat = out.categories;
  const vi = out.vmaIndex;
  let len = out.length;
  let pages = 0;
  let piece = at.piece;
  for (let i = 0, w = 0; i < n; i++, w += 6) {
    let s = words[w + 1] * HI_PAGES + (words[w] >>> PAGE_SHIFT);
    const e = words[w + 3] * HI_PAGES + (words[w + 2] >>> PAGE_SHIFT);
    const c = words[w + 4];
    if (starts === null) pages += e - s;
    while (ends[piece] <= s) piece++;
    // Each pass emits [s, cut) in the piece holding s: a region the kernel merged across a piece
    // end (rare) is cut there and its rest goes to the next piece.
    for (;;) {
      if (starts !== null) {
        // A part in the gap before this piece (a mapping the caller's maps did not have): drop it.
        if (s < starts[piece]) s = Math.min(e, starts[piece]);
        if (s === e) break;
      }
      const cut = Math.min(e, ends[piece]);
      if (starts !== null) pages += cut - s;
      const v = vmaIndices[piece];
      if (len > 0 && ep[len - 1] === s && cat[len - 1] === c && vi[len - 1] === v) {
        ep[len - 1] = cut;
      } else {
        sp[len] = s;
        ep[len] = cut;
        cat[len] = c;
        vi[len] = v;
        len++;
      }
      if (cut === e) break;
      s = cut;
      piece++;
    }
  }
  out.length = len;
  at.piece = piece;
  return pages;
}
