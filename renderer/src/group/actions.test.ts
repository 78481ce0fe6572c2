/**
 * The group view's scans against a bridge: one request at a time, again after refreshDelay while
 * open, none after close; an answer for a group replaced meanwhile is dropped; a failed refresh
 * keeps the last scan and says why in the host's sentence.
 */
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import type { Bridge } from '../../../core/protocol/bridge.ts';
import { PagescopeProtocolError } from '../../../core/protocol/errors.ts';
import { useApp } from '../store.ts';
import { BUSY_RETRY_MS, closeGroup, openGroup, refreshCgroups } from './actions.ts';
import { REFRESH_MIN_MS } from './group-rows.ts';
import { useGroup } from './store.ts';
import { emptyScan } from './test-fixtures.ts';

const scanOf = emptyScan;

type Answer = (params: { group: { kind: string; root?: number } }) => Promise<unknown>;
let asked: Array<[string, unknown]> = [];
let inFlight = 0;
let maxInFlight = 0;

function bridgeWith(answer: Answer): void {
  const bridge = {
    request: async (method: string, params: Parameters<Answer>[0]) => {
      asked.push([method, params]);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        return await answer(params);
      } finally {
        inFlight--;
      }
    },
    onFrame: () => () => {},
    onEvent: () => () => {},
  } as unknown as Bridge;
  useApp.setState({ bridge });
}

beforeEach(() => {
  vi.useFakeTimers();
  asked = [];
  inFlight = 0;
  maxInFlight = 0;
});

afterEach(() => {
  closeGroup();
  vi.useRealTimers();
  useApp.setState({ bridge: null });
});

it('scans on open, again while open, one at a time, and never after close', async () => {
  bridgeWith((p) => Promise.resolve(scanOf(`tree of pid ${p.group.root}`)));
  await openGroup({ kind: 'tree', root: 7 });
  expect(useGroup.getState().scan?.describe).toBe('tree of pid 7');
  expect(asked).toHaveLength(1);
  await vi.advanceTimersByTimeAsync(REFRESH_MIN_MS - 10);
  expect(asked).toHaveLength(1); // not before the delay
  await vi.advanceTimersByTimeAsync(20);
  expect(asked).toHaveLength(2);
  await vi.advanceTimersByTimeAsync(REFRESH_MIN_MS * 3);
  expect(asked).toHaveLength(5);
  expect(maxInFlight).toBe(1);
  closeGroup();
  await vi.advanceTimersByTimeAsync(REFRESH_MIN_MS * 5);
  expect(asked).toHaveLength(5);
  expect(useGroup.getState().spec).toBeNull();
});

it('waits 5x a slow scan before the next', async () => {
  bridgeWith(() => Promise.resolve(scanOf('big', 3000)));
  await openGroup({ kind: 'cgroup', path: '/sys/fs/cgroup/x' });
  await vi.advanceTimersByTimeAsync(14_000);
  expect(asked).toHaveLength(1);
  await vi.advanceTimersByTimeAsync(1_100);
  expect(asked).toHaveLength(2);
});

it('drops the answer for a group replaced meanwhile', async () => {
  let release: (() => void) | null = null;
  bridgeWith((p) =>
    p.group.root === 1
      ? new Promise((res) => (release = () => res(scanOf('tree of pid 1'))))
      : Promise.resolve(scanOf(`tree of pid ${p.group.root}`)),
  );
  const first = openGroup({ kind: 'tree', root: 1 });
  await openGroup({ kind: 'tree', root: 2 });
  release!();
  await first;
  expect(useGroup.getState().scan?.describe).toBe('tree of pid 2');
  expect(useGroup.getState().spec).toEqual({ kind: 'tree', root: 2 });
});

it('keeps the last scan when a refresh fails, and says why', async () => {
  let fail = false;
  bridgeWith(() =>
    fail
      ? Promise.reject(
          new PagescopeProtocolError(
            'no-process',
            'No running process has pid 7 (it may have exited).',
          ),
        )
      : Promise.resolve(scanOf('tree of pid 7')),
  );
  await openGroup({ kind: 'tree', root: 7 });
  fail = true;
  await vi.advanceTimersByTimeAsync(REFRESH_MIN_MS + 10);
  const s = useGroup.getState();
  expect(s.scan?.describe).toBe('tree of pid 7');
  expect(s.error).toMatch(/^No running process has pid 7/);
  fail = false;
  await vi.advanceTimersByTimeAsync(REFRESH_MIN_MS + 10);
  expect(useGroup.getState().error).toBeNull();
});

it('asks again soon, without a word, while the link is busy', async () => {
  let busy = true;
  bridgeWith(() =>
    busy
      ? Promise.reject(new PagescopeProtocolError('busy', 'Too many requests in flight.'))
      : Promise.resolve(scanOf('tree of pid 8')),
  );
  await openGroup({ kind: 'tree', root: 8 });
  expect(useGroup.getState()).toMatchObject({ scan: null, error: null });
  busy = false;
  await vi.advanceTimersByTimeAsync(BUSY_RETRY_MS + 10);
  expect(asked).toHaveLength(2);
  expect(useGroup.getState().scan?.describe).toBe('tree of pid 8');
});

it('lists cgroups, and an empty list with the reason from a host without them', async () => {
  const cg = { path: '/a', dir: '/sys/fs/cgroup/a', pids: [1] };
  bridgeWith(() => Promise.resolve({ cgroups: [cg] }));
  await refreshCgroups();
  expect(useGroup.getState().cgroups).toEqual([cg]);
  bridgeWith(() =>
    Promise.reject(new PagescopeProtocolError('bad-request', 'Unknown method listCgroups.')),
  );
  await refreshCgroups();
  expect(useGroup.getState()).toMatchObject({ cgroups: [], cgroupsError: expect.any(String) });
});
