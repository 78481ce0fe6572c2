/**
 * Property: on random layouts (pages written, read, untouched, paged out, guarded), the
 * PAGEMAP_SCAN backend and the /proc/PID/pagemap reader agree on every category both can see
 * (PAGEMAP_READ_CATEGORIES), with WRITTEN compared only on present or swapped pages: the reader
 * cannot tell an untouched page inside a page table (PAGEMAP_SCAN: WRITTEN) from one without a
 * page table (0). Each run is a fresh fixture child; ~20 runs keep it to a few seconds.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Category } from '../kernel/pagemap-abi.ts';
import { launchFixture } from '../../testing/fixture.ts';
import { ensureSwap, type SwapResult } from '../../testing/zram.ts';
import { categoriesFromPagemapHigh, PAGEMAP_READ_CATEGORIES } from './pagemap-read-backend.ts';
import { Scanner } from './scanner.ts';

let swap: SwapResult;

beforeAll(() => {
  swap = ensureSwap();
  if (!swap.ok) console.warn(`property test runs without paged-out pages: ${swap.reason}`);
});

afterAll(() => {
  if (swap?.ok) swap.release();
});

const { PRESENT, SWAPPED, WRITTEN } = Category;

function comparable(c: number): number {
  const v = c & PAGEMAP_READ_CATEGORIES;
  return c & (PRESENT | SWAPPED) ? v : v & ~WRITTEN;
}

function perPage(
  regions: {
    length: number;
    startPage: Float64Array;
    endPage: Float64Array;
    categories: Uint16Array;
  },
  start: number,
  pages: number,
): number[] {
  const out = new Array<number>(pages).fill(-1);
  for (let i = 0; i < regions.length; i++)
    for (
      let p = Math.max(regions.startPage[i], start);
      p < Math.min(regions.endPage[i], start + pages);
      p++
    )
      out[p - start] = regions.categories[i];
  return out;
}

it('both backends agree on every category both can see, on random layouts', async () => {
  const letters = swap.ok ? 'wwrrugGp' : 'wwrrugG';
  const actions = fc
    .array(fc.constantFrom(...letters.split('')), { minLength: 1, maxLength: 48 })
    .map((a) => a.join(''));
  const layout = fc.dictionary(fc.constantFrom('a', 'b', 'c'), actions, { minKeys: 1, maxKeys: 3 });
  let pagedOut = 0;
  await fc.assert(
    fc.asyncProperty(layout, async (spec) => {
      const fx = await launchFixture({ layout: spec });
      const scan = new Scanner(fx.pid, { backend: 'scan' });
      const read = new Scanner(fx.pid, { backend: 'pagemap' });
      try {
        const self = await fx.selfPagemap();
        for (const [name, r] of Object.entries(fx.regions)) {
          const range = [{ startPage: r.startPage, endPage: r.startPage + r.pages }];
          const a = perPage(scan.scan(range).regions, r.startPage, r.pages);
          const b = perPage(read.scan(range).regions, r.startPage, r.pages);
          expect(a.map(comparable), `${name} ${spec[name]}`).toEqual(b.map(comparable));
          // And the reader equals what the process itself reads from /proc/self/pagemap.
          expect(b, `${name} self`).toEqual(self[name].map(categoriesFromPagemapHigh));
          // Every written page is present or swapped out; every guard page is a guard.
          spec[name].split('').forEach((act, i) => {
            if (act === 'w') expect(a[i] & PRESENT, `${name}[${i}]`).toBe(PRESENT);
            if (act === 'g' || act === 'G')
              expect(a[i] & Category.GUARD, `${name}[${i}]`).toBe(Category.GUARD);
            if (act === 'p' && a[i] & SWAPPED) pagedOut++;
          });
        }
      } finally {
        scan.close();
        read.close();
        fx.kill();
      }
    }),
    { numRuns: 20 },
  );
  if (swap.ok) expect(pagedOut).toBeGreaterThan(0);
});
