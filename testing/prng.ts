/**
 * A seeded pseudo-random generator for tests (mulberry32): every run sees the same numbers, so a
 * failing run can be replayed. Its own module, so a pure (unit) test takes it without the
 * process helpers of watch-support.ts.
 */

/** Numbers in [0, 1) from `seed`, the same sequence each time. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
