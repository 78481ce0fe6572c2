import { describe, expect, it } from 'vitest';
import { lateness, nextDue, Ticker, type Clock, type TickTiming } from './ticker.ts';

/** A clock whose time moves only when told; timers fire in order as it passes them. */
function manualClock(): Clock & { advance(ms: number): void; t: number } {
  let seq = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  const clock = {
    t: 1000,
    now: () => clock.t,
    setTimer: (fn: () => void, ms: number) => {
      timers.set(++seq, { at: clock.t + ms, fn });
      return seq;
    },
    clearTimer: (h: unknown) => void timers.delete(h as number),
    /** Moves time forward by `ms`, firing due timers at their own times. */
    advance(ms: number) {
      const end = clock.t + ms;
      for (;;) {
        const next = [...timers].sort((a, b) => a[1].at - b[1].at)[0];
        if (!next || next[1].at > end) break;
        timers.delete(next[0]);
        clock.t = Math.max(clock.t, next[1].at);
        next[1].fn();
      }
      clock.t = Math.max(clock.t, end);
    },
  };
  return clock;
}

describe('grid arithmetic', () => {
  it('lateness: lag against the due grid point, skipped grid points = floor(lag / interval)', () => {
    expect(lateness(100, 100, 100)).toEqual({ lagMs: 0, skipped: 0 });
    expect(lateness(100, 99.5, 100)).toEqual({ lagMs: 0, skipped: 0 });
    expect(lateness(100, 330, 100)).toEqual({ lagMs: 230, skipped: 2 });
    expect(lateness(100, 400.004, 100)).toEqual({ lagMs: 300, skipped: 3 });
  });

  it('nextDue: on time stays on the next grid point; an overrun fires at the first grid point after it ended', () => {
    expect(nextDue(0, 0, 30, 100)).toEqual({ dueMs: 100, fireAtMs: 100 });
    // Due at 0, ran until 330: due again at 100 (so 300 ms late), fires at 400.
    expect(nextDue(0, 0, 330, 100)).toEqual({ dueMs: 100, fireAtMs: 400 });
    // Due at 100, started at 400 (3 skipped): its own grid point is 400, the next is 500.
    expect(nextDue(100, 3, 420, 100)).toEqual({ dueMs: 500, fireAtMs: 500 });
    // Ending exactly on a grid point waits for the one after it.
    expect(nextDue(0, 0, 100, 100)).toEqual({ dueMs: 100, fireAtMs: 200 });
  });
});

describe('Ticker', () => {
  it('ticks on its grid, reports an overrun as lateness and skipped ticks, and never bursts', () => {
    const clock = manualClock();
    const seen: TickTiming[] = [];
    const cost = new Map<number, number>([[3, 330]]); // tick 3 takes 330 ms
    const ticker = new Ticker(
      (t) => {
        seen.push(t);
        clock.t += cost.get(t.n) ?? 5;
      },
      { intervalMs: 100, clock },
    );
    ticker.start(100);
    clock.advance(1000);
    ticker.stop();
    expect(seen.map((t) => t.startMs)).toEqual([100, 200, 300, 700, 800, 900, 1000]);
    expect(seen.map((t) => t.lagMs)).toEqual([0, 0, 0, 300, 0, 0, 0]);
    expect(seen.map((t) => t.skipped)).toEqual([0, 0, 0, 3, 0, 0, 0]);
    expect(seen.map((t) => t.n)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(ticker.lastTickMs).toBe(5);
  });

  it('a timer that fires late (a busy thread) shows as lateness, and the grid continues from there', () => {
    const clock = manualClock();
    const seen: TickTiming[] = [];
    const ticker = new Ticker((t) => seen.push(t), { intervalMs: 50, clock });
    ticker.start(0);
    clock.advance(0);
    clock.t += 120; // the thread was busy for 120 ms: the tick due at 50 starts at 120
    clock.advance(0);
    clock.advance(100);
    ticker.stop();
    expect(seen.map((t) => [t.startMs, t.dueMs, t.lagMs, t.skipped])).toEqual([
      [0, 0, 0, 0],
      [120, 50, 70, 1],
      [150, 150, 0, 0],
      [200, 200, 0, 0],
    ]);
  });

  it('pauses, resumes on a new grid, and re-grids on a new interval', () => {
    const clock = manualClock();
    const seen: number[] = [];
    const ticker = new Ticker((t) => seen.push(t.startMs), { intervalMs: 100, clock });
    ticker.start(0);
    clock.advance(250);
    ticker.stop();
    expect(ticker.running).toBe(false);
    clock.advance(1000);
    ticker.resume();
    clock.advance(150);
    ticker.setInterval(30);
    clock.advance(70);
    ticker.stop();
    expect(seen).toEqual([0, 100, 200, 1250, 1350, 1430, 1460]);
  });

  it('stops from inside a tick', () => {
    const clock = manualClock();
    let n = 0;
    const ticker = new Ticker(
      () => {
        if (++n === 2) ticker.stop();
      },
      { intervalMs: 10, clock },
    );
    ticker.start(0);
    clock.advance(100);
    expect(n).toBe(2);
  });

  it('with the real clock: a slow tick makes the next one late by whole intervals, on the grid', async () => {
    const seen: TickTiming[] = [];
    await new Promise<void>((resolve) => {
      const ticker = new Ticker(
        (t) => {
          seen.push(t);
          if (t.n === 1) {
            const until = performance.now() + 35;
            while (performance.now() < until); // a tick 3.5 intervals long
          }
          if (t.n === 3) {
            ticker.stop();
            resolve();
          }
        },
        { intervalMs: 10 },
      );
      ticker.start(0);
    });
    const [first, second] = seen;
    expect(second.skipped).toBeGreaterThanOrEqual(3);
    expect(second.lagMs).toBeGreaterThanOrEqual(30);
    // Due right after the first tick's own grid point (the first may itself have been late).
    expect(second.dueMs).toBe(first.dueMs + (first.skipped + 1) * 10);
    // Both ticks' own grid points are on the one grid.
    const own = (t: TickTiming): number => t.dueMs + t.skipped * 10;
    expect(own(second) - own(first)).toBe((second.skipped + 1) * 10);
  });
});
