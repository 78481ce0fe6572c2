/**
 * `pagescope record --tree` and `report` of that recording, end to end on a real process tree
 * (testing/group-tree.py): the report gives each shared object's distinct written pages once
 * (whoever wrote them, in whichever tick) with each member's page-writes, and per member its
 * ticks and pages; process recordings still read (the group file is format version 3, apart).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { startGroupTree, type GroupTree } from '../../../testing/group-tree.ts';
import { CLI, cleanupAfterEach, startCli } from '../../../testing/watch-support.ts';
import { until } from '../../../testing/wait.ts';
import { readGroupRecording } from '../../record/group-recording.ts';

const { track } = cleanupAfterEach();
const trees: GroupTree[] = [];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagescope-group-rec-'));
afterAll(() => {
  for (const t of trees) t.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

it('records a tree and reports each shared object once, with each member’s writes', async () => {
  const t = await startGroupTree(2, 32);
  trees.push(t);
  const { pid, children } = t.info;
  const [a, b] = children;
  const file = path.join(dir, 'tree.pgsrec');
  const cli = track(
    startCli(
      ['record', '--tree', String(pid), '--shared', '--interval', '200', '-o', file],
      'pipe',
    ),
  );
  // The header is written once every member is attached; then ticks follow.
  await until(
    'the recording to start ticking',
    () => {
      try {
        return readGroupRecording(file).ticks.length > 0;
      } catch {
        return false;
      }
    },
    60_000,
    100,
  );
  // a writes 0-9 twice (two ticks apart: page-writes 20, distinct 10); b writes 5-14.
  await t.send(`write ${a} shared_anon 0 10`);
  const n = readGroupRecording(file).ticks.length;
  await until('a tick after the first write', () => readGroupRecording(file).ticks.length > n + 1);
  await t.send(`write ${a} shared_anon 0 10`);
  await t.send(`write ${b} shared_anon 5 10`);
  const m = readGroupRecording(file).ticks.length;
  await until('a tick after the writes', () => readGroupRecording(file).ticks.length > m + 1);
  cli.child.kill('SIGINT');
  await until('the recorder to exit', () => cli.child.exitCode !== null, 30_000);
  expect(cli.child.exitCode).toBe(0);
  expect(readGroupRecording(file).end?.reason).toBe('interrupted by SIGINT');

  const r = spawnSync(process.execPath, [CLI, 'report', file, '--json'], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const rep = JSON.parse(r.stdout) as {
    group: string;
    members: Array<{ pid: number; ticks: number; sharedPages: number; privatePages: number }>;
    objects: Array<{
      kind: string;
      distinctPages: number;
      pageWrites: number;
      members: Array<{ pid: number; pageWrites: number; share: number }>;
    }>;
  };
  expect(rep.group).toBe(`tree of pid ${pid}`);
  expect(rep.objects.length).toBe(1);
  const o = rep.objects[0];
  expect(o.kind).toBe('shared anonymous');
  expect(o.distinctPages).toBe(15);
  // Page-writes: a's 10 + a's 10 + b's 10, less the pages both wrote in the same tick (each
  // page once per tick): 20 + 5 when b wrote in the tick of a's second writes, 30 otherwise.
  expect([25, 30]).toContain(o.pageWrites);
  const by = Object.fromEntries(o.members.map((x) => [x.pid, x.pageWrites]));
  expect(by).toEqual({ [a]: 20, [b]: 10 });
  expect(o.members.reduce((s, x) => s + x.share, 0)).toBeCloseTo(o.pageWrites, 1);
  const ma = rep.members.find((x) => x.pid === a)!;
  expect(ma.sharedPages).toBe(20);
  expect(ma.privatePages).toBe(0);
  expect(rep.members.length).toBe(4);

  const human = spawnSync(process.execPath, [CLI, 'report', file], { encoding: 'utf8' });
  expect(human.status, human.stderr).toBe(0);
  expect(human.stdout).toMatch(/Shared objects \(each written page once/);
  expect(human.stdout).toMatch(/shared anonymous \(inode \d+\)\s+15 \(/);
});

it('refuses bad input with one sentence and exit code 2', () => {
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [CLI, 'record', ...args], { encoding: 'utf8', timeout: 60_000 });
  for (const [args, msg] of [
    [['--tree', '1', '--shared'], /-o FILE/],
    [['--tree', '1', '--watch', '0x1000-0x2000', '-o', path.join(dir, 'x')], /--watch names/],
    [['--pid', '1', '--max-overhead', '5', '-o', path.join(dir, 'y')], /goes with a group/],
  ] as const) {
    const r = run(...args);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(msg);
  }
});
