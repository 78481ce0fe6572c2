/**
 * Runs heavy recording work (heavy-worker.ts) off the event loop: one worker thread per job,
 * bounded in time, cancellable. Terminating the thread is the cancel: nothing in core/record has
 * to check a flag, and the CPU stops at once whatever the job was doing.
 *
 * Why a thread per job rather than a pool: a job is cancelled by ending its thread, so a pool
 * would start a new thread for every cancel anyway; starting one costs milliseconds from the
 * build, against jobs the UI asks for one at a time (a compare, the analytics panel).
 */
import type { Worker } from 'node:worker_threads';
import { PagescopeError } from '../kernel/errors.ts';
import { reapHelpersSoon } from '../kernel/reap.ts';
import { isErrorCode } from '../protocol/errors.ts';
import { startWorker } from '../runtime/entry.ts';
import type { HeavyInit, HeavyJob, JobAnswer } from './heavy-protocol.ts';

/** Longest a job (or opening a recording, or decoding one replayed tick) may take. */
export const DEFAULT_JOB_TIMEOUT_MS = 60_000;

export interface JobOptions {
  timeoutMs?: number;
  /** Aborting terminates the job; its reason (a string) is the 'cancelled' error's sentence. */
  signal?: AbortSignal;
}

/** "Comparing two ticks of x.pgsrec" */
export function jobWhat(job: HeavyJob): string {
  const name = job.source.name ?? job.source.file;
  switch (job.kind) {
    case 'compare':
      return `Comparing two ticks of ${name}`;
    case 'analytics':
      return `The write working-set analysis of ${name}`;
    case 'ticks':
      return `Reading the ticks of ${name}`;
  }
}

export function timeoutError(what: string, ms: number): PagescopeError {
  return new PagescopeError(
    `${what} was stopped after ${ms / 1000} s, this host's limit for one request.`,
    'error',
  );
}

export function cancelledError(signal: AbortSignal, what: string): PagescopeError {
  const why = typeof signal.reason === 'string' ? signal.reason : 'it was cancelled';
  return new PagescopeError(`${what} was stopped: ${why}.`, 'cancelled');
}

/** An ErrorInfo from a worker, thrown as the PagescopeError it was. */
export function fromInfo(e: { code: string; message: string }): PagescopeError {
  return new PagescopeError(e.message, isErrorCode(e.code) ? e.code : 'error');
}

/** Starts a heavy worker thread (from dist/ or the sources, as entry.ts decides). */
export function startHeavyWorker(init: HeavyInit): Worker {
  const w = startWorker('host/heavy-worker', { workerData: init });
  w.once('exit', () => reapHelpersSoon()); // from the sources, tsx leaves an esbuild child
  return w;
}

/** Runs `job` in its own thread; rejects on its error, its time limit or `signal`. */
export function runJob<T>(job: HeavyJob, opts: JobOptions = {}): Promise<T> {
  const what = jobWhat(job);
  if (opts.signal?.aborted) return Promise.reject(cancelledError(opts.signal, what));
  const ms = opts.timeoutMs ?? DEFAULT_JOB_TIMEOUT_MS;
  const worker = startHeavyWorker({ mode: 'job', job });
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const finish = (err: Error | null, value?: T): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      void worker.terminate();
      if (err) reject(err);
      else resolve(value as T);
    };
    const timer = setTimeout(() => finish(timeoutError(what, ms)), ms);
    const onAbort = (): void => finish(cancelledError(opts.signal!, what));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    worker.once('message', (a: JobAnswer) =>
      a.ok ? finish(null, a.result as T) : finish(fromInfo(a.error)),
    );
    worker.once('error', (err) =>
      finish(new PagescopeError(`${what} failed: ${err.message}.`, 'error')),
    );
    worker.once('exit', () =>
      finish(new PagescopeError(`${what} failed: its worker stopped.`, 'error')),
    );
  });
}
