/**
 * Messages between a Session (main thread) and its worker thread. Internal to core/session.
 */
import type { Frame } from '../protocol/frame.ts';
import type { AddressRange, ErrorInfo, VmaInfo } from '../protocol/messages.ts';
import type { ViewSpec } from './aggregate.ts';

export interface WorkerInit {
  sessionId: number;
  pid: number;
  intervalMs: number;
  view: ViewSpec;
  force: boolean;
  /** Module URL of the write watcher (core/watch/watcher.ts); empty when unavailable. */
  watcherUrl: string;
}

export type WorkerCall =
  | { op: 'watch'; ranges: AddressRange[]; vmaIndices: number[] }
  | { op: 'unwatch' }
  | { op: 'reset' };

export type ToWorker =
  | { type: 'setView'; view: ViewSpec }
  | { type: 'setInterval'; intervalMs: number }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'call'; callId: number; call: WorkerCall }
  | { type: 'stop' };

export type FromWorker =
  | { type: 'ready'; warnings: string[]; backend: string }
  | { type: 'failed'; error: ErrorInfo }
  | { type: 'vmas'; vmaVersion: number; vmas: VmaInfo[]; totalPages: number }
  | { type: 'frame'; frame: Frame; skipped: number }
  | { type: 'warning'; message: string }
  | { type: 'ended'; reason: string }
  | { type: 'reply'; callId: number; ok: true; result: unknown }
  | { type: 'reply'; callId: number; ok: false; error: ErrorInfo }
  | { type: 'stopped' };
