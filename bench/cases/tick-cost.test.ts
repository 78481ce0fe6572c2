import { describe, expect, it } from 'vitest';
import { summarizeArms, type ArmRun } from './tick-cost.ts';

const run = (units: number, cpuMs: number, ticks = 0, faults = 0, flushes = 0): ArmRun => ({
  units,
  cpuMs,
  wallMs: 2 * cpuMs,
  preempted: 0,
  ticks,
  faults,
  flushes,
  ourTickMs: 0.5,
});

describe('summarizeArms (bench case 11i)', () => {
  it('reads each arm against the same round plain runs and gives the excess beyond the model per tick', () => {
    // Round 1: 0.1 ms a unit plain; round 2 twice as dear (a busier round): the ratio holds.
    const rounds = [1, 2].map((k) => ({
      plain: run(1000, 100 * k),
      plain2: run(1000, 100 * k),
      armed: run(1000, 101 * k),
      quiet100: run(1000, 100 * k, 10),
      // 3% more CPU; 20 faults + 10 flushes x 25 us = 0.75 ms modelled of it.
      sparse100: run(1000, 103 * k, 10, 20, 10),
      sparse400: run(500, 50 * k, 3, 6, 3),
    }));
    const s = Object.fromEntries(summarizeArms(rounds, 25).map((a) => [a.arm, a]));
    // plain2 against plain (A/A); the others against the mean of both: a slower plain2 in a
    // third round (110 ms) moves the A/A figure and half of it into the others'.
    const slow = summarizeArms([...rounds, { ...rounds[0], plain2: run(1000, 110) }], 25);
    expect(slow[0].cpuAddedPct.mean).toBeCloseTo(10 / 3, 9);
    expect(slow[1].cpuAddedPct.mean).toBeCloseTo((1 + 1 + (101 / 105 - 1) * 100) / 3, 9);
    expect(Object.keys(s)).toEqual(['plain2', 'armed', 'quiet100', 'sparse100', 'sparse400']);
    expect(s.plain2.cpuAddedPct.mean).toBeCloseTo(0, 9);
    expect(s.armed.cpuAddedPct.mean).toBeCloseTo(1, 9);
    expect(s.armed.excessUsPerTick).toBeNull();
    expect(s.sparse100.cpuAddedPct.mean).toBeCloseTo(3, 9);
    // The modelled share over all its runs: 2 x 0.75 ms of 103 + 206 ms.
    expect(s.sparse100.modelledPct).toBeCloseTo((2 * 0.75 * 100) / (103 * 3), 9);
    // Round 1: (103 - 100 - 0.75) ms / 10 ticks = 225 us; round 2: (206 - 200 - 0.75) / 10.
    expect(s.sparse100.excessUsPerTick?.mean).toBeCloseTo((225 + 525) / 2, 6);
    expect(s.sparse100.faultsPerTick).toBe(2);
    expect(s.sparse100.flushesPerTick).toBe(1);
    expect(s.sparse400.cpuAddedPct.mean).toBeCloseTo(0, 9);
    expect(s.sparse400.cpuShare).toBeCloseTo(0.5, 9);
  });
});
