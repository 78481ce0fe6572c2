/**
 * The protocol's building blocks (addresses, processes, VMAs, sessions, views, tick counters):
 * zod schemas with their inferred types, shared by the session messages (messages.ts) and the
 * recording messages (recording.ts). Kept apart so both can use them without importing each
 * other. Browser-safe: the renderer imports only types from here.
 */
import { z } from 'zod';
import {
  MAX_BUCKETS,
  MAX_PAGE_INDEX,
  MAX_PID,
  MAX_SESSION_ID,
  MAX_USER_ADDRESS,
  MAX_WINDOW_PAGES,
} from './constants.ts';

export const requestIdSchema = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
export const sessionIdSchema = z.number().int().min(1).max(MAX_SESSION_ID);
export const pidSchema = z.number().int().min(1).max(MAX_PID);
/** Params of a method that takes none; also the result of one that returns nothing. */
export const emptySchema = z.object({}).strict();

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
  /** The parent's pid, so a picker can show the tree (absent from older hosts). */
  ppid: z.number().optional(),
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
    sessionId: sessionIdSchema,
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
   * ESTIMATED share of the target's CPU time spent on write faults this tick, percent
   * (core/watch/overhead.ts: faulted pages x calibrated fault cost / the CPU time its threads
   * ran in the tick, floored at 5% of the tick); 0 unwatched.
   */
  estOverheadPct: z.number(),
  /**
   * The range that estimate may be in, percent (the fault cost's range: a target's own fault
   * costs 0.65-1.55x the calibrated one, widened by the calibration's spread); 0 unwatched, -1
   * when not stated (recordings made before it was kept).
   */
  estOverheadLowPct: z.number(),
  estOverheadHighPct: z.number(),
  /** Share of the watched pages sampled this tick: 1 = exact (`written` is every written page). */
  sampleFraction: z.number(),
  /** Written pages of all watched memory: `written` when exact, else the extrapolation. */
  writtenEst: z.number(),
  /** +/- pages around writtenEst at about 95% confidence: 0 when exact, -1 when unknown. */
  writtenErr: z.number(),
  /**
   * The interval this tick ran on, ms: the one set, or longer while the overhead bound stretches
   * it (core/watch/overhead-budget.ts). 0 when unknown (recordings made before it was kept).
   */
  intervalMs: z.number(),
});
export type TickCounters = z.infer<typeof tickCountersSchema>;
