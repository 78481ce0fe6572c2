import { describe, expect, it } from 'vitest';
import { MIN_SLOTS, timeLostToTicks, type SlotRun } from './write-dips.ts';

const MS = 1_000_000n;
/** A writer at 1000 writes per 10 ms slot whose rate `dip` rewrites slot by slot. */
function run(slots: number, dip: (slot: number) => number = () => 1000): SlotRun {
  return {
    slotMs: 10,
    startNs: 5_000n * MS,
    counts: Array.from({ length: slots }, (_, s) => dip(s)),
  };
}
const at = (ms: number) => 5_000n * MS + BigInt(ms) * MS;

describe('timeLostToTicks', () => {
  it('finds no loss in a flat rate', () => {
    const r = timeLostToTicks(run(100), [at(0), at(500), at(1000)]);
    expect(r).toEqual({ lostMs: 0, spanMs: 1000, intervals: 2 });
  });

  it('counts the writes missing after each tick as time', () => {
    // After the ticks at 0 and 500 ms the writer writes nothing for 30 ms, then half for 20 ms:
    // 30 + 10 ms lost per interval.
    const dip = (s: number) => {
      const inTick = s % 50;
      return inTick < 3 ? 0 : inTick < 5 ? 500 : 1000;
    };
    const r = timeLostToTicks(run(100, dip), [at(0), at(500), at(1000)]);
    expect(r.intervals).toBe(2);
    expect(r.lostMs).toBeCloseTo(80, 9);
    expect(r.spanMs).toBe(1000);
  });

  it('takes each interval’s reference from its own second half (slow drift cancels)', () => {
    // The rate halves between the two intervals; each interval loses 20 ms of its own rate.
    const dip = (s: number) => {
      const rate = s < 50 ? 1000 : 500;
      return s % 50 < 2 ? 0 : rate;
    };
    const r = timeLostToTicks(run(100, dip), [at(0), at(500), at(1000)]);
    expect(r.lostMs).toBeCloseTo(40, 9);
  });

  it('skips intervals too short to judge, and ticks outside the run', () => {
    const short = (MIN_SLOTS - 1) * 10;
    const r = timeLostToTicks(run(100), [at(-200), at(0), at(short), at(500), at(2000)]);
    // -200..0 starts before the run; 0..short is too short; short..500 counts; 500..2000 ends
    // after the run and counts up to its last slot.
    expect(r.intervals).toBe(2);
    expect(r.spanMs).toBe(500 - short + 500);
  });

  it('lines the ticks up with the slots by the clock (a tick mid-slot starts at the next slot)', () => {
    const dip = (s: number) => (s === 11 ? 0 : 1000);
    // Tick at 105 ms: slot 10 (100-110 ms) is partly before it, so the interval starts at 11.
    const r = timeLostToTicks(run(100, dip), [at(105), at(605)]);
    expect(r.spanMs).toBe(490);
    expect(r.lostMs).toBeCloseTo(10, 9);
  });
});
