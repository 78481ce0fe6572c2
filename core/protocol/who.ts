/**
 * "Who writes it" (issue 23) on the wire: the UI turns writer sampling on for a live session
 * (`setWho`), and the host then sends one `who` event per tick naming that tick's writers. The
 * event is bounded (WHO_EVENT_WRITERS writers, WHO_EVENT_VMAS VMAs of WHO_EVENT_VMA_WRITERS
 * writers each) whatever the target does: a tick of a 1000-thread process stays a few KiB.
 *
 * Writers are per tick and per VMA. Each listed writer may also carry the pages its write samples
 * hit in the tick (`ranges`, merged, at most WHO_WRITER_RANGES; the rest counted in `moreRanges`):
 * at period 1 exactly the pages it wrote first in the tick, at period N a sample of them. They
 * drive the heatmap's "by writer" highlight. Worst case 20 x 256 ranges, about 150 KiB a tick.
 */
import { z } from 'zod';
import { sessionIdSchema } from './shapes.ts';

import {
  MAX_WHO_PERIOD,
  WHO_EVENT_VMA_WRITERS,
  WHO_EVENT_VMAS,
  WHO_EVENT_WRITERS,
  WHO_WRITER_RANGES,
} from './who-limits.ts';

export * from './who-limits.ts';

const text = z.string().max(4096);
const count = z.number().int().min(0);

/**
 * The pages a writer's write samples hit in a tick, [startPage, endPage) page numbers (address
 * >> 12, not addresses), sorted and merged, at most WHO_WRITER_RANGES (the event's and the
 * recording's WHO record's).
 */
export const whoPageRangesSchema = z
  .array(z.tuple([count, count]).refine(([a, b]) => a < b, 'an empty page range'))
  .max(WHO_WRITER_RANGES);

export const whoWriterSchema = z.object({
  fn: text,
  /** The function's file's base name, "[jit]" or "?". */
  module: text,
  thread: text,
  tid: count,
  /** Pages written (exact when `estimated` is false, else samples x period). */
  pages: count,
  /** Its share of the tick's attributed pages, 0..1. */
  share: z.number().min(0).max(1),
  /** Some of its call stacks were cut (no frame pointers): the function is the leaf only. */
  partial: z.boolean(),
  /** The pages its write samples hit in the tick; absent from older hosts and recordings. */
  ranges: whoPageRangesSchema.optional(),
  /** Ranges left out of `ranges` (beyond WHO_WRITER_RANGES). */
  moreRanges: count.optional(),
});
export type WhoWriter = z.infer<typeof whoWriterSchema>;

export const whoVmaSchema = z.object({
  /** The VMA's start address, "0x..." like every address in JSON. */
  start: z.string(),
  label: text,
  writers: z
    .array(z.object({ fn: text, thread: text, tid: count, pages: count }))
    .max(WHO_EVENT_VMA_WRITERS),
});
export type WhoVma = z.infer<typeof whoVmaSchema>;

export const whoTickSchema = z.object({
  period: z.number().int().min(1),
  /** Pages are samples x period, not counted pages. */
  estimated: z.boolean(),
  /** Distinct written pages with a write sample (all writers, not only those listed). */
  attributedPages: count,
  /** Samples lost by the kernel (ring buffer full): the tick's figures are low by that much. */
  lost: count,
  writers: z.array(whoWriterSchema).max(WHO_EVENT_WRITERS),
  vmas: z.array(whoVmaSchema).max(WHO_EVENT_VMAS),
});
export type WhoTickInfo = z.infer<typeof whoTickSchema>;

export const whoEventSchema = z.object({
  event: z.literal('who'),
  sessionId: z.number(),
  tick: z.number().int().min(0),
  who: whoTickSchema,
});
export type WhoEvent = z.infer<typeof whoEventSchema>;

export const whoMethods = {
  /**
   * Turns writer sampling on (one write fault in `period`) or off (null) for a live session.
   * Refused, with one sentence why, where perf is not allowed or for a recording.
   */
  setWho: {
    params: z
      .object({
        sessionId: sessionIdSchema,
        period: z.number().int().min(1).max(MAX_WHO_PERIOD).nullable(),
      })
      .strict(),
    result: z.object({ enabled: z.boolean() }),
  },
} as const;
