/**
 * A zod schema of the Chrome Trace Event Format ("JSON Object Format"), for the events
 * `pagescope export --format trace` writes: counter events and metadata events. From the format's
 * document (Trace Event Format, Google, "Counter Events" and "Metadata Events"): every event has
 * `name`, `ph` (phase), `pid`, `tid`; counters have `ts` in microseconds and `args` mapping each
 * series name to a number; metadata events (`process_name`, `thread_name`, ...) carry
 * `args.name`. `displayTimeUnit` is "ms" or "ns". Used by the tests to check exports.
 */
import { z } from 'zod';

const pidTid = { pid: z.number().int().min(0), tid: z.number().int().min(0) };

export const counterEventSchema = z
  .object({
    name: z.string().min(1),
    ph: z.literal('C'),
    ts: z.number().min(0),
    ...pidTid,
    id: z.union([z.string(), z.number()]).optional(),
    cat: z.string().optional(),
    args: z.record(z.string(), z.number()).refine((a) => Object.keys(a).length > 0, {
      message: 'a counter event needs at least one series',
    }),
  })
  .strict();

export const metadataEventSchema = z
  .object({
    name: z.enum([
      'process_name',
      'process_labels',
      'process_sort_index',
      'thread_name',
      'thread_sort_index',
    ]),
    ph: z.literal('M'),
    ...pidTid,
    ts: z.number().optional(),
    args: z.object({ name: z.string() }).passthrough(),
  })
  .strict();

export const traceFileSchema = z
  .object({
    traceEvents: z.array(z.discriminatedUnion('ph', [counterEventSchema, metadataEventSchema])),
    displayTimeUnit: z.enum(['ms', 'ns']).optional(),
    otherData: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
