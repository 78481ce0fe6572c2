/**
 * A replay session: a recording played back through the same interface as a live Session, so
 * the host service and the UI treat it as one. Like a live session it owns a worker thread
 * (heavy-worker.ts in 'replay' mode): the thread opens the file and decodes each tick into a
 * Frame (the reader's frameAt: each tick exactly as the live session sent it, rebuilt for the
 * view the UI asks for now), so neither opening nor decoding ever runs on the host's event loop.
 * This side keeps what is small and needed at once: the summary, the VMA tables, each tick's
 * counters. The VMA table goes out as a 'vmas' event before the first frame that uses it, as live.
 *
 * Frames: one request in flight at a time; asking again while one is in flight (a seek, a view
 * change) asks once more for the latest position when it arrives, so requests never pile up.
 * Opening and each frame are bounded in time: a tick that takes longer ends the session with a
 * sentence, the thread terminated.
 *
 * Playback: `resume` plays from the current position at the recorded pace divided by `speed`
 * (the next frame waits the recorded gap between the two ticks, counted from when the previous
 * frame was sent); it stops at the last tick. `seek` shows any tick at once. Nothing here
 * touches a process: watching, resetting and the interval are refused with a sentence.
 */
import type { Worker } from 'node:worker_threads';
import { PagescopeError } from '../kernel/errors.ts';
import type { Frame } from '../protocol/frame.ts';
import type {
  AddressRange,
  HostEvent,
  SessionInfo,
  TickCounters,
  VmaInfo,
} from '../protocol/messages.ts';
import type { RecordedTickRecord, RecordingSummary, ReplayState } from '../protocol/recording.ts';
import type { VmaTable } from '../record/reader.ts';
import type { ViewSpec } from '../session/aggregate.ts';
import { DEFAULT_BUCKETS } from '../session/session.ts';
import {
  cancelledError,
  DEFAULT_JOB_TIMEOUT_MS,
  fromInfo,
  startHeavyWorker,
  timeoutError,
} from './heavy.ts';
import type { FromReplay, JobAnswer, ReplayOpened, ToReplay } from './heavy-protocol.ts';
import type { RecordingSource } from './recording-jobs.ts';

export { summarize } from './recording-jobs.ts';

/** Shortest wait between two played frames (a recording at 20 ms played at 64x). */
export const MIN_FRAME_GAP_MS = 15;

export interface ReplayOptions {
  /** Limit for opening the file and for decoding one tick (default DEFAULT_JOB_TIMEOUT_MS). */
  timeoutMs?: number;
  /** Aborting while the file is being opened stops it (the thread is terminated). */
  signal?: AbortSignal;
  /** Called once when the session closes (an upload's file is removed then). */
  onClose?: () => void;
}

function refuse(what: string): never {
  throw new PagescopeError(
    `This is a recording: it cannot ${what}. Attach to a live process to do that.`,
    'unsupported',
  );
}

export class ReplaySession {
  readonly summary: RecordingSummary;
  private readonly warnings: string[];
  private readonly tables: VmaTable[];
  private readonly tickTables: number[];
  private readonly counters: TickCounters[];
  private readonly frameListeners = new Set<(f: Frame) => void>();
  private readonly eventListeners = new Set<(e: HostEvent) => void>();
  private view: ViewSpec = { buckets: DEFAULT_BUCKETS };
  private index = 0;
  private playing = false;
  private speed = 1;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** The frame request in flight (its seq and its time limit), and whether to ask again after. */
  private inFlight: {
    seq: number;
    index: number;
    timer: ReturnType<typeof setTimeout>;
  } | null = null;
  private again = false;
  private nextSeq = 1;
  private readonly answers = new Map<number, (a: JobAnswer) => void>();
  /** The VMA table (index into tables) the UI was last sent. */
  private sentTable = -1;
  private closed = false;
  private readonly timeoutMs: number;

  private constructor(
    readonly sessionId: number,
    /** The file, for jobs (compare, analytics) that read it in threads of their own. */
    readonly source: RecordingSource,
    private readonly worker: Worker,
    opened: ReplayOpened,
    private readonly opts: ReplayOptions,
  ) {
    this.summary = opened.summary;
    this.warnings = opened.warnings;
    this.tables = opened.tables;
    this.tickTables = opened.tickTables;
    this.counters = opened.counters;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_JOB_TIMEOUT_MS;
    worker.on('message', this.onMessage);
    worker.on('error', this.onError);
    worker.on('exit', this.onExit);
  }

  /** Opens `source` in a replay thread; resolves once the file is read (or rejects with why not). */
  static open(
    sessionId: number,
    source: RecordingSource,
    display: string,
    opts: ReplayOptions = {},
  ): Promise<ReplaySession> {
    const what = `Opening ${display}`;
    if (opts.signal?.aborted) return Promise.reject(cancelledError(opts.signal, what));
    const ms = opts.timeoutMs ?? DEFAULT_JOB_TIMEOUT_MS;
    const worker = startHeavyWorker({ mode: 'replay', source, display });
    return new Promise<ReplaySession>((resolve, reject) => {
      let done = false;
      const finish = (err: Error | null, opened?: ReplayOpened): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        if (err) {
          void worker.terminate();
          return reject(err);
        }
        resolve(new ReplaySession(sessionId, source, worker, opened!, opts));
      };
      const timer = setTimeout(() => finish(timeoutError(what, ms)), ms);
      const onAbort = (): void => finish(cancelledError(opts.signal!, what));
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      const onMessage = (m: FromReplay): void => {
        if (m.type === 'opened') finish(null, m);
        else if (m.type === 'failed') finish(fromInfo(m.error));
        else finish(new PagescopeError(`${what} failed: an unexpected answer.`, 'error'));
      };
      const onError = (err: Error): void =>
        finish(new PagescopeError(`${what} failed: ${err.message}.`, 'error'));
      const onExit = (): void =>
        finish(new PagescopeError(`${what} failed: its worker stopped.`, 'error'));
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
    });
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
      warnings: [...this.warnings],
      launched: false,
    };
  }

  private get tickCount(): number {
    return this.counters.length;
  }

  get vmas(): VmaInfo[] {
    return this.tables[this.tickTables[this.index]].vmas;
  }

  get totalPages(): number {
    return this.tables[this.tickTables[this.index]].totalPages;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get state(): ReplayState {
    return {
      sessionId: this.sessionId,
      index: this.index,
      tick: this.counters[this.index].tick,
      ticks: this.tickCount,
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

  private post(m: ToReplay): void {
    this.worker.postMessage(m);
  }

  /** Asks the thread for the current tick (once more after the one in flight, if any). */
  private show(): void {
    if (this.closed) return;
    if (this.inFlight) {
      this.again = true;
      return;
    }
    const seq = this.nextSeq++;
    const index = this.index;
    const timer = setTimeout(
      () =>
        this.end(
          timeoutError(`Decoding tick ${index} of ${this.summary.file}`, this.timeoutMs).message,
        ),
      this.timeoutMs,
    );
    this.inFlight = { seq, index, timer };
    this.post({ type: 'frame', seq, index, view: this.view, sessionId: this.sessionId });
  }

  private readonly onError = (err: Error): void =>
    this.end(`The replay of ${this.summary.file} failed: ${err.message}.`);
  private readonly onExit = (): void => this.end(`The replay of ${this.summary.file} stopped.`);

  private readonly onMessage = (m: FromReplay): void => {
    if (this.closed) return;
    if (m.type === 'answer') {
      this.answers.get(m.seq)?.(m.answer);
      this.answers.delete(m.seq);
      if (this.inFlight?.seq === m.seq) {
        // A tick that cannot be decoded (a damaged file): the session ends with the reason.
        if (!m.answer.ok) this.end(m.answer.error.message);
      }
      return;
    }
    if (m.type !== 'frame' || this.inFlight?.seq !== m.seq) return;
    clearTimeout(this.inFlight.timer);
    const index = this.inFlight.index;
    this.inFlight = null;
    this.deliver(m.frame, index);
    if (m.who)
      this.emit({ event: 'who', sessionId: this.sessionId, tick: m.frame.tick, who: m.who });
    if (this.again) {
      this.again = false;
      this.show();
    } else this.schedule();
  };

  private emit(e: HostEvent): void {
    for (const l of this.eventListeners) l(e);
  }

  /** Sends a decoded tick, its VMA table first when it changed. */
  private deliver(f: Frame, index: number): void {
    const table = this.tickTables[index];
    if (table !== this.sentTable) {
      this.sentTable = table;
      const t = this.tables[table];
      const e: HostEvent = {
        event: 'vmas',
        sessionId: this.sessionId,
        vmas: t.vmas,
        totalPages: t.totalPages,
      };
      for (const l of this.eventListeners) l(e);
    }
    for (const l of this.frameListeners) l(f);
  }

  /** Starts sending: the first tick, as a live session sends its first scan. */
  start(): void {
    this.show();
  }

  setView(view: ViewSpec): void {
    this.view = { buckets: view.buckets, window: view.window };
    this.show();
  }

  setInterval(): void {
    refuse('change its sampling interval (change the playback speed instead)');
  }

  /** The next played tick, after the recorded gap (from the frame just sent). */
  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!this.playing || this.closed || this.inFlight) return;
    if (this.index >= this.tickCount - 1) {
      this.playing = false;
      return;
    }
    const gap = this.counters[this.index + 1].t - this.counters[this.index].t;
    const wait = Math.max(MIN_FRAME_GAP_MS, Math.max(0, gap) / this.speed);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.index++;
      this.show(); // the next one is scheduled when this one has been sent
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
    if (this.index >= this.tickCount - 1) {
      this.index = 0;
      this.show();
    }
    this.playing = true;
    this.schedule();
  }

  /** Moves, plays or pauses, changes the speed: any of them, in that order. */
  control(p: { index?: number; playing?: boolean; speed?: number }): ReplayState {
    if (p.speed !== undefined) this.speed = p.speed;
    if (p.index !== undefined) {
      const n = this.tickCount;
      if (p.index >= n)
        throw new PagescopeError(
          `The recording has ${n} ticks; there is no tick at position ${p.index}.`,
          'bad-request',
        );
      this.index = p.index;
      this.show();
    }
    if (p.playing === true) this.resume();
    else if (p.playing === false) this.pause();
    // A new speed times the next tick anew; a call that changes nothing (a state query) must
    // not: re-arming the timer on each query held playback back for as long as the queries came
    // faster than a tick's gap (a test polling every 50 ms at load 10: still playing after 55 s).
    else if (p.speed !== undefined) this.schedule();
    return this.state;
  }

  /** Ticks [from, from + count) with their written ranges, read by the replay thread. */
  ticks(from: number, count: number): Promise<{ total: number; ticks: RecordedTickRecord[] }> {
    if (this.closed)
      return Promise.reject(new PagescopeError('This recording is closed.', 'unknown-session'));
    const seq = this.nextSeq++;
    return new Promise((resolve, reject) => {
      this.answers.set(seq, (a) =>
        a.ok
          ? resolve(a.result as { total: number; ticks: RecordedTickRecord[] })
          : reject(fromInfo(a.error)),
      );
      this.post({ type: 'ticks', seq, from, count });
    });
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
    return { ticks: this.counters, budgetBytes: 0, usedBytes: 0 };
  }

  /** The thread failed or a tick took too long: the session ends, with the reason. */
  private end(reason: string): void {
    if (this.closed) return;
    void this.close();
    const e: HostEvent = { event: 'sessionEnded', sessionId: this.sessionId, reason };
    for (const l of this.eventListeners) l(e);
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.playing = false;
    if (this.timer) clearTimeout(this.timer);
    if (this.inFlight) clearTimeout(this.inFlight.timer);
    this.timer = null;
    this.inFlight = null;
    for (const a of this.answers.values())
      a({ ok: false, error: { code: 'unknown-session', message: 'This recording is closed.' } });
    this.answers.clear();
    this.worker.off('message', this.onMessage);
    this.worker.off('error', this.onError);
    this.worker.off('exit', this.onExit);
    const done = this.worker.terminate().then(
      () => undefined,
      () => undefined,
    );
    try {
      this.opts.onClose?.();
    } catch {
      // removing an upload's file is best effort
    }
    return done;
  }
}
