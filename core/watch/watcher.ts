/**
 * WriteWatcher: which pages a live, unmodified process writes, tick by tick.
 *
 * Strategy (KERNEL-NOTES "Write tracking" and "Another process's memory"): this file is the
 * facade and owns the watch's lifecycle (attached, ended by exit or exec, closed); the work is
 * in four parts, each with its strategy at its top:
 * - attach (uffd-acquire.ts): a userfaultfd made inside the target and handed to us; the only
 *   reference lives in pagescope, so pagescope's death releases everything.
 * - registration (registration.ts): UFFDIO_REGISTER(WP) one VMA piece at a time, write-protect
 *   with PAGEMAP_SCAN; refusals are reported per piece and the rest is kept.
 * - the tick (tick.ts): one PAGEMAP_SCAN walk per run of contiguous watched pieces returns the
 *   pages written since the last tick and re-protects them atomically; VMAs that appear in or
 *   vanish from the watched ranges are followed through the maps.
 * - sampling (sampling.ts): only a hashed sample of 2 MiB blocks re-protected, the rest
 *   extrapolated with a stated error, to bound what being watched costs the target.
 * Exit and exec are detected by probing the mm we registered in (a read of /proc/PID/mem).
 * GetWriteWatch / ResetWriteWatch semantics: `getWritten` with or without reset and with a page
 * limit (pages past the limit stay marked), `reset` of any sub-range.
 *
 * Every method is synchronous and must run on the thread that called `attach` (ptrace rule).
 */
import fs from 'node:fs';
import { PagescopeError } from '../kernel/errors.ts';
import { PM_SCAN_CHECK_WPASYNC, PM_SCAN_WP_MATCHING } from '../kernel/pagemap-abi.ts';
import { MapsReader, type Vma } from '../proc/maps.ts';
import type { PagemapScanBackend } from '../scan/pagemap-scan-backend.ts';
import type { RegionList } from '../scan/region-list.ts';
import type { PageRange } from '../scan/scanner.ts';
import { measureGranularity } from './granularity.ts';
import { readTargetStatus, preflight } from './injector.ts';
import { Registration } from './registration.ts';
import { Sampler } from './sampling.ts';
import { WRITTEN_OPTIONS } from './scan-options.ts';
import { tickPieces, warmTick, type TickContext } from './tick.ts';
import { acquireManyUserfaultfds, acquireUserfaultfd, pickThread } from './uffd-acquire.ts';
import {
  emptyTick,
  type AttachOptions,
  type VmaWatchState,
  type WatchTick,
} from './watch-types.ts';

export type { AttachOptions, VmaWatchState, WatchSample, WatchTick } from './watch-types.ts';
export { NO_ACCESS_REASON, normalizeRanges, rangesWithin, subtractRanges } from './registration.ts';
export {
  blockSampled,
  forSampledUnits,
  ratioEstimate,
  SAMPLE_BLOCK_PAGES,
  sampleUnitPages,
} from './sampling.ts';

export class WriteWatcher {
  /**
   * Observed granularity in pages: measured once per process on a huge page of pagescope's own
   * (see granularity.ts); 1 on Linux 6.18, where the first write splits a protected THP.
   */
  readonly granularityPages: number = measureGranularity().pages;
  private readonly reg: Registration;
  private readonly sampler = new Sampler();
  private readonly tickContext: TickContext;
  private closed = false;
  private endReason: string | null = null;
  private endKind: 'exit' | 'exec' | 'closed' | null = null;
  private armedAt = 0;
  /**
   * /proc/PID/stat kept open for the run state: a pread at offset 0 regenerates it (seq_file),
   * one syscall per tick instead of open+fstat+read+close of /proc/PID/status and a regex pass.
   */
  private statFd = -1;
  private readonly statBuf = Buffer.alloc(64);
  /** The maps a tick reads itself (none handed over), parsed only when they changed. */
  private readonly maps: MapsReader;

  private constructor(
    readonly pid: number,
    uffd: number,
    private readonly probeAddress: bigint,
    private readonly backend: PagemapScanBackend,
    /** -1 once closed. */
    private memFd: number,
    /** How long the attach held the target's thread, ms (stop to release). */
    readonly attachHeldMs: number,
  ) {
    this.reg = new Registration(pid, uffd, backend);
    this.maps = new MapsReader(pid);
    this.tickContext = {
      reg: this.reg,
      sampler: this.sampler,
      backend,
      checkEnded: () => this.checkEnded(),
      endedTick: (result, out) => this.endedTick(result, out),
    };
  }

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

  /**
   * attach() for several running processes at once (a group's members): each checked as by
   * attach(), then one attach helper run for all (uffd-acquire.ts acquireManyUserfaultfds).
   * Each entry is that process's watcher or the error its attach met (that process keeps
   * nothing of us). Same thread rule as attach().
   */
  static attachMany(
    pids: number[],
    options: { force?: boolean } = {},
  ): Array<WriteWatcher | Error> {
    const out: Array<WriteWatcher | Error> = [];
    const go: Array<{ i: number; pid: number; tid: number }> = [];
    pids.forEach((pid, i) => {
      try {
        preflight(pid, options);
        go.push({ i, pid, tid: pickThread(pid) });
      } catch (err) {
        out[i] = err instanceof Error ? err : new Error(String(err));
      }
    });
    const acquired = acquireManyUserfaultfds(go);
    go.forEach(({ i, pid }, k) => {
      const a = acquired[k];
      out[i] =
        a instanceof Error
          ? a
          : new WriteWatcher(pid, a.fd, a.probeAddress, a.backend, a.memFd, a.heldMs);
    });
    return out;
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
    return this.reg.ranges.map((r) => ({ ...r }));
  }

  /** UFFDIO_REGISTER calls made so far (what retrying EBUSY pieces costs, registration.ts). */
  get registerCalls(): number {
    return this.reg.registerCalls;
  }

  /**
   * Ticks that cut the maps into pieces; the others reused the last tick's (tick.ts: the same
   * maps and ranges, nothing left to do). Tests, diagnostics.
   */
  get mapsCuts(): number {
    return this.reg.mapsCuts;
  }

  /** The VMA pieces currently registered. */
  watchedPieces(): VmaWatchState[] {
    return [...this.reg.registered.values()].map((p) => this.reg.state(p));
  }

  private ensureOpen(): void {
    if (this.closed || this.endReason)
      throw new PagescopeError(
        `The write watch of process ${this.pid} has ended${this.endReason ? `: ${this.endReason}` : ''}.`,
        'watch-ended',
      );
  }

  /**
   * Starts watching `ranges`: registers each VMA piece inside them (refusals are reported, the
   * rest is kept) and write-protects it. Writes count from the moment arm returns. A busy
   * process changes its mappings meanwhile: what changed, and what `budgetMs` did not leave time
   * for, comes back 'pending' and is registered by the next ticks (registration.ts). `vmas`: the
   * maps as the caller read them (else read here).
   */
  arm(
    ranges: PageRange[],
    options: { vmas?: readonly Vma[]; budgetMs?: number } = {},
  ): VmaWatchState[] {
    this.ensureOpen();
    // After an exec the VMAs in /proc/PID/maps belong to a new mm our descriptor cannot touch.
    if (this.checkEnded()) return [];
    // Through the reader the ticks use, so that the first tick over the same maps finds them
    // settled (registration.ts Settled).
    const vmas = options.vmas ?? this.maps.read();
    // The tick's code compiled and run once before the target pays for anything (tick.ts).
    warmTick(this.pid, vmas, ranges, this.sampler.fraction);
    const states = this.reg.arm(ranges, this.sampler.fraction, { ...options, vmas });
    this.runState(); // /proc/PID/stat opened for the ticks now
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
    const result = emptyTick();
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
      maps = vmas ?? this.maps.read();
    } catch {
      this.checkEnded();
      result.ended = this.endReason ?? `process ${this.pid} exited`;
      if (!this.endReason) this.finish(result.ended, 'exit');
      result.endedBy = this.endKind ?? 'exit';
      return result;
    }
    const state = this.runState();
    result.targetState = state === 'T' || state === 't' ? 'stopped' : 'running';
    return tickPieces(this.tickContext, maps, out, result);
  }

  private endedTick(result: WatchTick, out: RegionList): WatchTick {
    out.clear();
    result.writtenPages = 0;
    result.faultedPages = 0;
    result.ended = this.endReason ?? 'ended';
    result.endedBy = this.endKind ?? 'exit';
    return result;
  }

  /** The sample fraction in force (1 = exact). */
  get sampleFraction(): number {
    return this.sampler.fraction;
  }

  /**
   * Pages of the watched pieces the sample at `to` holds and the one in force does not: what
   * widening to `to` would protect (sampling.ts Sampler.enteringPagesOf, from the units each piece has
   * listed, which the widening and the ticks after it use in turn).
   */
  enteringPages(to: number): number {
    return this.sampler.enteringPagesOf(this.reg.registered.values(), this.sampler.fraction, to);
  }

  /**
   * Watches a sample of the memory from the next tick on, to bound what being watched costs the
   * target (overhead.ts): with `fraction` < 1 only pages in sampled units (2 MiB blocks, 64 KiB
   * units below 1/32, chosen by a hash of their address, about `fraction` of them: sampling.ts)
   * are re-protected each tick; the others are unprotected. Ticks then report `exact: false` and a
   * `sample` with the extrapolated count and its stated error. 1 goes back to exact counts.
   *
   * Widening the sample (a larger fraction, or 1) write-protects the units that enter it at once;
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
    this.sampler.setFraction(fraction, this.reg);
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
    for (const p of this.reg.piecesIn(range)) {
      const remaining = limit ? limit - pages : 0;
      pages += this.reg.scan(p, { flags, ...WRITTEN_OPTIONS, maxPages: remaining }, out);
      if (limit && pages >= limit) break;
    }
    return pages;
  }

  /** ResetWriteWatch: forget the writes in `range` (all watched memory when omitted). */
  reset(range?: PageRange): void {
    this.ensureOpen();
    for (const p of this.reg.piecesIn(range)) this.reg.protect(p);
  }

  /** Stops watching `ranges` (everything when omitted): unregisters, which also un-protects. */
  disarm(ranges?: PageRange[]): void {
    if (this.closed || this.endReason) return;
    this.reg.disarm(ranges);
  }

  private releaseAll(): void {
    this.reg.release();
    try {
      this.backend.close();
    } catch {
      // already closed
    }
    // Each descriptor closed once: closed again, its number may be another thread's by then.
    if (this.memFd >= 0) {
      const fd = this.memFd;
      this.memFd = -1;
      try {
        fs.closeSync(fd);
      } catch {
        // closing cannot fail but by EIO/EINTR, and the number is released either way
      }
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
