/**
 * A frame's or recorded tick's counters for tests: an exact, on-time tick at 100 ms with the
 * given values, so a test names only what it checks.
 */
import type { TickCounters } from '../core/protocol/messages.ts';

export function tickCounters(
  c: Partial<TickCounters> & Pick<TickCounters, 'tick' | 'present' | 'written' | 'watched'>,
): TickCounters {
  return {
    t: c.tick * 100,
    swapped: 0,
    scanMs: 1,
    lagMs: 0,
    skipped: 0,
    estOverheadPct: 0,
    estOverheadLowPct: 0,
    estOverheadHighPct: 0,
    sampleFraction: 1,
    writtenEst: c.written,
    writtenErr: 0,
    intervalMs: 100,
    ...c,
  };
}
