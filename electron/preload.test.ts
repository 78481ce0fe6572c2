/**
 * The preload's Bridge, bundled exactly as for Electron but with `electron` replaced by a
 * recorder (testing/electron/fake-electron-renderer.mjs): what it exposes, what it sends over IPC, how it
 * turns error replies into rejections, and that listeners unsubscribe.
 */
import { build } from 'esbuild';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../core/protocol/bridge.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));

interface Fake {
  exposed: Record<string, unknown>;
  invoked: Array<[string, { id: number; method: string; params: unknown }]>;
  answer: (msg: { id: number; method: string }) => unknown;
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

describe('preload bridge', () => {
  it('exposes only request/onFrame/onEvent as window.pagescope', () => {
    expect(Object.keys(fake.exposed)).toEqual(['pagescope']);
    expect(Object.keys(fake.exposed.pagescope as object).sort()).toEqual([
      'onEvent',
      'onFrame',
      'request',
    ]);
  });

  it('sends requests with fresh ids and resolves or rejects by the reply', async () => {
    const bridge = fake.exposed.pagescope as Bridge;
    fake.answer = (msg) =>
      msg.method === 'hello'
        ? { id: msg.id, ok: true, result: { version: 1, capabilities: {}, warnings: [] } }
        : { id: msg.id, ok: false, error: { code: 'bad-request', message: 'Nope.' } };
    await expect(bridge.request('hello', { version: 1 })).resolves.toMatchObject({ version: 1 });
    await expect(bridge.request('pause', { sessionId: 9 })).rejects.toMatchObject({
      name: 'bad-request',
      message: 'Nope.',
    });
    expect(fake.invoked.map(([c]) => c)).toEqual(['pagescope:request', 'pagescope:request']);
    const [a, b] = fake.invoked.map(([, m]) => m);
    expect(a).toEqual({ id: a.id, method: 'hello', params: { version: 1 } });
    expect(b.id).not.toBe(a.id);
  });

  it('delivers frames and events until unsubscribed', () => {
    const bridge = fake.exposed.pagescope as Bridge;
    const frames: unknown[] = [];
    const events: unknown[] = [];
    const offF = bridge.onFrame((f) => frames.push(f));
    const offE = bridge.onEvent((e) => events.push(e));
    fake.emit('pagescope:frame', { tick: 1 });
    fake.emit('pagescope:event', { event: 'warning', sessionId: 1, message: 'x' });
    offF();
    offE();
    fake.emit('pagescope:frame', { tick: 2 });
    fake.emit('pagescope:event', { event: 'warning', sessionId: 1, message: 'y' });
    expect(frames).toEqual([{ tick: 1 }]);
    expect(events).toHaveLength(1);
  });
});
