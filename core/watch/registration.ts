/**
 * Registration: which of the target's VMA pieces are registered with the userfaultfd and
 * write-protected, and the ioctls that change it (register, unregister, protect, unprotect).
 *
 * Strategy (KERNEL-NOTES "Write tracking"): UFFDIO_API (WP_ASYNC | WP_UNPOPULATED) once, then
 * UFFDIO_REGISTER in WP mode one VMA piece at a time (a piece is a VMA clipped to the watched
 * ranges; refusals are reported per piece and the rest is kept), then write-protect with
 * PAGEMAP_SCAN(WP_MATCHING | CHECK_WPASYNC). Faults are resolved by the kernel: the target
 * never blocks on us. Pieces are keyed by their page range, so a VMA that moved or was split is
 * a new piece; a piece that overlaps watched ones (a VMA that grew) supersedes them and only its
 * new part is protected, so writes already recorded in the old part are not lost. While
 * sampling (sampling.ts), pieces armed are protected only in the sampled units.
 *
 * A busy process maps and unmaps while we register (postgres's backends, allocators returning
 * memory): the maps we cut pieces from are already stale. A piece whose register or protect
 * fails is looked up in the maps as they are now: gone or different, it "changed" and is not a
 * refusal (the kernel answers EINVAL for a range that became a hole, which would otherwise read
 * as "cannot write-protect this kind of mapping"); still there, it is tried once more (it may
 * have been mapped again meanwhile), and only a second failure is a refusal, except EINVAL: a
 * process that maps and unmaps as fast as it can (testing/churn-writer.c) put a hole under a
 * range between a read of the maps and the next try twice in a row, so an EINVAL is a refusal
 * only after EINVAL_TRIES tries, each with the maps read again still showing the piece (a
 * mapping the kernel really refuses costs those few ioctls once). Nothing starts over:
 * what registered stays registered, arm retries only what changed against the maps read again
 * (a few rounds, within its time), and what still fails, or what arm's time budget did not
 * reach, is pending. arm reads the maps once per round for all the round's failures (after
 * them, so that what it sees is never older than a failure), not once per failure: on a process
 * that churns its mappings a round has dozens of failures, and each read of a few hundred VMAs'
 * maps costs milliseconds of CPU and waits for the process's mmap lock. Each tick registers the pending pieces that are there then, protected whole
 * like arm's (their writes count from then on, never from before), and says what is still
 * pending.
 *
 * EBUSY means another userfaultfd is registered on the range. When the process holds a
 * userfaultfd itself (/proc/PID/fd; ours is closed in it once copied out) the range is its own
 * (refusal 'own-userfaultfd') and never retried: a process that unregisters for a moment (a GC
 * cycle, a lazy restore) must find its range free when it registers again. Otherwise it is
 * another process's, such as a pagescope still exiting (SIGKILLed, its descriptor not closed
 * yet; the range frees a moment later): refusal 'other-userfaultfd', said at once and
 * retried by the ticks on the same path as a pending piece (tick.ts: registered there, then
 * protected whole and counted from then on, and reported as appeared, which clears the
 * refusal): at every tick for BUSY_EVERY_TICK_MS after its first EBUSY, then with gaps
 * doubling from BUSY_FIRST_GAP_MS to BUSY_MAX_GAP_MS (busyDue), so that a process that
 * legitimately keeps its own userfaultfd there costs one UFFDIO_REGISTER per piece every few
 * seconds. A retry is one UFFDIO_REGISTER and no read of the maps: EBUSY is the kernel's
 * answer for a VMA owned by another userfaultfd context, whatever the maps did meanwhile.
 * A held VMA that grows (mremap in place; brk once the other one let go, as the kernel merges
 * only VMAs of one userfaultfd context) is a piece of new bounds: its old refusal goes, and the
 * new piece, over memory that was there all along, takes the pending pieces' way (heldRanges),
 * counted from its registration; as new memory its present pages would all have read as
 * written (measured: the 4 pages a target wrote before the watch, busy-retry.test.ts).
 */
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
import type { PagemapScanBackend } from '../scan/pagemap-scan-backend.ts';
import { RegionList } from '../scan/region-list.ts';
import type { PageRange } from '../scan/scanner.ts';
import { holdsUserfaultfd } from '../proc/processes.ts';
import { refusalSentence, registerRefusal, type Refusal } from './refusal.ts';
import { sampledRuns } from './sampling.ts';
import { TICK_OPTIONS } from './scan-options.ts';
import type { VmaWatchState } from './watch-types.ts';

export interface Piece {
  vmaIndex: number;
  startPage: number;
  endPage: number;
  path: string;
  kind: Vma['kind'];
  /** PROT_NONE: nothing can write it until it is mprotect'ed (then it is registered). */
  noAccess?: boolean;
  /** The VMA as the maps showed it (its bounds and permissions), to tell whether it changed. */
  vmaStartPage?: number;
  vmaEndPage?: number;
  perms?: string;
}

/**
 * A failure that only the maps as they are after it can tell: the piece's mapping changed (then
 * it is retried) or the kernel refuses it (`unsure`, the refusal it would be). Nothing of the
 * piece is registered.
 */
interface Unsure {
  unsure: Refusal;
  stage: 'register' | 'protect';
}

const isUnsure = (r: Refusal | 'changed' | null | Unsure): r is Unsure =>
  r !== null && typeof r === 'object' && 'unsure' in r;

/** Why a piece is pending: its mapping changed under the registration, or the time ran out. */
export type PendingWhy = 'changed' | 'time';

const PENDING_REASON: Record<PendingWhy, string> = {
  changed:
    'the mapping changed while it was being registered (the process is mapping or unmapping); the next tick registers what is there then',
  time: 'not registered yet (the time for registering ran out); the next tick registers it',
};

/**
 * How long one pass of registering may take, ms (arm, or a tick's pending pieces) when the
 * caller asks for a bound: the pieces it does not reach are pending, registered by the next
 * ticks, so the first tick comes soon after the attach even for a process with thousands of
 * VMAs on a loaded machine.
 */
export const REGISTER_BUDGET_MS = 500;

/** EBUSY pieces are retried at every tick for this long after their first EBUSY, ms. */
export const BUSY_EVERY_TICK_MS = 3000;
/** Then with gaps doubling from this, ms ... */
export const BUSY_FIRST_GAP_MS = 500;
/** ... up to this, ms. */
export const BUSY_MAX_GAP_MS = 5000;

/** When an EBUSY piece is retried next (see the top). */
interface BusyRetry {
  sinceMs: number;
  nextMs: number;
  gapMs: number;
}

/** How many times arm retries what changed under it (each against the maps read again). */
const RETRY_ROUNDS = 3;
/** Tries of a piece that fails with EINVAL while the maps still show it (see the top). */
const EINVAL_TRIES = 4;

/** Whether `maps` still hold the VMA `p` was cut from (same permissions and file, covering it). */
function stillMapped(p: Piece, maps: readonly Vma[]): boolean {
  for (const v of maps)
    if (v.startPage <= p.startPage && p.endPage <= v.endPage)
      return v.path === p.path && (p.perms === undefined || v.perms === p.perms);
  return false;
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

export const key = (p: { startPage: number; endPage: number }): string =>
  `${p.startPage}-${p.endPage}`;

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

/**
 * Whether every page of `ranges` lies in `cover` (either in any order): subtractRanges(ranges,
 * cover) is empty, told by one sweep over both merged lists rather than every range of one
 * against every range of the other (a follow's check each tick: hot enough by redis's 15th tick
 * for V8 to spend 16-28 ms optimizing subtractRanges on a helper thread).
 */
export function rangesWithin(ranges: readonly PageRange[], cover: readonly PageRange[]): boolean {
  const a = normalizeRanges(ranges);
  const b = normalizeRanges(cover);
  let j = 0;
  for (const r of a) {
    while (j < b.length && b[j].endPage <= r.startPage) j++;
    // Merged, `cover`'s ranges neither overlap nor touch: one of them holds all of `r`, or none.
    if (j === b.length || b[j].startPage > r.startPage || b[j].endPage < r.endPage) return false;
  }
  return true;
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

/** Whether `xs` are in address order and do not overlap (maps' VMAs, normalized ranges). */
function ordered(xs: readonly PageRange[]): boolean {
  for (let i = 1; i < xs.length; i++) if (xs[i].startPage < xs[i - 1].endPage) return false;
  return true;
}

/**
 * The VMA pieces of `vmas` inside `ranges`: each VMA clipped to each range it overlaps, in VMA
 * order, then range order. Both in address order (the maps are; normalized ranges are): one
 * sweep over the two lists, O(VMAs + ranges + pieces), rather than every VMA against every
 * range (redis: 122 VMAs x ~30 ranges, ~0.5 ms of a tick's 1.7 ms, and hot enough by the
 * second tick for V8 to spend 15-50 ms optimizing it). Lists out of order take the pairwise way.
 */
export function piecesOf(vmas: readonly Vma[], ranges: readonly PageRange[]): Piece[] {
  const out: Piece[] = [];
  const sweep = ordered(vmas) && ordered(ranges);
  let first = 0;
  for (const vma of vmas) {
    if (vma.kind === 'vsyscall') continue;
    // Ranges ending at or before this VMA end before every later one too.
    if (sweep) while (first < ranges.length && ranges[first].endPage <= vma.startPage) first++;
    for (let i = sweep ? first : 0; i < ranges.length; i++) {
      const r = ranges[i];
      if (sweep && r.startPage >= vma.endPage) break;
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
          vmaStartPage: vma.startPage,
          vmaEndPage: vma.endPage,
          perms: vma.perms,
        });
    }
  }
  return out;
}

function refusalOf(errnoValue: number, piece: Piece): Refusal {
  const name = new KernelError('UFFDIO_REGISTER', errnoValue).errnoName;
  return registerRefusal(name, piece.path || piece.kind);
}

/**
 * A tick's pieces when it left nothing to do (tick.ts): every piece the `maps` cut by `ranges`
 * gave was watched or refused, none pending. While the next tick's maps are the same array (the
 * maps reader hands back the previous one when the text did not change: maps.ts MapsReader), the
 * ranges the same array, and the registration the same (`held`: the registered pieces by key,
 * each the same object, and as many refused), cutting the maps again would give the same pieces
 * and the same decisions, so the tick walks `scan` at once.
 */
export interface Settled {
  maps: readonly Vma[];
  ranges: readonly PageRange[];
  /** The registered pieces in address order, as this tick's maps cut them (what the walk reads). */
  scan: Piece[];
  /** Their keys, and the objects the registration holds under them. */
  keys: string[];
  held: Piece[];
  refused: number;
}

/** The registered and refused pieces of one watch, and the ioctls on its userfaultfd. */
export class Registration {
  readonly scratch = new RegionList(256);
  private readonly regArg = new BigUint64Array(new ArrayBuffer(256));
  private apiDone = false;
  /** The ranges asked for (arm), less those given back (disarm). */
  ranges: PageRange[] = [];
  readonly registered = new Map<string, Piece>();
  readonly refused = new Map<string, VmaWatchState>();
  /** Pieces not registered yet, by key (see the top): the next tick registers them. */
  pending = new Map<string, { piece: Piece; why: PendingWhy }>();
  /** Time one pass of registering may take, ms (arm's budgetMs; unbounded unless asked). */
  budgetMs = Infinity;
  /** The retry schedule of refused EBUSY pieces, by key (see the top). */
  private readonly busy = new Map<string, BusyRetry>();
  /** UFFDIO_REGISTER calls made so far (how much the retries cost: tests, diagnostics). */
  registerCalls = 0;
  /** Whether the process held a userfaultfd when last looked (at an EBUSY), and when. */
  private ownUffd: { holds: boolean; atMs: number } | null = null;
  /**
   * What the last tick left settled (tick.ts Settled), reused by the next tick while nothing it
   * was cut from changed; null when that tick left anything to do.
   */
  settled: Settled | null = null;
  /** Ticks that cut the maps into pieces (not reusing the last tick's): tests, diagnostics. */
  mapsCuts = 0;

  constructor(
    private readonly pid: number,
    private uffd: number,
    private readonly backend: PagemapScanBackend,
  ) {}

  state(p: Piece, refusal?: Refusal | null): VmaWatchState {
    return {
      vmaIndex: p.vmaIndex,
      startPage: p.startPage,
      endPage: p.endPage,
      path: p.path,
      status: refusal ? 'refused' : 'watched',
      ...(refusal ? { refusal, reason: refusalSentence(refusal) } : {}),
    };
  }

  pendingState(p: Piece, why: PendingWhy): VmaWatchState {
    return {
      vmaIndex: p.vmaIndex,
      startPage: p.startPage,
      endPage: p.endPage,
      path: p.path,
      status: 'pending',
      reason: PENDING_REASON[why],
    };
  }

  /** The pending pieces' states, in address order. */
  pendingStates(): VmaWatchState[] {
    return [...this.pending.values()]
      .map(({ piece, why }) => this.pendingState(piece, why))
      .sort((a, b) => a.startPage - b.startPage);
  }

  /**
   * Records `k` as refused with `s`. Another process's userfaultfd ('other-userfaultfd') is retried by the
   * ticks (see the top): its schedule starts now, or, refused again, moves on (every tick for
   * BUSY_EVERY_TICK_MS, then gaps doubling to BUSY_MAX_GAP_MS).
   */
  refuse(k: string, s: VmaWatchState, nowMs = performance.now()): void {
    this.refused.set(k, s);
    if (s.refusal?.code !== 'other-userfaultfd') {
      this.busy.delete(k);
      return;
    }
    const b = this.busy.get(k);
    if (!b) this.busy.set(k, { sinceMs: nowMs, nextMs: nowMs, gapMs: 0 });
    else if (nowMs - b.sinceMs < BUSY_EVERY_TICK_MS) b.nextMs = nowMs;
    else {
      b.gapMs = b.gapMs ? Math.min(2 * b.gapMs, BUSY_MAX_GAP_MS) : BUSY_FIRST_GAP_MS;
      b.nextMs = nowMs + b.gapMs;
    }
  }

  /** Forgets the refusal of `k` (watched now, or gone). */
  unrefuse(k: string): void {
    this.refused.delete(k);
    this.busy.delete(k);
  }

  /** Whether the refused piece `k` ('other-userfaultfd') is due for a retry at `nowMs` (see the top). */
  busyDue(k: string, nowMs: number): boolean {
    const b = this.busy.get(k);
    return b !== undefined && nowMs >= b.nextMs;
  }

  /**
   * What the registration leaves settled over `current`, the pieces `maps` cut by the ranges
   * (Settled), or null when a piece of it is neither watched nor refused (pending, dropped by a
   * failed walk or protect), a refusal would be looked at again, or something is registered
   * outside it. A tick, or arm, that leaves it lets the next tick over the same maps skip the
   * cutting (tick.ts).
   */
  settledOver(maps: readonly Vma[], current: readonly Piece[]): Settled | null {
    if (this.pending.size || this.retrying) return null;
    const scan: Piece[] = [];
    const keys: string[] = [];
    const held: Piece[] = [];
    for (const p of current) {
      const k = key(p);
      const refusal = this.refused.get(k);
      if (refusal) {
        if (refusal.refusal?.code === 'no-access' && !p.noAccess) return null;
        continue;
      }
      const h = this.registered.get(k);
      if (!h) return null;
      scan.push(p);
      keys.push(k);
      held.push(h);
    }
    if (held.length !== this.registered.size) return null;
    return { maps, ranges: this.ranges, scan, keys, held, refused: this.refused.size };
  }

  /** Whether a refused piece waits for a retry (another process's userfaultfd: see the top). */
  get retrying(): boolean {
    return this.busy.size > 0;
  }

  /** Whether `p` overlaps a pending piece (then it is registered like arm's, not as new memory). */
  overlapsPending(p: PageRange): boolean {
    for (const { piece } of this.pending.values())
      if (piece.startPage < p.endPage && p.startPage < piece.endPage) return true;
    return false;
  }

  /**
   * The refused pieces that another userfaultfd holds ('other-userfaultfd', 'own-userfaultfd'):
   * memory that was there, unwatched only because of it. A piece of new bounds over them (the
   * held VMA grew: mremap, or brk once it was let go) is registered like a pending piece, its
   * writes counted from then on, not its present pages as written (tick.ts).
   */
  heldRanges(): PageRange[] {
    const out: PageRange[] = [];
    for (const s of this.refused.values()) {
      const code = s.refusal?.code;
      if (code === 'other-userfaultfd' || code === 'own-userfaultfd')
        out.push({ startPage: s.startPage, endPage: s.endPage });
    }
    return out;
  }

  /** The maps now; empty when they cannot be read (the process is gone: everything changed). */
  private mapsNow(): Vma[] {
    try {
      return readMaps(this.pid);
    } catch {
      return [];
    }
  }

  /**
   * UFFDIO_REGISTER of `p`, telling a change of the mapping from a refusal (see the top): null
   * when registered, 'changed' when the mapping is no longer what the maps said, else the refusal.
   */
  registerChecked(p: Piece): Refusal | 'changed' | null {
    const reason = this.register(p);
    if (!reason || reason.code === 'special-mapping' || reason.code === 'no-access') return reason;
    if (reason.code === 'mapping-changed') return 'changed';
    return this.registerAgain(p, this.mapsNow());
  }

  /**
   * After a failed UFFDIO_REGISTER of `p`: 'changed' when `maps` (read after it) no longer show
   * it, else tried again (it may have been mapped again meanwhile); a second failure is a
   * refusal, but EINVAL only after EINVAL_TRIES tries with the maps read again showing the piece
   * before each (see the top).
   */
  private registerAgain(p: Piece, maps: readonly Vma[]): Refusal | 'changed' | null {
    for (let tries = 2; ; tries++) {
      if (!stillMapped(p, maps)) return 'changed';
      const reason = this.register(p);
      if (reason?.code === 'mapping-changed') return 'changed';
      if (reason?.code !== 'unsupported-mapping' || tries >= EINVAL_TRIES) return reason;
      maps = this.mapsNow();
    }
  }

  /**
   * UFFDIO_REGISTER then protectNew of `p`, looking at no maps: null when watched, a refusal
   * that needs no maps to tell ('changed' for ENOMEM or ESRCH), or `unsure` when only the maps
   * as they are now can tell a change from a refusal (the piece was left unregistered). arm
   * settles the unsure ones of a round with one read of the maps (see the top).
   */
  private attempt(p: Piece, fraction: number): Refusal | 'changed' | null | Unsure {
    const reason = this.register(p);
    if (reason) {
      if (reason.code === 'mapping-changed') return 'changed';
      if (reason.code === 'special-mapping' || reason.code === 'no-access') return reason;
      return { unsure: reason, stage: 'register' };
    }
    return this.protectDeferred(p, fraction);
  }

  /**
   * Write-protects a piece just registered, whole (its writes count from now), except the parts
   * of watched pieces it supersedes (a VMA that grew: their recorded writes stay); at a sample
   * `fraction` < 1 only its sampled units. On failure it is unregistered again: 'changed' when
   * its mapping changed (the maps, read now, tell), else the refusal.
   */
  protectNew(p: Piece, fraction: number): Refusal | 'changed' | null {
    const r = this.protectDeferred(p, fraction);
    if (!isUnsure(r)) return r;
    return stillMapped(p, this.mapsNow()) ? r.unsure : 'changed';
  }

  /**
   * protectNew without reading the maps: a failure only they can tell from a refusal is
   * `unsure` (the caller reads them once for many, see attempt()).
   */
  private protectDeferred(p: Piece, fraction: number): Refusal | 'changed' | null | Unsure {
    const old: PageRange[] = [];
    for (const [ok, op] of [...this.registered])
      if (op.startPage < p.endPage && p.startPage < op.endPage) {
        old.push(op);
        this.registered.delete(ok);
      }
    try {
      // Sampling: only the sampled units are protected (the arm's pass costs the target
      // in proportion to what it protects: TLB flushes, and a fault at each protected page
      // it writes before the unsampled rest would have been unprotected).
      for (const part of subtractRanges([p], old))
        for (const run of sampledRuns({ ...p, ...part }, fraction)) this.protect({ ...p, ...run });
    } catch (err) {
      this.unregister(p);
      // ESRCH: the address space is gone under us (the process executed another program or
      // exited); else a mapping that changed since the maps were read. Not refusals.
      if (err instanceof KernelError && err.errnoName === 'ESRCH') return 'changed';
      return {
        unsure: { code: 'protect-failed', detail: (err as Error).message },
        stage: 'protect',
      };
    }
    this.registered.set(key(p), p);
    return null;
  }

  ensureApi(): void {
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
  register(p: Piece): Refusal | null {
    if (p.kind === 'vdso' || p.kind === 'vvar' || p.kind === 'vsyscall')
      return { code: 'special-mapping', detail: p.path };
    if (p.noAccess) return { code: 'no-access' };
    const a = this.regArg;
    a[0] = BigInt(p.startPage) << 12n;
    a[1] = BigInt(p.endPage - p.startPage) << 12n;
    a[2] = BigInt(UFFDIO_REGISTER_MODE_WP);
    a[3] = 0n;
    this.registerCalls++;
    if (ioctl(this.uffd, UFFDIO_REGISTER, a.subarray(0, 4)) >= 0) return null;
    const r = refusalOf(errno(), p);
    return r.code === 'own-userfaultfd' && !this.holdsUserfaultfd()
      ? { code: 'other-userfaultfd' }
      : r;
  }

  /**
   * Whether the process holds a userfaultfd of its own (EBUSY: its range, or another process's;
   * see the top), looked at again at most every BUSY_MAX_GAP_MS: a table of thousands of
   * descriptors costs milliseconds to read, and the retries come every tick for a while.
   */
  private holdsUserfaultfd(nowMs = performance.now()): boolean {
    if (!this.ownUffd || nowMs - this.ownUffd.atMs >= BUSY_MAX_GAP_MS)
      this.ownUffd = { holds: holdsUserfaultfd(this.pid), atMs: nowMs };
    return this.ownUffd.holds;
  }

  unregister(p: PageRange): void {
    const a = this.regArg;
    a[0] = BigInt(p.startPage) << 12n;
    a[1] = BigInt(p.endPage - p.startPage) << 12n;
    ioctl(this.uffd, UFFDIO_UNREGISTER, a.subarray(0, 2)); // best effort: the VMA may be gone
  }

  /** UFFDIO_WRITEPROTECT(mode 0): the range's pages stop faulting (best effort). */
  unprotect(p: PageRange): void {
    const a = this.regArg;
    a[0] = BigInt(p.startPage) << 12n;
    a[1] = BigInt(p.endPage - p.startPage) << 12n;
    a[2] = 0n;
    ioctl(this.uffd, UFFDIO_WRITEPROTECT, a.subarray(0, 3)); // the VMA may be gone: no matter
  }

  scan(p: Piece, options: ScanOptions, out: RegionList): number {
    return this.backend.scanRange(p.startPage, p.endPage, p.vmaIndex, options, out).pages;
  }

  /** get+reset of the contiguous pieces run[from..to) in one walk; each region keeps its VMA. */
  scanRun(run: readonly Piece[], from: number, to: number, out: RegionList): number {
    const ends: number[] = [];
    const vmaIndices: number[] = [];
    for (let i = from; i < to; i++) {
      ends.push(run[i].endPage);
      vmaIndices.push(run[i].vmaIndex);
    }
    return this.backend.scanPieces(run[from].startPage, ends, vmaIndices, TICK_OPTIONS, out).pages;
  }

  /** Write-protects every page of a registered piece that is not protected (discarding output). */
  protect(p: Piece): void {
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
   * Registers each VMA piece inside `ranges` (refusals are reported, the rest is kept) and
   * write-protects it; at a sample `fraction` < 1 only its sampled units (sampling.ts). `vmas`:
   * the maps as the caller read them (else read here). `budgetMs` bounds this pass and every
   * tick's registering of pending pieces from now on (see the top). Pieces whose mapping changed
   * are retried against the maps read again (RETRY_ROUNDS); what still fails, or what the budget did not
   * reach (largest pieces first), is returned as 'pending'. The states are in address order.
   */
  arm(
    ranges: PageRange[],
    fraction: number,
    options: { vmas?: readonly Vma[]; budgetMs?: number } = {},
  ): VmaWatchState[] {
    this.ensureApi();
    const wanted = normalizeRanges(ranges);
    if (wanted.length === 0) throw new PagescopeError('No range to watch was given.', 'bad-range');
    if (options.budgetMs !== undefined) this.budgetMs = options.budgetMs;
    const vmas = options.vmas ?? readMaps(this.pid);
    const deadline = performance.now() + this.budgetMs;
    let tried = 0; // the first piece is always tried: every pass gets somewhere
    const states: VmaWatchState[] = [];
    const changed: Piece[] = [];
    const unsure: Array<{ p: Piece; u: Unsure; retry: boolean }> = [];
    const one = (p: Piece, retry: boolean): void => {
      const k = key(p);
      if (tried++ > 0 && performance.now() > deadline) {
        this.pending.set(k, { piece: p, why: 'time' });
        states.push(this.pendingState(p, 'time'));
        return;
      }
      const r = this.attempt(p, fraction);
      if (isUnsure(r)) unsure.push({ p, u: r, retry });
      else settle(p, r, retry);
    };
    const settle = (p: Piece, r: Refusal | 'changed' | null, retry: boolean): void => {
      const k = key(p);
      if (r === 'changed') {
        if (retry) changed.push(p);
        else {
          this.pending.set(k, { piece: p, why: 'changed' });
          states.push(this.pendingState(p, 'changed'));
        }
        return;
      }
      this.pending.delete(k);
      const st = this.state(p, r);
      if (r) this.refuse(k, st);
      states.push(st);
    };
    // The largest first: when the time runs out, most of the memory is registered (a busy
    // process's churn is small mappings; its heap, arenas and shared buffers are large).
    const bySize = piecesOf(vmas, wanted).sort(
      (a, b) => b.endPage - b.startPage - (a.endPage - a.startPage) || a.startPage - b.startPage,
    );
    // The round's failures that only the maps can tell, told by one read of them made after
    // them all: gone or different, changed; still there, tried once more (it may have been
    // mapped again meanwhile), a second failure being a refusal. Returns the maps read.
    const settleUnsure = (): Vma[] | null => {
      if (!unsure.length) return null;
      const now = this.mapsNow();
      for (const { p, u, retry } of unsure.splice(0)) {
        if (!stillMapped(p, now)) settle(p, 'changed', retry);
        else if (u.stage === 'protect') settle(p, u.unsure, retry);
        else {
          const again = this.registerAgain(p, now);
          settle(p, again ?? this.protectNew(p, fraction), retry);
        }
      }
      return now;
    };
    for (const p of bySize) {
      const k = key(p);
      if (this.registered.has(k)) states.push(this.state(p));
      else if (this.refused.has(k)) states.push(this.refused.get(k)!);
      else one(p, true);
    }
    let now = settleUnsure();
    // Only what changed, as it is now (a range that became a hole has nothing to retry): up to
    // RETRY_ROUNDS times within the time allowed, then pending. The maps read to settle the
    // round serve to cut the next one (they were read after every failure of the round).
    for (let round = 1; changed.length && round <= RETRY_ROUNDS; round++) {
      const again = normalizeRanges(changed.splice(0));
      for (const p of piecesOf(now ?? this.mapsNow(), again)) {
        const k = key(p);
        if (!this.registered.has(k) && !this.refused.has(k)) one(p, round < RETRY_ROUNDS);
      }
      now = settleUnsure();
    }
    this.ranges = normalizeRanges([...this.ranges, ...wanted]);
    // All of it watched or refused over the maps read: the first tick over the same maps (the
    // same array, from the reader the ticks use) need not cut them again (tick.ts).
    this.settled = this.settledOver(vmas, piecesOf(vmas, this.ranges));
    return states.sort((a, b) => a.startPage - b.startPage);
  }

  /** The registered pieces in address order, clipped to `range` when given. */
  piecesIn(range?: PageRange): Piece[] {
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

  /** Stops watching `ranges` (everything when omitted): unregisters, which also un-protects. */
  disarm(ranges?: PageRange[]): void {
    if (!ranges) {
      for (const p of this.registered.values()) this.unregister(p);
      this.registered.clear();
      this.refused.clear();
      this.busy.clear();
      this.pending.clear();
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
    for (const [k, s] of [...this.refused]) if (!subtractRanges([s], cut).length) this.unrefuse(k);
    for (const [k, { piece }] of [...this.pending])
      if (!subtractRanges([piece], cut).length) this.pending.delete(k);
    this.ranges = subtractRanges(this.ranges, cut);
  }

  /** Closes the descriptor (the kernel unregisters everything with the last reference). */
  release(): void {
    if (this.uffd >= 0) {
      closeFd(this.uffd); // the kernel unregisters everything with the last reference
      this.uffd = -1;
    }
    this.registered.clear();
    this.refused.clear();
    this.busy.clear();
    this.pending.clear();
  }
}
