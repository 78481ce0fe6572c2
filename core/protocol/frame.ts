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
 *
 * The schema is the definition (the type is inferred from it); the typed arrays are checked by
 * class, so the type says Uint32Array/Uint16Array/Float64Array, not number[].
 */
import { z } from 'zod';
import { tickCountersSchema } from './messages.ts';

// Spelled out per class: inferring T from the constructor would give Uint32Array<ArrayBuffer>,
// narrower than the views over any ArrayBufferLike the session hands over.
const uint32Array = z.custom<Uint32Array>(
  (v) => v instanceof Uint32Array,
  'expected a Uint32Array',
);
const uint16Array = z.custom<Uint16Array>(
  (v) => v instanceof Uint16Array,
  'expected a Uint16Array',
);
const float64Array = z.custom<Float64Array>(
  (v) => v instanceof Float64Array,
  'expected a Float64Array',
);

export const frameSchema = z.object({
  sessionId: z.number(),
  tick: z.number(),
  /** Bumped whenever the VMA table changes (a 'vmas' event carries the new table first). */
  vmaVersion: z.number(),
  totalPages: z.number(),
  counters: tickCountersSchema,
  overview: z.object({
    buckets: z.number(),
    pagesPerBucket: z.number(),
    histogram: uint32Array,
  }),
  window: z
    .object({
      startIndex: z.number(),
      endIndex: z.number(),
      bits: uint16Array,
    })
    .nullable(),
  /** Written ranges this tick, collapsed indices: [start0, end0, start1, end1, ...]. */
  written: float64Array,
  /**
   * Exact counts per VMA of the table of `vmaVersion`, from the scan itself (never shared out
   * from buckets): [present, swapped, written] of VMA i at 3i, 3i+1, 3i+2.
   */
  vmaCounts: uint32Array,
});
export type Frame = z.infer<typeof frameSchema>;
