/**
 * Frame assembly: one tick's numbers and aggregate -> the protocol's Frame, and the watcher's
 * written regions -> the [start, end, ...] page pairs aggregate() takes.
 *
 * Strategy: pure functions, no I/O and no clock: the worker measures (scan time, lateness) and
 * aggregates; this module only puts the pieces where the protocol says (core/protocol/frame.ts)
 * and lists the buffers to transfer to the main thread instead of copying them.
 */
import type { Frame } from '../protocol/frame.ts';
import type { RegionList } from '../scan/region-list.ts';
import type { WatchFigures } from '../watch/driver.ts';
import type { Aggregate } from './aggregate.ts';

export interface FrameInput {
  sessionId: number;
  /** 1-based number of this frame in the session. */
  tick: number;
  vmaVersion: number;
  totalPages: number;
  /** ms since the session started, when the tick started. */
  tMs: number;
  /** ms the tick's sampling took. */
  scanMs: number;
  /** How late the tick started against its grid point, ms (ticker.ts). */
  lagMs: number;
  /** Grid points skipped since the previous tick. */
  skipped: number;
  /** The interval the tick ran on (longer than the one set while --max-overhead stretches it). */
  intervalMs: number;
  agg: Aggregate;
  /** The watch's figures this tick (driver.ts WatchFigures); null when nothing is watched. */
  watch: WatchFigures | null;
}

/** The frame and the buffers to transfer with it (the aggregate's, owned by this frame). */
export function buildFrame(i: FrameInput): { frame: Frame; transfer: ArrayBuffer[] } {
  const { agg } = i;
  const frame: Frame = {
    sessionId: i.sessionId,
    tick: i.tick,
    vmaVersion: i.vmaVersion,
    totalPages: i.totalPages,
    counters: {
      tick: i.tick,
      t: Math.round(i.tMs),
      present: agg.present,
      swapped: agg.swapped,
      written: agg.writtenPages,
      watched: agg.watched,
      scanMs: Math.round(i.scanMs * 100) / 100,
      lagMs: Math.round(i.lagMs * 100) / 100,
      skipped: i.skipped,
      estOverheadPct: Math.round((i.watch?.estOverheadPct ?? 0) * 100) / 100,
      estOverheadLowPct: Math.round((i.watch?.estOverheadLowPct ?? 0) * 100) / 100,
      estOverheadHighPct: Math.round((i.watch?.estOverheadHighPct ?? 0) * 100) / 100,
      sampleFraction: i.watch?.sampleFraction ?? 1,
      writtenEst: i.watch?.writtenEst ?? agg.writtenPages,
      writtenErr: i.watch?.writtenErr ?? 0,
      intervalMs: i.intervalMs,
    },
    overview: {
      buckets: agg.buckets,
      pagesPerBucket: agg.pagesPerBucket,
      histogram: agg.histogram,
    },
    window: agg.window,
    written: agg.written,
    vmaCounts: agg.vmaCounts,
  };
  const transfer = [
    agg.histogram.buffer,
    agg.written.buffer,
    agg.vmaCounts.buffer,
  ] as ArrayBuffer[];
  if (agg.window) transfer.push(agg.window.bits.buffer as ArrayBuffer);
  return { frame, transfer };
}

/**
 * The regions of `out` (address order) as [start, end, ...] pages with adjacent regions merged,
 * written into `scratch` (grown when too small). Returns the buffer to reuse next time and the
 * pairs (a view of it).
 */
export function writtenPagePairs(
  out: RegionList,
  scratch: Float64Array<ArrayBuffer>,
): { scratch: Float64Array<ArrayBuffer>; pairs: Float64Array<ArrayBuffer> } {
  if (scratch.length < 2 * out.length) scratch = new Float64Array(2 * out.length + 1024);
  let n = 0;
  for (let i = 0; i < out.length; i++) {
    if (n > 0 && scratch[n - 1] === out.startPage[i]) scratch[n - 1] = out.endPage[i];
    else {
      scratch[n++] = out.startPage[i];
      scratch[n++] = out.endPage[i];
    }
  }
  return { scratch, pairs: scratch.subarray(0, n) };
}
