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
import { groupRecordingInfoSchema } from './group.ts';
import { sessionInfoSchema, tickCountersSchema, vmaInfoSchema } from './shapes.ts';
import { MAX_SPEED, MAX_TICKS_PER_REQUEST, MIN_SPEED, UPLOAD_CHUNK_BYTES } from './constants.ts';

export {
  MAX_SPEED,
  MAX_TICKS_PER_REQUEST,
  MAX_UPLOAD_BYTES,
  MIN_SPEED,
  UPLOAD_CHUNK_BYTES,
} from './constants.ts';

// The results, defined once as schemas (the types are inferred; the host's replies are checked
// against them in core/host/recording.test.ts).

/** What the host offers for recordings (asked once after hello). */
export const recordingHostInfoSchema = z.object({
  /** The file `pagescope serve FILE` was started with (its name), to open at once. */
  served: z.string().nullable(),
  /** True where the host shows its own file dialogs (Electron): open/save go through them. */
  dialogs: z.boolean(),
  /** Where recordings made from the UI are written (web host), for the user to know. */
  recordingsDir: z.string().nullable(),
});
export type RecordingHostInfo = z.infer<typeof recordingHostInfoSchema>;

/** A recording's facts, for the "Recording: FILE — recorded DATE from PID" banner. */
export const recordingSummarySchema = z.object({
  file: z.string(),
  createdAt: z.string(),
  pid: z.number(),
  name: z.string(),
  cmdline: z.string(),
  kernel: z.string(),
  intervalMs: z.number(),
  watching: z.string(),
  ticks: z.number(),
  durationMs: z.number(),
  bytes: z.number(),
  /** Why the tail was dropped (a recorder killed mid-write), or null. */
  truncated: z.string().nullable(),
  endedCleanly: z.boolean(),
});
export type RecordingSummary = z.infer<typeof recordingSummarySchema>;

export const replayStateSchema = z.object({
  sessionId: z.number(),
  /** Position in the recording (0-based) and the session's tick number there. */
  index: z.number(),
  tick: z.number(),
  ticks: z.number(),
  playing: z.boolean(),
  speed: z.number(),
});
export type ReplayState = z.infer<typeof replayStateSchema>;

export const liveRecordingStateSchema = z.object({
  sessionId: z.number(),
  recording: z.boolean(),
  /** Where the file is (full path on the host) and its name (for downloadRecording). */
  path: z.string().nullable(),
  name: z.string().nullable(),
  ticks: z.number(),
  bytes: z.number(),
  /** Ticks marked with takeSnapshot: indices into the file being written. */
  snapshots: z.array(z.object({ index: z.number(), tick: z.number() })),
  /** True when the web host can hand the file to the browser (downloadRecording). */
  downloadable: z.boolean(),
});
export type LiveRecordingState = z.infer<typeof liveRecordingStateSchema>;

export const recordedTickRecordSchema = z.object({
  counters: tickCountersSchema,
  /** Written ranges in collapsed indices of that tick's VMA table. */
  written: z.array(z.number()),
});
export type RecordedTickRecord = z.infer<typeof recordedTickRecordSchema>;

export const vmaDeltaInfoSchema = z.object({
  index: z.number(),
  start: z.string(),
  end: z.string(),
  path: z.string(),
  label: z.string().optional(),
  presentA: z.number(),
  presentB: z.number(),
  swappedA: z.number(),
  swappedB: z.number(),
  writtenBetween: z.number(),
});
export type VmaDeltaInfo = z.infer<typeof vmaDeltaInfoSchema>;

export const tickDiffInfoSchema = z.object({
  /** Indices in the recording and the session's tick numbers. */
  indexA: z.number(),
  indexB: z.number(),
  tickA: z.number(),
  tickB: z.number(),
  becamePresent: z.number(),
  becameSwapped: z.number(),
  becameNotPresent: z.number(),
  writtenBetween: z.number(),
  unmapped: z.object({ pages: z.number(), presentOrSwapped: z.number() }),
  /** transitions[a][b]: pages none/present/swapped at A and none/present/swapped at B. */
  transitions: z.array(z.array(z.number())),
  perVma: z.array(vmaDeltaInfoSchema),
  /** B's VMA table: the layout `codes` follows. */
  vmas: z.array(vmaInfoSchema),
  totalPages: z.number(),
  /** One byte per page of B's layout, base64: stateA * 3 + stateB, plus 16 when written between. */
  codes: z.string(),
});
export type TickDiffInfo = z.infer<typeof tickDiffInfoSchema>;

/**
 * What the UI shows of `pagescope report`'s summary (core/record/report.ts's RecordingReport,
 * which must fit this: the host assigns one to the other). Other fields pass through unchecked.
 */
export const analyticsReportSchema = z.object({
  /**
   * Distinct pages written in each window where a whole one fits: last, mean and peak; null
   * (n/a) for a window longer than the run. spanningGap: windows whose ticks span a gap.
   */
  workingSet: z.array(
    z.object({
      window: z.string(),
      windowMs: z.number().nullable(),
      last: z.number().nullable(),
      mean: z.number().nullable(),
      peak: z.number().nullable(),
      positions: z.number().optional(),
      spanningGap: z.number().optional(),
      lastSpansGap: z.boolean().optional(),
      peakSpansGap: z.boolean().optional(),
    }),
  ),
  /** Time-weighted: bytes written per second of wall time. */
  dirtyRate: z.object({
    windowMs: z.number(),
    meanMiBps: z.number(),
    peakMiBps: z.number(),
    meanBytesPerSecond: z.number().optional(),
  }),
  /** The rate the ticks came at (from their times) and the gaps over gapFactor x the interval. */
  timing: z
    .object({
      askedIntervalMs: z.number(),
      meanIntervalMs: z.number().nullable(),
      medianIntervalMs: z.number().nullable(),
      skipped: z.number(),
      gapFactor: z.number(),
      gaps: z.object({
        count: z.number(),
        longestMs: z.number(),
        list: z.array(
          z.object({ tick: z.number(), index: z.number(), fromMs: z.number(), ms: z.number() }),
        ),
      }),
    })
    .optional(),
  /** Ticks and ms the report covers. */
  ticks: z.number().optional(),
  durationMs: z.number().optional(),
  /** An ESTIMATE of a live migration's pre-copy at the given link speed. */
  precopy: z.object({
    linkBytesPerSecond: z.number(),
    iterations: z.number(),
    totalMs: z.number(),
    downtimeMs: z.number(),
    converged: z.boolean(),
    stopped: z.string(),
  }),
  writeFrequency: z.object({ hot: z.number(), warm: z.number(), cold: z.number() }),
  perVma: z.array(
    z.object({
      start: z.number(),
      end: z.number(),
      path: z.string(),
      label: z.string().optional(),
      pageWrites: z.number(),
      distinctPages: z.number(),
      writeMiBps: z.number(),
      share: z.number(),
    }),
  ),
  /** Ticks recorded while sampling (their write figures are what the sample saw). */
  sampledTicks: z.number(),
});
export type AnalyticsReport = z.infer<typeof analyticsReportSchema>;

export const analyticsInfoSchema = z.object({
  /** Per recorded tick: its tick number and distinct pages written in the last 1 s, 10 s, 60 s, whole run. */
  ticks: z.array(z.number()),
  curves: z.array(
    z.object({ window: z.string(), windowMs: z.number().nullable(), values: z.array(z.number()) }),
  ),
  /** The summary `pagescope report` prints. */
  report: analyticsReportSchema,
});
export type AnalyticsInfo = z.infer<typeof analyticsInfoSchema>;

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

/** The recording methods, registered in messages.ts's `methods`. */
export const recordingMethods = {
  recordingHost: { params: z.object({}).strict(), result: recordingHostInfoSchema },
  /**
   * Opens a recording as a replay session, attached to nothing; a group recording (format
   * version 3) has no session: it comes whole as `group`, and the UI's group view steps through it.
   */
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
    result: z.union([
      sessionInfoSchema.extend({ recording: recordingSummarySchema }),
      z.object({ group: groupRecordingInfoSchema }).strict(),
    ]),
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
    result: z.object({ uploadId: z.number(), received: z.number() }),
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
    result: replayStateSchema,
  },
  recordingTicks: {
    params: z
      .object({
        sessionId,
        from: index,
        count: z.number().int().min(1).max(MAX_TICKS_PER_REQUEST),
      })
      .strict(),
    result: z.object({ total: z.number(), ticks: z.array(recordedTickRecordSchema) }),
  },
  startRecording: { params: bySession, result: liveRecordingStateSchema },
  stopRecording: { params: bySession, result: liveRecordingStateSchema },
  takeSnapshot: { params: bySession, result: liveRecordingStateSchema },
  /** Compares recording positions a and b (a replay, or a live session's recording so far). */
  compareTicks: {
    params: z.object({ sessionId, a: index, b: index }).strict(),
    result: tickDiffInfoSchema,
  },
  recordingAnalytics: { params: bySession, result: analyticsInfoSchema },
  /** A chunk of a recording this host wrote (web host), base64. */
  downloadRecording: {
    params: z
      .object({ name: fileName, offset: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) })
      .strict(),
    result: z.object({ data: z.string(), size: z.number(), offset: z.number() }),
  },
} as const;

export type RecordingMethod = keyof typeof recordingMethods;
