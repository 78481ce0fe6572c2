/**
 * Sampling: watching a sample of the memory to bound what being watched costs the target.
 *
 * Strategy: the address space is cut into aligned blocks of 512 pages (2 MiB, one page table)
 * and a block is in the sample when a hash of its number falls under the fraction, so a smaller
 * fraction's sample is a subset of a larger one's and the choice does not depend on which VMA
 * holds the block. Only sampled blocks are read and re-protected each tick; the others are
 * unprotected (UFFDIO_WRITEPROTECT mode 0) when they leave the sample or are armed while
 * sampling, so they cost the target nothing. The count of all watched memory is extrapolated
 * from the sample with a ratio estimator (written / pages in the sampled blocks), with its
 * standard error from the spread of the blocks' counts. Widening the sample protects the blocks
 * that enter it at once; what was written there before is unknown, so the next tick states no
 * error.
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
  // Writes placed at random: each block's count a binomial of its pages at the rate seen.
  sd = Math.max(sd, (xs / m) * r * Math.max(0, 1 - r));
  const variance = (totalBlocks * totalBlocks * (1 - m / totalBlocks) * sd) / m;
  return { estimate, error: 2 * Math.sqrt(variance) };
}

/** Calls `each` on every maximal run of p's pages whose sample blocks satisfy `pick`. */
export function forBlockRuns<T extends PageRange>(
  p: T,
  pick: (block: number) => boolean,
  each: (run: T) => void,
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

/** A tick's running totals over the sampled pieces (blocks and pages seen, sampled blocks m). */
export interface SampleTotals {
  blocks: number;
  pages: number;
  m: number;
  observed: number;
}

/** One watch's sample: its fraction and the per-block counts of the current tick. */
export class Sampler {
  /** The sample fraction (1 = exact: every page re-protected every tick). */
  fraction = 1;
  /** The sample widened since the last tick: the next tick cannot state an error. */
  widened = false;
  /** Per sampled block of the current tick: written pages and pages (grown as needed). */
  private blockY = new Float64Array(1024);
  private blockX = new Float64Array(1024);

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
    const B = SAMPLE_BLOCK_PAGES;
    let seen = 0;
    let runStart = -1;
    let runEnd = -1;
    let runFirst = 0; // index in blockX/blockY of the run's first block
    const flush = (): void => {
      const mark = Math.max(0, out.length - 1); // the walk may extend the last region
      seen += backend.scanRange(runStart, runEnd, p.vmaIndex, TICK_OPTIONS, out).pages;
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

  /**
   * The tick's sample figures into `result` when sampling (or just widened): the extrapolated
   * count with its error. `watchedPages` is every watched page scanned this tick.
   */
  finishTick(result: WatchTick, st: SampleTotals, watchedPages: number): void {
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
    if (fraction > old) {
      // Blocks entering the sample: protected now, counted from the next tick on.
      for (const p of [...reg.registered.values()])
        forBlockRuns(
          p,
          (b) => blockSampled(b, fraction) && !blockSampled(b, old),
          (run) => {
            try {
              reg.protect(run);
            } catch (err) {
              if (!(err instanceof KernelError)) throw err;
              // The VMA changed under us: the next tick sees the new layout.
            }
          },
        );
      this.widened = true;
    } else if (fraction < old) {
      // Blocks leaving the sample: unprotected now, so they cost the target nothing at all
      // (left protected, each of their pages would still fault once).
      for (const p of [...reg.registered.values()])
        forBlockRuns(
          p,
          (b) => blockSampled(b, old) && !blockSampled(b, fraction),
          (run) => reg.unprotect(run),
        );
    }
    this.fraction = fraction;
  }
}
