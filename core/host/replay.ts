/**
 * A replay session: a recording played back through the same interface as a live Session, so
 * the host service and the UI treat it as one. Frames are the reader's frameAt (each tick exactly
 * as the live session sent it, rebuilt for the view the UI asks for now); the VMA table goes out
 * as a 'vmas' event before the first frame that uses it, as live.
 *
 * Playback: `resume` plays from the current position at the recorded pace divided by `speed`
 * (the next frame waits the recorded gap between the two ticks); it stops at the last tick.
 * `seek` shows any tick at once. A view change re-sends the current tick for the new view (live,
 * the next tick would), coalesced to one frame per turn of the event loop. Nothing here touches
 * a process: watching, resetting and the interval are refused with a sentence.
 */
import { PagescopeError } from '../kernel/errors.ts';
import type { Frame } from '../protocol/frame.ts';
import type {
  AddressRange,
  HostEvent,
  SessionInfo,
  TickCounters,
  VmaInfo,
} from '../protocol/messages.ts';
import type { RecordingSummary, ReplayState } from '../protocol/recording.ts';
import type { Recording } from '../record/reader.ts';
import type { ViewSpec } from '../session/aggregate.ts';
import { DEFAULT_BUCKETS } from '../session/session.ts';

/** Shortest wait between two played frames (a recording at 20 ms played at 64x). */
export const MIN_FRAME_GAP_MS = 15;

export function summarize(rec: Recording, file: string): RecordingSummary {
  const h = rec.header;
  return {
    file,
    createdAt: h.createdAt,
    pid: h.process.pid,
    name: h.process.name,
    cmdline: h.process.cmdline,
    kernel: h.kernel,
    intervalMs: h.intervalMs,
    watching: h.watching,
    ticks: rec.ticks.length,
    durationMs: rec.durationMs,
    bytes: rec.fileBytes,
    truncated: rec.truncated,
    endedCleanly: rec.end !== null,
  };
}

function refuse(what: string): never {
  throw new PagescopeError(
    `This is a recording: it cannot ${what}. Attach to a live process to do that.`,
    'unsupported',
  );
}

export class ReplaySession {
  readonly summary: RecordingSummary;
  private readonly frameListeners = new Set<(f: Frame) => void>();
  private readonly eventListeners = new Set<(e: HostEvent) => void>();
  private view: ViewSpec = { buckets: DEFAULT_BUCKETS };
  private index = 0;
  private playing = false;
  private speed = 1;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private resend: ReturnType<typeof setImmediate> | null = null;
  /** The VMA table (index into recording.tables) the UI was last sent. */
  private sentTable = -1;
  private closed = false;

  constructor(
    readonly sessionId: number,
    readonly recording: Recording,
    file: string,
  ) {
    if (recording.ticks.length === 0)
      throw new PagescopeError(
        `${file} holds no ticks: the recorder stopped before the first scan.`,
        'bad-recording',
      );
    this.summary = summarize(recording, file);
  }

  get pid(): number {
    return this.summary.pid;
  }

  get info(): SessionInfo {
    return {
      sessionId: this.sessionId,
      pid: this.summary.pid,
      name: this.summary.name,
      intervalMs: this.summary.intervalMs,
      paused: !this.playing,
      warnings: [...this.recording.header.warnings],
      launched: false,
    };
  }

  get vmas(): VmaInfo[] {
    return this.recording.vmasAt(this.index).vmas;
  }

  get totalPages(): number {
    return this.recording.vmasAt(this.index).totalPages;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get state(): ReplayState {
    return {
      sessionId: this.sessionId,
      index: this.index,
      tick: this.recording.ticks[this.index].counters.tick,
      ticks: this.recording.ticks.length,
      playing: this.playing,
      speed: this.speed,
    };
  }

  onFrame(l: (f: Frame) => void): () => void {
    this.frameListeners.add(l);
    return () => this.frameListeners.delete(l);
  }

  onEvent(l: (e: HostEvent) => void): () => void {
    this.eventListeners.add(l);
    return () => this.eventListeners.delete(l);
  }

  /** Sends the current tick (its VMA table first when it changed). */
  private emit(): void {
    if (this.closed) return;
    const t = this.recording.ticks[this.index];
    if (t.table !== this.sentTable) {
      this.sentTable = t.table;
      const table = this.recording.tables[t.table];
      const e: HostEvent = {
        event: 'vmas',
        sessionId: this.sessionId,
        vmas: table.vmas,
        totalPages: table.totalPages,
      };
      for (const l of this.eventListeners) l(e);
    }
    const f = this.recording.frameAt(this.index, this.view, this.sessionId);
    for (const l of this.frameListeners) l(f);
  }

  private emitSoon(): void {
    if (this.resend || this.closed) return;
    this.resend = setImmediate(() => {
      this.resend = null;
      this.emit();
    });
  }

  /** Starts sending: the first tick, as a live session sends its first scan. */
  start(): void {
    this.emitSoon();
  }

  setView(view: ViewSpec): void {
    this.view = { buckets: view.buckets, window: view.window };
    this.emitSoon();
  }

  setInterval(): void {
    refuse('change its sampling interval (change the playback speed instead)');
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!this.playing || this.closed) return;
    const ticks = this.recording.ticks;
    if (this.index >= ticks.length - 1) {
      this.playing = false;
      return;
    }
    const gap = ticks[this.index + 1].counters.t - ticks[this.index].counters.t;
    const wait = Math.max(MIN_FRAME_GAP_MS, Math.max(0, gap) / this.speed);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.index++;
      this.emit();
      this.schedule();
    }, wait);
  }

  setMaxOverhead(_maxOverheadPct: number | null): void {
    refuse('sample its write watching');
  }

  pause(): void {
    this.playing = false;
    this.schedule();
  }

  /** Plays on; from the last tick it starts again at the first. */
  resume(): void {
    if (this.index >= this.recording.ticks.length - 1) {
      this.index = 0;
      this.emitSoon();
    }
    this.playing = true;
    this.schedule();
  }

  /** Moves, plays or pauses, changes the speed: any of them, in that order. */
  control(p: { index?: number; playing?: boolean; speed?: number }): ReplayState {
    if (p.speed !== undefined) this.speed = p.speed;
    if (p.index !== undefined) {
      const n = this.recording.ticks.length;
      if (p.index >= n)
        throw new PagescopeError(
          `The recording has ${n} ticks; there is no tick at position ${p.index}.`,
          'bad-request',
        );
      this.index = p.index;
      this.emitSoon();
    }
    if (p.playing === true) this.resume();
    else if (p.playing === false) this.pause();
    else this.schedule();
    return this.state;
  }

  watch(_ranges: AddressRange[], _vmaIndices: number[]): Promise<{ vmas: VmaInfo[] }> {
    refuse('watch writes');
  }

  unwatch(): Promise<void> {
    refuse('stop watching');
  }

  resetWritten(): Promise<void> {
    refuse('reset written pages');
  }

  getHistory(): { ticks: TickCounters[]; budgetBytes: number; usedBytes: number } {
    return { ticks: this.recording.counters, budgetBytes: 0, usedBytes: 0 };
  }

  close(): Promise<void> {
    this.closed = true;
    this.playing = false;
    if (this.timer) clearTimeout(this.timer);
    if (this.resend) clearImmediate(this.resend);
    this.timer = null;
    this.resend = null;
    return Promise.resolve();
  }
}
