// bench/lib/tx-log.ts: pgbench's per-transaction log, as a stopped pgbench leaves it.
import { describe, expect, it } from 'vitest';
import { lastTxEnd, loggedThrough, txBetween, txEnds } from './tx-log.ts';

// As pgbench 15 writes it (-l, one client), then cut mid-line by SIGINT.
const LOG =
  '0 21540 149 0 1796545366 760205\n' +
  '0 21538 143 0 1796545366 759894\n' + // out of order: sorted
  '0 21539 159 0 1796545366 760054\n' +
  '0 21541 skipped 0 1796545366 760300\n' + // not completed: not counted
  '0 21542 148 0 1796545366 760507\n' +
  '0 21543 141 0 1796545366 760'; // the buffer's cut: 760 would read as 760 us

describe('txEnds', () => {
  it('reads the newline-ended lines of completed transactions, sorted', () => {
    const at = (us: number) => 1796545366e6 + us;
    expect(txEnds(LOG)).toEqual([at(759894), at(760054), at(760205), at(760507)]);
    expect(lastTxEnd(LOG)).toBe(at(760507));
    expect(txEnds('')).toEqual([]);
    expect(lastTxEnd('0 1 100 0 17965')).toBe(-Infinity);
  });
});

describe('txBetween / loggedThrough', () => {
  const ends = [10, 20, 30, 40, 50];
  it('counts the ends in (from, to]', () => {
    expect(txBetween(ends, 10, 40)).toBe(3);
    expect(txBetween(ends, 0, 100)).toBe(5);
    expect(txBetween(ends, 45, 46)).toBe(0);
    expect(txBetween([], 0, 100)).toBe(0);
  });
  it('holds a window only where a transaction was logged at or after its end', () => {
    expect(loggedThrough(ends, 50)).toBe(true);
    expect(loggedThrough(ends, 49)).toBe(true);
    // A window past the last logged transaction: its count may lack the log's lost tail.
    expect(loggedThrough(ends, 51)).toBe(false);
    expect(loggedThrough([], 0)).toBe(false);
  });
});
