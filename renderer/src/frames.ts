/**
 * The FrameHub: where frames land, outside React. It keeps the latest frame, a bounded history
 * of per-tick counters and written ranges (for the timeline and for looking at a past tick) and
 * the write heat, then tells its subscribers (the heatmap and timeline canvases, the status
 * line) — each redraws itself imperatively on the next animation frame.
 *
 * A recording being replayed has its whole history from the start (`loadHistory`): frames then
 * move the current position instead of appending. A comparison of two ticks is one more frame
 * (`diff`, see heatmap/diff-frame.ts), drawn in the diff colour mode.
 */
import type { Frame } from '../../core/protocol/frame.ts';
import type { TickCounters } from '../../core/protocol/messages.ts';
import type { ColourMode } from './heatmap/colour.ts';
import { HeatStore } from './heatmap/heat.ts';

export const HISTORY_TICKS = 600;

export interface TickRecord {
  counters: TickCounters;
  written: Float64Array;
}

type Listener = (hub: FrameHub) => void;

export class FrameHub {
  latest: Frame | null = null;
  history: TickRecord[] = [];
  heat: HeatStore | null = null;
  sessionId: number | null = null;
  /** True while the history is a whole recording's (loaded, not appended to). */
  fixedHistory = false;
  /** The comparison of two ticks, as a frame for the diff colour mode. */
  diff: Frame | null = null;
  private listeners = new Set<Listener>();

  reset(sessionId: number | null, totalPages = 0): void {
    this.sessionId = sessionId;
    this.latest = null;
    this.history = [];
    this.fixedHistory = false;
    this.diff = null;
    this.heat = totalPages > 0 ? new HeatStore(totalPages) : null;
    this.emit();
  }

  /** A new VMA table: page indices moved, so the heat restarts at the new size. */
  resize(totalPages: number): void {
    if (!this.heat || this.heat.totalPages !== totalPages) this.heat = new HeatStore(totalPages);
  }

  push(frame: Frame): void {
    if (this.sessionId === null || frame.sessionId !== this.sessionId) return;
    if (!this.heat || this.heat.totalPages !== frame.totalPages) this.resize(frame.totalPages);
    this.latest = frame;
    this.heat!.add(frame.tick, frame.written);
    if (this.fixedHistory) {
      this.emit();
      return;
    }
    this.history.push({ counters: frame.counters, written: frame.written.slice() });
    if (this.history.length > HISTORY_TICKS)
      this.history.splice(0, this.history.length - HISTORY_TICKS);
    this.emit();
  }

  /** A recording's every tick, in order: the timeline shows all of it. */
  loadHistory(records: TickRecord[]): void {
    this.history = records;
    this.fixedHistory = true;
    this.emit();
  }

  setDiff(diff: Frame | null): void {
    this.diff = diff;
    this.emit();
  }

  /** The frame the heatmap and legend draw in a colour mode. */
  frameFor(mode: ColourMode): Frame | null {
    return mode === 'diff' && this.diff ? this.diff : this.latest;
  }

  /** Forget write heat (after "Reset written"). */
  clearHeat(): void {
    this.heat?.clear();
    this.emit();
  }

  /** A heat store as it was at `tick`, rebuilt from the history (for looking at a past tick). */
  heatAt(tick: number): HeatStore | null {
    if (!this.heat) return null;
    const h = new HeatStore(this.heat.totalPages, this.heat.span);
    for (const rec of this.history) {
      if (rec.counters.tick > tick) break;
      if (rec.counters.tick > tick - h.span) h.add(rec.counters.tick, rec.written);
    }
    return h;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(): void {
    for (const l of this.listeners) l(this);
  }
}

export const frameHub = new FrameHub();
