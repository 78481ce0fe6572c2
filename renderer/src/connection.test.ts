import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Bridge } from '../../core/protocol/bridge.ts';
import { PagescopeProtocolError } from '../../core/protocol/errors.ts';
import { backoffMs, HEARTBEAT_MS, isGone, superviseLink } from './connection.ts';
import { useApp } from './store.ts';

describe('connection supervision', () => {
  it('backs off exponentially up to 30 s', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 20].map(backoffMs)).toEqual([
      1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000,
    ]);
  });
  it('tells a closed host from a refused request, by the protocol error code only', () => {
    expect(isGone(new PagescopeProtocolError('closed', 'The connection was closed.'))).toBe(true);
    expect(isGone(new PagescopeProtocolError('version', 'Reload the page.'))).toBe(false);
    expect(isGone(new PagescopeProtocolError('busy', 'Wait.'))).toBe(false);
    // Look-alikes are not the bridge's errors (both bridges reject with the class itself).
    expect(isGone({ code: 'closed' })).toBe(false);
    expect(isGone(Object.assign(new Error('x'), { name: 'closed' }))).toBe(false);
    expect(isGone(new Error('boom'))).toBe(false);
    expect(isGone(undefined)).toBe(false);
  });
});

describe('superviseLink', () => {
  const fakeBridge = (hello: () => Promise<unknown>): Bridge =>
    ({
      request: (method: string) =>
        method === 'hello' ? hello() : Promise.reject(new Error('unexpected')),
      onFrame: () => () => {},
      onEvent: () => () => {},
    }) as unknown as Bridge;
  const closed = () => Promise.reject(new PagescopeProtocolError('closed', 'closed'));

  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('says the host is lost when a heartbeat finds the socket closed, then reconnects with backoff', async () => {
    let up = true;
    const lost = vi.fn();
    const adopted: Bridge[] = [];
    const next = fakeBridge(() => Promise.resolve({}));
    let reopened = 0;
    const hooks = {
      lost,
      reopen: () => {
        reopened++;
        return reopened < 3 ? Promise.reject(new Error('refused')) : Promise.resolve(next);
      },
      adopt: async (b: Bridge) => {
        adopted.push(b);
      },
    };
    superviseLink(
      fakeBridge(() => (up ? Promise.resolve({}) : closed())),
      hooks,
    );
    await vi.advanceTimersByTimeAsync(HEARTBEAT_MS * 3);
    expect(lost).not.toHaveBeenCalled();
    up = false;
    await vi.advanceTimersByTimeAsync(HEARTBEAT_MS);
    expect(lost).toHaveBeenCalledTimes(1);
    expect(useApp.getState().lost).toMatchObject({ attempt: 0 });
    // Attempts after 1 s, then 2 s more (refused twice), then 4 s more: the third succeeds.
    await vi.advanceTimersByTimeAsync(backoffMs(0));
    expect(reopened).toBe(1);
    await vi.advanceTimersByTimeAsync(backoffMs(1));
    expect(reopened).toBe(2);
    expect(useApp.getState().lost).toMatchObject({ attempt: 2 });
    await vi.advanceTimersByTimeAsync(backoffMs(2));
    expect(reopened).toBe(3);
    expect(adopted).toEqual([next]);
  });
});
