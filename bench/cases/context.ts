/** What every benchmark case gets from the runner. */
import type { Built } from '../lib/native.ts';

export interface BenchContext {
  quick: boolean;
  built: Built;
  /** Progress for the terminal (stderr, so --json keeps stdout to one object). */
  log: (message: string) => void;
  /** --only's names: a case of several rows may run just the rows asked for (empty: all). */
  only?: readonly string[];
}

/** Times `fn` once, in milliseconds. */
export function timeMs(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}
