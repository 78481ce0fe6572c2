import { describe, expect, it } from 'vitest';
import { indexAtOrBefore, indexOfTick, parseTick, stepToTick, writtenTicks } from './ticks.ts';

// A recording started from the UI at the session's tick 37, with tick 40 not recorded.
const TICKS = [37, 38, 39, 41, 42];

describe('tick numbers and positions', () => {
  it('finds a tick by its number, never by its position', () => {
    expect(indexOfTick(TICKS, 37)).toBe(0);
    expect(indexOfTick(TICKS, 41)).toBe(3);
    expect(indexOfTick(TICKS, 40)).toBe(-1);
    expect(indexOfTick(TICKS, 1)).toBe(-1);
    expect(indexOfTick([], 1)).toBe(-1);
    expect(indexAtOrBefore(TICKS, 40)).toBe(2);
    expect(indexAtOrBefore(TICKS, 5)).toBe(0);
    expect(indexAtOrBefore(TICKS, 99)).toBe(4);
  });

  it('steps over a gap in the direction moved', () => {
    expect(stepToTick(TICKS, 2, 40)).toBe(3); // 39 -> right -> 41
    expect(stepToTick(TICKS, 3, 40)).toBe(2); // 41 -> left -> 39
    expect(stepToTick(TICKS, 0, 38)).toBe(1);
    expect(stepToTick(TICKS, 4, 43)).toBe(4);
    expect(stepToTick(TICKS, 0, 0)).toBe(0);
  });

  it('reads a typed tick number as that tick (10 is tick 10), or says why not in a sentence', () => {
    const oneBased = Array.from({ length: 40 }, (_, i) => i + 1);
    expect(parseTick('10', oneBased)).toEqual({ index: 9, tick: 10 });
    expect(parseTick(' 41 ', TICKS)).toEqual({ index: 3, tick: 41 });
    expect(parseTick('40', TICKS)).toEqual({
      error:
        'The recording has no tick 40 (it was not recorded): its ticks are numbered 37 to 42, with gaps.',
    });
    expect(parseTick('0', oneBased)).toEqual({
      error: 'The recording has no tick 0: its ticks are numbered 1 to 40.',
    });
    expect(parseTick('x', oneBased)).toEqual({
      error: '“x” is not a tick number: its ticks are numbered 1 to 40.',
    });
  });

  it('names the ticks whose writes a comparison counts: after A, up to B', () => {
    expect(writtenTicks(100, 101)).toBe('tick 101');
    expect(writtenTicks(5, 30)).toBe('ticks 6–30');
  });
});
