/**
 * The sample's shape (sampling.ts), pure: 2 MiB blocks from 1/32 up, 64 KiB units below, each
 * family nested, what a change of fraction protects and unprotects, and how small a first
 * sample can be.
 */
import { describe, expect, it } from 'vitest';
import {
  FINE_BELOW,
  FINE_UNIT_PAGES,
  forSampledUnits,
  pageSampled,
  runsMinus,
  SAMPLE_BLOCK_PAGES,
  sampledPagesOfAll,
  sampledRuns,
  sampleUnitPages,
  Sampler,
} from './sampling.ts';
import type { PagemapScanBackend } from '../scan/pagemap-scan-backend.ts';
import { RegionList } from '../scan/region-list.ts';
import type { PageRange } from '../scan/scanner.ts';
import type { Piece } from './registration.ts';

const B = SAMPLE_BLOCK_PAGES;
/** 64 MiB at an odd address: 32 blocks, the first and last partly. */
const R = { startPage: 7000 * B + 37, endPage: 7032 * B + 100 };
const pagesOf = (r: { startPage: number; endPage: number }, f: number): number[] => {
  const out: number[] = [];
  forSampledUnits(r.startPage, r.endPage, f, (s, e) => {
    for (let p = s; p < e; p++) out.push(p);
  });
  return out;
};

describe('the sample', () => {
  it('is made of 64 KiB units below 1/32 and of 2 MiB blocks from 1/32 up', () => {
    expect(FINE_BELOW).toBe(1 / 32);
    expect(sampleUnitPages(1 / 64)).toBe(FINE_UNIT_PAGES);
    expect(sampleUnitPages(1 / 32)).toBe(B);
    const big = { startPage: 1 << 20, endPage: (1 << 20) + (1 << 22) }; // 16 GiB
    for (const f of [1 / 64, 1 / 1024]) {
      const units: number[] = [];
      const n = forSampledUnits(big.startPage, big.endPage, f, (s, e) => units.push(e - s));
      expect(n).toBe((1 << 22) / FINE_UNIT_PAGES);
      expect(units.every((u) => u === FINE_UNIT_PAGES)).toBe(true);
      // About f of the pages, and spread: at most a few units in any one block.
      const pages = units.length * FINE_UNIT_PAGES;
      expect(pages / (1 << 22)).toBeGreaterThan(f * 0.8);
      expect(pages / (1 << 22)).toBeLessThan(f * 1.2);
    }
  });

  it('is nested within each family, and pageSampled says what forSampledUnits visits', () => {
    for (const [small, large] of [
      [1 / 4096, 1 / 2048],
      [1 / 256, 1 / 64],
      [1 / 32, 1 / 4],
      [1 / 4, 1],
    ]) {
      const a = new Set(pagesOf(R, small));
      const b = new Set(pagesOf(R, large));
      for (const p of a) expect(b.has(p)).toBe(true);
    }
    for (const f of [1 / 1024, 1 / 64, 1 / 32, 1 / 2]) {
      const s = new Set(pagesOf(R, f));
      let agree = 0;
      for (let p = R.startPage; p < R.endPage; p++) if (pageSampled(p, f) === s.has(p)) agree++;
      expect(agree).toBe(R.endPage - R.startPage);
    }
  });

  it('protects and unprotects what differs: enteringPages counts the pages that enter', () => {
    for (const [from, to] of [
      [1 / 128, 1 / 64],
      [1 / 64, 1 / 32], // across FINE_BELOW: not nested
      [1 / 32, 1 / 16],
      [1 / 2, 1],
    ]) {
      const before = new Set(pagesOf(R, from));
      const want = pagesOf(R, to).filter((p) => !before.has(p)).length;
      expect(enteringPages([R], from, to)).toBe(want);
      // The runs are maximal, in order, disjoint.
      const runs = sampledRuns(R, to);
      for (let i = 1; i < runs.length; i++)
        expect(runs[i].startPage).toBeGreaterThan(runs[i - 1].endPage);
    }
    // Across FINE_BELOW, some of the 1/64 sample leaves (it is not inside the 1/32 blocks).
    const left = runsMinus(sampledRuns(R, 1 / 64), sampledRuns(R, 1 / 32));
    expect(left.length).toBeGreaterThan(0);
  });

  it('counts the pages common to several fractions (a window over a change of fraction)', () => {
    const a = new Set(pagesOf(R, 1 / 64));
    const both = pagesOf(R, 1 / 32).filter((p) => a.has(p)).length;
    expect(sampledPagesOfAll([R], [1 / 64, 1 / 32])).toBe(both);
    expect(sampledPagesOfAll([R], [1 / 64])).toBe(a.size);
  });

  it('is a few dozen pages at 1/1024 of a ~100 MiB watch, wherever it lies (a block or none before)', () => {
    // redis with 1M keys: ~100 MiB writable. 200 placements (another process, another address).
    const sizes: number[] = [];
    for (let i = 0; i < 200; i++) {
      const start = (0x55550000 + i * 7919) * 16 + (i % 13);
      sizes.push(pagesOf({ startPage: start, endPage: start + 25_600 }, 1 / 1024).length);
    }
    sizes.sort((x, y) => x - y);
    const mean = sizes.reduce((a, n) => a + n, 0) / sizes.length;
    expect(mean).toBeGreaterThan(10);
    expect(mean).toBeLessThan(50);
    // 95% of the first samples at most 128 pages (8 units: 96 here); a 2 MiB block alone is 512.
    expect(sizes[Math.floor(sizes.length * 0.95)]).toBeLessThanOrEqual(128);
  });

  it('is walked unit run by unit run, tick after tick, as the fraction changes (units listed once per piece)', () => {
    const walked: Array<[number, number]> = [];
    const backend = {
      scanRange: (s: number, e: number) => {
        walked.push([s, e]);
        return { pages: 0 };
      },
    } as unknown as PagemapScanBackend;
    const piece: Piece = { ...R, vmaIndex: 3, path: '', kind: 'anon' };
    const sampler = new Sampler();
    const out = new RegionList(16);
    for (const f of [1 / 64, 1 / 64, 1 / 8, 1 / 8, 1 / 64, 1 / 1024, 1 / 2]) {
      // The same piece object each tick (a tick over unchanged maps), and a copy of it.
      for (const p of [piece, { ...piece }]) {
        walked.length = 0;
        const st = { blocks: 0, pages: 0, m: 0, observed: 0 };
        sampler.tickSampled(backend, p, f, out, st);
        const runs = sampledRuns(p, f);
        expect(walked).toEqual(runs.map((r) => [r.startPage, r.endPage]));
        expect(st.pages).toBe(R.endPage - R.startPage);
        expect(st.blocks).toBe(forSampledUnits(R.startPage, R.endPage, f, () => {}));
        expect(st.m).toBe(unitsIn(R, f));
      }
    }
  });

  it('counts and lists from the units each piece listed what enteringPages and sampledRuns say', () => {
    const sampler = new Sampler();
    // Pieces of one watch: adjacent (a VMA split), apart, and a block-straddling one.
    const pieces = [
      { startPage: R.startPage, endPage: R.startPage + 3 * B + 5 },
      { startPage: R.startPage + 3 * B + 5, endPage: R.startPage + 9 * B },
      { startPage: R.startPage + 12 * B + 100, endPage: R.endPage },
    ];
    const fractions = [1 / 1024, 1 / 128, 1 / 64, 1 / 32, 1 / 16, 1 / 4, 1];
    for (let round = 0; round < 2; round++)
      for (const from of fractions)
        for (const to of fractions) {
          expect(sampler.enteringPagesOf(pieces, from, to)).toBe(enteringPages(pieces, from, to));
          for (const p of pieces) expect(sampler.runsOf(p, to)).toEqual(sampledRuns(p, to));
        }
  });
});

/** The sampled units of `r` at `f`. */
function unitsIn(r: { startPage: number; endPage: number }, f: number): number {
  let n = 0;
  forSampledUnits(r.startPage, r.endPage, f, () => n++);
  return n;
}

/**
 * The oracle of Sampler.enteringPagesOf: pages of `ranges` (disjoint) in the sample at `to` and
 * not in the one at `from`, from the sampled runs at each fraction.
 */
function enteringPages(ranges: readonly PageRange[], from: number, to: number): number {
  let n = 0;
  for (const r of ranges)
    for (const d of runsMinus(sampledRuns(r, to), sampledRuns(r, from)))
      n += d.endPage - d.startPage;
  return n;
}
