/**
 * ensureSwap() undoes exactly what it did: the zram device it made is swapped off and removed,
 * release() is safe twice, and swap that was already there is left alone.
 */
import fs from 'node:fs';
import { expect, it } from 'vitest';
import { activeSwapAreas, ensureSwap } from './zram.ts';

it('creates zram swap only when none is active, and release() removes exactly that', (ctx) => {
  const before = activeSwapAreas();
  const zramBefore = fs.readdirSync('/sys/block').filter((d) => d.startsWith('zram'));
  const swap = ensureSwap(16);
  if (!swap.ok) {
    console.warn(`zram test skipped: ${swap.reason}`);
    ctx.skip(swap.reason);
    return;
  }
  try {
    if (before.length > 0) {
      expect(swap.device).toBeNull(); // someone else's swap: used, never touched
      expect(activeSwapAreas()).toEqual(before);
    } else {
      expect(swap.device).toMatch(/^\/dev\/zram\d+$/);
      expect(activeSwapAreas()).toEqual([swap.device]);
    }
  } finally {
    swap.release();
    swap.release(); // twice is harmless
  }
  expect(activeSwapAreas()).toEqual(before);
  expect(fs.readdirSync('/sys/block').filter((d) => d.startsWith('zram'))).toEqual(zramBefore);
});
