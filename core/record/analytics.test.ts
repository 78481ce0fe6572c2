/**
 * The analytics on series whose answers are known by hand, and against a brute-force page-set
 * oracle on random series; the tick comparison on hand-made page states.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { VmaInfo } from '../protocol/messages.ts';
import { PageBit } from '../protocol/page-bits.ts';
import {
  countingMode,
  dirtyRate,
  perVmaWrites,
  precopyEstimate,
  workingSetCurve,
  writeFrequency,
  type Series,
} from './analytics.ts';
import { comparePages, WRITTEN_BETWEEN } from './compare.ts';

function series(written: number[][], intervalMs = 100, present = 1000): Series {
  return {
    intervalMs,
    ticks: written.map((w, i) => ({
      t: (i + 1) * intervalMs,
      written: Float64Array.from(w),
      present,
      swapped: 0,
      watched: 1000,
    })),
  };
}

/** Sorted, disjoint ranges of a page set, as the watcher reports them. */
function rangesOf(set: Set<number>): number[] {
  const out: number[] = [];
  for (const p of [...set].sort((a, b) => a - b))
    if (out.length && out[out.length - 1] === p) out[out.length - 1] = p + 1;
    else out.push(p, p + 1);
  return out;
}

describe('working set', () => {
  it('counts distinct pages per sliding window', () => {
    // Tick 1 writes [0,10), tick 2 [5,15), tick 3 [100,101), tick 4 nothing.
    const s = series([[0, 10], [5, 15], [100, 101], []]);
    expect(workingSetCurve(s, 100)).toEqual([10, 10, 1, 0]);
    expect(workingSetCurve(s, 200)).toEqual([10, 15, 11, 1]);
    expect(workingSetCurve(s, Infinity)).toEqual([10, 15, 16, 16]);
  });

  it('wide ranges over many small ones are counted in a cover tree, exactly (issue 21)', () => {
    // One tick writes 600 one-page ranges, the others one range over most of them: counted
    // segment by segment that is ticks x 1200 segments; the cover tree costs log2(1200) a range.
    const oracle = (sets: number[][], w: number): number[] => {
      const count = new Uint32Array(4096);
      let distinct = 0;
      return sets.map((pages, i) => {
        for (const p of pages) if (count[p]++ === 0) distinct++;
        if (i - w >= 0) for (const p of sets[i - w]) if (--count[p] === 0) distinct--;
        return distinct;
      });
    };
    const run = (wide: Array<[number, number]>, w: number, at: number): Series => {
      const sets = wide.map(([s, n]) => Array.from({ length: n }, (_, k) => s + k));
      sets[at] = Array.from({ length: 600 }, (_, k) => 2 * k);
      const s = series(sets.map((x) => rangesOf(new Set(x))));
      expect(workingSetCurve(s, w * 100)).toEqual(oracle(sets, w));
      expect(workingSetCurve(s, Infinity)).toEqual(oracle(sets, sets.length));
      const times = new Map<number, number>();
      for (const set of sets) for (const p of set) times.set(p, (times.get(p) ?? 0) + 1);
      const f = writeFrequency(s);
      expect(f.hot).toBe([...times.values()].filter((c) => c / sets.length >= 0.5).length);
      expect(f.hot + f.warm + f.cold).toBe(times.size);
      return s;
    };
    const wide = Array.from({ length: 30 }, (_, i): [number, number] => [i * 7, 900 + i * 10]);
    expect(countingMode(run(wide, 3, 0))).toBe('tree');
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 1, max: 1300 })), {
          minLength: 20,
          maxLength: 40,
        }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 0, max: 19 }),
        (w, win, at) => void run(w, win, at),
      ),
      { numRuns: 40 },
    );
  });

  it('agrees with a page-set oracle on random series', () => {
    const ranges = fc.array(
      fc.tuple(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 1, max: 30 })),
      { maxLength: 4 },
    );
    fc.assert(
      fc.property(
        fc.array(ranges, { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 12 }),
        (ticks, w) => {
          // Sorted, disjoint ranges per tick, as the watcher reports them.
          const written = ticks.map((rs) => {
            const set = new Set<number>();
            for (const [s, n] of rs) for (let p = s; p < s + n; p++) set.add(p);
            const pages = [...set].sort((a, b) => a - b);
            const out: number[] = [];
            for (const p of pages)
              if (out.length && out[out.length - 1] === p) out[out.length - 1] = p + 1;
              else out.push(p, p + 1);
            return { out, set };
          });
          const s = series(written.map((x) => x.out));
          const curve = workingSetCurve(s, w * 100);
          written.forEach((_, i) => {
            const u = new Set<number>();
            for (let j = Math.max(0, i - w + 1); j <= i; j++)
              for (const p of written[j].set) u.add(p);
            expect(curve[i]).toBe(u.size);
          });
        },
      ),
      { numRuns: 150 },
    );
  });

  it('dirty rate is distinct pages per second in MiB/s', () => {
    // 256 distinct pages (1 MiB) written in every 1 s window.
    const ticks = Array.from({ length: 30 }, (_, i) => [(i % 10) * 256, (i % 10) * 256 + 256]);
    const r = dirtyRate(series(ticks, 100), 1000);
    expect(r.meanMiBps).toBeCloseTo(10, 6); // 10 ticks x 256 distinct pages per second
    expect(r.peakMiBps).toBeCloseTo(10, 6);
    expect(r.perTickMiBps.slice(0, 9).every((x) => x === 0)).toBe(true);
  });
});

describe('pre-copy estimate', () => {
  it('converges when the dirty set drains faster than it is written', () => {
    // 8 hot pages written every tick; 100000 pages of memory; 125 MB/s.
    const s = series(
      Array.from({ length: 50 }, () => [0, 8]),
      100,
      100_000,
    );
    const e = precopyEstimate(s, { linkBytesPerSecond: 125e6 });
    expect(e.estimate).toBe(true);
    expect(e.converged).toBe(true);
    expect(e.finalDirtyPages).toBe(8);
    expect(e.rounds[0].pages).toBe(100_000);
    expect(e.rounds[0].ms).toBeCloseTo((100_000 * 4096) / 125e3, 6);
  });

  it('does not converge when every round dirties as much as it sends', () => {
    // 20000 new pages per tick over 2 s: a slow link never catches up.
    const s = series(
      Array.from({ length: 20 }, (_, i) => [i * 20000, (i + 1) * 20000]),
      100,
      400_000,
    );
    const e = precopyEstimate(s, { linkBytesPerSecond: 10e6 });
    expect(e.converged).toBe(false);
    expect(e.stopped).toBe('not-shrinking');
  });
});

describe('write frequency and per-VMA writes', () => {
  it('classes pages as hot, warm and cold by the share of ticks they were written in', () => {
    const ticks = Array.from({ length: 20 }, (_, i) =>
      i === 0 ? [0, 4, 10, 11, 50, 51] : i < 3 ? [0, 4, 10, 11] : [0, 4],
    );
    const f = writeFrequency(series(ticks));
    expect(f).toMatchObject({ hot: 4, warm: 1, cold: 1, ticks: 20 });
    expect(f.runs).toEqual([
      [0, 4, 20],
      [10, 11, 3],
      [50, 51, 1],
    ]);
  });

  it('attributes writes to VMAs by address', () => {
    const vmas = [
      { startPage: 0, endPage: 10, path: 'a' },
      { startPage: 20, endPage: 30, path: 'b' },
    ];
    const rows = perVmaWrites(
      series([
        [5, 25],
        [8, 9],
      ]),
      () => vmas,
    );
    expect(rows.map((r) => [r.path, r.pageWrites, r.distinctPages])).toEqual([
      ['a', 6, 5],
      ['b', 5, 5],
    ]);
    expect(rows[0].share).toBeCloseTo(6 / 11, 9);
    expect(rows[0].writeMiBps).toBeCloseTo((6 * 4096) / 2 ** 20 / 0.2, 9);
  });
});

describe('tick comparison', () => {
  const vma = (index: number, s: number, e: number, offset: number): VmaInfo => ({
    index,
    start: '0x' + (s * 4096).toString(16),
    end: '0x' + (e * 4096).toString(16),
    startPage: s,
    endPage: e,
    offset,
    perms: 'rw-p',
    path: '',
    kind: 'anon',
    watched: 'no',
  });
  it('counts transitions by address, unmapped pages, per-VMA deltas and written pages', () => {
    const P = PageBit.PRESENT;
    const S = PageBit.SWAPPED;
    // A maps [10,14) and [20,22); B maps [12,16) and [20,23).
    const d = comparePages({
      pagesA: Uint16Array.from([P, P, P, S, P, 0]),
      vmasA: [vma(0, 10, 14, 0), vma(1, 20, 22, 4)],
      pagesB: Uint16Array.from([0, P, P, 0, S, P, P]),
      vmasB: [vma(0, 12, 16, 0), vma(1, 20, 23, 4)],
      writtenBetween: [1, 3],
    });
    // Page 12: P->0, 13: S->P, 14,15 (new): 0->P, 0->0; 20: P->S, 21: 0->P, 22 (new): 0->P.
    expect(d.becameNotPresent).toBe(1);
    expect(d.becamePresent).toBe(4);
    expect(d.becameSwapped).toBe(1);
    expect(d.unmapped).toEqual({ pages: 2, presentOrSwapped: 2 });
    expect(d.writtenBetween).toBe(2);
    expect(
      d.perVma.map((v) => [v.presentA, v.presentB, v.swappedA, v.swappedB, v.writtenBetween]),
    ).toEqual([
      [1, 2, 1, 0, 2],
      [1, 2, 0, 1, 0],
    ]);
    expect(d.codes[1] & WRITTEN_BETWEEN).toBe(WRITTEN_BETWEEN);
    expect(d.codes[1] & 15).toBe(2 * 3 + 1);
  });
});
