/**
 * The host's heavy recording work as plain functions: opening a recording file, comparing two of
 * its ticks, its write working-set analytics, a page of its ticks. They call core/record
 * unchanged and return the protocol's result shapes. They run in a worker thread
 * (heavy-worker.ts), never on the host's event loop: what they cost follows the file, and one
 * file must not stall every other window.
 */
import fs from 'node:fs';
import { PagescopeError } from '../kernel/errors.ts';
import type { ErrorInfo } from '../protocol/messages.ts';
import type {
  AnalyticsInfo,
  AnalyticsReport,
  RecordingSummary,
  TickDiffInfo,
} from '../protocol/recording.ts';
import { workingSetCurve } from '../record/analytics.ts';
import { compareTicks } from '../record/compare.ts';
import { RecordingError } from '../record/format.ts';
import { MAX_FILE_BYTES, parseRecording, readRecording, type Recording } from '../record/reader.ts';
import { buildReport, seriesOf, WORKING_SET_WINDOWS_MS, windowName } from '../record/report.ts';
import { errorInfo } from '../session/errors.ts';

/** Link speed of the analytics panel's pre-copy estimate (1 Gbit/s, `pagescope report`'s default). */
export const ANALYTICS_LINK_BYTES_PER_SECOND = 125_000_000;

/** Where a recording is, and the name errors and the banner give it. */
export interface RecordingSource {
  file: string;
  /** For an upload: the name the user's file had (errors name it, not the host's temp file). */
  name?: string;
}

/**
 * Opens a recording: one read of the file into one buffer (no second copy), parsed in place.
 * An upload's errors name the user's file, any other the path.
 */
export function openRecordingFile(src: RecordingSource): Recording {
  if (src.name === undefined) return readRecording(src.file);
  let buf: Buffer;
  try {
    const size = fs.statSync(src.file).size;
    if (size > MAX_FILE_BYTES)
      throw new RecordingError(
        `${src.name} is ${size} bytes, more than the ${MAX_FILE_BYTES} this reader loads.`,
        'too-large',
      );
    buf = fs.readFileSync(src.file);
  } catch (err) {
    if (err instanceof RecordingError) throw err;
    throw new RecordingError(`Cannot read ${src.name}: ${(err as Error).message}.`, 'io');
  }
  return parseRecording(buf, src.name);
}

/** A recording's facts, for the "Recording: FILE — recorded DATE from PID" banner. */
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

/** Positions a and b (either order) compared, as the UI shows them. */
export function compareInfo(rec: Recording, pa: number, pb: number): TickDiffInfo {
  const n = rec.ticks.length;
  if (pa >= n || pb >= n)
    throw new PagescopeError(
      `The recording has ${n} ticks: positions ${pa} and ${pb} cannot both be compared.`,
      'bad-request',
    );
  const a = Math.min(pa, pb);
  const b = Math.max(pa, pb);
  let d;
  try {
    d = compareTicks(rec, a, b);
  } catch (err) {
    if (err instanceof RangeError) throw new PagescopeError(err.message, 'unsupported');
    throw err;
  }
  const table = rec.vmasAt(b);
  return {
    indexA: a,
    indexB: b,
    tickA: rec.ticks[a].counters.tick,
    tickB: rec.ticks[b].counters.tick,
    becamePresent: d.becamePresent,
    becameSwapped: d.becameSwapped,
    becameNotPresent: d.becameNotPresent,
    writtenBetween: d.writtenBetween,
    unmapped: d.unmapped,
    transitions: d.transitions,
    perVma: d.perVma,
    vmas: table.vmas,
    totalPages: table.totalPages,
    codes: Buffer.from(d.codes.buffer, d.codes.byteOffset, d.codes.byteLength).toString('base64'),
  };
}

/** What `pagescope report` prints, with the working-set curves. */
export function analyticsInfo(rec: Recording): AnalyticsInfo {
  const series = seriesOf(rec);
  const report: AnalyticsReport = buildReport(rec, ANALYTICS_LINK_BYTES_PER_SECOND);
  return {
    ticks: rec.ticks.map((t) => t.counters.tick),
    curves: WORKING_SET_WINDOWS_MS.map((w) => ({
      window: windowName(w),
      windowMs: Number.isFinite(w) ? w : null,
      values: workingSetCurve(series, w),
    })),
    // As JSON has it (the whole report: the CLI's `report --json` shape).
    report: JSON.parse(JSON.stringify(report)) as AnalyticsReport,
  };
}

/** Ticks [from, from + count) with their written ranges, for the timeline. */
export function ticksInfo(rec: Recording, from: number, count: number) {
  const end = Math.min(rec.ticks.length, from + count);
  const ticks = [];
  for (let i = from; i < end; i++)
    ticks.push({
      counters: { ...rec.ticks[i].counters },
      written: Array.from(rec.ticks[i].written),
    });
  return { total: rec.ticks.length, ticks };
}

/**
 * Any failure as the protocol's error: a file that cannot be read is 'bad-recording' with the
 * reader's sentence (which names the file).
 */
export function jobErrorInfo(err: unknown): ErrorInfo {
  if (err instanceof RecordingError) return { code: 'bad-recording', message: err.message };
  return errorInfo(err);
}
