/**
 * GroupWatchTally (group-info.ts): a group watch's ticks as groupTick events. An object's pages
 * "since watching" count each page once over the ticks; its writers' pages and shares, and each
 * member's written pages, add the ticks up (a member that left starts again from 0); a sampled
 * member's estimate is passed as an estimate; the lists and ranges are bounded; every tick
 * matches the protocol's schema. Pure.
 */
import { expect, it } from 'vitest';
import type { Member } from '../proc/group.ts';
import { GROUP_WATCH_MAX_RANGES, groupWatchTickSchema } from '../protocol/group.ts';
import type { WatchFigures } from '../watch/driver.ts';
import type { GroupTick, MemberTick } from '../watch/group-watch.ts';
import type { ObjectWrites } from '../watch/group-writes.ts';
import { GroupWatchTally } from './group-info.ts';

const figures = (over: Partial<WatchFigures> = {}): WatchFigures => ({
  estOverheadPct: 1,
  estOwnPct: 0,
  ownCpuMs: 0,
  estOverheadLowPct: 0.5,
  estOverheadHighPct: 2,
  targetCpuMs: 100,
  estLowConfidence: false,
  sampleFraction: 1,
  writtenEst: 0,
  writtenErr: 0,
  intervalMs: 500,
  ...over,
});

const member = (pid: number, writtenPages: number, f?: Partial<WatchFigures>): MemberTick => ({
  pid,
  name: `m${pid}`,
  writtenPages,
  privatePages: 0,
  sharedPages: writtenPages,
  figures: figures({ writtenEst: writtenPages, ...f }),
});

const memfd = (ranges: Array<[number, number]>, shares: ObjectWrites['shares']): ObjectWrites => ({
  key: '0:9',
  kind: 'memfd',
  label: 'memfd:x',
  identity: 'inode 9',
  writtenPages: ranges.reduce((n, [a, b]) => n + b - a, 0),
  ranges,
  shares,
});

const gone = (pid: number): Member => ({
  pid,
  ppid: 1,
  name: `m${pid}`,
  startTime: 1,
  exe: '',
  image: '',
});

function tick(members: MemberTick[], objects: ObjectWrites[], over: Partial<GroupTick> = {}) {
  return {
    members,
    writes: { members: [], objects, writtenOnce: 0, writtenSum: 0 },
    joined: [],
    execd: [],
    left: [],
    failed: [],
    ended: [],
    exact: members.every((m) => m.figures.sampleFraction === 1),
    estOverheadPct: 1.5,
    groupCpuMs: 200,
    membershipMs: 1,
    ...over,
  } satisfies GroupTick;
}

it('counts an object’s pages once since the start, and adds up the writers’ and members’ ticks', () => {
  const t = new GroupWatchTally();
  const a = t.add(
    tick(
      [member(1, 16), member(2, 16)],
      [
        memfd(
          [[0, 24]],
          [
            { pid: 1, pages: 16, share: 12 },
            { pid: 2, pages: 16, share: 12 },
          ],
        ),
      ],
    ),
    500,
  );
  expect(groupWatchTickSchema.safeParse(a).success).toBe(true);
  expect(a.objects[0]).toMatchObject({ writtenPages: 24, writtenSoFar: 24 });
  // Pages 20..29 again by member 1: 6 new distinct pages, its ticks added up.
  const b = t.add(
    tick([member(1, 10), member(2, 0)], [memfd([[20, 30]], [{ pid: 1, pages: 10, share: 10 }])]),
    1000,
  );
  expect(b.tick).toBe(2);
  expect(b.objects[0]).toMatchObject({ writtenPages: 10, writtenSoFar: 30 });
  expect(b.objects[0].sharesSoFar).toEqual([
    { pid: 1, pages: 26, share: 22 },
    { pid: 2, pages: 16, share: 12 },
  ]);
  expect(b.members.map((m) => [m.pid, m.writtenPages, m.writtenTotal])).toEqual([
    [1, 10, 26],
    [2, 0, 16],
  ]);
  // Member 2 left; a new process with its pid starts from 0.
  const c = t.add(tick([member(1, 0)], [], { left: [gone(2)] }), 1500);
  expect(c.left).toEqual([{ pid: 2, name: 'm2' }]);
  const d = t.add(tick([member(1, 0), member(2, 3)], []), 2000);
  expect(d.members.find((m) => m.pid === 2)?.writtenTotal).toBe(3);
  expect(t.soFar('0:9')).toBe(30);
});

it('passes a sampled member’s estimate as an estimate, and bounds the ranges', () => {
  const t = new GroupWatchTally();
  const many = Array.from({ length: 100 }, (_, i): [number, number] => [2 * i, 2 * i + 1]);
  const k = t.add(
    tick(
      [member(1, 5, { sampleFraction: 0.25, writtenEst: 20.5 })],
      [memfd(many, [{ pid: 1, pages: 100, share: 100 }])],
      { estOverheadPct: -1 },
    ),
    10,
  );
  expect(groupWatchTickSchema.safeParse(k).success).toBe(true);
  expect(k.exact).toBe(false);
  expect(k.estOverheadPct).toBeNull();
  expect(k.members[0]).toMatchObject({ exact: false, writtenPages: 5, writtenEst: 20.5 });
  expect(k.objects[0].ranges).toHaveLength(GROUP_WATCH_MAX_RANGES);
  expect(k.objects[0].writtenPages).toBe(100);
  expect(k.objects[0].writtenSoFar).toBe(100);
});
