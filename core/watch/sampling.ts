/**
 * Sampling: watching a sample of the memory to bound what being watched costs the target.
 *
 * Strategy: the address space is cut into aligned blocks of 512 pages (2 MiB, one page table)
 * and, from 1/32 of the pages up, a block is in the sample when a hash of its number falls
 * under the fraction, so a smaller fraction's sample is a subset of a larger one's and the
 * choice does not depend on which VMA holds the block. Below 1/32 the sample is of units of 16
 * pages (64 KiB): a unit is in it when its block's hash falls under 32 x the fraction and its
 * own hash under 1/32 (about one unit of each such block), so those samples are nested too, and
 * a small sample is a few dozen pages spread over the space rather than one or two whole
 * blocks or none: every protected page faults at the target's first write to it, so a burst
 * right after arming pays for the whole first sample at once (redis, 1M keys: one or two 2 MiB
 * blocks of hot keys, 650-930 faults, +16-23% of its CPU in 0.5 s under a 5% bound). A sample
 * below 1/32 is not a subset of one at or above it: the transition protects and unprotects
 * what differs (setFraction), and a window over both intersects them (the exporter's
 * workingSet). Only sampled units are read and re-protected each tick, one walk per run of
 * adjacent sampled units; the others are never protected when armed while sampling and are
 * unprotected (UFFDIO_WRITEPROTECT mode 0) when they leave the sample, so they cost the target
 * nothing. The count of all watched memory is extrapolated from the sample with a ratio
 * estimator (written / pages in the sampled units), with its standard error from the spread
 * of the units' counts. Widening the sample protects the units that enter it at once; what was
 * written there before is unknown, so the next tick states no error.
 */
import { KernelError } from '../kernel/errors.ts';
import type { PagemapScanBackend } from '../scan/pagemap-scan-backend.ts';
import type { RegionList } from '../scan/region-list.ts';
import type { PageRange } from '../scan/scanner.ts';
import type { Piece, Registration } from './registration.ts';
import { TICK_OPTIONS } from './scan-options.ts';
import type { WatchTick } from './watch-types.ts';

/** Sampled blocks' size, pages (see the strategy above). */
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
  // Writes placed at random: each unit's count a binomial of its pages at the rate seen, the
  // rate taken at least at 2.25 / xs (the rule of three: a sample of xs pages that saw no
  // write bounds the rate only under ~3 / xs; a strided writer missed by all of a 128-page
  // sample read "0 +/- 0" in half the runs).
  const rr = r >= 2.25 / xs ? r : Math.min(0.5, 2.25 / xs);
  sd = Math.max(sd, (xs / m) * rr * (1 - rr));
  const variance = (totalBlocks * totalBlocks * (1 - m / totalBlocks) * sd) / m;
  return { estimate, error: 2 * Math.sqrt(variance) };
}

/** Pages of a sample unit below FINE_BELOW (64 KiB). */
export const FINE_UNIT_PAGES = 16;
const UNITS_PER_BLOCK = SAMPLE_BLOCK_PAGES / FINE_UNIT_PAGES;
/** Fractions under this sample units of FINE_UNIT_PAGES, not whole blocks (see the top). */
export const FINE_BELOW = 1 / UNITS_PER_BLOCK;

/** Pages per sample unit at `fraction`: a 2 MiB block, or 16 pages below FINE_BELOW. */
export function sampleUnitPages(fraction: number): number {
  return fraction < FINE_BELOW ? FINE_UNIT_PAGES : SAMPLE_BLOCK_PAGES;
}

/**
 * Calls `each(s, e)` on the pages [s, e) of every sampled unit in [startPage, endPage) at
 * `fraction`, in address order (units clipped to the range); returns the number of units the
 * range touches. Visits each 2 MiB block once, and the units of sampled blocks only.
 */
export function forSampledUnits(
  startPage: number,
  endPage: number,
  fraction: number,
  each: (s: number, e: number) => void,
): number {
  if (!(endPage > startPage)) return 0;
  const B = SAMPLE_BLOCK_PAGES;
  const U = sampleUnitPages(fraction);
  const fine = U < B;
  const blockFraction = fine ? fraction * UNITS_PER_BLOCK : fraction;
  const last = Math.floor((endPage - 1) / B);
  for (let b = Math.floor(startPage / B); b <= last; b++) {
    if (!blockSampled(b, blockFraction)) continue;
    const bs = Math.max(b * B, startPage);
    const be = Math.min((b + 1) * B, endPage);
    if (!fine) {
      each(bs, be);
      continue;
    }
    for (let u = Math.floor(bs / U); u * U < be; u++)
      if (blockSampled(u, FINE_BELOW)) each(Math.max(u * U, bs), Math.min((u + 1) * U, be));
  }
  return Math.ceil(endPage / U) - Math.floor(startPage / U);
}

/** Whether page `page` is in the sample at `fraction` (what forSampledUnits visits). */
export function pageSampled(page: number, fraction: number): boolean {
  const b = Math.floor(page / SAMPLE_BLOCK_PAGES);
  if (fraction >= FINE_BELOW) return blockSampled(b, fraction);
  return (
    blockSampled(b, fraction * UNITS_PER_BLOCK) &&
    blockSampled(Math.floor(page / FINE_UNIT_PAGES), FINE_BELOW)
  );
}

/**
 * Pages of `ranges` (disjoint) in the samples at every one of `fractions` (their
 * intersection: samples on both sides of FINE_BELOW are not nested).
 */
export function sampledPagesOfAll(
  ranges: readonly PageRange[],
  fractions: readonly number[],
): number {
  let n = 0;
  for (const r of ranges) {
    let common: PageRange[] = [{ startPage: r.startPage, endPage: r.endPage }];
    for (const f of fractions) {
      const runs = sampledRuns(r, f);
      common = runsMinus(common, runsMinus(common, runs));
    }
    for (const c of common) n += c.endPage - c.startPage;
  }
  return n;
}

/** The maximal runs of p's pages in the sample at `fraction`, in address order. */
export function sampledRuns(p: PageRange, fraction: number): PageRange[] {
  const runs: PageRange[] = [];
  if (fraction >= 1)
    return p.endPage > p.startPage ? [{ startPage: p.startPage, endPage: p.endPage }] : runs;
  forSampledUnits(p.startPage, p.endPage, fraction, (s, e) => {
    const last = runs[runs.length - 1];
    if (last && last.endPage === s) last.endPage = e;
    else runs.push({ startPage: s, endPage: e });
  });
  return runs;
}

/** The parts of sorted, disjoint runs `a` outside sorted, disjoint runs `b`. */
export function runsMinus(a: readonly PageRange[], b: readonly PageRange[]): PageRange[] {
  const out: PageRange[] = [];
  let j = 0;
  for (const r of a) {
    let s = r.startPage;
    while (j < b.length && b[j].endPage <= s) j++;
    for (let k = j; k < b.length && b[k].startPage < r.endPage; k++) {
      if (b[k].startPage > s) out.push({ startPage: s, endPage: b[k].startPage });
      s = Math.max(s, b[k].endPage);
    }
    if (s < r.endPage) out.push({ startPage: s, endPage: r.endPage });
  }
  return out;
}

/** A tick's running totals over the sampled pieces (blocks and pages seen, sampled blocks m). */
export interface SampleTotals {
  blocks: number;
  pages: number;
  m: number;
  observed: number;
}

/** A piece's sampled units at a fraction (Sampler.unitsOf). */
interface PieceUnits {
  fraction: number;
  /** [start, end) of each sampled unit, clipped to the piece, in address order, flattened. */
  bounds: number[];
  /** The units the piece touches, sampled or not (forSampledUnits' count). */
  touched: number;
  /** The maximal runs of the sampled pages (sampledRuns), made when first asked. */
  runs?: PageRange[];
}

/** The units listed for one piece's bounds, a few fractions of them, and when last used. */
interface ListedUnits {
  byFraction: PieceUnits[];
  usedAt: number;
}

/** Fractions kept per piece: the one in force, the next wider, the one left, ... */
const FRACTIONS_KEPT = 4;

/** One watch's sample: its fraction and the per-block counts of the current tick. */
export class Sampler {
  /** The sample fraction (1 = exact: every page re-protected every tick). */
  fraction = 1;
  /** The sample widened since the last tick: the next tick cannot state an error. */
  widened = false;
  /**
   * Each piece's sampled units by its bounds, at the fractions they were listed for (unitsOf):
   * a piece walked tick after tick is not hashed block by block again each tick, nor when the
   * sample changes (setFraction, enteringPagesOf). Pieces not used for a while are dropped
   * (finishTick).
   */
  private readonly units = new Map<string, ListedUnits>();
  /** Ticks finished (finishTick), the clock of `units`' last use. */
  private ticks = 0;
  /** Per sampled block of the current tick: written pages and pages (grown as needed). */
  private blockY = new Float64Array(1024);
  private blockX = new Float64Array(1024);

  /**
   * The sampled units of `p` at `fraction` (forSampledUnits), listed once per piece's bounds and
   * fraction: hashing every 2 MiB block of the watched memory (and the 32 units of each sampled
   * one below 1/32) each tick, and again at each change of the sample, made forSampledUnits hot
   * enough in the first ticks for V8 to optimize it on a helper thread, CPU time charged to the
   * estimate (redis: 3-8 ms, right after the arm, or after the first widening).
   */
  private unitsOf(p: PageRange, fraction: number): PieceUnits {
    const k = `${p.startPage}-${p.endPage}`;
    let listed = this.units.get(k);
    if (!listed) this.units.set(k, (listed = { byFraction: [], usedAt: this.ticks }));
    listed.usedAt = this.ticks;
    for (const u of listed.byFraction) if (u.fraction === fraction) return u;
    const bounds: number[] = [];
    const touched = forSampledUnits(p.startPage, p.endPage, fraction, (s, e) => {
      bounds.push(s, e);
    });
    const units: PieceUnits = { fraction, bounds, touched };
    if (listed.byFraction.push(units) > FRACTIONS_KEPT) listed.byFraction.shift();
    return units;
  }

  /** The maximal runs of `p`'s pages in the sample at `fraction` (sampledRuns), from unitsOf. */
  runsOf(p: PageRange, fraction: number): PageRange[] {
    if (fraction >= 1) return sampledRuns(p, fraction);
    const units = this.unitsOf(p, fraction);
    if (!units.runs) {
      const runs: PageRange[] = [];
      const b = units.bounds;
      for (let i = 0; i < b.length; i += 2) {
        const last = runs[runs.length - 1];
        if (last && last.endPage === b[i]) last.endPage = b[i + 1];
        else runs.push({ startPage: b[i], endPage: b[i + 1] });
      }
      units.runs = runs;
    }
    return units.runs;
  }

  /**
   * Pages of `pieces` (disjoint) in the sample at `to` and not in the one at `from`, per piece
   * from runsOf: the units of `to` are then listed for the widening and the ticks after it.
   */
  enteringPagesOf(pieces: Iterable<PageRange>, from: number, to: number): number {
    let n = 0;
    for (const p of pieces)
      for (const d of runsMinus(this.runsOf(p, to), this.runsOf(p, from)))
        n += d.endPage - d.startPage;
    return n;
  }

  /**
   * The sampled get+reset of one piece: one walk per run of consecutive sampled blocks, into
   * `out`; records each sampled block's written and total pages for the estimate. Returns the
   * written pages seen.
   */
  tickSampled(
    backend: PagemapScanBackend,
    p: Piece,
    fraction: number,
    out: RegionList,
    st: SampleTotals,
  ): number {
    const U = sampleUnitPages(fraction);
    let seen = 0;
    let runStart = -1;
    let runEnd = -1;
    let runFirst = 0; // index in blockX/blockY of the run's first unit
    const flush = (): void => {
      const mark = Math.max(0, out.length - 1); // the walk may extend the last region
      seen += backend.scanRange(runStart, runEnd, p.vmaIndex, TICK_OPTIONS, out).pages;
      const u0 = Math.floor(runStart / U);
      for (let r = mark; r < out.length; r++) {
        let a = Math.max(out.startPage[r], runStart);
        const e = Math.min(out.endPage[r], runEnd);
        while (a < e) {
          const uu = Math.floor(a / U);
          const ce = Math.min(e, (uu + 1) * U);
          this.blockY[runFirst + uu - u0] += ce - a;
          a = ce;
        }
      }
      runStart = -1;
    };
    st.pages += p.endPage - p.startPage;
    const units = this.unitsOf(p, fraction);
    st.blocks += units.touched;
    const b = units.bounds;
    for (let i = 0; i < b.length; i += 2) {
      const s = b[i];
      const e = b[i + 1];
      // Units in one run are adjacent, so a run's units are consecutive in blockX/blockY.
      if (runStart >= 0 && s !== runEnd) flush();
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

  /**
   * The tick's sample figures into `result` when sampling (or just widened): the extrapolated
   * count with its error. `watchedPages` is every watched page scanned this tick.
   */
  finishTick(result: WatchTick, st: SampleTotals, watchedPages: number): void {
    // Pieces not walked nor asked about for a few ticks (unmapped, cut again) are forgotten.
    this.ticks++;
    if (this.units.size > 64)
      for (const [k, listed] of this.units)
        if (listed.usedAt < this.ticks - 2) this.units.delete(k);
    const fraction = this.fraction;
    if (fraction < 1 || this.widened) {
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
        errorPages: this.widened ? null : Math.ceil(fraction < 1 ? est.error : 0),
      };
      this.widened = false;
    }
  }

  /** Moves the watch `reg` to `fraction` (validated by the caller) from the next tick on. */
  setFraction(fraction: number, reg: Registration): void {
    const old = this.fraction;
    if (fraction !== old)
      for (const p of [...reg.registered.values()]) {
        const before = this.runsOf(p, old);
        const after = this.runsOf(p, fraction);
        // Units leaving the sample: unprotected now, so they cost the target nothing at all
        // (left protected, each of their pages would still fault once). Units entering it:
        // protected now, counted from the next tick on. Across FINE_BELOW both happen.
        for (const run of runsMinus(before, after)) reg.unprotect({ ...p, ...run });
        for (const run of runsMinus(after, before))
          try {
            this.widened = true; // what entering units held before is unknown: no error next tick
            reg.protect({ ...p, ...run });
          } catch (err) {
            if (!(err instanceof KernelError)) throw err;
            // The VMA changed under us: the next tick sees the new layout.
          }
      }
    this.fraction = fraction;
  }
}
