/**
 * Whether a sampled dirty rate's stated error holds: the watcher's per-tick error (ratioEstimate)
 * combined over a window as the exporter does (WriteWindow.dirtyRateError), for writers that
 * spread their writes evenly over a region of 2 MiB blocks, sampled at 1/2. Pure: the blocks a
 * tick samples are blockSampled's (the watcher's hash), the writes are simulated; a "run" is a
 * region at another address (another set of sampled blocks), as another process would be.
 * The rate must lie within its stated error in most runs (the error claims about 95%).
 */
import { describe, expect, it } from 'vitest';
import { WriteWindow } from '../exporter/window.ts';
import { blockSampled, ratioEstimate, SAMPLE_BLOCK_PAGES } from './watcher.ts';

const B = SAMPLE_BLOCK_PAGES;

/** mulberry32: a seeded generator, so every run of the test sees the same writes. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
const REGION_BLOCKS = 64; // testing/rate-writer.c's 128 MiB
/** Cold watched memory beside it (heap, stack, libc's data: the rest of a C writer's 601 pages). */
const COLD = [33, 33, 535];

type Writer = (tick: number, rand: () => number) => number[]; // region-relative pages

/** rate-writer.c: strides across the blocks (page k of each block, then k+1). */
const strided =
  (perTick: number): Writer =>
  (tick) =>
    Array.from({ length: perTick }, (_, i) => {
      const at = tick * perTick + i;
      return (at % REGION_BLOCKS) * B + Math.floor(at / REGION_BLOCKS);
    });
/** Distinct pages at random anywhere in the region. */
const uniform =
  (perTick: number): Writer =>
  (_tick, rand) => {
    const s = new Set<number>();
    while (s.size < perTick) s.add(Math.floor(rand() * REGION_BLOCKS * B));
    return [...s];
  };

/** Runs `runs` simulated processes; returns the share whose window rate held within its error, and the mean stated error. */
function coverage(writer: Writer, perTick: number, fraction: number, runs = 300) {
  const rand = prng(20261205);
  let held = 0;
  let errSum = 0;
  for (let run = 0; run < runs; run++) {
    const base = 4096 + run * 997; // block numbers of the region's first block
    // Pieces: [first page, pages]; the region, then cold pieces in blocks of their own.
    const pieces: Array<[number, number]> = [[base * B, REGION_BLOCKS * B]];
    COLD.forEach((n, i) => pieces.push([(base + 100_000 + i * 7) * B + 13, n]));
    const total = pieces.reduce((a, p) => a + p[1], 0);
    const blocks = new Map<number, { x: number; sampled: boolean }>();
    for (const [s, n] of pieces)
      for (let p = s; p < s + n;) {
        const b = Math.floor(p / B);
        const e = Math.min(s + n, (b + 1) * B);
        blocks.set(b, { x: e - p, sampled: blockSampled(b, fraction) });
        p = e;
      }
    const w = new WriteWindow();
    for (let t = 0; t < 10; t++) {
      const y = new Map<number, number>();
      for (const p of writer(t, rand)) {
        const b = Math.floor((base * B + p) / B);
        y.set(b, (y.get(b) ?? 0) + 1);
      }
      const xs: number[] = [];
      const ys: number[] = [];
      for (const [b, v] of blocks)
        if (v.sampled) {
          xs.push(v.x);
          ys.push(y.get(b) ?? 0);
        }
      const est = ratioEstimate(ys, xs, xs.length, blocks.size, total);
      w.push({
        t: (t + 1) * 1000,
        coverMs: 1000,
        written: new Float64Array(),
        writtenEst: Math.round(est.estimate),
        errPages: Math.ceil(est.error),
        fraction,
        byVma: new Map(),
      });
    }
    const rate = w.dirtyRate(10_000)!;
    const err = w.dirtyRateError(10_000)!;
    errSum += err;
    if (Math.abs(rate - perTick) <= err) held++;
  }
  return { held: held / runs, meanErr: errSum / runs };
}

describe('the stated error of a sampled dirty rate', () => {
  for (const [name, writer] of [
    ['strided (rate-writer.c)', strided],
    ['uniform at random', uniform],
  ] as const)
    for (const perTick of [250, 2500])
      it(`holds for a ${name} writer of ${perTick} pages a tick at 1/2`, () => {
        const c = coverage(writer(perTick), perTick, 0.5);
        expect(c.held, `mean stated error ${c.meanErr.toFixed(1)} pages/s`).toBeGreaterThanOrEqual(
          0.9,
        );
        // Not vacuous: the error stays a fraction of the rate.
        expect(c.meanErr).toBeLessThan(0.25 * perTick);
      });
});
