/**
 * The tick grid: calls `onTick` every `intervalMs` on a fixed grid, and says how late each tick
 * is (issue 11: no silent lag).
 *
 * Strategy: ticks are due on grid points origin + k * interval. A tick that runs past the next
 * grid point does not cause a catch-up burst: the next tick waits for the first grid point
 * after the overrunning tick ENDED (so the thread always gets the rest of an interval between
 * ticks), and the grid points passed over are skipped. Each tick carries
 *   - lagMs: how late it started against the grid point it was due at, i.e. the one right
 *     after the previous tick's (or the grid's first point). An overrun of k intervals makes
 *     the next tick k * interval late; a timer that fires late (a thread busy with a request)
 *     shows as lateness too.
 *   - skipped: the grid points passed over since the previous tick: floor(lagMs / interval).
 * The arithmetic is in the pure functions `lateness` and `nextDue`; the Ticker adds the timer.
 * Pausing stops the grid; resuming and changing the interval start a new grid. The clock and
 * timer are injectable so the grid logic is tested without real time.
 */

export interface TickTiming {
  /** 1-based count of ticks this ticker ran. */
  n: number;
  /** The grid point this tick was due at, ms since the ticker's origin. */
  dueMs: number;
  /** When it started, ms since the ticker's origin. */
  startMs: number;
  /** startMs - dueMs, rounded to 0.01 ms (never negative). */
  lagMs: number;
  /** Grid points passed over since the previous tick. */
  skipped: number;
  /** The grid's interval this tick ran on, ms. */
  intervalMs: number;
}

/** Lateness of a tick due at `dueMs` that starts at `startMs`. */
export function lateness(
  dueMs: number,
  startMs: number,
  intervalMs: number,
): { lagMs: number; skipped: number } {
  // skipped from the rounded lag, so the reported pair always agrees: skipped = floor(lag / I).
  const lagMs = Math.round(Math.max(0, startMs - dueMs) * 100) / 100;
  return { lagMs, skipped: Math.floor(lagMs / intervalMs) };
}

/**
 * After a tick due at `dueMs` that skipped `skipped` grid points and ended at `endMs`: the grid
 * point the next tick is due at (right after this tick's own grid point) and the one it fires
 * at (the first grid point after `endMs`; the same one unless this tick overran).
 */
export function nextDue(
  dueMs: number,
  skipped: number,
  endMs: number,
  intervalMs: number,
): { dueMs: number; fireAtMs: number } {
  const own = dueMs + skipped * intervalMs;
  const due = own + intervalMs;
  if (endMs < due) return { dueMs: due, fireAtMs: due };
  return { dueMs: due, fireAtMs: own + (Math.floor((endMs - own) / intervalMs) + 1) * intervalMs };
}

export interface Clock {
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

export const realClock: Clock = {
  now: () => performance.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (h) => clearTimeout(h as NodeJS.Timeout),
};

export class Ticker {
  private readonly origin: number;
  private timer: unknown = null;
  private due = 0;
  private fireAt = 0;
  private count = 0;
  private active = false;
  private interval: number;
  private lastMs = 0;

  private readonly clock: Clock;

  constructor(
    private readonly onTick: (t: TickTiming) => void,
    options: { intervalMs: number; clock?: Clock },
  ) {
    this.clock = options.clock ?? realClock;
    this.interval = options.intervalMs;
    this.origin = this.clock.now();
  }

  get intervalMs(): number {
    return this.interval;
  }

  /** Whether ticks are scheduled (started, not paused or stopped). */
  get running(): boolean {
    return this.active;
  }

  /** How long the last onTick took, ms. */
  get lastTickMs(): number {
    return this.lastMs;
  }

  /** ms since the ticker's origin (the clock the timings use). */
  elapsedMs(): number {
    return this.clock.now() - this.origin;
  }

  /** Starts a new grid whose first point is `firstInMs` from now. */
  start(firstInMs = 0): void {
    this.active = true;
    this.due = this.fireAt = this.elapsedMs() + firstInMs;
    this.schedule();
  }

  /** Stops the grid; `start`/`resume` begin a new one. Idempotent. */
  stop(): void {
    this.active = false;
    if (this.timer !== null) this.clock.clearTimer(this.timer);
    this.timer = null;
  }

  /** A new grid starting now (a tick at once). No-op while running. */
  resume(): void {
    if (!this.active) this.start(0);
  }

  /** A new interval; while running, a new grid whose first point is one interval from now. */
  setInterval(intervalMs: number): void {
    this.interval = intervalMs;
    if (this.active) this.start(intervalMs);
  }

  private schedule(): void {
    if (this.timer !== null) this.clock.clearTimer(this.timer);
    this.timer = null;
    if (!this.active) return;
    this.timer = this.clock.setTimer(
      () => this.fire(),
      Math.max(0, this.fireAt - this.elapsedMs()),
    );
  }

  private fire(): void {
    this.timer = null;
    if (!this.active) return;
    // Node's timers may fire up to a millisecond before the point they were set for (libuv
    // counts whole ms): such a tick counts as starting on that point.
    const startMs = Math.max(this.elapsedMs(), this.fireAt);
    const { lagMs, skipped } = lateness(this.due, startMs, this.interval);
    const timing: TickTiming = {
      n: ++this.count,
      dueMs: this.due,
      startMs,
      lagMs,
      skipped,
      intervalMs: this.interval,
    };
    const interval = this.interval;
    const due = this.due;
    try {
      this.onTick(timing);
    } finally {
      const endMs = this.elapsedMs();
      this.lastMs = endMs - startMs;
      // onTick may have stopped, paused or re-gridded us (setInterval): then that grid stands.
      if (this.active && this.timer === null && this.due === due && this.interval === interval) {
        const next = nextDue(due, skipped, endMs, interval);
        this.due = next.dueMs;
        this.fireAt = next.fireAtMs;
        this.schedule();
      }
    }
  }
}
