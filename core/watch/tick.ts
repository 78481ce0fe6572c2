/**
 * The tick: one pass over the watched pieces that returns the pages written since the last tick
 * and re-protects them atomically, following VMAs that appear in or vanish from the watched
 * ranges.
 *
 * Strategy (KERNEL-NOTES "Write tracking"): the maps (read each tick, or handed over by the
 * session) are cut into pieces by the watched ranges and compared with the registered ones
 * (over the same maps and ranges as a tick, or an arm, that left nothing to do, its pieces are
 * walked again at once: stillSettled):
 * vanished pieces are dropped, new ones registered (a piece that only continues watched memory
 * under new bounds, as after mprotect or brk, is not reported as appeared). One PAGEMAP_SCAN walk
 * per run of contiguous registered pieces does the get+reset (TICK_OPTIONS, the kernel's fast
 * path); a piece new this tick is read once with FRESH_OPTIONS so that only pages holding data
 * count, and a new file mapping is protected silently (its present pages may only have been
 * read). While sampling, only the sampled blocks are walked (sampling.ts). A piece whose mapping
 * changed under the walk is forgotten (the next tick sees the new layout); exit and exec are
 * left to the watcher's mm probe (`ended`). Pending pieces (registration.ts: changed under their
 * registration, or not reached in the time allowed) are registered here as arm would, protected
 * whole and counted from now, within the same time allowed; what fails again because its mapping
 * changed stays pending, and the tick says which (`pending`).
 * Refused pieces under another process's userfaultfd ('other-userfaultfd': a pagescope still
 * exiting) take the same way when their retry is due (registration.ts busyDue): one
 * UFFDIO_REGISTER; EBUSY again keeps the refusal (or makes it the process's own, never
 * retried, when the process now holds a userfaultfd), success protects the piece whole, counts it
 * from now and reports it as appeared (watched), which clears the refusal in the CLI and UI.
 */
import { KernelError } from '../kernel/errors.ts';
import { Category } from '../kernel/pagemap-abi.ts';
import type { Vma } from '../proc/maps.ts';
import type { PagemapScanBackend } from '../scan/pagemap-scan-backend.ts';
import { RegionList } from '../scan/region-list.ts';
import type { PageRange } from '../scan/scanner.ts';
import {
  key,
  normalizeRanges,
  piecesOf,
  Registration,
  subtractRanges,
  type Piece,
  type Settled,
} from './registration.ts';
import { runsMinus, sampledRuns, Sampler } from './sampling.ts';
import { FRESH_OPTIONS, TICK_OPTIONS } from './scan-options.ts';
import { emptyTick, type WatchTick } from './watch-types.ts';

/** What the tick needs of its watcher. */
export interface TickContext {
  readonly reg: Registration;
  readonly sampler: Sampler;
  readonly backend: PagemapScanBackend;
  /** Whether the watch has ended (exit or exec seen now: the watch is released). */
  checkEnded(): boolean;
  /** `result` as an ended tick (`out` cleared, no pages). */
  endedTick(result: WatchTick, out: RegionList): WatchTick;
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

/**
 * The maps cut into `current` compared with the registration: vanished pieces dropped (into
 * `result.disappeared`), new ones registered (`result.appeared`, the new anonymous ones into
 * `fresh`), pending and due refused ones tried. Returns the pieces to walk, in address order, and
 * what is still pending.
 */
function reconcile(
  ctx: TickContext,
  current: readonly Piece[],
  result: WatchTick,
  fresh: Set<Piece>,
): { toScan: Piece[]; pending: Registration['pending'] } {
  const { reg, sampler } = ctx;
  const currentKeys = new Set(current.map(key));
  const oldUnion = normalizeRanges([...reg.registered.values()]);
  for (const [k, p] of reg.registered) {
    if (!currentKeys.has(k)) {
      result.disappeared.push(reg.state(p));
      reg.registered.delete(k);
    }
  }
  // Read before the refusals of vanished pieces are forgotten: a held VMA that grew is one.
  const held = reg.heldRanges();
  for (const k of [...reg.refused.keys()]) if (!currentKeys.has(k)) reg.unrefuse(k);

  const toScan: Piece[] = [];
  // Pending pieces (registration.ts): what is there now where one was is registered like arm
  // does, within the time allowed; what fails or is not reached stays pending.
  const startedMs = performance.now();
  const deadline = startedMs + reg.budgetMs;
  let tried = 0;
  const pending: Registration['pending'] = new Map();
  for (const p of current) {
    const k = key(p);
    const refusal = reg.refused.get(k);
    // A piece under another process's userfaultfd, due for a retry (registration.ts busyDue),
    // goes the pending pieces' way.
    let busy = false;
    // A whole no-access VMA mprotect'ed in place keeps its range: register it now.
    if (refusal?.refusal?.code === 'no-access' && !p.noAccess) reg.unrefuse(k);
    else if (refusal?.refusal?.code === 'other-userfaultfd' && reg.busyDue(k, startedMs))
      busy = true;
    else if (refusal) continue;
    if (!reg.registered.has(k)) {
      const continuing = covered(p, oldUnion);
      const wasHeld = held.some((h) => h.startPage < p.endPage && p.startPage < h.endPage);
      const wasPending = busy || (!continuing && (wasHeld || reg.overlapsPending(p)));
      if (wasPending && tried++ > 0 && performance.now() > deadline) {
        // Not reached in time: a pending piece stays pending, an EBUSY one refused (still due).
        if (!busy) pending.set(k, { piece: p, why: 'time' });
        continue;
      }
      // A retry is one UFFDIO_REGISTER: EBUSY again needs no maps to tell (registration.ts).
      let reason: ReturnType<Registration['registerChecked']>;
      if (busy) {
        reason = reg.register(p);
        if (reason?.code === 'other-userfaultfd') {
          reg.refuse(k, refusal!, startedMs); // the next retry by its schedule; nothing new
          continue;
        }
        // 'own-userfaultfd' (the process has one now): refused for good, said below.
        if (reason) reason = reg.registerChecked(p); // something else now: told as arm would
      } else reason = reg.registerChecked(p);
      if (reason === 'changed') {
        if (busy) reg.unrefuse(k);
        pending.set(k, { piece: p, why: 'changed' });
        continue;
      }
      if (reason) {
        const s = reg.state(p, reason);
        reg.refuse(k, s);
        result.appeared.push(s);
        continue;
      }
      if (wasPending) {
        // Memory that was there before (arm's, a tick's that changed, or an EBUSY piece's
        // freed now): counted from now.
        if (busy) reg.unrefuse(k);
        const r = reg.protectNew(p, sampler.fraction);
        if (r === 'changed') pending.set(k, { piece: p, why: 'changed' });
        else {
          if (r) reg.refuse(k, reg.state(p, r));
          result.appeared.push(reg.state(p, r));
        }
        continue;
      }
      reg.registered.set(k, p);
      if (!continuing) {
        result.appeared.push(reg.state(p));
        // A new file mapping's present pages may only have been read: protect them silently.
        if (p.kind === 'file') {
          try {
            reg.protect(p);
          } catch {
            reg.registered.delete(k);
          }
          continue;
        }
        fresh.add(p);
      }
    }
    toScan.push(p);
  }
  return { toScan, pending };
}

/**
 * The last tick's settled pieces (registration.ts Settled) when they still hold for `maps`: the
 * same maps and ranges, nothing pending or waiting for a retry, and the registration as that
 * tick left it. Else null: the maps are cut again.
 */
function stillSettled(reg: Registration, maps: readonly Vma[]): Settled | null {
  const s = reg.settled;
  if (!s || s.maps !== maps || s.ranges !== reg.ranges) return null;
  if (reg.pending.size || reg.retrying || reg.refused.size !== s.refused) return null;
  if (reg.registered.size !== s.held.length) return null;
  for (let i = 0; i < s.held.length; i++)
    if (reg.registered.get(s.keys[i]) !== s.held[i]) return null;
  return s;
}

/**
 * The tick over `maps` (the target's maps this tick) into `out` and `result` (fresh, of a live
 * watch whose run state is already set). Over the same maps and ranges as a tick that left
 * nothing to do, that tick's pieces are walked again (stillSettled): cutting the maps and
 * comparing with the registration would only find the same. Else the maps are cut again
 * (reconcile).
 */
export function tickPieces(
  ctx: TickContext,
  maps: readonly Vma[],
  out: RegionList,
  result: WatchTick,
): WatchTick {
  const { reg, sampler } = ctx;
  const reused = stillSettled(reg, maps);
  reg.settled = null;
  /** Pieces registered in this tick that were not watched memory before (see TICK_OPTIONS). */
  const fresh = new Set<Piece>();
  let current: Piece[] | null = null;
  let toScan: Piece[];
  let pending: Registration['pending'] | null = null;
  if (reused) toScan = reused.scan;
  else {
    reg.mapsCuts++;
    current = piecesOf(maps, reg.ranges);
    ({ toScan, pending } = reconcile(ctx, current, result, fresh));
  }
  // Pieces come in address order. A run of registered pieces with nothing else mapped between
  // them is read and reset in one walk: with CHECK_WPASYNC the kernel requires every VMA in
  // the span to be registered, and an unmapped gap has no VMA (the walk skips it). Each call
  // with WP_MATCHING also pays a TLB flush, so with a few hundred watched VMAs (a node
  // process) this halves the kernel time, not only the ioctl count.
  const fraction = sampler.fraction;
  const st = { blocks: 0, pages: 0, m: 0, observed: 0 };
  let freshPages = 0;
  let watchedPages = 0;
  for (const p of toScan) watchedPages += p.endPage - p.startPage;
  for (let i = 0; i < toScan.length;) {
    if (fraction < 1 && !fresh.has(toScan[i])) {
      // Sampled: only the sampled units are read and re-protected (sampling.ts).
      const p = toScan[i++];
      try {
        const seen = sampler.tickSampled(ctx.backend, p, fraction, out, st);
        result.writtenPages += seen;
      } catch (err) {
        reg.registered.delete(key(p));
        if (ctx.checkEnded()) return ctx.endedTick(result, out);
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
        result.writtenPages += reg.scanRun(toScan, i, j, out);
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
          const seen = reg.scratch;
          seen.clear();
          reg.scan(part, FRESH_OPTIONS, seen);
          for (let r = 0; r < seen.length; r++) {
            if ((seen.categories[r] & (Category.PRESENT | Category.PFNZERO)) !== Category.PRESENT)
              continue;
            out.push(seen.startPage[r], seen.endPage[r], Category.WRITTEN, p.vmaIndex);
            result.writtenPages += seen.endPage[r] - seen.startPage[r];
            freshPages += seen.endPage[r] - seen.startPage[r];
          }
          // Sampling: the pass protected the whole new piece; what is outside the sample is
          // unprotected now, so it costs the target no fault (a new arena of a busy allocator).
          if (fraction < 1)
            for (const run of runsMinus([part], sampledRuns(part, fraction)))
              reg.unprotect({ ...p, ...run });
        } else {
          result.writtenPages += reg.scan(part, TICK_OPTIONS, out);
        }
      } catch (err) {
        // The mapping changed under us (munmap + mmap between reading maps and scanning):
        // forget the piece; the next tick sees the new layout.
        reg.registered.delete(key(p));
        if (ctx.checkEnded()) return ctx.endedTick(result, out);
        if (!(err instanceof KernelError)) throw err;
      }
    }
  }
  if (pending) reg.pending = pending;
  result.pending = reg.pendingStates();
  // A VMA split or grown in place (mprotect, brk) is the same memory under new bounds: only
  // what is no longer covered at all has disappeared.
  if (result.disappeared.length) {
    const now = normalizeRanges([...reg.registered.values()]);
    result.disappeared = result.disappeared.filter((d) => !covered(d, now));
  }
  result.faultedPages = result.writtenPages - freshPages;
  sampler.finishTick(result, st, watchedPages);
  reg.settled = reused ?? reg.settledOver(maps, current!);
  return result;
}

let warmed = false;

/**
 * Runs the tick itself (tickPieces, twice: cutting the maps, then reusing its pieces) once per
 * thread's runtime over `maps` cut by `ranges` at the sample `fraction`, on a dry registration
 * that touches nothing: it holds every piece already (so nothing is registered, no ioctl made)
 * and its walks read nothing (no PAGEMAP_SCAN). The watcher's arm calls it before it registers
 * anything. A tick's code run for the first time costs V8 its compiling and its first,
 * unoptimized runs: the first tick of a watch of redis took 5-10 ms of the watching thread
 * against ~1 ms for the next ones, time charged to the second tick's estimate (3-6% of redis's
 * CPU time under --max-overhead 5, over the 4% it aims at). Before the arm it is part of the
 * start-up, which the target does not pay for being watched. (The figures' and the budget's
 * code: driver.ts warmFigures.)
 */
export function warmTick(
  pid: number,
  maps: readonly Vma[],
  ranges: readonly PageRange[],
  fraction: number,
): void {
  if (warmed) return;
  warmed = true;
  const dry = {
    scanRange: () => ({ pages: 0 }),
    scanPieces: () => ({ pages: 0 }),
  } as unknown as PagemapScanBackend;
  const reg = new Registration(pid, -1, dry);
  reg.ranges = normalizeRanges(ranges);
  for (const p of piecesOf(maps, reg.ranges)) reg.registered.set(key(p), p);
  const sampler = new Sampler();
  sampler.fraction = fraction;
  const ctx: TickContext = {
    reg,
    sampler,
    backend: dry,
    checkEnded: () => false,
    endedTick: (result) => result,
  };
  const out = new RegionList(16);
  try {
    for (let i = 0; i < 2; i++) tickPieces(ctx, maps, out, emptyTick());
  } catch {
    // A warm-up that failed leaves the first tick cold; it never stops the arm.
  }
}
