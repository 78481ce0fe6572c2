/**
 * A group watch on a real process tree (testing/group-tree.py: a parent, children and a
 * grandchild around a shared anonymous mapping, a memfd and a SysV segment): every member's
 * writes reach the group, each shared page once per object whoever wrote it, with each member's
 * share; members that join, exec and exit are followed and the watch goes on.
 */
import fs from 'node:fs';
import { afterAll, expect, it, vi } from 'vitest';
import { startGroupTree, type GroupTree } from '../../testing/group-tree.ts';
import { until } from '../../testing/wait.ts';
import { isSharedMapping } from '../proc/shared-objects.ts';
import { GroupWatch, type GroupTick } from './group-watch.ts';
import { MachineCpuClock } from './overhead.ts';
import { WatchDriver } from './driver.ts';

const trees: GroupTree[] = [];
const watches: GroupWatch[] = [];
afterAll(() => {
  for (const w of watches) w.close();
  for (const t of trees) t.close();
});

const REGION_KIND = { shared_anon: 'shared anonymous', memfd: 'memfd', sysv: 'sysv' } as const;

function sharedWatch(root: number): GroupWatch {
  const w = new GroupWatch({
    spec: { kind: 'tree', root },
    // Only the shared objects: the members' own writes (python's heap) are not what is tested.
    select: (vmas) => vmas.filter(isSharedMapping),
    intervalMs: 100,
  });
  watches.push(w);
  return w;
}

const object = (t: GroupTick, region: keyof typeof REGION_KIND) =>
  t.writes.objects.find((o) => o.kind === REGION_KIND[region]);

it('counts every member’s writes to a shared object once, with each member’s share', async () => {
  const t = await startGroupTree(2, 64);
  trees.push(t);
  const { pid, children, grandchild } = t.info;
  const [a, b] = children;
  const w = sharedWatch(pid);
  w.start();
  expect(
    w
      .members()
      .map((m) => m.member.pid)
      .sort(),
  ).toEqual([pid, a, b, grandchild].sort());
  // Every member watches the three objects, whole.
  for (const m of w.members()) expect(m.watchedPages).toBe(3 * 64);
  w.tick(); // anything before now

  // shared_anon: a writes 0-9, b writes 5-14 (5-9 by both): 15 pages written, not 20.
  await t.send(`write ${a} shared_anon 0 10`);
  await t.send(`write ${b} shared_anon 5 10`);
  // memfd: the parent and b write the same 4 pages.
  await t.send(`write ${pid} memfd 0 4`);
  await t.send(`write ${b} memfd 0 4`);
  // sysv: the parent alone.
  await t.send(`write ${pid} sysv 30 6`);
  // The tick reads each member's maps once (to follow its selection, to place its writes).
  const opens = vi.spyOn(fs, 'openSync');
  let tick: GroupTick;
  let paths: string[];
  try {
    tick = w.tick();
  } finally {
    paths = opens.mock.calls.map(([path]) => String(path));
    opens.mockRestore();
  }
  const mapsReads = new Map<number, number>();
  for (const path of paths) {
    const m = /^\/proc\/(\d+)\/maps$/.exec(path);
    if (m) mapsReads.set(Number(m[1]), (mapsReads.get(Number(m[1])) ?? 0) + 1);
  }
  expect([...mapsReads].sort((x, y) => x[0] - y[0])).toEqual(
    [pid, a, b, grandchild].sort((x, y) => x - y).map((p) => [p, 1]),
  );

  const anon = object(tick, 'shared_anon')!;
  expect(anon.writtenPages).toBe(15);
  expect(anon.ranges).toEqual([[0, 15]]);
  expect(anon.shares).toEqual([
    { pid: Math.min(a, b), pages: 10, share: 7.5 },
    { pid: Math.max(a, b), pages: 10, share: 7.5 },
  ]);
  const memfd = object(tick, 'memfd')!;
  expect(memfd.writtenPages).toBe(4);
  expect(memfd.label).toBe('memfd:pagescope-group');
  expect(memfd.shares.map((s) => [s.pid, s.pages, s.share]).sort()).toEqual(
    [
      [pid, 4, 2],
      [b, 4, 2],
    ].sort(),
  );
  const sysv = object(tick, 'sysv')!;
  expect(sysv.writtenPages).toBe(6);
  expect(sysv.ranges).toEqual([[30, 36]]);
  expect(sysv.shares).toEqual([{ pid, pages: 6, share: 6 }]);
  expect(tick.writes.objects.length).toBe(3);
  // Once per object: 25 pages for the group, 34 summed over the members.
  expect(tick.writes.writtenOnce).toBe(25);
  expect(tick.writes.writtenSum).toBe(34);
  expect(tick.exact).toBe(true);
  const byPid = new Map(tick.members.map((m) => [m.pid, m]));
  expect(byPid.get(a)!.sharedPages).toBe(10);
  expect(byPid.get(b)!.sharedPages).toBe(14);
  expect(byPid.get(pid)!.sharedPages).toBe(10);
  // Only the shared objects are watched: no member has pages of its own.
  for (const m of tick.members) expect(m.privatePages).toBe(0);
  expect(byPid.get(grandchild)!.writtenPages).toBe(0);

  // Nothing written since: nothing counted (the pages were re-protected in every member).
  expect(w.tick().writes.writtenOnce).toBe(0);
});

it('follows members that join, exec and exit; the watch goes on', async () => {
  const t = await startGroupTree(2, 16);
  trees.push(t);
  const { pid, children } = t.info;
  const w = sharedWatch(pid);
  w.start();
  w.tick();
  const spawned = (await t.send('spawn')).pid as number;
  const joinTick = await until('the new child to join', () => {
    const k = w.tick();
    return k.joined.length ? k : null;
  });
  expect(joinTick.joined.map((m) => m.pid)).toEqual([spawned]);
  expect(w.members().map((m) => m.member.pid)).toContain(spawned);
  // From the next tick its writes count, once with the parent's on the same pages (2-4, 3-5).
  await t.send(`write ${spawned} shared_anon 2 3`);
  await t.send(`write ${pid} shared_anon 3 3`);
  const after = w.tick();
  expect(object(after, 'shared_anon')!.writtenPages).toBe(4);
  expect(
    object(after, 'shared_anon')!
      .shares.map((s) => s.pid)
      .sort(),
  ).toEqual([pid, spawned].sort());

  await t.send(`exit ${children[1]}`);
  await t.send(`exec ${children[0]}`);
  const seen = { ended: [] as number[], execd: [] as number[], left: [] as number[] };
  await until('the exit and the exec', () => {
    const k = w.tick();
    seen.ended.push(...k.ended.map((e) => e.pid));
    seen.execd.push(...k.execd.map((m) => m.pid));
    seen.left.push(...k.left.map((m) => m.pid));
    return seen.left.length && seen.execd.length ? true : null;
  });
  expect(seen.left).toEqual([children[1]]);
  expect(seen.execd).toEqual([children[0]]);
  expect(seen.ended).toContain(children[1]);
  const pids = w.members().map((m) => m.member.pid);
  expect(pids).not.toContain(children[1]);
  // The exec'd child is watched again (its new program maps none of the objects: 0 pages).
  expect(pids).toContain(children[0]);
  // Still counting the others.
  await t.send(`write ${spawned} memfd 0 2`);
  expect(object(w.tick(), 'memfd')!.writtenPages).toBe(2);
});

it('reads the machine’s busy CPU time once per tick for all its members and once at each member’s arm, each given what a single watch reads', async () => {
  const t = await startGroupTree(2, 16);
  trees.push(t);
  const { pid } = t.info;
  // The machine's busy CPU time as the test sets it, and how often it is read.
  let busyMs = 1_000_000;
  let reads = 0;
  const readMachineBusyMs = (): number => {
    reads++;
    return busyMs;
  };
  // What each member's clock handed to its estimate (overhead.ts competingOwnMs).
  const handed = vi.spyOn(MachineCpuClock.prototype, 'sinceLastMs');
  // The machine runs 50 ms while each member arms (registering takes time): a member armed later
  // must not count the arms before it as its first tick's machine time.
  const ARM_MS = 50;
  try {
    const w = new GroupWatch({
      spec: { kind: 'tree', root: pid },
      select: (vmas) => vmas.filter(isSharedMapping),
      intervalMs: 100,
      readMachineBusyMs,
      onArmed: () => {
        busyMs += ARM_MS;
      },
    });
    watches.push(w);
    w.start();
    expect(w.members().length).toBe(4);
    expect(reads).toBe(4); // each member's clock primed at its own arm
    // The first tick: each member is handed the machine's time since its own arm.
    busyMs += 700;
    reads = 0;
    handed.mockClear();
    expect(w.tick().members.length).toBe(4);
    expect(reads).toBe(1);
    expect(handed.mock.results.map((r) => r.value)).toEqual([900, 850, 800, 750]);
    const tickWith = (addMs: number): { tick: GroupTick; reads: number; handed: unknown[] } => {
      busyMs += addMs;
      reads = 0;
      handed.mockClear();
      const tick = w.tick();
      return { tick, reads, handed: handed.mock.results.map((r) => r.value) };
    };
    for (const addMs of [700, 30, 0]) {
      const k = tickWith(addMs);
      expect(k.tick.members.length).toBe(4);
      expect(k.reads).toBe(1);
      expect(k.handed).toEqual([addMs, addMs, addMs, addMs]);
    }
    // A member that joins is primed by one more reading at its arm, as a single watch is: the
    // tick after, all five are handed the time since the join tick's readings (its arm's 50 ms
    // included: the joiner's reading was taken before them, the four's at the tick's start).
    await t.send('spawn');
    const join = await until('the new child to join', () => {
      const k = tickWith(10);
      return k.tick.joined.length ? k : null;
    });
    expect(join.reads).toBe(2); // the tick's reading, and the joiner's
    const after = tickWith(250);
    expect(after.tick.members.length).toBe(5);
    expect(after.reads).toBe(1);
    expect(after.handed).toEqual([300, 300, 300, 300, 300]);
    w.close();

    // A single watch over the same readings: one read per collect, handed the same figure.
    const d = new WatchDriver({ pid, intervalMs: 100, readMachineBusyMs });
    try {
      d.arm([{ startPage: 0, endPage: 1 }]);
      for (const addMs of [700, 30]) {
        busyMs += addMs;
        reads = 0;
        handed.mockClear();
        expect(d.collect().kind).toBe('watching');
        expect(reads).toBe(1);
        expect(handed.mock.results.map((r) => r.value)).toEqual([addMs]);
      }
    } finally {
      d.close();
    }
  } finally {
    handed.mockRestore();
  }
});
