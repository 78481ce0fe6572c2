import { describe, expect, it } from 'vitest';
import { tickCounters } from '../../../testing/counters.ts';
import { overheadScaleMax, timelineLabel } from './draw.ts';

describe('the timeline’s overhead', () => {
  const ticks = [
    tickCounters({ tick: 1, present: 10, written: 2, watched: 8 }),
    tickCounters({
      tick: 2,
      present: 10,
      written: 3,
      watched: 8,
      estOverheadPct: 3.21,
      estOverheadLowPct: 2.09,
      estOverheadHighPct: 4.98,
    }),
  ];

  it('is named with its range and what it is a share of', () => {
    expect(timelineLabel(ticks)).toBe(
      "Timeline of 2 ticks; latest tick 2: 3 written, 10 present, 0 swapped pages; estimated overhead 3.2% (2.1-5.0%) (estimated share of the target's CPU time spent on write faults and on pagescope's own work that competed with it; in brackets the range it may be in).",
    );
    expect(timelineLabel([])).toBe('Timeline: no ticks yet.');
  });

  it('is drawn on a scale that holds the top of its range, at most 100%', () => {
    expect(overheadScaleMax(ticks)).toBe(4.98);
    expect(overheadScaleMax([{ ...ticks[1], estOverheadPct: 80, estOverheadHighPct: 100 }])).toBe(
      100,
    );
    // A recording that states no range: the estimate's own top.
    expect(overheadScaleMax([{ ...ticks[1], estOverheadHighPct: -1 }])).toBe(3.21);
    expect(overheadScaleMax([ticks[0]])).toBe(0);
  });
});
