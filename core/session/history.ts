/**
 * The history ring: per-tick counters and written ranges, bounded by a byte budget.
 *
 * Each entry is charged its real payload (the written ranges' bytes) plus a fixed overhead for
 * the counters object and bookkeeping; when the total passes the budget the oldest entries go.
 * One entry larger than the whole budget keeps its counters but drops its ranges, so the
 * timeline never has holes.
 */
import type { TickCounters } from '../protocol/messages.ts';

/** Bytes charged per entry beyond its ranges: the counters object (9 numbers) and the slot. */
export const ENTRY_OVERHEAD_BYTES = 160;
export const DEFAULT_HISTORY_BYTES = 64 * 1024 * 1024;

export interface HistoryEntry {
  counters: TickCounters;
  vmaVersion: number;
  /** Collapsed written ranges of that tick (valid for `vmaVersion`'s layout). */
  written: Float64Array;
}

export class HistoryRing {
  private entries: (HistoryEntry | undefined)[] = [];
  private head = 0; // index of the oldest entry
  private count = 0;
  private used = 0;

  constructor(readonly budgetBytes: number = DEFAULT_HISTORY_BYTES) {
    if (!(budgetBytes >= ENTRY_OVERHEAD_BYTES))
      throw new RangeError(`History budget must be at least ${ENTRY_OVERHEAD_BYTES} bytes.`);
  }

  static cost(e: HistoryEntry): number {
    return ENTRY_OVERHEAD_BYTES + e.written.byteLength;
  }

  get usedBytes(): number {
    return this.used;
  }

  get length(): number {
    return this.count;
  }

  push(entry: HistoryEntry): void {
    if (HistoryRing.cost(entry) > this.budgetBytes)
      entry = { ...entry, written: new Float64Array(0) };
    const cost = HistoryRing.cost(entry);
    while (this.count > 0 && this.used + cost > this.budgetBytes) this.dropOldest();
    if (this.count === this.entries.length) this.grow();
    this.entries[(this.head + this.count) % this.entries.length] = entry;
    this.count++;
    this.used += cost;
  }

  /** Oldest first. */
  toArray(): HistoryEntry[] {
    const out: HistoryEntry[] = [];
    for (let i = 0; i < this.count; i++)
      out.push(this.entries[(this.head + i) % this.entries.length] as HistoryEntry);
    return out;
  }

  counters(): TickCounters[] {
    return this.toArray().map((e) => e.counters);
  }

  clear(): void {
    this.entries = [];
    this.head = 0;
    this.count = 0;
    this.used = 0;
  }

  private dropOldest(): void {
    const e = this.entries[this.head] as HistoryEntry;
    this.entries[this.head] = undefined;
    this.used -= HistoryRing.cost(e);
    this.head = (this.head + 1) % this.entries.length;
    this.count--;
  }

  private grow(): void {
    const cap = Math.max(64, this.entries.length * 2);
    const next: (HistoryEntry | undefined)[] = new Array(cap);
    for (let i = 0; i < this.count; i++)
      next[i] = this.entries[(this.head + i) % this.entries.length];
    this.entries = next;
    this.head = 0;
  }
}
