/**
 * Messages between the host and its heavy worker threads (heavy-worker.ts), which do the
 * recording work that costs what a file makes it cost: one-shot jobs (compare, analytics, a page
 * of ticks) and a replay session's recording (opened once, then a frame per request).
 */
import type { Frame } from '../protocol/frame.ts';
import type { WhoTickInfo } from '../protocol/who.ts';
import type { ErrorInfo, TickCounters } from '../protocol/messages.ts';
import type { RecordingSummary } from '../protocol/recording.ts';
import type { VmaTable } from '../record/reader.ts';
import type { ViewSpec } from '../session/aggregate.ts';
import type { RecordingSource } from './recording-jobs.ts';

export type HeavyJob =
  | { kind: 'compare'; source: RecordingSource; a: number; b: number }
  | { kind: 'analytics'; source: RecordingSource }
  | { kind: 'ticks'; source: RecordingSource; from: number; count: number };

export type HeavyInit =
  | { mode: 'job'; job: HeavyJob }
  /** `display`: the file's name as the banner shows it. */
  | { mode: 'replay'; source: RecordingSource; display: string };

/** A job's one answer. */
export type JobAnswer = { ok: true; result: unknown } | { ok: false; error: ErrorInfo };

/** What a replay worker sends once it has read the file. */
export interface ReplayOpened {
  type: 'opened';
  summary: RecordingSummary;
  warnings: string[];
  tables: VmaTable[];
  /** Per tick: its index into `tables`. */
  tickTables: number[];
  counters: TickCounters[];
}

export type ToReplay =
  | { type: 'frame'; seq: number; index: number; view: ViewSpec; sessionId: number }
  | { type: 'ticks'; seq: number; from: number; count: number };

export type FromReplay =
  | ReplayOpened
  | { type: 'failed'; error: ErrorInfo }
  /** `who`: the tick's writers, in recordings made with --who (as the UI gets them). */
  | { type: 'frame'; seq: number; frame: Frame; who?: WhoTickInfo }
  | { type: 'answer'; seq: number; answer: JobAnswer };
