/**
 * The Writers panel's reducer: totals per function and per thread over the ticks, each tick
 * counted once (a replay shows ticks again), a new session starting from nothing, and the
 * tooltip's words for a VMA's writers.
 */
import { describe, expect, it } from 'vitest';
import type { WhoEvent, WhoTickInfo } from '../../../core/protocol/who.ts';
import {
  addTick,
  emptyTotals,
  initialWho,
  fnKey,
  onWho,
  pickedRanges,
  ranked,
  togglePicked,
  tickRows,
  vmaWritersText,
} from './store.ts';

const w = (fn: string, thread: string, tid: number, pages: number, partial = false) => ({
  fn,
  module: 'who-writer',
  thread,
  tid,
  pages,
  share: 0,
  partial,
});

const tick = (writers: WhoTickInfo['writers'], extra: Partial<WhoTickInfo> = {}): WhoTickInfo => ({
  period: 1,
  estimated: false,
  attributedPages: writers.reduce((n, x) => n + x.pages, 0),
  lost: 0,
  writers,
  vmas: [],
  ...extra,
});

const ev = (sessionId: number, t: number, who: WhoTickInfo): WhoEvent => ({
  event: 'who',
  sessionId,
  tick: t,
  who,
});

describe('who totals', () => {
  it('sum pages per function and per thread over ticks, most first', () => {
    let t = emptyTotals();
    t = addTick(
      t,
      1,
      tick([w('fill_alpha', 'writer-a', 10, 256), w('fill_beta', 'writer-b', 11, 100)]),
    );
    t = addTick(
      t,
      2,
      tick([w('fill_beta', 'writer-b', 11, 200), w('fill_alpha', 'writer-c', 12, 5, true)]),
    );
    expect(t.pages).toBe(561);
    expect(ranked(t.functions).map((r) => [r.label, r.pages, r.partial])).toEqual([
      ['fill_beta (who-writer)', 300, false],
      ['fill_alpha (who-writer)', 261, true],
    ]);
    expect(ranked(t.threads).map((r) => [r.label, r.pages])).toEqual([
      ['writer-b (tid 11)', 300],
      ['writer-a (tid 10)', 256],
      ['writer-c (tid 12)', 5],
    ]);
  });

  it('count a tick shown twice once, and leave the old totals unchanged', () => {
    const one = addTick(emptyTotals(), 7, tick([w('f', 't', 1, 4)]));
    const again = addTick(one, 7, tick([w('f', 't', 1, 4)]));
    expect(again.pages).toBe(4);
    const two = addTick(one, 8, tick([w('f', 't', 1, 6)]));
    expect(two.functions.get('f\u0000who-writer')!.pages).toBe(10);
    expect(one.functions.get('f\u0000who-writer')!.pages).toBe(4);
  });

  it('count the pages of writers not listed in the tick total', () => {
    const t = addTick(
      emptyTotals(),
      1,
      tick([w('f', 't', 1, 4)], { attributedPages: 10, estimated: true }),
    );
    expect(t.pages).toBe(10);
    expect(t.estimated).toBe(true);
  });

  it('group one tick by function', () => {
    const rows = tickRows(
      tick([w('f', 'a', 1, 3), w('f', 'b', 2, 4), w('g', 'a', 1, 1)]),
      'function',
    );
    expect(rows.map((r) => [r.label, r.pages])).toEqual([
      ['f (who-writer)', 7],
      ['g (who-writer)', 1],
    ]);
  });
});

describe('who events', () => {
  it('start again for another session, keep the last tick and its VMAs', () => {
    let s = onWho(initialWho(), ev(1, 1, tick([w('f', 't', 1, 4)])));
    s = { ...s, enabled: true };
    s = onWho(
      s,
      ev(
        2,
        1,
        tick([w('g', 't', 1, 2)], {
          vmas: [
            {
              start: '0x7f0000',
              label: 'anon',
              writers: [
                { fn: 'g', thread: 't', tid: 1, pages: 3 },
                { fn: 'h', thread: 'u', tid: 2, pages: 1 },
              ],
            },
          ],
        }),
      ),
    );
    expect(s.sessionId).toBe(2);
    expect(s.enabled).toBe(false);
    expect(s.totals.pages).toBe(2);
    expect(s.last?.tick).toBe(1);
    expect(vmaWritersText('0x00007f0000', s)).toBe('Latest writers: g in t 75%, h in u 25%');
    expect(vmaWritersText('0x1000', s)).toBeNull();
    // A later tick that wrote elsewhere leaves this VMA's latest writers.
    s = onWho(s, ev(2, 2, tick([w('k', 't', 1, 1)])));
    expect(vmaWritersText('0x7f0000', s)).toMatch(/^Latest writers: g in t/);
  });
});

describe('picking a writer (the by-writer highlight)', () => {
  const a1 = {
    ...w('fill_alpha', 'writer-a', 11, 3),
    ranges: [[100, 103]] as Array<[number, number]>,
    moreRanges: 2,
  };
  const a2 = {
    ...w('fill_alpha', 'writer-c', 13, 1),
    ranges: [[500, 501]] as Array<[number, number]>,
  };
  const b = {
    ...w('fill_beta', 'writer-b', 12, 4),
    ranges: [[200, 204]] as Array<[number, number]>,
  };

  it("a function joins its threads' ranges; a thread its functions'; toggling clears", () => {
    let s = onWho(initialWho(), ev(1, 5, tick([a1, a2, b])));
    const fn = {
      by: 'function' as const,
      key: fnKey('fill_alpha', 'who-writer'),
      label: 'fill_alpha',
    };
    s = togglePicked(s, fn);
    expect(pickedRanges(s)).toEqual({
      ranges: [
        [100, 103],
        [500, 501],
      ],
      moreRanges: 2,
      sampled: false,
      missing: false,
    });
    s = togglePicked(s, { by: 'thread', key: '12', label: 'writer-b' });
    expect(pickedRanges(s)?.ranges).toEqual([[200, 204]]);
    // A tick of other faults only (no writers) keeps the highlight of the last writes.
    s = onWho(s, ev(1, 6, tick([])));
    expect(pickedRanges(s)?.ranges).toEqual([[200, 204]]);
    // The pick follows the writer into the next tick, at a period: sampled pages.
    s = onWho(s, ev(1, 7, tick([{ ...b, ranges: [[300, 301]] }], { period: 16, estimated: true })));
    expect(pickedRanges(s)).toMatchObject({ ranges: [[300, 301]], sampled: true });
    s = togglePicked(s, { by: 'thread', key: '12', label: 'writer-b' });
    expect(s.picked).toBeNull();
    expect(pickedRanges(s)).toBeNull();
  });

  it('writers without ranges (an older recording) are said to be missing; a new session drops the pick', () => {
    let s = onWho(initialWho(), ev(1, 5, tick([w('fill_beta', 'writer-b', 12, 4)])));
    s = togglePicked(s, { by: 'thread', key: '12', label: 'writer-b' });
    expect(pickedRanges(s)).toMatchObject({ ranges: [], missing: true });
    s = onWho(s, ev(2, 1, tick([b])));
    expect(s.picked).toBeNull();
  });
});
