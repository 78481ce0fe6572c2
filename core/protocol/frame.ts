/**
 * A frame: one tick of one session, at the resolution the UI asked for.
 *
 * The collapsed page space puts the VMAs end to end in address order (gaps removed): VMA i
 * covers indices [vma.offset, vma.offset + vma.endPage - vma.startPage). The overview splits
 * [0, totalPages) into `buckets` equal buckets (the last may be shorter) and counts, per bucket,
 * the pages carrying each PageBit: `histogram[b * HISTOGRAM_WIDTH + bit]`. The window, when
 * asked for, has one Uint16 of PageBits per page. Written ranges of the tick are in collapsed
 * indices (start inclusive, end exclusive), for the heat map and the timeline.
 *
 * On the wire (WebSocket) a frame is one ArrayBuffer: encodeFrame/decodeFrame (wire.ts) define
 * the layout. From the session worker to the host the typed arrays travel as transferables;
 * over Electron IPC they are structured-cloned (no JSON either way).
 */
import type { TickCounters } from './messages.ts';

export interface Frame {
  sessionId: number;
  tick: number;
  /** Bumped whenever the VMA table changes (a 'vmas' event carries the new table first). */
  vmaVersion: number;
  totalPages: number;
  counters: TickCounters;
  overview: { buckets: number; pagesPerBucket: number; histogram: Uint32Array };
  window: { startIndex: number; endIndex: number; bits: Uint16Array } | null;
  /** Written ranges this tick, collapsed indices: [start0, end0, start1, end1, ...]. */
  written: Float64Array;
  /**
   * Exact counts per VMA of the table of `vmaVersion`, from the scan itself (never shared out
   * from buckets): [present, swapped, written] of VMA i at 3i, 3i+1, 3i+2.
   */
  vmaCounts: Uint32Array;
}
