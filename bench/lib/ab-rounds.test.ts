// bench/lib/ab-rounds.ts: paired rounds, quartiles, the A/A noise floor and the bound's verdict.
import { describe, expect, it } from 'vitest';
import {
  boundHeld,
  boundVerdict,
  ciText,
  estimateVerdict,
  meanAndError,
  medianCi,
  ratioText,
  roundMeans,
  spreadOf,
  summarizeAb,
  THREE_RUN_ORDERS,
  threeRunOrder,
} from './ab-rounds.ts';
import { estimateFits } from './stats.ts';

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

describe('medianCi', () => {
  it('takes the order statistics the binomial allows', () => {
    const twelve = [12, 3, 7, 1, 9, 5, 11, 2, 8, 4, 10, 6];
    const c = medianCi(twelve);
    expect(c.median).toBe(6.5);
    // n = 12: P(B <= 2) = 79/4096 <= 2.5% < P(B <= 3): x(3)..x(10), 1 - 2 x 79/4096.
    expect([c.lo, c.hi]).toEqual([3, 10]);
    expect(c.coverage).toBeCloseTo(1 - (2 * 79) / 4096, 10);
    // n = 8: only the least and the greatest reach 95%.
    const e = medianCi([8, 1, 7, 2, 6, 3, 5, 4]);
    expect([e.lo, e.hi]).toEqual([1, 8]);
    expect(e.coverage).toBeCloseTo(1 - 2 / 256, 10);
    expect(medianCi([]).median).toBeNaN();
    expect(medianCi([2]).coverage).toBe(0);
  });
});

describe('rounds of three', () => {
  it('cycles through all six orders, each run in each place twice', () => {
    expect(new Set(THREE_RUN_ORDERS).size).toBe(6);
    for (let place = 0; place < 3; place++)
      for (const run of 'PQW')
        expect(THREE_RUN_ORDERS.filter((o) => o[place] === run).length).toBe(2);
    expect(threeRunOrder(7)).toBe(threeRunOrder(1));
  });

  it('judges the watched run against the mean of the two unwatched, the floor within the round', () => {
    // The load doubles each round; within a round the two unwatched runs differ by 10%.
    const plainMs = [100, 200, 400, 800, 1600, 3200];
    const plain2Ms = plainMs.map((x) => x * 1.1);
    const watchedMs = plainMs.map((x) => (x * 1.05) / 0.9);
    const plainCpu = plainMs.map((x) => x / 10);
    const plain2Cpu = plainCpu.map((x) => x * 1.1);
    const watchedCpu = plainCpu.map((x) => (x * 1.05) / 0.97);
    const s = summarizeAb({ plainMs, plain2Ms, watchedMs, plainCpu, plain2Cpu, watchedCpu });
    expect(s.aaInRound).toBe(true);
    expect(s.throughput.median).toBeCloseTo(0.9, 10);
    expect(s.cpu.median).toBeCloseTo(0.97, 10);
    // Within the round, not across: 1/1.1, where successive rounds would say 0.5.
    expect(s.aaThroughput.median).toBeCloseTo(1 / 1.1, 10);
    expect(s.aaCpuCi.median).toBeCloseTo(1 / 1.1, 10);
    expect(s.roundThroughput).toHaveLength(6);
    expect(boundVerdict(s, 0.95)).toBe('missed'); // every round at 0.90: the interval too
    expect(ciText(s.throughputCi)).toBe('0.90x [97% CI 0.90-0.90]');
  });

  it('refuses a round of three that lost its second unwatched run', () => {
    const ms = [100, 100, 100];
    const cpu = [10, 10, 10];
    const runs = { plainMs: ms, watchedMs: ms, plainCpu: cpu, watchedCpu: cpu };
    // Not silently the two-run A/A (successive rounds): an error.
    expect(() => summarizeAb({ ...runs, plain2Ms: [100, 100], plain2Cpu: cpu })).toThrow(
      /3 rounds but 2/,
    );
    expect(() => summarizeAb({ ...runs, plain2Ms: ms, plain2Cpu: [10] })).toThrow(/3 rounds/);
    expect(() => summarizeAb({ ...runs, plain2Ms: ms })).toThrow(/both/);
    expect(summarizeAb({ ...runs, plain2Ms: ms, plain2Cpu: cpu }).aaInRound).toBe(true);
  });

  it("takes each round's unwatched figure as the mean of its two runs", () => {
    expect(roundMeans([10, 20, 30])).toEqual([10, 20, 30]);
    expect(roundMeans([10, 20, 30], [12, 26, 30, 99])).toEqual([11, 23, 30]);
    expect(() => roundMeans([10, 20], [10])).toThrow(/2 rounds but 1/);
  });

  it('calls a miss whose interval reaches over the bound noise', () => {
    const plainMs = [100, 100, 100, 100, 100, 100, 100, 100];
    const watchedMs = [
      100 / 0.9,
      100 / 0.92,
      100 / 0.93,
      100 / 0.94,
      100 / 0.945,
      100 / 0.97,
      100 / 1.02,
      100 / 1.1,
    ];
    const cpu = plainMs.map(() => 10);
    const s = summarizeAb({ plainMs, watchedMs, plainCpu: cpu, watchedCpu: cpu });
    expect(s.aaInRound).toBe(false);
    expect(s.throughput.median).toBeLessThan(0.95);
    expect(boundVerdict(s, 0.95)).toBe('missed-within-noise');
    const held = summarizeAb({ plainMs, watchedMs: plainMs, plainCpu: cpu, watchedCpu: cpu });
    expect(boundVerdict(held, 0.95)).toBe('held');
  });
});

describe('estimateVerdict', () => {
  // Rounds whose watched CPU per request is `added`% over the unwatched (same throughput).
  const rounds = (added: number[]) => {
    const plainCpu = added.map(() => 10);
    const watchedCpu = added.map((a) => 10 / (1 - a / 100));
    const ms = added.map(() => 100);
    return summarizeAb({ plainMs: ms, watchedMs: ms, plainCpu, watchedCpu });
  };

  it('meets an estimate that fits the median round', () => {
    expect(estimateVerdict(rounds([8, 9, 10, 10, 11, 12, 12, 13]), 8)).toBe('met');
    // Both under 5%: within 3 points.
    expect(estimateVerdict(rounds([1, 2, 3, 4, 4, 4, 4, 4]), 2)).toBe('met');
  });

  it('tells a miss the interval cannot reach from one inside the noise', () => {
    // Every round +20%: an estimate of 5% misses whatever more rounds say.
    expect(estimateVerdict(rounds([19, 20, 20, 20, 20, 20, 20, 21]), 5)).toBe('missed');
    // Median +10% against 5% estimated, but rounds from -2% to +25%: the interval (n = 8:
    // the least and the greatest) holds shares 5% fits.
    const noisy = rounds([-2, 4, 8, 10, 10, 14, 20, 25]);
    expect(estimateFits(5, noisy.cpuAddedPct.median)).toBe(false);
    expect(estimateVerdict(noisy, 5)).toBe('missed-within-noise');
    // An estimate far over every round: missed too.
    expect(estimateVerdict(rounds([1, 2, 2, 2, 2, 2, 2, 3]), 40)).toBe('missed');
  });
});
