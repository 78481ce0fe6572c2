/** A group recording's tick as the group view shows it: union of writes, shares, tree, stepping. */
import { afterEach, expect, it } from 'vitest';
import type { GroupRecordingInfo } from '../../../core/protocol/messages.ts';
import { closeGroup, openGroupReplay, stepGroupReplay } from './actions.ts';
import {
  changesText,
  replayMemberRows,
  replayObjectRows,
  replaySummary,
  tickText,
  unionPages,
} from './replay-rows.ts';
import { useGroup } from './store.ts';

afterEach(() => closeGroup());

const none: Array<{ pid: number; name: string }> = [];
const memfd = (
  ranges: Array<[number, number]>,
  shares: GroupRecordingInfo['ticks'][0]['objects'][0]['shares'],
) => ({
  key: '0:77',
  kind: 'memfd',
  label: 'memfd:pagescope-group',
  identity: 'inode 77',
  ranges,
  shares,
});

const info = (): GroupRecordingInfo => ({
  file: 'tree.pgsrec',
  createdAt: '2026-12-05T12:00:00.000Z',
  describe: 'tree of pid 10',
  kind: 'tree',
  intervalMs: 200,
  watching: 'every writable mapping',
  pageSize: 4096,
  members: [
    { pid: 10, ppid: 1, name: 'parent' },
    { pid: 11, ppid: 10, name: 'child' },
  ],
  ticks: [
    {
      t: 200,
      exact: true,
      members: [
        { pid: 11, name: 'child', writtenPages: 16, privatePages: 0, sharedPages: 16 },
        { pid: 10, name: 'parent', writtenPages: 17, privatePages: 1, sharedPages: 16 },
      ],
      // Parent wrote 0..15, child 8..23: 24 pages once, 8 of them by both (1/2 each).
      objects: [
        memfd(
          [[0, 24]],
          [
            { pid: 11, pages: 16, share: 12 },
            { pid: 10, pages: 16, share: 12 },
          ],
        ),
      ],
      joined: none,
      left: none,
      execd: none,
    },
    {
      t: 400,
      exact: true,
      members: [
        { pid: 10, name: 'parent', writtenPages: 0, privatePages: 0, sharedPages: 0 },
        { pid: 11, name: 'child', writtenPages: 0, privatePages: 0, sharedPages: 0 },
        { pid: 12, name: 'late', writtenPages: 10, privatePages: 0, sharedPages: 10 },
      ],
      // 20..29 by a member that joined: 20..23 written before, 24..29 new (6 pages).
      objects: [memfd([[20, 30]], [{ pid: 12, pages: 10, share: 10 }])],
      joined: [{ pid: 12, name: 'late' }],
      left: none,
      execd: none,
    },
    {
      t: 600,
      exact: false,
      members: [{ pid: 10, name: 'parent', writtenPages: 0, privatePages: 0, sharedPages: 0 }],
      objects: [],
      joined: none,
      left: [
        { pid: 11, name: 'child' },
        { pid: 12, name: 'late' },
      ],
      execd: none,
    },
  ],
  moreTicks: 0,
  truncated: null,
  endedCleanly: true,
});

it('counts the pages of ranges once each, however they overlap or touch', () => {
  expect(unionPages([])).toBe(0);
  expect(unionPages([[0, 24]])).toBe(24);
  expect(
    unionPages([
      [20, 30],
      [0, 24],
      [30, 31],
      [5, 6],
      [40, 40],
    ]),
  ).toBe(31);
  expect(unionPages([[2 ** 40, 2 ** 40 + 3]])).toBe(3); // never page by page
});

it('shows one object per tick with its union of writes, its pages so far and each share', () => {
  const first = replayObjectRows(info(), 0);
  expect(first).toHaveLength(1);
  expect(first[0].written).toBe(24);
  expect(first[0].writtenText).toBe('24 pages (96 KiB)');
  expect(first[0].soFar).toBe(24);
  expect(first[0].what).toBe('memfd, inode 77');
  // Largest share first; a tie by pid.
  expect(first[0].shares.map((s) => s.text)).toEqual([
    'parent (pid 10): wrote 16 pages, share 12',
    'child (pid 11): wrote 16 pages, share 12',
  ]);
  const second = replayObjectRows(info(), 1);
  expect(second[0].written).toBe(10);
  expect(second[0].soFar).toBe(30); // 0..23 and 20..29
  expect(second[0].shares[0].text).toBe('late (pid 12): wrote 10 pages, share 10');
  expect(replayObjectRows(info(), 2)).toEqual([]);
});

it('lists the members of the tick under their parents, with own and shared pages', () => {
  const rows = replayMemberRows(info(), 0);
  expect(rows.map((r) => [r.pid, r.depth])).toEqual([
    [10, 0],
    [11, 1],
  ]);
  expect(rows[0].written).toBe('17 pages (68 KiB)');
  expect(rows[0].own).toBe('1 page (4 KiB)');
  expect(rows[0].shared).toBe('16 pages (64 KiB)');
  // A member that joined later is not in the header: a root.
  const later = replayMemberRows(info(), 1);
  expect(later.find((r) => r.pid === 12)).toMatchObject({ depth: 0, ppid: null });
});

it('says which tick, what changed and whether the file is whole', () => {
  expect(tickText(info(), 1)).toBe('tick 2 of 3, 0.4 s after the start');
  expect(changesText(info(), 0)).toBeNull();
  expect(changesText(info(), 1)).toBe('joined: late (pid 12).');
  expect(changesText(info(), 2)).toBe('left: child (pid 11), late (pid 12).');
  expect(replaySummary(info())).toMatch(/^tree of pid 10, recorded .*, a tick every 200 ms/);
  expect(replaySummary({ ...info(), truncated: 'a record at byte 900 is cut short' })).toMatch(
    /Cut short: a record at byte 900 is cut short\.$/,
  );
  expect(replaySummary({ ...info(), endedCleanly: false })).toMatch(/did not close the file/);
});

it('opens a recording at its first tick, steps within its ticks, and closes', () => {
  useGroup.setState({ spec: { kind: 'tree', root: 5 } });
  openGroupReplay(info());
  expect(useGroup.getState().spec).toBeNull(); // no live scans behind the replay
  expect(useGroup.getState().replay?.index).toBe(0);
  stepGroupReplay(1);
  expect(useGroup.getState().replay?.index).toBe(1);
  stepGroupReplay(99);
  expect(useGroup.getState().replay?.index).toBe(2);
  stepGroupReplay(-4);
  expect(useGroup.getState().replay?.index).toBe(0);
  closeGroup();
  expect(useGroup.getState().replay).toBeNull();
});
