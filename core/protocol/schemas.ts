/**
 * Runtime validation of everything the UI side sends (zod). The hosts parse each request with
 * `parseRequest` before doing anything with it; the TypeScript types in messages.ts say what a
 * well-behaved UI sends, these schemas make sure a misbehaving one gets a clear 'bad-request'
 * error instead of reaching the engine.
 *
 * Limits are deliberately tight: pids up to 2^22 (the kernel's PID_MAX_LIMIT), addresses inside
 * the 57-bit user address space, page-aligned, start < end, at most 4096 ranges per request.
 */
import { z } from 'zod';
import type { Method, Request } from './messages.ts';
import { recordingParamSchemas } from './recording.ts';

/** Largest user-space address on x86_64 with 5-level paging (2^56); 4-level is 2^47. */
export const MAX_USER_ADDRESS = 1n << 56n;
export const MAX_BUCKETS = 1_000_000;
export const MAX_WINDOW_PAGES = 4_194_304;
export const MIN_INTERVAL_MS = 20;
export const MAX_INTERVAL_MS = 60_000;
export const MAX_RANGES = 4096;

const id = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const sessionId = z
  .number()
  .int()
  .min(1)
  .max(2 ** 31);
const pid = z
  .number()
  .int()
  .min(1)
  .max(2 ** 22);
const empty = z.object({}).strict();

const hexAddress = z
  .string()
  .max(18)
  .regex(/^0x[0-9a-fA-F]{1,16}$/, 'an address is a hex string such as "0x7f0000001000"');

const addressRange = z
  .object({ start: hexAddress, end: hexAddress })
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

const window = z
  .object({
    startIndex: z
      .number()
      .int()
      .min(0)
      .max(2 ** 45),
    endIndex: z
      .number()
      .int()
      .min(0)
      .max(2 ** 45),
  })
  .strict()
  .refine((w) => w.startIndex < w.endIndex, 'window startIndex must be below endIndex')
  .refine(
    (w) => w.endIndex - w.startIndex <= MAX_WINDOW_PAGES,
    `a window holds at most ${MAX_WINDOW_PAGES} pages`,
  );

export const paramSchemas = {
  hello: z.object({ version: z.number().int().min(0).max(1000) }).strict(),
  listProcesses: empty,
  attach: z.object({ pid, force: z.boolean().optional() }).strict(),
  launch: z
    .object({
      command: z
        .array(
          z
            .string()
            .min(1)
            .max(4096)
            .refine((s) => !s.includes('\0'), 'no NUL characters'),
        )
        .min(1)
        .max(256),
    })
    .strict(),
  launchDemo: empty,
  detach: z.object({ sessionId }).strict(),
  setView: z
    .object({
      sessionId,
      buckets: z.number().int().min(1).max(MAX_BUCKETS),
      window: window.optional(),
    })
    .strict(),
  setInterval: z
    .object({ sessionId, intervalMs: z.number().int().min(MIN_INTERVAL_MS).max(MAX_INTERVAL_MS) })
    .strict(),
  pause: z.object({ sessionId }).strict(),
  resume: z.object({ sessionId }).strict(),
  watch: z
    .object({
      sessionId,
      ranges: z.array(addressRange).max(MAX_RANGES).optional(),
      vmaIndices: z.array(z.number().int().min(0).max(1_000_000)).max(65536).optional(),
    })
    .strict()
    .refine(
      (p) => (p.ranges?.length ?? 0) + (p.vmaIndices?.length ?? 0) > 0,
      'watch needs at least one range or VMA index',
    ),
  unwatch: z.object({ sessionId }).strict(),
  resetWritten: z.object({ sessionId }).strict(),
  getHistory: z.object({ sessionId }).strict(),
  ...recordingParamSchemas,
} satisfies Record<Method, z.ZodType>;

const envelope = z.object({ id, method: z.string().max(64), params: z.unknown() }).strict();

export type ParseResult =
  { ok: true; request: Request } | { ok: false; id: number; message: string };

/** The id of a message if it has a usable one, else -1 (so even garbage gets a reply). */
function salvageId(raw: unknown): number {
  if (raw && typeof raw === 'object' && 'id' in raw) {
    const r = id.safeParse((raw as { id: unknown }).id);
    if (r.success) return r.data;
  }
  return -1;
}

function describe(error: z.ZodError): string {
  const issue = error.issues[0];
  const where = issue.path.length ? `${issue.path.map(String).join('.')}: ` : '';
  return `${where}${issue.message}`;
}

/** Validates one message from the UI side. Never throws. */
export function parseRequest(raw: unknown): ParseResult {
  try {
    const env = envelope.safeParse(raw);
    if (!env.success)
      return {
        ok: false,
        id: salvageId(raw),
        message: `Malformed request (${describe(env.error)}).`,
      };
    const { method } = env.data;
    if (!Object.hasOwn(paramSchemas, method))
      return { ok: false, id: env.data.id, message: `Unknown method "${method.slice(0, 64)}".` };
    const schema = paramSchemas[method as Method];
    const params = schema.safeParse(env.data.params ?? {});
    if (!params.success)
      return {
        ok: false,
        id: env.data.id,
        message: `Bad parameters for ${method} (${describe(params.error)}).`,
      };
    return {
      ok: true,
      request: { id: env.data.id, method: method as Method, params: params.data } as Request,
    };
  } catch (err) {
    return { ok: false, id: salvageId(raw), message: `Malformed request (${String(err)}).` };
  }
}
