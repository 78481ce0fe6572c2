/**
 * Validation of everything the UI side sends. The hosts parse each request with `parseRequest`
 * before doing anything with it: the schemas (messages.ts, `methods[m].params`) say what a
 * well-behaved UI sends, and a misbehaving one gets a clear 'bad-request' error instead of
 * reaching the engine.
 */
import { z } from 'zod';
import { frameAckSchema, methods, requestIdSchema, type Method, type Request } from './messages.ts';

const envelope = z
  .object({ id: requestIdSchema, method: z.string().max(64), params: z.unknown() })
  .strict();

export type ParseResult =
  { ok: true; request: Request } | { ok: false; id: number; message: string };

/** The id of a message if it has a usable one, else -1 (so even garbage gets a reply). */
export function salvageId(raw: unknown): number {
  if (raw && typeof raw === 'object' && 'id' in raw) {
    const r = requestIdSchema.safeParse((raw as { id: unknown }).id);
    if (r.success) return r.data;
  }
  return -1;
}

/**
 * The session a frame acknowledgement names, or null when `raw` is not exactly one
 * (`{"ack": <sessionId>}` and nothing else): anything else goes on to parseRequest.
 */
export function parseFrameAck(raw: unknown): number | null {
  const r = frameAckSchema.safeParse(raw);
  return r.success ? r.data.ack : null;
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
    if (!Object.hasOwn(methods, method))
      return { ok: false, id: env.data.id, message: `Unknown method "${method.slice(0, 64)}".` };
    const schema = methods[method as Method].params;
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
