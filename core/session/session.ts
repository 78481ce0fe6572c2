/**
 * A Session: one sampled process, seen from the main thread.
 *
 * It owns a worker thread (worker.ts, started through core/runtime/entry.ts) that does all the
 * sampling and every ptrace call, a history ring of per-tick counters and written ranges, and,
 * when pagescope launched the target, the child process. `close()` ends all three: the worker
 * closes the watcher (the target keeps no trace of us) and stops, then is terminated; a launched
 * child is killed.
 */
import fs from 'node:fs';
import type { Worker } from 'node:worker_threads';
import { PagescopeError } from '../kernel/errors.ts';
import { reapHelpersSoon } from '../kernel/reap.ts';
import { readProcess } from '../proc/processes.ts';
import type { HelperHandle } from '../watch/remote-attach.ts';
import { startWorker } from '../runtime/entry.ts';
import type { Frame } from '../protocol/frame.ts';
import type {
  AddressRange,
  ErrorInfo,
  HostEvent,
  SessionInfo,
  TickCounters,
  VmaInfo,
} from '../protocol/messages.ts';
import type { ViewSpec } from './aggregate.ts';
import { DEFAULT_HISTORY_BYTES, HistoryRing } from './history.ts';
import type { WhoRecord } from '../who/who-record.ts';
import type {
  FromWorker,
  ProgramExit,
  ToWorker,
  WorkerCall,
  WorkerInit,
  WorkerLaunch,
} from './worker-protocol.ts';

export const DEFAULT_INTERVAL_MS = 100;
export const DEFAULT_BUCKETS = 2048;

export interface SessionOptions {
  sessionId: number;
  intervalMs?: number;
  view?: ViewSpec;
  force?: boolean;
  historyBytes?: number;
  /** Name each tick's writers (core/who; `record --who`), sampling one fault in `period`. */
  who?: { period: number } | null;
  /** An attach helper started ahead (remote-attach.ts takePrestartedHelper), for the attach. */
  helper?: HelperHandle | null;
}

export class SessionError extends PagescopeError {
  /** A launched program that ended before the session's first sample: how it ended. */
  programExit?: ProgramExit;
}

export class Session {
  readonly sessionId: number;
  private pidValue: number;
  readonly history: HistoryRing;
  private readonly worker: Worker;
  private readonly launched: boolean;
  private intervalMs: number;
  private paused = false;
  private warnings: string[] = [];
  private callId = 0;
  private readonly calls = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void }
  >();
  private readonly frameListeners = new Set<(f: Frame) => void>();
  private readonly eventListeners = new Set<(e: HostEvent) => void>();
  private readonly whoListeners = new Set<(tick: number, who: WhoRecord) => void>();
  private closed: Promise<void> | null = null;
  private endedReason: string | null = null;
  private stoppedResolve: (() => void) | null = null;
  private programExitValue: ProgramExit | null = null;
  vmas: VmaInfo[] = [];
  totalPages = 0;
  framesReceived = 0;
  skippedTicks = 0;

  private constructor(pid: number, opts: SessionOptions, worker: Worker, launched: boolean) {
    this.sessionId = opts.sessionId;
    this.pidValue = pid;
    this.worker = worker;
    this.launched = launched;
    this.intervalMs = opts.intervalMs ?? DEFAULT_INTERVAL_MS;
    this.history = new HistoryRing(opts.historyBytes ?? DEFAULT_HISTORY_BYTES);
  }

  /** Attaches to `pid`; resolves once the worker has read its maps (or rejects with why not). */
  static async attach(pid: number, opts: SessionOptions): Promise<Session> {
    if (pid === process.pid)
      throw new SessionError('pagescope cannot watch itself; pick another process.', 'self');
    if (!fs.existsSync(`/proc/${pid}`))
      throw new SessionError(
        `No process with pid ${pid} exists (it may have exited).`,
        'no-process',
      );
    return Session.start(pid, undefined, opts);
  }

  /**
   * Launches `command` as a child (spawned by the session's worker thread, see
   * worker-protocol.ts) and attaches to it; the child dies with the session.
   */
  static launch(command: string[], opts: SessionOptions): Promise<Session> {
    return Session.start(0, { kind: 'command', command }, opts);
  }

  /** Launches the demo workload (core/demo) and attaches to it. */
  static launchDemo(opts: SessionOptions): Promise<Session> {
    return Session.start(0, { kind: 'demo' }, opts);
  }

  private static async start(
    pid: number,
    launch: WorkerLaunch | undefined,
    opts: SessionOptions,
  ): Promise<Session> {
    const init: WorkerInit = {
      sessionId: opts.sessionId,
      pid,
      launch,
      intervalMs: opts.intervalMs ?? DEFAULT_INTERVAL_MS,
      view: opts.view ?? { buckets: DEFAULT_BUCKETS },
      force: opts.force ?? false,
      who: opts.who ?? null,
      helper: opts.helper ?? null,
    };
    const worker = startWorker('session/worker', { workerData: init });
    const session = new Session(pid, opts, worker, launch !== undefined);
    await session.waitReady();
    return session;
  }

  get pid(): number {
    return this.pidValue;
  }

  /** How the launched program ended, once the session ended because it did (else null). */
  get programExit(): ProgramExit | null {
    return this.programExitValue;
  }

  private waitReady(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      this.worker.on('message', (msg: FromWorker) => {
        if (msg.type === 'ready') {
          ready = true;
          this.pidValue = msg.pid;
          this.warnings = msg.warnings;
          resolve();
        } else if (msg.type === 'failed') {
          void this.worker.terminate();
          const err = new SessionError(msg.error.message, msg.error.code);
          if (msg.exit) err.programExit = msg.exit;
          reject(err);
        } else this.onWorkerMessage(msg);
      });
      this.worker.on('error', (err) => {
        if (!ready) reject(new SessionError(`The session worker failed: ${err.message}`, 'error'));
        else this.ended(`The session worker failed: ${err.message}`);
      });
      this.worker.on('exit', () => {
        reapHelpersSoon(); // the worker's tsx left an esbuild child behind: see reap.ts
        if (!ready)
          reject(new SessionError('The session worker stopped before it was ready.', 'error'));
        this.stoppedResolve?.();
        if (!this.closed) this.ended('The session worker stopped.');
      });
    });
  }

  private onWorkerMessage(msg: FromWorker): void {
    switch (msg.type) {
      case 'frame': {
        this.framesReceived++;
        const f = msg.frame;
        this.skippedTicks += f.counters.skipped;
        this.history.push({
          counters: f.counters,
          vmaVersion: f.vmaVersion,
          written: f.written.slice(),
        });
        for (const l of this.frameListeners) l(f);
        break;
      }
      case 'who':
        for (const l of this.whoListeners) l(msg.tick, msg.who);
        break;
      case 'vmas':
        this.vmas = msg.vmas;
        this.totalPages = msg.totalPages;
        this.emit({
          event: 'vmas',
          sessionId: this.sessionId,
          vmas: msg.vmas,
          totalPages: msg.totalPages,
        });
        break;
      case 'warning':
        this.emit({ event: 'warning', sessionId: this.sessionId, message: msg.message });
        break;
      case 'ended':
        this.programExitValue = msg.exit ?? null;
        this.ended(msg.reason);
        break;
      case 'reply': {
        const c = this.calls.get(msg.callId);
        if (!c) break;
        this.calls.delete(msg.callId);
        if (msg.ok) c.resolve(msg.result);
        else c.reject(new SessionError(msg.error.message, msg.error.code));
        break;
      }
      case 'stopped':
        this.stoppedResolve?.();
        break;
    }
  }

  private emit(e: HostEvent): void {
    for (const l of this.eventListeners) l(e);
  }

  /** The target went away (or the worker did): tell listeners once, then clean up. */
  private ended(reason: string): void {
    if (this.endedReason !== null || this.closed) return;
    this.endedReason = reason;
    this.emit({ event: 'sessionEnded', sessionId: this.sessionId, reason });
    void this.close();
  }

  get info(): SessionInfo {
    return {
      sessionId: this.sessionId,
      pid: this.pid,
      name: readProcess(this.pid)?.name ?? String(this.pid),
      intervalMs: this.intervalMs,
      paused: this.paused,
      warnings: this.warnings,
      launched: this.launched,
    };
  }

  get isClosed(): boolean {
    return this.closed !== null;
  }

  onFrame(l: (f: Frame) => void): () => void {
    this.frameListeners.add(l);
    return () => this.frameListeners.delete(l);
  }

  /** Each tick's writers, right after its frame (sessions started with `who` only). */
  onWho(l: (tick: number, who: WhoRecord) => void): () => void {
    this.whoListeners.add(l);
    return () => this.whoListeners.delete(l);
  }

  onEvent(l: (e: HostEvent) => void): () => void {
    this.eventListeners.add(l);
    return () => this.eventListeners.delete(l);
  }

  private send(msg: ToWorker): void {
    if (this.closed) throw new SessionError(`Session ${this.sessionId} has ended.`, 'exited');
    this.worker.postMessage(msg);
  }

  setView(view: ViewSpec): void {
    this.send({ type: 'setView', view });
  }

  setInterval(intervalMs: number): void {
    this.intervalMs = intervalMs;
    this.send({ type: 'setInterval', intervalMs });
  }

  /** Bound the estimated overhead by sampling (null: exact watching). */
  setMaxOverhead(maxOverheadPct: number | null): void {
    this.send({ type: 'setMaxOverhead', maxOverheadPct });
  }

  pause(): void {
    this.paused = true;
    this.send({ type: 'pause' });
  }

  resume(): void {
    this.paused = false;
    this.send({ type: 'resume' });
  }

  private call(call: WorkerCall): Promise<unknown> {
    const callId = ++this.callId;
    return new Promise((resolve, reject) => {
      this.calls.set(callId, { resolve, reject });
      try {
        this.send({ type: 'call', callId, call });
      } catch (err) {
        this.calls.delete(callId);
        reject(err as Error);
      }
    });
  }

  async watch(ranges: AddressRange[], vmaIndices: number[]): Promise<{ vmas: VmaInfo[] }> {
    return (await this.call({ op: 'watch', ranges, vmaIndices })) as { vmas: VmaInfo[] };
  }

  async unwatch(): Promise<void> {
    await this.call({ op: 'unwatch' });
  }

  /** Starts (one write fault sampled in `period`) or stops naming each tick's writers (onWho). */
  async setWho(period: number | null): Promise<{ enabled: boolean }> {
    return (await this.call({ op: 'who', period })) as { enabled: boolean };
  }

  async resetWritten(): Promise<void> {
    await this.call({ op: 'reset' });
  }

  getHistory(): { ticks: TickCounters[]; budgetBytes: number; usedBytes: number } {
    return {
      ticks: this.history.counters(),
      budgetBytes: this.history.budgetBytes,
      usedBytes: this.history.usedBytes,
    };
  }

  /**
   * Ends the session: the worker closes the watcher and stops (2 s at most, then it is
   * terminated), pending calls fail, a launched child is killed. Idempotent.
   */
  close(): Promise<void> {
    if (this.closed) return this.closed;
    this.closed = (async () => {
      const stopped = new Promise<void>((resolve) => {
        this.stoppedResolve = resolve;
        setTimeout(resolve, 3000).unref();
      });
      try {
        this.worker.postMessage({ type: 'stop' } satisfies ToWorker);
        await stopped;
      } catch {
        // the worker is already gone
      }
      await this.worker.terminate();
      const err: ErrorInfo = { code: 'exited', message: `Session ${this.sessionId} has ended.` };
      for (const c of this.calls.values()) c.reject(new SessionError(err.message, err.code));
      this.calls.clear();
    })();
    return this.closed;
  }
}
