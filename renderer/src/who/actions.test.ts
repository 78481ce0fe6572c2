/**
 * The "Who writes" toggle against a bridge: on and off as the host answers, and where the host
 * refuses (perf not allowed), its one sentence kept for the panel and the toggle left off.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Bridge } from '../../../core/protocol/bridge.ts';
import { PagescopeProtocolError } from '../../../core/protocol/errors.ts';
import { useApp } from '../store.ts';
import { setWhoEnabled } from './actions.ts';
import { initialWho, useWho } from './store.ts';

const REFUSAL =
  'perf is not allowed to sample process 42 (EACCES; kernel.perf_event_paranoid = 4), so writes are not attributed to threads or code; everything else works.';

function attach(answer: (params: { period: number | null }) => Promise<unknown>): unknown[] {
  const asked: unknown[] = [];
  const bridge = {
    request: (method: string, params: { period: number | null }) => {
      asked.push([method, params]);
      return answer(params);
    },
    onFrame: () => () => {},
    onEvent: () => () => {},
  } as unknown as Bridge;
  useApp.setState({
    bridge,
    session: {
      sessionId: 3,
      pid: 42,
      name: 'x',
      intervalMs: 100,
      paused: false,
      warnings: [],
      launched: false,
    },
  });
  return asked;
}

afterEach(() => {
  useApp.setState({ bridge: null, session: null });
  useWho.setState(initialWho());
});

describe('setWhoEnabled', () => {
  it('asks the host for sampling on, then off', async () => {
    const asked = attach((p) => Promise.resolve({ enabled: p.period !== null }));
    await setWhoEnabled(true);
    expect(useWho.getState()).toMatchObject({
      sessionId: 3,
      enabled: true,
      refused: null,
      pending: false,
    });
    await setWhoEnabled(false);
    expect(useWho.getState().enabled).toBe(false);
    expect(asked).toEqual([
      ['setWho', { sessionId: 3, period: 1 }],
      ['setWho', { sessionId: 3, period: null }],
    ]);
  });

  it('keeps the refusal sentence and stays off', async () => {
    attach(() => Promise.reject(new PagescopeProtocolError('error', REFUSAL)));
    await setWhoEnabled(true);
    expect(useWho.getState()).toMatchObject({ enabled: false, pending: false, refused: REFUSAL });
  });
});
