/**
 * The recording part of the protocol: recording a live session to a file, reopening a recording
 * as a replay session (the same frames and events as a live one, plus playback control),
 * comparing two ticks, and the write working-set analytics.
 *
 * A replay session is a session: it has a sessionId, sends 'vmas' events and frames for the view
 * the UI asks for (setView), pause/resume play and stop it, getHistory gives every recorded tick.
 * What only a recording has goes through the requests below. Like every request, their params
 * are validated here (zod) before the host looks at them; uploads travel in base64 chunks on the
 * same authenticated channel (no second way in).
 */
import { z } from 'zod';
import type { SessionInfo, TickCounters, VmaInfo } from './messages.ts';

/** Largest recording a UI may upload to the host (held in memory while it is read). */
export const MAX_UPLOAD_BYTES = 1024 * 1024 * 1024;
/** Largest upload chunk (decoded); base64 of it stays under the host's 1 MiB message limit. */
export const UPLOAD_CHUNK_BYTES = 512 * 1024;
/** Replay speeds the host accepts. */
export const MIN_SPEED = 0.1;
export const MAX_SPEED = 64;
/** Ticks per recordingTicks answer. */
export const MAX_TICKS_PER_REQUEST = 5000;

/** What the host offers for recordings (asked once after hello). */
export interface RecordingHostInfo {
  /** The file `pagescope serve FILE` was started with (its name), to open at once. */
  served: string | null;
  /** True where the host shows its own file dialogs (Electron): open/save go through them. */
  dialogs: boolean;
  /** Where recordings made from the UI are written (web host), for the user to know. */
  recordingsDir: string | null;
}

/** A recording's facts, for the "Recording: FILE — recorded DATE from PID" banner. */
export interface RecordingSummary {
  file: string;
  createdAt: string;
  pid: number;
  name: string;
  cmdline: string;
  kernel: string;
  intervalMs: number;
  watching: string;
  ticks: number;
  durationMs: number;
  bytes: number;
  /** Why the tail was dropped (a recorder killed mid-write), or null. */
  truncated: string | null;
  endedCleanly: boolean;
}

export interface ReplayState {
  sessionId: number;
  /** Position in the recording (0-based) and the session's tick number there. */
  index: number;
  tick: number;
  ticks: number;
  playing: boolean;
  speed: number;
}

export interface LiveRecordingState {
  sessionId: number;
  recording: boolean;
  /** Where the file is (full path on the host) and its name (for downloadRecording). */
  path: string | null;
  name: string | null;
  ticks: number;
  bytes: number;
  /** Ticks marked with takeSnapshot: indices into the file being written. */
  snapshots: Array<{ index: number; tick: number }>;
  /** True when the web host can hand the file to the browser (downloadRecording). */
  downloadable: boolean;
}

export interface RecordedTickRecord {
  counters: TickCounters;
  /** Written ranges in collapsed indices of that tick's VMA table. */
  written: number[];
}

export interface VmaDeltaInfo {
  index: number;
  start: string;
  end: string;
  path: string;
  label?: string;
  presentA: number;
  presentB: number;
  swappedA: number;
  swappedB: number;
  writtenBetween: number;
}

export interface TickDiffInfo {
  /** Indices in the recording and the session's tick numbers. */
  indexA: number;
  indexB: number;
  tickA: number;
  tickB: number;
  becamePresent: number;
  becameSwapped: number;
  becameNotPresent: number;
  writtenBetween: number;
  unmapped: { pages: number; presentOrSwapped: number };
  /** transitions[a][b]: pages none/present/swapped at A and none/present/swapped at B. */
  transitions: number[][];
  perVma: VmaDeltaInfo[];
  /** B's VMA table: the layout `codes` follows. */
  vmas: VmaInfo[];
  totalPages: number;
  /** One byte per page of B's layout, base64: stateA * 3 + stateB, plus 16 when written between. */
  codes: string;
}

export interface AnalyticsInfo {
  /** Per recorded tick: its tick number and distinct pages written in the last 1 s, 10 s, 60 s, whole run. */
  ticks: number[];
  curves: Array<{ window: string; windowMs: number | null; values: number[] }>;
  /** The summary `pagescope report` prints (core/record/report.ts's RecordingReport). */
  report: Record<string, unknown>;
}

const sessionId = z
  .number()
  .int()
  .min(1)
  .max(2 ** 31);
const index = z
  .number()
  .int()
  .min(0)
  .max(2 ** 31);
const fileName = z
  .string()
  .min(1)
  .max(255)
  .refine((s) => !/[\0/\\]/.test(s), 'a file name, without folders');
const bySession = z.object({ sessionId }).strict();
/** Results are typed here and built by the host; only params are validated at runtime. */
const result = <T>() => z.custom<T>(() => true);

/** The recording methods, registered in messages.ts's `methods`. */
export const recordingMethods = {
  recordingHost: { params: z.object({}).strict(), result: result<RecordingHostInfo>() },
  /** Opens a recording as a replay session, attached to nothing. */
  openRecording: {
    params: z
      .object({
        source: z.union([
          z.literal('served'),
          z.literal('pick'),
          z.object({ uploadId: index }).strict(),
        ]),
      })
      .strict(),
    result: result<SessionInfo & { recording: RecordingSummary }>(),
  },
  /** Sends one chunk of a file to open (in order; the first chunk has no uploadId). */
  uploadRecording: {
    params: z
      .object({
        uploadId: index.optional(),
        name: z.string().min(1).max(255),
        size: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
        offset: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
        data: z
          .string()
          .max(Math.ceil(UPLOAD_CHUNK_BYTES / 3) * 4)
          .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'data is base64'),
      })
      .strict(),
    result: result<{ uploadId: number; received: number }>(),
  },
  replayControl: {
    params: z
      .object({
        sessionId,
        index: index.optional(),
        playing: z.boolean().optional(),
        speed: z.number().min(MIN_SPEED).max(MAX_SPEED).optional(),
      })
      .strict(),
    result: result<ReplayState>(),
  },
  recordingTicks: {
    params: z
      .object({
        sessionId,
        from: index,
        count: z.number().int().min(1).max(MAX_TICKS_PER_REQUEST),
      })
      .strict(),
    result: result<{ total: number; ticks: RecordedTickRecord[] }>(),
  },
  startRecording: { params: bySession, result: result<LiveRecordingState>() },
  stopRecording: { params: bySession, result: result<LiveRecordingState>() },
  takeSnapshot: { params: bySession, result: result<LiveRecordingState>() },
  /** Compares recording positions a and b (a replay, or a live session's recording so far). */
  compareTicks: {
    params: z.object({ sessionId, a: index, b: index }).strict(),
    result: result<TickDiffInfo>(),
  },
  recordingAnalytics: { params: bySession, result: result<AnalyticsInfo>() },
  /** A chunk of a recording this host wrote (web host), base64. */
  downloadRecording: {
    params: z
      .object({ name: fileName, offset: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) })
      .strict(),
    result: result<{ data: string; size: number; offset: number }>(),
  },
} as const;

export type RecordingMethod = keyof typeof recordingMethods;
