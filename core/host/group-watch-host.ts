/**
 * A group write watch for one UI connection (protocol/group.ts watchGroup): the group checked
 * here (group-host.ts hostGroupSpec), watched in a thread of its own (group-worker.ts, mode
 * 'watch': core/watch/group-watch.ts's GroupWatch, never on the host's event loop), each tick
 * handed to the connection as it comes.
 *
 * Strategy: the thread owns the watch from its start to its close (ptrace and the watchers' fds
 * belong to the thread that attached). Stopping is a message: the thread closes the GroupWatch
 * (every member released as it was) and says 'closed', then exits; only a thread that says
 * nothing within STOP_GRACE_MS, or does not exit within it after, is terminated (a member stuck
 * in an attach; the watch's own limits end that first). Whatever ends the watch (Stop, a newer watch, the connection closing,
 * the host quitting through closeAll), it goes through stop(). A start that outlasts
 * GROUP_SCAN_TIMEOUT_MS is stopped the same way and answered with one sentence.
 */
import type { Worker } from 'node:worker_threads';
import { PagescopeError } from '../kernel/errors.ts';
import { reapHelpersSoon } from '../kernel/reap.ts';
import type { GroupSpec } from '../proc/group.ts';
import type { GroupWatchStart, GroupWatchTick } from '../protocol/group.ts';
import { startWorker } from '../runtime/entry.ts';
import { GROUP_SCAN_TIMEOUT_MS } from './group-host.ts';
import type { GroupWatchMessage, GroupWorkerData } from './group-worker.ts';
import { fromInfo, timeoutError } from './heavy.ts';

/** How long a stopping watch thread may take to release every member before it is ended. */
export const STOP_GRACE_MS = 20_000;
/** The tick interval when the UI names none (`pagescope watch --tree`'s default). */
export const DEFAULT_GROUP_WATCH_INTERVAL_MS = 500;

export interface GroupWatchListener {
  tick(tick: GroupWatchTick): void;
  /** The watch ended by itself (every member exited, a failure, its thread stopped). */
  ended(reason: string): void;
}

export class HostGroupWatch {
  private stopped: Promise<void> | null = null;
  private gone = false;
  private readonly exited: Promise<void>;
  /** Resolved when the thread says 'closed' or 'ended' (the members are released). */
  private released!: () => void;
  private readonly releasedP: Promise<void>;

  private constructor(
    readonly watchId: number,
    private readonly worker: Worker,
  ) {
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    this.releasedP = new Promise((resolve) => (this.released = resolve));
  }

  /** Whether the watch is over (stopped or ended by itself). */
  get isOver(): boolean {
    return this.gone;
  }

  /**
   * Starts watching a checked group; resolves with the members watched (and those that could
   * not be) once every member is attached, or rejects with the thread's one sentence.
   */
  static start(
    spec: GroupSpec,
    opts: {
      watchId: number;
      intervalMs?: number;
      timeoutMs?: number;
      /** Called once when the thread has gone (whatever ended it). */
      onGone?: () => void;
    },
    listener: GroupWatchListener,
  ): Promise<{ watch: HostGroupWatch; start: GroupWatchStart }> {
    const data: GroupWorkerData = {
      spec,
      mode: 'watch',
      watchId: opts.watchId,
      intervalMs: opts.intervalMs ?? DEFAULT_GROUP_WATCH_INTERVAL_MS,
    };
    const worker = startWorker('host/group-worker', { workerData: data });
    worker.once('exit', () => {
      reapHelpersSoon(); // from the sources, tsx leaves an esbuild child
      opts.onGone?.();
    });
    const w = new HostGroupWatch(opts.watchId, worker);
    const timeoutMs = opts.timeoutMs ?? GROUP_SCAN_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      let started = false;
      const fail = (err: Error): void => {
        if (started) return;
        started = true;
        clearTimeout(timer);
        void w.stop();
        reject(err);
      };
      const timer = setTimeout(
        () => fail(timeoutError('Attaching to every member of the group', timeoutMs)),
        timeoutMs,
      );
      worker.on('message', (m: GroupWatchMessage) => {
        switch (m.type) {
          case 'started':
            if (started) return;
            started = true;
            clearTimeout(timer);
            resolve({ watch: w, start: m.start });
            return;
          case 'failed':
            w.over();
            fail(fromInfo(m.error));
            return;
          case 'tick':
            if (started && !w.gone) listener.tick(m.tick);
            return;
          case 'ended':
            if (w.over()) listener.ended(m.reason);
            return;
          case 'closed':
            w.over();
            return;
        }
      });
      worker.once('error', (err) => {
        const reason = `The group watch failed: ${err.message.replace(/\.$/, '')}.`;
        if (!started) fail(new PagescopeError(reason, 'error'));
        else if (w.over()) listener.ended(reason);
      });
      worker.once('exit', () => {
        const reason = 'The group watch stopped: its thread ended.';
        w.released();
        if (!started) fail(new PagescopeError(reason, 'error'));
        else if (w.over()) listener.ended(reason);
      });
    });
  }

  /** Marks the watch over; true the first time (the caller then says why). */
  private over(): boolean {
    this.released();
    if (this.gone) return false;
    this.gone = true;
    return true;
  }

  /**
   * Stops the watch: the thread closes the GroupWatch (every member as it was) and exits.
   * Resolves once the members are released and the thread has gone. Idempotent.
   */
  stop(graceMs = STOP_GRACE_MS): Promise<void> {
    if (this.stopped) return this.stopped;
    this.gone = true;
    this.stopped = (async () => {
      try {
        this.worker.postMessage({ type: 'stop' });
      } catch {
        // the thread is already gone
      }
      // Released, then gone: each within the grace, or the thread is ended (it would never
      // answer, or has answered and still runs: a stop must never wait forever).
      const within = async (p: Promise<void>): Promise<boolean> => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const late = new Promise<false>((r) => (timer = setTimeout(() => r(false), graceMs)));
        const ok = await Promise.race([p.then(() => true), late]);
        clearTimeout(timer);
        return ok;
      };
      if (!(await within(this.releasedP)) || !(await within(this.exited)))
        await this.worker.terminate();
      await this.exited;
    })();
    return this.stopped;
  }
}
