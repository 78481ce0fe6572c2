/**
 * `pagescope watch --tree/--pids/--cgroup` end to end: the real CLI on a real process tree
 * (testing/group-tree.py): a start line with the members, ticks per member and per shared object
 * (each written page once), a clean end on SIGINT with every member released and working; bad
 * input gets one sentence and exit code 2.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startGroupTree, type GroupTree } from '../../../testing/group-tree.ts';
import { CLI, cleanupAfterEach, startCli } from '../../../testing/watch-support.ts';
import { until } from '../../../testing/wait.ts';
import { cgroupMounts, cgroupPids } from '../../proc/group.ts';

const { track } = cleanupAfterEach();
const trees: GroupTree[] = [];
let cgroupDir = '';
afterAll(() => {
  for (const t of trees) t.close();
  if (!cgroupDir) return;
  try {
    for (const pid of cgroupPids(cgroupDir))
      fs.writeFileSync(path.join(path.dirname(cgroupDir), 'cgroup.procs'), String(pid));
    fs.rmdirSync(cgroupDir);
  } catch {
    // emptied by the tree's exit; an empty cgroup left behind is removed by the next run's rmdir
  }
});

async function tree(children: number): Promise<GroupTree> {
  const t = await startGroupTree(children, 32);
  trees.push(t);
  return t;
}

interface ObjectLine {
  kind: string;
  label: string;
  writtenPages: number;
  ranges: Array<[number, number]>;
  shares: Array<{ pid: number; pages: number; share: number }>;
}

describe('bad input: one sentence, exit code 2', () => {
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [CLI, 'watch', ...args], { encoding: 'utf8', timeout: 60_000 });
  it.each([
    [['--tree', '999999999', '--shared'], /no running process has pid 999999999/],
    [['--tree', '1', '--range', '0x1000-0x2000'], /--range names addresses of one process/],
    [['--pids', '1,x'], /not a list of process ids/],
    [['--pid', '1', '--shared'], /--shared goes with a group/],
    [['--tree', '1', '--who'], /not of a group/],
    [['--tree', '1', '--vma', '3'], /takes a name/],
    [['--tree', '1', '--shared', '--writable'], /Choose one of/],
  ])('watch %j', (args, message) => {
    const r = run(...args);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n').length).toBe(1);
  });
});

it('--json: members, then each tick per member and per shared object; SIGINT ends it cleanly', async () => {
  const t = await tree(2);
  const { pid, children, grandchild } = t.info;
  const [a, b] = children;
  const cli = track(
    startCli(['watch', '--tree', String(pid), '--shared', '--json', '--interval', '200'], 'pipe'),
  );
  const start = JSON.parse(await cli.next(60_000)) as {
    start: boolean;
    members: Array<{ pid: number; watchedPages: number }>;
  };
  expect(start.start).toBe(true);
  expect(start.members.map((m) => m.pid).sort()).toEqual([pid, a, b, grandchild].sort());
  for (const m of start.members) expect(m.watchedPages).toBe(3 * 32);

  await t.send(`write ${a} shared_anon 0 10`);
  await t.send(`write ${b} shared_anon 5 10`);
  // The writes may fall into one tick or two: what the ticks report for the object, together,
  // is pages 0-14, each written page once in a tick, and a's and b's pages.
  const written = new Set<number>();
  const byMember = new Map<number, number>();
  // Read tick lines (each within its own limit) until the pages are seen, at most 100 of them.
  for (let n = 0; n < 100 && written.size < 15; n++) {
    const line = JSON.parse(await cli.next(30_000)) as {
      tick: number;
      writtenOnce: number;
      writtenSum: number;
      objects: ObjectLine[];
      members: Array<{ pid: number; sharedPages: number }>;
    };
    expect(line.tick).toBeGreaterThan(0);
    expect(line.members.length).toBe(4);
    for (const o of line.objects) {
      expect(o.kind).toBe('shared anonymous');
      expect(o.writtenPages).toBe(o.ranges.reduce((n, [x, y]) => n + y - x, 0));
      expect(o.shares.reduce((n, s) => n + s.share, 0)).toBeCloseTo(o.writtenPages, 1);
      for (const [x, y] of o.ranges) for (let p = x; p < y; p++) written.add(p);
      for (const s of o.shares) byMember.set(s.pid, (byMember.get(s.pid) ?? 0) + s.pages);
    }
    expect(line.writtenOnce).toBeLessThanOrEqual(line.writtenSum);
  }
  expect([...written].sort((x, y) => x - y)).toEqual([...Array(15).keys()]);
  expect(Object.fromEntries(byMember)).toEqual({ [a]: 10, [b]: 10 });

  expect(stillRegistered(b)).toBe(true);
  cli.child.kill('SIGINT');
  let done: { done?: boolean; reason?: string } = {};
  for (let n = 0; n < 20 && !done.done; n++)
    done = JSON.parse(await cli.next(30_000)) as typeof done;
  expect(done.reason).toBe('interrupted by SIGINT');
  await until('the CLI to exit', () => cli.child.exitCode !== null);
  expect(cli.child.exitCode).toBe(0);
  // Every member released and working: each still writes and answers.
  expect(await t.send(`write ${b} memfd 0 4`)).toEqual({ ok: true });
  expect(stillRegistered(b)).toBe(false);
});

it('human output: the group, the objects written and who wrote them; SIGTERM ends it', async () => {
  const t = await tree(1);
  const { pid, children } = t.info;
  const cli = track(
    startCli(['watch', '--pids', `${pid},${children[0]}`, '--shared', '--interval', '300']),
  );
  const head = await cli.next(60_000);
  expect(head).toMatch(new RegExp(`^watching the pids ${pid}, ${children[0]}: 2 members`));
  while (!(await cli.next(30_000)).startsWith('tick '));
  await t.send(`write ${children[0]} sysv 3 5`);
  let line = '';
  for (let n = 0; n < 100 && !/SysV/.test(line); n++) line = await cli.next(30_000);
  expect(line).toMatch(new RegExp(`5 pages written by 1 member: ${children[0]} \\S+ 5`));
  cli.child.kill('SIGTERM');
  await until('the CLI to exit', () => cli.child.exitCode !== null);
  expect(cli.child.exitCode).toBe(0);
});

/** Whether any VMA of `pid` is still registered with a userfaultfd (smaps' "uf" flag). */
function stillRegistered(pid: number): boolean {
  const smaps = spawnSync('cat', [`/proc/${pid}/smaps`], { encoding: 'utf8' }).stdout;
  return /^VmFlags:.*\buw\b/m.test(smaps);
}

it('--cgroup: the processes of a cgroup made for the test; --ticks ends it', async (ctx) => {
  const v2 = cgroupMounts().find((m) => m.version === 2);
  if (!v2) return ctx.skip('no cgroup v2 hierarchy is mounted');
  const name = `pagescope-watch-group-${process.pid}.scope`;
  const dir = path.join(v2.mount, name);
  try {
    fs.mkdirSync(dir);
    cgroupDir = dir;
  } catch (err) {
    return ctx.skip(`cannot create a cgroup here (${(err as Error).message})`);
  }
  const t = await tree(1);
  const { pid, children, grandchild } = t.info;
  try {
    for (const p of [pid, ...children, grandchild])
      fs.writeFileSync(path.join(dir, 'cgroup.procs'), String(p));
  } catch (err) {
    return ctx.skip(`cannot move processes into a cgroup here (${(err as Error).message})`);
  }
  const cli = track(
    startCli(
      ['watch', '--cgroup', name, '--shared', '--json', '--interval', '200', '--ticks', '40'],
      'pipe',
    ),
  );
  const start = JSON.parse(await cli.next(60_000)) as { group: string; members: unknown[] };
  expect(start.group).toBe(`cgroup ${dir}`);
  expect(start.members.length).toBe(3);
  await t.send(`write ${children[0]} memfd 1 3`);
  await t.send(`write ${pid} memfd 2 3`);
  const pages = new Set<number>();
  let last: { done?: boolean; reason?: string; ticks?: number } = {};
  for (let n = 0; n < 60 && !last.done; n++) {
    const line = JSON.parse(await cli.next(30_000)) as ObjectsLine & typeof last;
    for (const o of line.objects ?? [])
      for (const [x, y] of o.ranges) for (let p = x; p < y; p++) pages.add(p);
    last = line;
  }
  expect([...pages].sort()).toEqual([1, 2, 3, 4]);
  expect(last).toMatchObject({ done: true, reason: '40 ticks done', ticks: 40 });
  await until('the CLI to exit', () => cli.child.exitCode !== null);
  expect(cli.child.exitCode).toBe(0);
});

interface ObjectsLine {
  objects?: ObjectLine[];
}
