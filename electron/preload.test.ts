/**
 * The preload's HostLink, bundled exactly as for Electron but with `electron` replaced by a
 * recorder (testing/electron/fake-electron-renderer.mjs): what it exposes, what it sends over IPC, that
 * listeners unsubscribe, and what the page gets from it once wrapped the way the renderer wraps
 * it (bridgeOver), seen through a stand-in for contextBridge's copying: the same error object
 * the WebSocket bridge gives (core/host/server.test.ts checks that side against the same shape).
 * And the frame acks main paces frames by (core/host/frame-window.ts): one per frame, after the
 * page's listeners, whatever they did.
 */
import { build } from 'esbuild';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { bridgeOver, type HostLink } from '../core/protocol/bridge.ts';
import { IPC_CHANNELS } from '../core/protocol/constants.ts';
import { PagescopeProtocolError } from '../core/protocol/errors.ts';
import { parseFrameAck } from '../core/protocol/schemas.ts';
import { expectedError, observeError } from '../testing/protocol-error.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));

interface Fake {
  exposed: Record<string, unknown>;
  invoked: Array<[string, { id: number; method: string; params: unknown }]>;
  answer: (msg: { id: number; method: string }) => unknown;
  acks: unknown[];
  answerAck: (msg: unknown) => unknown;
  emit(channel: string, payload: unknown): void;
}
let fake: Fake;

beforeAll(async () => {
  const res = await build({
    entryPoints: [path.join(HERE, 'preload.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'neutral',
    alias: { electron: path.join(HERE, '../testing/electron/fake-electron-renderer.mjs') },
    logLevel: 'error',
  });
  const code = res.outputFiles[0].text;
  await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`);
  fake = (globalThis as unknown as { __preloadFake: Fake }).__preloadFake;
});

/**
 * The exposed API as the page sees it through Electron's contextBridge, per its documentation:
 * values (arguments, results, resolved values) are copied, functions are proxied, and a thrown
 * or rejected Error arrives as a new Error with the message only (its code, even its name, lost).
 */
function acrossContextBridge<T extends object>(api: T): T {
  const copy = (v: unknown): unknown => (typeof v === 'function' ? proxy(v) : structuredClone(v));
  const strip = (e: unknown): never => {
    throw new Error(e instanceof Error ? e.message : String(e));
  };
  const proxy =
    (fn: unknown) =>
    (...args: unknown[]): unknown => {
      let out: unknown;
      try {
        out = (fn as (...a: unknown[]) => unknown)(...args.map(copy));
      } catch (e) {
        return strip(e);
      }
      return out instanceof Promise ? out.then(copy, strip) : copy(out);
    };
  return Object.fromEntries(Object.entries(api).map(([k, v]) => [k, copy(v)])) as T;
}

const exposedLink = (): HostLink => fake.exposed.pagescope as HostLink;
const pageBridge = () => bridgeOver(acrossContextBridge(exposedLink()));

describe('preload link', () => {
  it('exposes only exchange/onFrame/onEvent as window.pagescope', () => {
    expect(Object.keys(fake.exposed)).toEqual(['pagescope']);
    expect(Object.keys(fake.exposed.pagescope as object).sort()).toEqual([
      'exchange',
      'onEvent',
      'onFrame',
    ]);
  });

  it('sends requests with fresh ids on the request channel and hands back the Response as data', async () => {
    fake.invoked.length = 0;
    fake.answer = (msg) =>
      msg.method === 'hello'
        ? { id: msg.id, ok: true, result: { version: 1, capabilities: {}, warnings: [] } }
        : { id: msg.id, ok: false, error: { code: 'bad-request', message: 'Nope.' } };
    const link = exposedLink();
    await expect(link.exchange('hello', { version: 1 })).resolves.toMatchObject({
      ok: true,
      result: { version: 1 },
    });
    // A failure is a Response too: nothing Error-shaped has to cross contextBridge.
    const failed = await link.exchange('pause', { sessionId: 9 });
    expect(failed).toEqual({
      id: failed.id,
      ok: false,
      error: { code: 'bad-request', message: 'Nope.' },
    });
    expect(fake.invoked.map(([c]) => c)).toEqual([IPC_CHANNELS.request, IPC_CHANNELS.request]);
    const [a, b] = fake.invoked.map(([, m]) => m);
    expect(a).toEqual({ id: a.id, method: 'hello', params: { version: 1 } });
    expect(b.id).not.toBe(a.id);
  });

  it('gives the page a PagescopeProtocolError with the host code, the same shape as the WebSocket bridge', async () => {
    fake.answer = (msg) => ({
      id: msg.id,
      ok: false,
      error: { code: 'unknown-session', message: 'There is no session 9 on this connection.' },
    });
    const err: unknown = await pageBridge()
      .request('pause', { sessionId: 9 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PagescopeProtocolError);
    expect(observeError(err)).toEqual(
      expectedError('unknown-session', 'There is no session 9 on this connection.'),
    );
  });

  it('resolves results through the page bridge, and reports an unreachable main process as closed', async () => {
    fake.answer = (msg) => ({
      id: msg.id,
      ok: true,
      result: { version: 1, capabilities: {}, warnings: ['w'] },
    });
    await expect(pageBridge().request('hello', { version: 1 })).resolves.toEqual({
      version: 1,
      capabilities: {},
      warnings: ['w'],
    });
    fake.answer = () => {
      throw new Error("No handler registered for 'pagescope:request'");
    };
    const err: unknown = await pageBridge()
      .request('hello', { version: 1 })
      .catch((e: unknown) => e);
    expect(observeError(err)).toMatchObject({ protocolError: true, code: 'closed' });
  });

  it('delivers frames and events until unsubscribed', () => {
    const link = exposedLink();
    const frames: unknown[] = [];
    const events: unknown[] = [];
    const offF = link.onFrame((f) => frames.push(f));
    const offE = link.onEvent((e) => events.push(e));
    fake.emit(IPC_CHANNELS.frame, { tick: 1 });
    fake.emit(IPC_CHANNELS.event, { event: 'warning', sessionId: 1, message: 'x' });
    offF();
    offE();
    fake.emit(IPC_CHANNELS.frame, { tick: 2 });
    fake.emit(IPC_CHANNELS.event, { event: 'warning', sessionId: 1, message: 'y' });
    expect(frames).toEqual([{ tick: 1 }]);
    expect(events).toHaveLength(1);
  });

  it('acknowledges each whole frame once, with its session, after the page’s listeners had it', () => {
    fake.acks.length = 0;
    const bridge = pageBridge();
    const acksSeen: number[] = [];
    const offA = bridge.onFrame(() => acksSeen.push(fake.acks.length));
    const offB = bridge.onFrame(() => acksSeen.push(fake.acks.length));
    fake.emit(IPC_CHANNELS.frame, { sessionId: 3, tick: 1 });
    fake.emit(IPC_CHANNELS.event, { event: 'warning', sessionId: 3, message: 'x' });
    fake.emit(IPC_CHANNELS.frame, { sessionId: 5, tick: 1 });
    offA();
    offB();
    expect(fake.acks, 'one ack per frame, none for an event').toEqual([{ ack: 3 }, { ack: 5 }]);
    expect(acksSeen, 'each ack after both listeners had the frame').toEqual([0, 0, 1, 1]);
    // What main checks an ack against (main.ts): the preload's pass it.
    expect(fake.acks.map(parseFrameAck)).toEqual([3, 5]);
  });

  it('acknowledges a frame nobody listens to, and one whose listener threw', () => {
    fake.acks.length = 0;
    fake.emit(IPC_CHANNELS.frame, { sessionId: 4, tick: 1 });
    const off = pageBridge().onFrame(() => {
      throw new Error('a listener bug');
    });
    expect(() => fake.emit(IPC_CHANNELS.frame, { sessionId: 4, tick: 2 })).toThrow(
      'a listener bug',
    );
    off();
    // Else main would hold the session's frames back for good after two.
    expect(fake.acks).toEqual([{ ack: 4 }, { ack: 4 }]);
  });

  it('leaves no unhandled rejection when main cannot take an ack (its window closing)', async () => {
    fake.acks.length = 0;
    const unhandled: unknown[] = [];
    const onUnhandled = (why: unknown): void => {
      unhandled.push(why);
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      fake.answerAck = () => {
        throw new Error("No handler registered for 'pagescope:ack'");
      };
      fake.emit(IPC_CHANNELS.frame, { sessionId: 6, tick: 1 });
      // Node reports an unhandled rejection once the microtasks ran, before the next macrotask.
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
      expect(fake.acks).toEqual([{ ack: 6 }]);
      expect(unhandled).toEqual([]);
    } finally {
      fake.answerAck = () => null;
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
