/**
 * A tick's writers as a recording stores them (record type WHO, format version 2; see
 * docs/RECORDING.md): plain JSON, bounded (at most MAX_WRITERS writers, MAX_STACKS stacks of at
 * most MAX_FRAMES frames, MAX_VMAS VMAs), checked field by field when read. The top writers'
 * page ranges (`ranges`, optional) were added within version 2, before its release.
 */
import { z } from 'zod';
import { WHO_WRITER_RANGES, whoPageRangesSchema } from '../protocol/who.ts';
import type { WhoTick } from './attribution.ts';

export const MAX_WRITERS = 100;
export const MAX_STACKS = 100;
export const MAX_FRAMES = 128;
export const MAX_VMA_GROUPS = 256;

const name = z.string().max(4096);
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const whoRecordSchema = z
  .object({
    period: z.number().int().min(1).max(1_000_000),
    estimated: z.boolean(),
    writeSamples: count,
    otherSamples: count,
    faults: count,
    lost: count,
    attributedPages: count,
    writers: z
      .array(
        z
          .object({
            fn: name,
            module: name,
            tid: count,
            thread: name,
            pages: count,
            partial: z.boolean(),
            /** The pages its samples hit, merged (optional: added during version 2). */
            ranges: whoPageRangesSchema.optional(),
            moreRanges: count.optional(),
          })
          .strict(),
      )
      .max(MAX_WRITERS),
    stacks: z
      .array(
        z
          .object({
            frames: z.array(name).min(1).max(MAX_FRAMES),
            tid: count,
            thread: name,
            pages: count,
            partial: z.boolean(),
          })
          .strict(),
      )
      .max(MAX_STACKS),
    vmas: z
      .array(
        z
          .object({
            startHex: z.string().regex(/^[0-9a-f]{1,16}$/),
            label: name,
            writers: z
              .array(z.object({ fn: name, tid: count, thread: name, pages: count }).strict())
              .max(MAX_WRITERS),
          })
          .strict(),
      )
      .max(MAX_VMA_GROUPS),
  })
  .strict();

export type WhoRecord = z.infer<typeof whoRecordSchema>;

/** The stored form of a tick's writers (bounded). */
export function whoRecord(t: WhoTick): WhoRecord {
  return {
    period: t.period,
    estimated: t.estimated,
    writeSamples: t.writeSamples,
    otherSamples: t.otherSamples,
    faults: t.faults,
    lost: t.lost,
    attributedPages: t.attributedPages,
    writers: t.writers.slice(0, MAX_WRITERS).map((w) => ({
      fn: w.fn,
      module: w.module,
      tid: w.tid,
      thread: w.thread,
      pages: w.pages,
      partial: w.partial,
      ...(w.ranges ? { ranges: w.ranges.slice(0, WHO_WRITER_RANGES) } : {}),
      ...(w.ranges ? { moreRanges: w.moreRanges ?? 0 } : {}),
    })),
    stacks: t.stacks.slice(0, MAX_STACKS).map((s) => ({
      frames: s.frames.slice(0, MAX_FRAMES),
      tid: s.tid,
      thread: s.thread,
      pages: s.pages,
      partial: s.partial || s.frames.length > MAX_FRAMES,
    })),
    vmas: t.vmas.slice(0, MAX_VMA_GROUPS).map((v) => ({
      startHex: v.startHex,
      label: v.label,
      writers: v.writers.slice(0, MAX_WRITERS),
    })),
  };
}
