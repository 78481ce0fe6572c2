// bench/lib/ab-rounds.ts: paired rounds, quartiles, the A/A noise floor and the bound's verdict.
import { describe, expect, it } from 'vitest';
import { boundHeld, meanAndError, ratioText, spreadOf, summarizeAb } from './ab-rounds.ts';

describe('spreadOf / meanAndError', () => {
  it('gives quartiles by interpolation and ignores non-finite values', () => {
    expect(spreadOf([4, 1, 3, 2, NaN, 5])).toEqual({ q1: 2, median: 3, q3: 4 });
    expect(spreadOf([]).median).toBeNaN();
    const m = meanAndError([1, 2, 3, 4]);
    expect(m.mean).toBe(2.5);
    expect(m.se).toBeCloseTo(Math.sqrt(5 / 3) / 2, 10);
    expect(meanAndError([7]).se).toBeNaN();
  });
});

describe('summarizeAb', () => {
  it('pairs each watched run with the unwatched run of its own round', () => {
    // The load doubles every round: each side's median mixes loads, each round does not.
    const plainMs = [100, 200, 400, 800];
    const watchedMs = plainMs.map((x) => x / 0.97);
    const plainCpu = [10, 20, 40, 80];
    const watchedCpu = plainCpu.map((x) => x / 0.98);
    const s = summarizeAb({ plainMs, watchedMs, plainCpu, watchedCpu });
    expect(s.rounds).toBe(4);
    expect(s.throughput.median).toBeCloseTo(0.97, 10);
    expect(s.cpu.median).toBeCloseTo(0.98, 10);
    expect(s.cpuAddedPct.median).toBeCloseTo(2, 10);
    expect(s.cpuAddedMean.se).toBeCloseTo(0, 10);
    // Successive unwatched runs halve: the A/A floor says so.
    expect(s.aaThroughput.median).toBeCloseTo(0.5, 10);
    expect(boundHeld(s, 0.95)).toBe(true);
    expect(boundHeld(s, 0.975)).toBe(false); // the throughput's 0.97 misses it
    expect(ratioText(s.cpu)).toBe('0.98x (0.98-0.98)');
  });

  it('judges the bound by both throughput and CPU per request', () => {
    const s = summarizeAb({
      plainMs: [100, 100, 100],
      watchedMs: [100, 100, 100],
      plainCpu: [10, 10, 10],
      watchedCpu: [12, 12, 12],
    });
    expect(s.cpu.median).toBeCloseTo(10 / 12, 10);
    expect(boundHeld(s, 0.95)).toBe(false);
  });
});
