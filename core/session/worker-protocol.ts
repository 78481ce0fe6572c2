/**
 * Messages between a Session (main thread) and its worker thread. Internal to core/session.
 */
import type { HelperHandle } from '../watch/remote-attach.ts';
import type { Frame } from '../protocol/frame.ts';
import type { AddressRange, ErrorInfo, VmaInfo } from '../protocol/messages.ts';
import type { ViewSpec } from './aggregate.ts';
import type { WhoRecord } from '../who/who-record.ts';

/**
 * What the worker launches itself. Targets are spawned IN the worker, never on the main thread:
 * a ptrace stop of a child of the main thread's event loop can be reaped by libuv's SIGCHLD
 * handler there (waitpid from any thread of the tracer's thread group sees ptrace stops),
 * which would both hang the watcher's waitpid and make Node believe the child exited. The
 * worker's own loop cannot run while the watcher's synchronous ptrace sequence holds its thread.
 */
export type WorkerLaunch = { kind: 'command'; command: string[] } | { kind: 'demo' };

export interface WorkerInit {
  sessionId: number;
  /** The target; 0 when `launch` says what to start. */
  pid: number;
  launch?: WorkerLaunch;
  intervalMs: number;
  view: ViewSpec;
  force: boolean;
  /** Name each tick's writers (core/who), sampling one page fault in `period`. */
  who?: { period: number } | null;
  /** An attach helper the main thread started ahead (`record --pid`), for this worker's attach. */
  helper?: HelperHandle | null;
}

/** How a launched program ended: its exit code, or the signal that killed it (number). */
export interface ProgramExit {
  code: number | null;
  signal: number | null;
}

export type WorkerCall =
  | { op: 'watch'; ranges: AddressRange[]; vmaIndices: number[] }
  | { op: 'unwatch' }
  | { op: 'reset' }
  /** Start (period) or stop (null) naming each tick's writers; refused where perf is. */
  | { op: 'who'; period: number | null };

export type ToWorker =
  | { type: 'setView'; view: ViewSpec }
  | { type: 'setInterval'; intervalMs: number }
  | { type: 'setMaxOverhead'; maxOverheadPct: number | null }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'call'; callId: number; call: WorkerCall }
  | { type: 'stop' };

export type FromWorker =
  | { type: 'ready'; pid: number; warnings: string[]; backend: string }
  /** `exit`: a launched program that ended before the first sample, and how (exit code or signal). */
  | { type: 'failed'; error: ErrorInfo; exit?: ProgramExit }
  | { type: 'vmas'; vmaVersion: number; vmas: VmaInfo[]; totalPages: number }
  | { type: 'frame'; frame: Frame }
  /** The writers of the frame of tick `tick` (sent right after it; `who` sessions only). */
  | { type: 'who'; tick: number; who: WhoRecord }
  | { type: 'warning'; message: string }
  /** `exit`: how the launched program ended, when that is why. */
  | { type: 'ended'; reason: string; exit?: ProgramExit }
  | { type: 'reply'; callId: number; ok: true; result: unknown }
  | { type: 'reply'; callId: number; ok: false; error: ErrorInfo }
  | { type: 'stopped' };
