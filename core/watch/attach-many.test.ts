/**
 * Attaching several processes at once (a group's members, issue 24): ONE attach helper run for
 * all of them (a helper's start is most of an attach's time on a loaded machine; postgres's 8
 * members took 8 starts), each member's attach on its own: one that cannot be attached (gone,
 * a kernel thread) is an error for that member only and the others are watched, their writes
 * counted; every target keeps nothing of us after close. The helper runs are counted by
 * watching node:child_process's spawn (the real one runs).
 */
import type * as childProcess from 'node:child_process';
import { expect, it, vi } from 'vitest';
import { RegionList } from '../scan/region-list.ts';
import { startGroupTree } from '../../testing/group-tree.ts';
import { tracesLeft } from '../../testing/traces.ts';
import { until } from '../../testing/wait.ts';
import {
  cleanupAfterEach,
  pagesOf,
  startPyTarget,
  targetRange,
} from '../../testing/watch-support.ts';
import { isSharedMapping } from '../proc/shared-objects.ts';
import fs from 'node:fs';
import { closeRawFd } from '../kernel/ptrace.ts';
import { GroupWatch } from './group-watch.ts';
import {
  attachManyThroughHelper,
  BATCH_MAX,
  discardPrestartedHelper,
  prestartHelper,
} from './remote-attach.ts';
import { syscallSite } from './syscall-site.ts';
import { WriteWatcher } from './watcher.ts';

const helperRuns: number[] = [];
const helperPids: number[] = [];
vi.mock('node:child_process', async (importOriginal) => {
  const real = await importOriginal<typeof childProcess>();
  return {
    ...real,
    spawn: ((...args: Parameters<typeof real.spawn>) => {
      const argv = Array.isArray(args[1]) ? args[1] : [];
      const c = real.spawn(...args);
      if (argv.some((a) => String(a).includes('attach-helper'))) {
        helperRuns.push(1);
        if (c.pid) helperPids.push(c.pid);
      }
      return c;
    }) as typeof real.spawn,
  };
});

const { defer, track } = cleanupAfterEach();

it('attaches the live ones through one helper run; the gone and the kernel thread fail alone', async () => {
  const a = track(await startPyTarget(8));
  const b = track(await startPyTarget(8));
  const gone = 4_000_000; // above pid_max's ceiling: no such process
  helperRuns.length = 0;
  const out = WriteWatcher.attachMany([a.pid, gone, b.pid, 2]);
  for (const w of out) if (w instanceof WriteWatcher) defer(() => w.close());
  expect(helperRuns).toHaveLength(1);
  expect(out[1]).toBeInstanceOf(Error);
  expect((out[1] as Error).message).toMatch(/No process with pid 4000000/);
  expect(out[3]).toBeInstanceOf(Error); // kthreadd
  const [wa, wb] = [out[0], out[2]] as WriteWatcher[];
  expect(wa).toBeInstanceOf(WriteWatcher);
  expect(wb).toBeInstanceOf(WriteWatcher);
  expect(wa.arm([targetRange(a)])).toEqual([expect.objectContaining({ status: 'watched' })]);
  expect(wb.arm([targetRange(b)])).toEqual([expect.objectContaining({ status: 'watched' })]);
  await a.send('w 1 5');
  await b.send('w 2');
  const [oa, ob] = [new RegionList(), new RegionList()];
  wa.tick(oa);
  wb.tick(ob);
  expect(pagesOf(oa, a.startPage)).toEqual([1, 5]);
  expect(pagesOf(ob, b.startPage)).toEqual([2]);
  wa.close();
  wb.close();
  expect(tracesLeft(a.pid)).toEqual([]);
  expect(tracesLeft(b.pid)).toEqual([]);
});

it("a group's first reading attaches every member through one helper run", async () => {
  const t = await startGroupTree(3, 16);
  defer(() => t.close());
  const w = new GroupWatch({
    spec: { kind: 'tree', root: t.info.pid },
    select: (vmas) => vmas.filter(isSharedMapping),
    intervalMs: 100,
  });
  defer(() => w.close());
  helperRuns.length = 0;
  const { failed } = w.start();
  expect(failed).toEqual([]);
  expect(w.members().length).toBeGreaterThanOrEqual(4);
  expect(helperRuns).toHaveLength(1);
});

it('a target that fails inside the helper run fails alone; the next ones get their descriptors', async () => {
  const [a, c, b] = [
    track(await startPyTarget(8)),
    track(await startPyTarget(8)),
    track(await startPyTarget(8)),
  ];
  helperRuns.length = 0;
  const out = attachManyThroughHelper([
    { pid: a.pid, tid: a.pid, syscallAddress: syscallSite(a.pid) },
    { pid: c.pid, tid: c.pid, syscallAddress: 0x1000n }, // no `syscall` there: refused
    { pid: b.pid, tid: b.pid, syscallAddress: syscallSite(b.pid) },
  ]);
  expect(helperRuns).toHaveLength(1);
  expect(out[1]).toBeInstanceOf(Error);
  for (const r of [out[0], out[2]]) {
    expect(r).not.toBeInstanceOf(Error);
    const fd = (r as { fd: number }).fd;
    expect(fs.readlinkSync(`/proc/self/fd/${fd}`)).toBe('anon_inode:[userfaultfd]');
    closeRawFd(fd);
  }
  for (const t of [a, b, c]) expect(tracesLeft(t.pid)).toEqual([]);
  expect(await c.send('w 1')).toMatch(/^ok/);
});

it('more targets than one run takes: a run per BATCH_MAX, every descriptor handed over', async () => {
  const a = track(await startPyTarget(8));
  const site = syscallSite(a.pid);
  helperRuns.length = 0;
  // The same process again and again (each attach makes a userfaultfd of its own).
  const out = attachManyThroughHelper(
    Array.from({ length: BATCH_MAX + 1 }, () => ({ pid: a.pid, tid: a.pid, syscallAddress: site })),
  );
  expect(helperRuns).toHaveLength(2);
  expect(out).toHaveLength(BATCH_MAX + 1);
  for (const r of out) {
    expect(r).not.toBeInstanceOf(Error);
    const fd = (r as { fd: number }).fd;
    expect(fs.readlinkSync(`/proc/self/fd/${fd}`)).toBe('anon_inode:[userfaultfd]');
    closeRawFd(fd);
  }
  expect(tracesLeft(a.pid)).toEqual([]);
  expect(await a.send('w 1')).toMatch(/^ok/);
});

/** Whether `pid` is still a process (not yet reaped, and not a zombie). */
function running(pid: number): boolean {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

it("a helper started ahead (the CLI's watch --pid) is the one the attach uses: one start", async () => {
  const a = track(await startPyTarget(8));
  helperRuns.length = 0;
  helperPids.length = 0;
  prestartHelper();
  expect(helperRuns).toHaveLength(1);
  const w = WriteWatcher.attach(a.pid);
  defer(() => w.close());
  expect(helperRuns, 'helper starts: the prestarted one only').toHaveLength(1);
  expect(w.arm([targetRange(a)])).toEqual([expect.objectContaining({ status: 'watched' })]);
  await a.send('w 3');
  const out = new RegionList();
  w.tick(out);
  expect(pagesOf(out, a.startPage)).toEqual([3]);
  w.close();
  expect(tracesLeft(a.pid)).toEqual([]);
  await until(
    () => `the used helper ${helperPids[0]} to exit`,
    () => !running(helperPids[0]),
  );
});

it('a helper started ahead and never used ends at EOF, touching nothing', async () => {
  const a = track(await startPyTarget(8));
  helperRuns.length = 0;
  helperPids.length = 0;
  prestartHelper();
  expect(helperPids).toHaveLength(1);
  discardPrestartedHelper();
  await until(
    () => `the unused helper ${helperPids[0]} to exit`,
    () => !running(helperPids[0]),
  );
  expect(tracesLeft(a.pid)).toEqual([]);
  expect(await a.send('w 1')).toMatch(/^ok/);
  // The next attach starts a helper of its own.
  const w = WriteWatcher.attach(a.pid);
  defer(() => w.close());
  expect(helperRuns).toHaveLength(2);
});
