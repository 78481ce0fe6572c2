import { describe, expect, it } from 'vitest';
import { MIN_SAMPLE_FRACTION, OverheadBudget, powerOfTwoAtMost } from './overhead-budget.ts';

// 1.4 us per fault: 10,000 pages in a 100 ms tick cost 14% of the target's time.
const budget = new OverheadBudget(5, 1.4);
const load = (pages: number, ms = 100) => ({ writtenPagesAtFull: pages, elapsedMs: ms });

describe('powerOfTwoAtMost', () => {
  it('rounds down to a power of two within [1/64, 1]', () => {
    expect(powerOfTwoAtMost(2)).toBe(1);
    expect(powerOfTwoAtMost(1)).toBe(1);
    expect(powerOfTwoAtMost(0.99)).toBe(0.5);
    expect(powerOfTwoAtMost(0.25)).toBe(0.25);
    expect(powerOfTwoAtMost(0.3)).toBe(0.25);
    expect(powerOfTwoAtMost(0.001)).toBe(MIN_SAMPLE_FRACTION);
    expect(powerOfTwoAtMost(0)).toBe(MIN_SAMPLE_FRACTION);
  });
});

describe('OverheadBudget', () => {
  it('stays exact while an exact watch fits the budget', () => {
    expect(budget.next(1, load(3000))).toBe(1); // 4.2%
    expect(budget.next(1, load(0))).toBe(1);
  });

  it('drops at once to the largest power of two that fits', () => {
    // 14% exact: 5/14 = 0.357 -> 1/4 (3.5%).
    expect(budget.next(1, load(10_000))).toBe(0.25);
    // 140%: 0.0357 -> 1/32.
    expect(budget.next(1, load(100_000))).toBe(1 / 32);
  });

  it('never samples less than 1/64, however costly', () => {
    expect(budget.next(1, load(1e9))).toBe(MIN_SAMPLE_FRACTION);
    expect(budget.next(1, load(10, 0))).toBe(MIN_SAMPLE_FRACTION);
  });

  it('widens one step at a time, and only with a margin', () => {
    // 3% exact: doubling 1/4 -> 1/2 costs 1.5% (fits with margin), one step only.
    expect(budget.next(0.25, load(2143))).toBe(0.5);
    // At 1/2 the same load may go back to exact (3% * 1.2 <= 5%).
    expect(budget.next(0.5, load(2143))).toBe(1);
    // 4.5% exact: the doubled sample 1/2 -> 1 would cost 4.5%, over the 20% margin: stay.
    expect(budget.next(0.5, load(3215))).toBe(0.5);
  });

  it('does not flap on a steady load at the edge', () => {
    let f = 1;
    const seen = new Set<number>();
    for (let i = 0; i < 20; i++) {
      f = budget.next(f, load(7000)); // 9.8% exact
      if (i >= 2) seen.add(f);
    }
    expect([...seen]).toEqual([0.5]);
  });

  it('goes back to exact when the target stops writing', () => {
    let f = budget.next(1, load(100_000));
    for (let i = 0; i < 10; i++) f = budget.next(f, load(0));
    expect(f).toBe(1);
  });
});
