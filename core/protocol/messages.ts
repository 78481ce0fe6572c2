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
  MAX_BUCKETS,
  MAX_COMMAND_ARGS,
  MAX_INTERVAL_MS,
  MAX_PAGE_INDEX,
  MAX_PID,
  MAX_RANGES,
  MAX_SESSION_ID,
  MAX_USER_ADDRESS,
  MAX_VMA_INDEX,
  MAX_VMA_INDICES,
  MAX_WINDOW_PAGES,
  MIN_INTERVAL_MS,
} from './constants.ts';
import { ERROR_CODE_LIST } from './errors.ts';
import { recordingMethods } from './recording.ts';

export { PROTOCOL_VERSION } from './constants.ts';

// ---- Building blocks ----

export const requestIdSchema = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const sessionId = z.number().int().min(1).max(MAX_SESSION_ID);
const pid = z.number().int().min(1).max(MAX_PID);
/** Params of a method that takes none; also the result of one that returns nothing. */
const empty = z.object({}).strict();

/** Hex string of a 64-bit address, "0x..." (page-aligned where a range is meant). */
export const hexAddressSchema = z
  .string()
  .max(18)
  .regex(/^0x[0-9a-fA-F]{1,16}$/, 'an address is a hex string such as "0x7f0000001000"');
export type HexAddress = z.infer<typeof hexAddressSchema>;

export const addressRangeSchema = z
  .object({ start: hexAddressSchema, end: hexAddressSchema })
  .strict()
  .superRefine((r, ctx) => {
    const s = BigInt(r.start);
    const e = BigInt(r.end);
    if (s % 4096n !== 0n || e % 4096n !== 0n)
      ctx.addIssue({
        code: 'custom',
        message: 'range ends must be page-aligned (multiples of 0x1000)',
      });
    else if (s >= e) ctx.addIssue({ code: 'custom', message: 'range start must be below its end' });
    else if (e > MAX_USER_ADDRESS)
      ctx.addIssue({ code: 'custom', message: 'range lies beyond the user address space' });
  });
export type AddressRange = z.infer<typeof addressRangeSchema>;

export const processSummarySchema = z.object({
  pid: z.number(),
  name: z.string(),
  cmdline: z.string(),
  user: z.string(),
  uid: z.number(),
  rssKiB: z.number(),
  state: z.string(),
});
export type ProcessSummary = z.infer<typeof processSummarySchema>;

export const vmaKindNameSchema = z.enum([
  'heap',
  'stack',
  'vdso',
  'vvar',
  'vsyscall',
  'file',
  'anon',
  'shmem',
  'hugetlb',
]);
export type VmaKindName = z.infer<typeof vmaKindNameSchema>;

/** One VMA as the UI sees it. `offset` is its first page's index in the collapsed page space. */
export const vmaInfoSchema = z.object({
  index: z.number(),
  start: hexAddressSchema,
  end: hexAddressSchema,
  /** Page numbers (address >> 12); exact as numbers. */
  startPage: z.number(),
  endPage: z.number(),
  /** First page of this VMA in the collapsed space (unmapped gaps removed). */
  offset: z.number(),
  perms: z.string(),
  path: z.string(),
  kind: vmaKindNameSchema,
  /** What pagescope knows this unnamed memory to be (e.g. "demo: sweep"), when it knows. */
  label: z.string().optional(),
  watched: z.enum(['no', 'yes', 'partial', 'refused']),
  /** Why watching was refused (special mapping, EBUSY...), when it was. */
  watchNote: z.string().optional(),
});
export type VmaInfo = z.infer<typeof vmaInfoSchema>;

export const sessionInfoSchema = z.object({
  sessionId: z.number(),
  pid: z.number(),
  name: z.string(),
  intervalMs: z.number(),
  paused: z.boolean(),
  /** Sentences about missing capabilities or limits (no swap, THP mode, ptrace policy...). */
  warnings: z.array(z.string()),
  /** True when pagescope launched the target (demo or command) and will end it on detach. */
  launched: z.boolean(),
});
export type SessionInfo = z.infer<typeof sessionInfoSchema>;

const windowSchema = z
  .object({
    startIndex: z.number().int().min(0).max(MAX_PAGE_INDEX),
    endIndex: z.number().int().min(0).max(MAX_PAGE_INDEX),
  })
  .strict()
  .refine((w) => w.startIndex < w.endIndex, 'window startIndex must be below endIndex')
  .refine(
    (w) => w.endIndex - w.startIndex <= MAX_WINDOW_PAGES,
    `a window holds at most ${MAX_WINDOW_PAGES} pages`,
  );

/** The viewport the UI asks for: an overview in `buckets` buckets, plus an optional full-resolution window. */
export const viewRequestSchema = z
  .object({
    sessionId,
    /** Number of overview buckets covering the whole collapsed page space (1..MAX_BUCKETS). */
    buckets: z.number().int().min(1).max(MAX_BUCKETS),
    /** A window of the collapsed space sent at one entry per page (at most MAX_WINDOW_PAGES). */
    window: windowSchema.optional(),
  })
  .strict();
export type ViewRequest = z.infer<typeof viewRequestSchema>;

/** Totals of one tick, for the timeline. */
export const tickCountersSchema = z.object({
  tick: z.number(),
  /** ms since the session started. */
  t: z.number(),
  present: z.number(),
  swapped: z.number(),
  written: z.number(),
  watched: z.number(),
  scanMs: z.number(),
  /** How late this tick started against its grid point, ms (a slow tick makes the next late). */
  lagMs: z.number(),
  /** Grid points skipped (no tick) since the previous tick. */
  skipped: z.number(),
  /**
   * ESTIMATED slowdown of the target from write-protect faults this tick, percent of its time
   * (core/watch/overhead.ts: faulted pages x calibrated fault cost / tick length); 0 unwatched.
   */
  estOverheadPct: z.number(),
  /** Share of the watched pages sampled this tick: 1 = exact (`written` is every written page). */
  sampleFraction: z.number(),
  /** Written pages of all watched memory: `written` when exact, else the extrapolation. */
  writtenEst: z.number(),
  /** +/- pages around writtenEst at about 95% confidence: 0 when exact, -1 when unknown. */
  writtenErr: z.number(),
});
export type TickCounters = z.infer<typeof tickCountersSchema>;

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
]);
export type HostEvent = z.infer<typeof hostEventSchema>;
