/**
 * Write heat: how recently and how often each page was written over the last `span` ticks.
 *
 * Kept per slot (one page per slot up to MAX_SLOTS pages, else a fixed group of pages per slot)
 * as the tick of the last write and a recent-write count. A tick only touches the pages written
 * in it, so the cost follows the write set, not the address space; the decay is computed when a
 * slot is read.
 */
export const MAX_SLOTS = 4 * 1024 * 1024;

/** Heat level 1..255 of a page last written `age` ticks ago, `count` times recently. */
export function heatLevel(age: number, count: number, span: number): number {
  const recency = 1 - age / span;
  const often = Math.min(1, count / 8);
  return Math.max(1, Math.round(255 * recency * (0.55 + 0.45 * often)));
}

export class HeatStore {
  readonly pagesPerSlot: number;
  readonly lastTick: Int32Array;
  readonly count: Uint16Array;
  /** The written ranges of the last `span` ticks, oldest first (for painting heat fast). */
  recent: Array<{ tick: number; written: Float64Array }> = [];

  constructor(
    readonly totalPages: number,
    readonly span = 20,
  ) {
    this.pagesPerSlot = Math.max(1, Math.ceil(totalPages / MAX_SLOTS));
    const slots = Math.max(1, Math.ceil(totalPages / this.pagesPerSlot));
    this.lastTick = new Int32Array(slots).fill(-1);
    this.count = new Uint16Array(slots);
  }

  /** Record one tick's written ranges ([start, end, start, end, ...], collapsed indices). */
  add(tick: number, written: ArrayLike<number>): void {
    if (written.length > 0) {
      this.recent.push({ tick, written: Float64Array.from(written) });
      while (this.recent.length && this.recent[0].tick <= tick - this.span) this.recent.shift();
    }
    const g = this.pagesPerSlot;
    const slots = this.lastTick.length;
    for (let r = 0; r + 1 < written.length; r += 2) {
      const a = Math.max(0, Math.floor(written[r] / g));
      const b = Math.min(slots, Math.ceil(written[r + 1] / g));
      for (let s = a; s < b; s++) {
        const last = this.lastTick[s];
        if (last === tick) continue;
        this.count[s] =
          last < 0 || tick - last > this.span ? 1 : Math.min(65535, this.count[s] + 1);
        this.lastTick[s] = tick;
      }
    }
  }

  clear(): void {
    this.recent = [];
    this.lastTick.fill(-1);
    this.count.fill(0);
  }

  /** Heat of a slot at tick `now`: 0 (not written within span) .. 255 (written now, often). */
  level(slot: number, now: number): number {
    const last = this.lastTick[slot];
    if (last < 0 || last > now) return 0;
    const age = now - last;
    if (age >= this.span) return 0;
    return heatLevel(age, this.count[slot], this.span);
  }

  /**
   * The levels as a table for tight loops: `table[age * 9 + min(8, count)]` for age < span
   * (what level() computes, without a call and a division per page).
   */
  levelTable(): Uint8Array {
    const t = new Uint8Array(this.span * 9);
    for (let age = 0; age < this.span; age++)
      for (let c = 0; c < 9; c++) t[age * 9 + c] = heatLevel(age, c, this.span);
    return t;
  }

  /** Hottest level over pages [a, b). */
  maxLevel(a: number, b: number, now: number): number {
    const g = this.pagesPerSlot;
    const s0 = Math.max(0, Math.floor(a / g));
    const s1 = Math.min(this.lastTick.length, Math.ceil(b / g));
    let best = 0;
    const floor = now - this.span;
    for (let s = s0; s < s1; s++) {
      const last = this.lastTick[s];
      if (last > floor && last <= now) {
        const l = this.level(s, now);
        if (l > best) best = l;
      }
    }
    return best;
  }
}
