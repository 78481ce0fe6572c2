/**
 * Cutting the maps into pieces (registration.ts piecesOf): the sweep over both lists in address
 * order gives what clipping every VMA to every range gives.
 */
import { describe, expect, it } from 'vitest';
import type { Vma } from '../proc/maps.ts';
import type { PageRange } from '../scan/scanner.ts';
import { prng } from '../../testing/watch-support.ts';
import { normalizeRanges, piecesOf, rangesWithin, subtractRanges } from './registration.ts';

/** Every VMA clipped to every range, in VMA order then range order (the definition). */
function pairwise(
  vmas: readonly Vma[],
  ranges: readonly PageRange[],
): Array<[number, number, number]> {
  const out: Array<[number, number, number]> = [];
  for (const v of vmas) {
    if (v.kind === 'vsyscall') continue;
    for (const r of ranges) {
      const s = Math.max(r.startPage, v.startPage);
      const e = Math.min(r.endPage, v.endPage);
      if (s < e) out.push([v.index, s, e]);
    }
  }
  return out;
}

function vmasOf(bounds: Array<[number, number]>): Vma[] {
  return bounds.map(
    ([startPage, endPage], index) =>
      ({ index, startPage, endPage, perms: 'rw-p', path: '', kind: 'anon' }) as Vma,
  );
}

describe('piecesOf', () => {
  it('gives every VMA clipped to every watched range, for maps and ranges in address order or not', () => {
    const rand = prng(22);
    for (let round = 0; round < 300; round++) {
      const bounds: Array<[number, number]> = [];
      let at = Math.floor(rand() * 50);
      const n = 1 + Math.floor(rand() * 40);
      for (let i = 0; i < n; i++) {
        const len = 1 + Math.floor(rand() * 60);
        bounds.push([at, at + len]);
        at += len + (rand() < 0.5 ? 0 : Math.floor(rand() * 30)); // adjacent, or a gap
      }
      const ranges = normalizeRanges(
        Array.from({ length: Math.floor(rand() * 12) }, () => {
          const s = Math.floor(rand() * (at + 20));
          return { startPage: s, endPage: s + 1 + Math.floor(rand() * 120) };
        }),
      );
      const vmas = vmasOf(bounds);
      const got = piecesOf(vmas, ranges).map((p) => [p.vmaIndex, p.startPage, p.endPage]);
      expect(got).toEqual(pairwise(vmas, ranges));
      // Out of address order (a caller's own list): still every VMA against every range.
      const shuffled = [...vmas].reverse();
      const unsortedRanges = [...ranges].reverse();
      expect(
        piecesOf(shuffled, unsortedRanges).map((p) => [p.vmaIndex, p.startPage, p.endPage]),
      ).toEqual(pairwise(shuffled, unsortedRanges));
    }
  });
});

describe('rangesWithin', () => {
  it('says whether subtracting the cover leaves nothing, for ranges in any order, touching or not', () => {
    const rand = prng(7);
    const some = (n: number, span: number): PageRange[] =>
      Array.from({ length: n }, () => {
        const s = Math.floor(rand() * span);
        return { startPage: s, endPage: s + Math.floor(rand() * 40) }; // empty ones too
      });
    let within = 0;
    for (let round = 0; round < 2000; round++) {
      const cover = some(Math.floor(rand() * 10), 300);
      // Half the time made of pieces of the cover (then within, unless cut wider).
      const ranges =
        rand() < 0.5
          ? some(1 + Math.floor(rand() * 6), 300)
          : cover.flatMap((c) => {
              const m = c.startPage + Math.floor(rand() * (c.endPage - c.startPage + 1));
              return [
                { startPage: c.startPage, endPage: m },
                { startPage: m, endPage: c.endPage + (rand() < 0.1 ? 1 : 0) },
              ];
            });
      const expected = subtractRanges(ranges, cover).length === 0;
      expect(rangesWithin(ranges, cover)).toBe(expected);
      if (expected) within++;
    }
    expect(within).toBeGreaterThan(200); // both answers were tried
    expect(within).toBeLessThan(1800);
  });
});
