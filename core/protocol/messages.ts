/**
 * The wire protocol between a host (Electron main or the web host) and the UI, version 1,
 * defined once: each message is a zod schema here and its TypeScript type is inferred from it
 * (`z.infer`), so the types the code is written against and the checks a host runs cannot drift.
 *
 * - Requests go UI -> host as `{ id, method, params }` and get exactly one Response with the same
 *   id: `{ id, ok: true, result }` or `{ id, ok: false, error: { code, message } }` (codes:
 *   errors.ts). Hosts validate every request with `methods[m].params` (parseRequest,
 *   schemas.ts) before doing anything with it; results and events are not re-validated at run
 *   time (the host made them), but tests check the host's against `methods[m].result`.
 * - Events go host -> UI unprompted: `{ event: 'sessionEnded', ... }` etc.
 * - Frames (bulk page data) go host -> UI as binary (see frame.ts), never as JSON.
 * Addresses in JSON are hex strings ("0x7f12...000"); in frames they are page indices.
 *
 * Request limits are deliberately tight (constants.ts): pids up to 2^22 (the kernel's
 * PID_MAX_LIMIT), addresses inside the 57-bit user address space, page-aligned, start < end, at
 * most 4096 ranges per request.
 *
 * The renderer imports only types from this file (erased at build time): zod stays out of the
 * page's bundle.
 */
import { z } from 'zod';
import {
  MAX_ARG_CHARS,
  MAX_COMMAND_ARGS,
  MAX_INTERVAL_MS,
  MAX_RANGES,
  MAX_VMA_INDEX,
  MAX_VMA_INDICES,
  MIN_INTERVAL_MS,
} from './constants.ts';
import { ERROR_CODE_LIST } from './errors.ts';
import { groupMethods, groupWatchEventSchemas, groupWatchMethods } from './group.ts';
import { recordingMethods } from './recording.ts';
import { whoEventSchema, whoMethods } from './who.ts';
import {
  addressRangeSchema,
  emptySchema as empty,
  pidSchema as pid,
  processSummarySchema,
  requestIdSchema,
  sessionIdSchema as sessionId,
  sessionInfoSchema,
  tickCountersSchema,
  viewRequestSchema,
  vmaInfoSchema,
} from './shapes.ts';

export { PROTOCOL_VERSION } from './constants.ts';

export * from './shapes.ts';
export * from './who.ts';
export * from './group.ts';

// ---- Methods: params (validated by the hosts) and results ----

const bySession = z.object({ sessionId }).strict();

export const methods = {
  hello: {
    params: z.object({ version: z.number().int().min(0).max(1000) }).strict(),
    result: z.object({
      version: z.number(),
      capabilities: z.record(z.string(), z.unknown()),
      warnings: z.array(z.string()),
      /**
       * Whether `launch` (run a command) is allowed on this host, and why not when it is not
       * (`pagescope serve --allow-remote` without `--allow-launch`); absent means allowed.
       */
      launch: z.object({ enabled: z.boolean(), reason: z.string().optional() }).optional(),
    }),
  },
  listProcesses: {
    params: empty,
    result: z.object({ processes: z.array(processSummarySchema) }),
  },
  attach: {
    params: z.object({ pid, force: z.boolean().optional() }).strict(),
    result: sessionInfoSchema,
  },
  launch: {
    params: z
      .object({
        command: z
          .array(
            z
              .string()
              .min(1)
              .max(MAX_ARG_CHARS)
              .refine((s) => !s.includes('\0'), 'no NUL characters'),
          )
          .min(1)
          .max(MAX_COMMAND_ARGS),
      })
      .strict(),
    result: sessionInfoSchema,
  },
  launchDemo: { params: empty, result: sessionInfoSchema },
  detach: { params: bySession, result: empty },
  setView: { params: viewRequestSchema, result: empty },
  setInterval: {
    params: z
      .object({ sessionId, intervalMs: z.number().int().min(MIN_INTERVAL_MS).max(MAX_INTERVAL_MS) })
      .strict(),
    result: empty,
  },
  /** Bound the estimated overhead by sampling (null: exact watching, the default). */
  setMaxOverhead: {
    params: z
      .object({ sessionId, maxOverheadPct: z.number().min(0.1).max(100).nullable() })
      .strict(),
    result: empty,
  },
  pause: { params: bySession, result: empty },
  resume: { params: bySession, result: empty },
  /** Watch writes on address ranges, or on whole VMAs by index. */
  watch: {
    params: z
      .object({
        sessionId,
        ranges: z.array(addressRangeSchema).max(MAX_RANGES).optional(),
        vmaIndices: z
          .array(z.number().int().min(0).max(MAX_VMA_INDEX))
          .max(MAX_VMA_INDICES)
          .optional(),
      })
      .strict()
      .refine(
        (p) => (p.ranges?.length ?? 0) + (p.vmaIndices?.length ?? 0) > 0,
        'watch needs at least one range or VMA index',
      ),
    result: z.object({ vmas: z.array(vmaInfoSchema) }),
  },
  unwatch: { params: bySession, result: empty },
  resetWritten: { params: bySession, result: empty },
  /** Per-tick history kept by the host (bounded by a byte budget). */
  getHistory: {
    params: bySession,
    result: z.object({
      ticks: z.array(tickCountersSchema),
      budgetBytes: z.number(),
      usedBytes: z.number(),
    }),
  },
  /** Recordings: recording.ts. */
  ...recordingMethods,
  /** Who writes it: who.ts. */
  ...whoMethods,
  /** Groups (process trees, cgroups): group.ts. */
  ...groupMethods,
  ...groupWatchMethods,
} as const satisfies Record<string, { params: z.ZodType; result: z.ZodType }>;

export type Method = keyof typeof methods;
export type Params<M extends Method> = z.infer<(typeof methods)[M]['params']>;
export type Result<M extends Method> = z.infer<(typeof methods)[M]['result']>;

export interface Request<M extends Method = Method> {
  id: number;
  method: M;
  params: Params<M>;
}

// ---- Responses ----

export const errorInfoSchema = z.object({
  /** Stable code: one of errors.ts's ERROR_CODES. */
  code: z.enum(ERROR_CODE_LIST),
  /** One sentence for the user. */
  message: z.string().min(1),
});
export type ErrorInfo = z.infer<typeof errorInfoSchema>;

/** A failed request; id -1 when the request had no usable id. */
export const failureSchema = z.object({
  id: z.number().int().min(-1),
  ok: z.literal(false),
  error: errorInfoSchema,
});
export type Failure = z.infer<typeof failureSchema>;

/** The Response schema for method `m`. */
export function responseSchema<M extends Method>(m: M) {
  return z.union([
    z.object({ id: requestIdSchema, ok: z.literal(true), result: methods[m].result }),
    failureSchema,
  ]);
}

export type Response<M extends Method = Method> =
  { id: number; ok: true; result: Result<M> } | Failure;

// ---- Events ----

export const hostEventSchema = z.discriminatedUnion('event', [
  z.object({ event: z.literal('sessionEnded'), sessionId: z.number(), reason: z.string() }),
  z.object({
    event: z.literal('vmas'),
    sessionId: z.number(),
    vmas: z.array(vmaInfoSchema),
    totalPages: z.number(),
  }),
  z.object({ event: z.literal('warning'), sessionId: z.number(), message: z.string() }),
  whoEventSchema,
  ...groupWatchEventSchemas,
]);
export type HostEvent = z.infer<typeof hostEventSchema>;

// ---- Frame acknowledgements (UI -> web host) ----

/**
 * The page's word that it has taken in one whole frame of a session (ws-bridge.ts sends it, the
 * web host counts it, server.ts). Not a request: no id, no reply. The host keeps only a couple
 * of frames per session unacknowledged, so replies and events never queue behind stale frames.
 */
export const frameAckSchema = z.object({ ack: sessionId }).strict();
export type FrameAck = z.infer<typeof frameAckSchema>;
