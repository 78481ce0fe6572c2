/**
 * "Watch writes" against a bridge: the watch starts for the open group, ticks (even one that
 * overtook the answer) fill the view, Stop asks the host to stop it and says every member was
 * released only once the host answered; a start answered after the view closed is stopped at
 * once; closing the view stops a running watch; the watch ending by itself says why.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Bridge } from '../../../core/protocol/bridge.ts';
import { useApp } from '../store.ts';
import {
  closeGroup,
  onGroupWatchEvent,
  openGroup,
  startGroupWatch,
  stopGroupWatch,
} from './actions.ts';
import { useGroup } from './store.ts';
import { emptyScan, quietTick, watchStart } from './test-fixtures.ts';

const scan = emptyScan('tree of pid 10');
const start = (watchId: number) => watchStart({ watchId });
const tick = (n: number) => quietTick(n, { writtenOnce: n, writtenSum: n });

let asked: Array<[string, unknown]> = [];
let answerWatch: (id: number) => void = () => {};
let answerStop: () => void = () => {};

beforeEach(() => {
  asked = [];
  const bridge = {
    request: (method: string, params: unknown) => {
      asked.push([method, params]);
      if (method === 'scanGroup') return new Promise(() => {}); // never answers: not tested here
      if (method === 'watchGroup') return new Promise((r) => (answerWatch = (id) => r(start(id))));
      if (method === 'stopGroupWatch') return new Promise((r) => (answerStop = () => r({})));
      return Promise.reject(new Error(`unexpected ${method}`));
    },
    onFrame: () => () => {},
    onEvent: () => () => {},
  } as unknown as Bridge;
  useApp.setState({ bridge });
  void openGroup({ kind: 'tree', root: 10 });
  useGroup.setState({ scan });
});

afterEach(() => closeGroup());

const methods = () => asked.map(([m]) => m).filter((m) => m !== 'scanGroup');
const flush = () => new Promise((r) => setTimeout(r, 0));

it('starts, takes ticks (one that overtook the answer too), and stops once the host answers', async () => {
  const started = startGroupWatch();
  expect(useGroup.getState().watch?.state).toBe('starting');
  expect(asked.find(([m]) => m === 'watchGroup')?.[1]).toEqual({
    group: { kind: 'tree', root: 10 },
  });
  onGroupWatchEvent({ event: 'groupTick', watchId: 3, tick: tick(1) }); // before the answer
  answerWatch(3);
  await started;
  expect(useGroup.getState().watch).toMatchObject({ state: 'watching', watchId: 3 });
  expect(useGroup.getState().watch?.last?.tick).toBe(1);
  onGroupWatchEvent({ event: 'groupTick', watchId: 3, tick: tick(2) });
  onGroupWatchEvent({ event: 'groupTick', watchId: 99, tick: tick(9) }); // another watch's
  expect(useGroup.getState().watch?.last?.tick).toBe(2);

  const stopping = stopGroupWatch();
  expect(useGroup.getState().watch?.state).toBe('stopping');
  expect(asked.at(-1)).toEqual(['stopGroupWatch', { watchId: 3 }]);
  onGroupWatchEvent({ event: 'groupTick', watchId: 3, tick: tick(3) }); // late: not shown
  expect(useGroup.getState().watch?.ended).toBeNull();
  answerStop();
  await stopping;
  expect(useGroup.getState().watch).toMatchObject({
    state: 'stopped',
    ended: 'Stopped watching writes: every member was released as it was.',
  });
  expect(useGroup.getState().watch?.last?.tick).toBe(2);
});

it('stops a start answered after the view closed, and a watch running when it closes', async () => {
  const started = startGroupWatch();
  closeGroup();
  answerWatch(4);
  await started;
  expect(useGroup.getState().watch).toBeNull();
  expect(methods()).toEqual(['watchGroup', 'stopGroupWatch']);
  expect(asked.at(-1)).toEqual(['stopGroupWatch', { watchId: 4 }]);

  void openGroup({ kind: 'tree', root: 10 });
  useGroup.setState({ scan });
  const again = startGroupWatch();
  answerWatch(5);
  await again;
  closeGroup();
  await flush();
  expect(asked.at(-1)).toEqual(['stopGroupWatch', { watchId: 5 }]);
});

it('says why when the watch ends by itself', async () => {
  const started = startGroupWatch();
  answerWatch(6);
  await started;
  onGroupWatchEvent({
    event: 'groupWatchEnded',
    watchId: 6,
    reason: 'Every member of the tree of pid 10 has exited.',
  });
  expect(useGroup.getState().watch).toMatchObject({
    state: 'stopped',
    ended: 'Watching stopped: Every member of the tree of pid 10 has exited.',
  });
  // Stop is no longer asked: the host has nothing to stop.
  await stopGroupWatch();
  expect(methods()).toEqual(['watchGroup']);
});
