/**
 * The host boundary under random and hostile input: every message gets exactly one Response,
 * malformed ones `bad-request`, requests for sessions the connection lacks `unknown-session`,
 * and the service keeps answering afterwards. What it answers, sends and streams matches the
 * protocol's schemas (messages.ts, frame.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { isErrorCode, type ErrorCode } from '../protocol/errors.ts';
import { frameSchema, type Frame } from '../protocol/frame.ts';
import {
  failureSchema,
  hostEventSchema,
  methods,
  responseSchema,
  type HostEvent,
  type Method,
  type Response,
} from '../protocol/messages.ts';
import { parseRequest } from '../protocol/schemas.ts';
import { pythonExecutable } from '../../testing/targets.ts';
import { HostService, type HostConnection } from './service.ts';

const METHODS = Object.keys(methods) as Method[];
/** Methods whose valid requests start things; random input must never reach them validly. */
const STARTERS = new Set(['attach', 'launch', 'launchDemo', 'watchGroup']);

let service: HostService;
let conn: HostConnection;
const frames: Frame[] = [];
const events: HostEvent[] = [];
let target: ChildProcess;

beforeAll(() => {
  service = new HostService({ session: { intervalMs: 50 } });
  conn = service.connect({ frame: (f) => frames.push(f), event: (e) => events.push(e) });
  target = spawn(pythonExecutable(), ['-c', 'import time; time.sleep(120)'], { stdio: 'ignore' });
});

afterAll(async () => {
  await service.closeAll();
  target.kill('SIGKILL');
});

function expectError(r: Response, code: ErrorCode = 'bad-request'): void {
  expect(r.ok).toBe(false);
  if (!r.ok) {
    expect(r.error.code).toBe(code);
    expect(r.error.message.length).toBeGreaterThan(5);
    expect(failureSchema.safeParse(r).success, JSON.stringify(r)).toBe(true);
  }
}

/** Asserts an answer to `method` is a well-formed Response for it (result shape included). */
function expectValid(method: Method, r: Response): void {
  const check = responseSchema(method).safeParse(r);
  expect(check.success, `${method}: ${JSON.stringify(r)} ${check.error?.message ?? ''}`).toBe(true);
}

const hugeNumber = fc.constantFrom(
  -1,
  0.5,
  2 ** 53,
  2 ** 64,
  1e308,
  -1e308,
  Number.MAX_SAFE_INTEGER + 2,
  -0.000001,
);
const badHex = fc.oneof(
  fc.constantFrom('0x1001', '0x', '1000', '0xg000', '0x' + 'f'.repeat(17), '-0x1000', ''),
  fc.string({ maxLength: 30 }),
  fc.integer(),
);
const unalignedRange = fc
  .tuple(fc.bigInt({ min: 0n, max: (1n << 47n) - 1n }), fc.integer({ min: 1, max: 4095 }))
  .map(([a, off]) => ({
    start: '0x' + (a * 4096n + BigInt(off)).toString(16),
    end: '0x' + ((a + 1n) * 4096n).toString(16),
  }));
const enormousRange = fc.bigInt({ min: 1n << 56n, max: (1n << 64n) - 1n }).map((e) => ({
  start: '0x0',
  end: '0x' + ((e / 4096n) * 4096n).toString(16),
}));
const backwardsRange = fc.bigInt({ min: 1n, max: 1n << 40n }).map((a) => ({
  start: '0x' + (a * 4096n).toString(16),
  end: '0x' + ((a - 1n) * 4096n).toString(16),
}));

/** Structurally plausible requests with one thing wrong. */
const hostile = fc.oneof(
  fc.record({
    id: fc.nat(),
    method: fc.string({ maxLength: 40 }).filter((m) => !(METHODS as string[]).includes(m)),
    params: fc.anything(),
  }),
  fc
    .record({
      id: fc.nat(),
      method: fc.constant('attach'),
      params: fc.oneof(
        fc.anything(),
        hugeNumber.map((pid) => ({ pid })),
      ),
    })
    .filter((m) => !parseRequest(m).ok),
  fc.record({
    id: fc.nat(),
    method: fc.constant('launch'),
    params: fc.oneof(
      fc.constant({ command: [] }),
      fc.constant({ command: ['a\0b'] }),
      fc.record({ command: fc.array(fc.integer(), { minLength: 1 }) }),
      fc.constant({ command: 'sh -c "rm -rf /"' }),
      fc.constant({ command: Array.from({ length: 300 }, () => 'x') }),
    ),
  }),
  fc.record({
    id: fc.nat(),
    method: fc.constant('launchDemo'),
    params: fc.record({ x: fc.anything() }),
  }),
  fc.record({
    id: fc.nat(),
    method: fc.constantFrom('detach', 'pause', 'resume', 'unwatch', 'resetWritten', 'getHistory'),
    params: fc.oneof(
      fc.record({ sessionId: fc.oneof(hugeNumber, fc.string(), fc.constant(null)) }),
      fc.record({ sessionId: fc.integer({ min: 1000, max: 2 ** 31 }) }), // unknown session
      fc.anything(),
    ),
  }),
  fc.record({
    id: fc.nat(),
    method: fc.constant('setView'),
    params: fc.oneof(
      fc.record({ sessionId: fc.constant(1), buckets: hugeNumber }),
      fc.record({
        sessionId: fc.constant(1),
        buckets: fc.constant(10),
        window: fc.record({
          startIndex: fc.oneof(hugeNumber, fc.nat()),
          endIndex: fc.oneof(hugeNumber, fc.constant(2 ** 44)),
        }),
      }),
      fc.record({ sessionId: fc.integer({ min: 1000, max: 2 ** 31 }), buckets: fc.constant(10) }),
    ),
  }),
  fc.record({
    id: fc.nat(),
    method: fc.constant('setInterval'),
    params: fc.record({
      sessionId: fc.constant(1),
      intervalMs: fc.oneof(hugeNumber, fc.integer({ min: -100, max: 19 })),
    }),
  }),
  fc.record({
    id: fc.nat(),
    method: fc.constant('watch'),
    params: fc.oneof(
      fc.record({
        sessionId: fc.constant(1),
        ranges: fc.array(fc.oneof(unalignedRange, enormousRange, backwardsRange), {
          minLength: 1,
          maxLength: 3,
        }),
      }),
      fc.record({
        sessionId: fc.constant(1),
        ranges: fc.array(fc.record({ start: badHex, end: badHex }), { minLength: 1 }),
      }),
      fc.record({ sessionId: fc.constant(1), vmaIndices: fc.array(hugeNumber, { minLength: 1 }) }),
      fc.record({ sessionId: fc.constant(1) }),
    ),
  }),
);

describe('HostService boundary', () => {
  it('answers random values with an error and never throws', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.anything({
          withBigInt: true,
          withMap: true,
          withSet: true,
          withTypedArray: true,
          withDate: true,
        }),
        async (raw) => {
          const parsed = parseRequest(raw);
          fc.pre(!(parsed.ok && STARTERS.has(parsed.request.method)));
          const r = await conn.handle(raw);
          expect(typeof r.id).toBe('number');
          if (!parsed.ok) expectError(r);
          else expectValid(parsed.request.method, r);
          if (!r.ok) expect(isErrorCode(r.error.code)).toBe(true);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('answers hostile requests (wrong types, huge numbers, bad ranges) with bad-request, unknown sessions with unknown-session', async () => {
    await fc.assert(
      fc.asyncProperty(hostile, async (raw) => {
        const r = await conn.handle(raw);
        // The only well-formed requests in `hostile` name sessions this connection lacks.
        expectError(r, parseRequest(raw).ok ? 'unknown-session' : 'bad-request');
        expect(r.id).toBe(raw.id);
      }),
      { numRuns: 400 },
    );
    expect(service.sessionCount).toBe(0);
  });

  it('keeps working afterwards, and scopes sessions to their connection', async () => {
    const hello = await conn.handle({ id: 1, method: 'hello', params: { version: 1 } });
    expect(hello.ok).toBe(true);
    expectValid('hello', hello);
    expectError(await conn.handle({ id: 2, method: 'hello', params: { version: 99 } }), 'version');
    const list = await conn.handle({ id: 3, method: 'listProcesses', params: {} });
    expect(list.ok && (list.result as { processes: unknown[] }).processes.length).toBeGreaterThan(
      0,
    );
    expectValid('listProcesses', list);

    const att = await conn.handle({ id: 4, method: 'attach', params: { pid: target.pid } });
    expect(att.ok).toBe(true);
    expectValid('attach', att);
    const sessionId = att.ok ? (att.result as { sessionId: number }).sessionId : -1;
    // Another connection cannot touch it.
    const other = service.connect({ frame: () => {}, event: () => {} });
    expectError(
      await other.handle({ id: 5, method: 'pause', params: { sessionId } }),
      'unknown-session',
    );
    await other.close();
    // Hostile requests against a live session.
    expectError(
      await conn.handle({
        id: 6,
        method: 'watch',
        params: { sessionId, ranges: [{ start: '0x1001', end: '0x2000' }] },
      }),
    );
    expectError(
      await conn.handle({ id: 7, method: 'watch', params: { sessionId, vmaIndices: [999_999] } }),
    );
    expectError(
      await conn.handle({
        id: 8,
        method: 'watch',
        params: { sessionId, ranges: [{ start: '0x1000', end: '0x2000' }] },
      }),
      'unmapped-range',
    );
    expectError(
      await conn.handle({ id: 9, method: 'attach', params: { pid: 4_000_000 } }),
      'no-process',
    );
    expectError(
      await conn.handle({ id: 10, method: 'attach', params: { pid: process.pid } }),
      'self',
    );
    const view = await conn.handle({
      id: 11,
      method: 'setView',
      params: { sessionId, buckets: 8, window: { startIndex: 0, endIndex: 16 } },
    });
    expect(view.ok).toBe(true);
    expectValid('setView', view);
    await vi.waitFor(() => expect(frames[frames.length - 1]?.window?.bits.length).toBe(16), {
      timeout: 10_000,
    });
    expect(events.some((e) => e.event === 'vmas')).toBe(true);
    for (const e of events) expect(hostEventSchema.safeParse(e).success, e.event).toBe(true);
    const frame = frameSchema.safeParse(frames[frames.length - 1]);
    expect(frame.success, frame.error?.message).toBe(true);
    const h = await conn.handle({ id: 12, method: 'getHistory', params: { sessionId } });
    expect(h.ok && (h.result as { ticks: unknown[] }).ticks.length).toBeGreaterThan(0);
    expectValid('getHistory', h);
    const d = await conn.handle({ id: 13, method: 'detach', params: { sessionId } });
    expect(d.ok).toBe(true);
    expectValid('detach', d);
    expectError(
      await conn.handle({ id: 14, method: 'pause', params: { sessionId } }),
      'unknown-session',
    );
    expect(service.sessionCount).toBe(0);
    // The target is untouched: still alive.
    expect(target.exitCode).toBeNull();
  });
});
