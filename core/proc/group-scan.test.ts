/**
 * `pagescope scan --tree` / `--cgroup` on a real python3 tree sharing memory
 * (testing/group-tree.py): every member scanned, each shared object once with each member's
 * pages and proportional share, the group's resident total with shared pages counted once, and
 * (with zram swap) a shared object's swapped pages, which no page table shows.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startGroupTree, type GroupTree } from '../../testing/group-tree.ts';
import { until } from '../../testing/wait.ts';
import { activeSwapAreas, ensureSwap, type SwapResult } from '../../testing/zram.ts';
import { cgroupMounts } from './group.ts';
import { objectPagesFromObject } from './shared-swap.ts';
import { readMaps } from './maps.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/pagescope.mjs');

interface GroupJson {
  members: Array<{ pid: number; ppid: number; pages: { present: number }; privatePresent: number }>;
  skipped: unknown[];
  objects: Array<{
    kind: string;
    label: string;
    members: number[];
    presentUnion: number;
    shares: Array<{ pid: number; present: number; share: number }>;
    object: { swapped: number; resident: number; allocated: number; source: string } | null;
  }>;
  residentOnce: number;
  residentSum: number;
  sharedSwapped: number;
}

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let t: GroupTree;
let swap: SwapResult | null = null;
const SWAPPED = 10;

beforeAll(async () => {
  t = await startGroupTree(2, 64);
  const [c0, c1] = t.info.children;
  await t.send(`write ${t.info.pid} memfd 0 16`);
  await t.send(`write ${c0} memfd 8 16`); // pages 8..15 are in both page tables
  await t.send(`write ${c1} shared_anon 0 4`);
  swap = ensureSwap(64);
  if (swap.ok) {
    // The parent alone maps these pages in: MADV_PAGEOUT moves them to swap.
    await t.send(`write ${t.info.pid} sysv 0 ${SWAPPED}`);
    await t.send(`pageout sysv 0 ${SWAPPED}`);
    const sysv = readMaps(t.info.pid).find((v) => v.path.startsWith('/SYSV'))!;
    let seen: number | undefined;
    await until(
      // Another process's swapoff (a second test run on this machine) brings them back: say so.
      () =>
        `the ${SWAPPED} SysV pages on swap (seen ${seen} swapped; swap areas now: ${activeSwapAreas().join(', ') || 'none'})`,
      () => (seen = objectPagesFromObject(t.info.pid, sysv)?.swapped) === SWAPPED,
    );
  }
});

afterAll(() => {
  t?.close();
  if (swap?.ok) swap.release();
});

it('scan --tree: each member, each shared object once with its members and shares', () => {
  const run = cli(['scan', '--tree', String(t.info.pid), '--json']);
  expect(run.code, run.stderr).toBe(0);
  const g = JSON.parse(run.stdout) as GroupJson;
  const { pid, children, grandchild } = t.info;
  expect(g.members.map((m) => m.pid).sort((a, b) => a - b)).toEqual(
    [pid, ...children, grandchild].sort((a, b) => a - b),
  );
  expect(g.skipped).toEqual([]);
  const obj = (label: string) => g.objects.find((o) => o.label === label)!;
  const memfd = obj('memfd:pagescope-group');
  expect(memfd.members).toHaveLength(4);
  expect(memfd.presentUnion).toBe(24);
  const share = (o: GroupJson['objects'][0], p: number) => o.shares.find((s) => s.pid === p)!;
  // 8 pages its own and 8 shared with one other member (each counted 1/2).
  expect(share(memfd, pid)).toEqual({ pid, present: 16, share: 12 });
  expect(share(memfd, children[0])).toEqual({ pid: children[0], present: 16, share: 12 });
  expect(share(memfd, children[1]).present).toBe(0);
  expect(memfd.object).toMatchObject({ allocated: 24, resident: 24, swapped: 0, source: 'object' });
  const anon = obj('shared anonymous');
  expect(anon.presentUnion).toBe(4);
  expect(share(anon, children[1])).toEqual({ pid: children[1], present: 4, share: 4 });
  // Shared pages counted once: the difference from the sum of the members' is what sharing saves.
  const saved = g.objects.reduce(
    (a, o) => a + o.shares.reduce((b, s) => b + s.present, 0) - o.presentUnion,
    0,
  );
  expect(saved).toBeGreaterThanOrEqual(8);
  expect(g.residentSum - g.residentOnce).toBe(saved);
  for (const o of g.objects)
    expect(o.shares.reduce((a, s) => a + s.share, 0)).toBeCloseTo(o.presentUnion, 1);
});

it('scan --tree: swapped shared memory read from the object', (ctx) => {
  if (!swap?.ok) return ctx.skip(swap?.ok === false ? swap.reason : 'no swap');
  const run = cli(['scan', '--tree', String(t.info.pid), '--json']);
  expect(run.code, run.stderr).toBe(0);
  const g = JSON.parse(run.stdout) as GroupJson;
  const sysv = g.objects.find((o) => o.kind === 'sysv')!;
  expect(sysv.object).toMatchObject({ swapped: SWAPPED, source: 'object' });
  expect(sysv.presentUnion).toBe(0); // the page tables show none of it
  expect(g.sharedSwapped).toBe(SWAPPED);
  const text = cli(['scan', '--tree', String(t.info.pid)]);
  expect(text.code, text.stderr).toBe(0);
  expect(text.stdout).toMatch(
    new RegExp(
      `^SysV shm \\(private\\)\\s+shmid \\d+\\s+4\\s+64\\s+0\\s+${SWAPPED}\\s+0\\s+${SWAPPED}\\s+object$`,
      'm',
    ),
  );
  expect(text.stdout).toMatch(/swapped in shared objects 40(\.0)? KiB, read from the objects/);
});

it('scan --cgroup: the same group through a cgroup made for the test', (ctx) => {
  const v2 = cgroupMounts().find((m) => m.version === 2);
  if (!v2) return ctx.skip('no cgroup v2 hierarchy is mounted');
  const dir = path.join(v2.mount, `pagescope-group-scan-${process.pid}`);
  try {
    fs.mkdirSync(dir);
  } catch (err) {
    return ctx.skip(`cannot create a cgroup here (${(err as Error).message})`);
  }
  const members = [t.info.pid, ...t.info.children, t.info.grandchild];
  try {
    for (const p of members) fs.writeFileSync(path.join(dir, 'cgroup.procs'), String(p));
    const run = cli(['scan', '--cgroup', dir, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const g = JSON.parse(run.stdout) as GroupJson;
    expect(g.members.map((m) => m.pid).sort((a, b) => a - b)).toEqual(
      members.sort((a, b) => a - b),
    );
    expect(g.objects.find((o) => o.label === 'memfd:pagescope-group')!.presentUnion).toBe(24);
  } finally {
    const parent = path.join(v2.mount, 'cgroup.procs');
    for (const p of members) {
      try {
        fs.writeFileSync(parent, String(p));
      } catch {
        // exited
      }
    }
    fs.rmdirSync(dir);
  }
});

it('scan --pids: several processes as one group, objects shared between them once', () => {
  const { pid, children } = t.info;
  const run = cli(['scan', '--pids', `${pid},${children[0]}`, '--json']);
  expect(run.code, run.stderr).toBe(0);
  const g = JSON.parse(run.stdout) as GroupJson;
  expect(g.members.map((m) => m.pid)).toEqual([pid, children[0]]);
  const memfd = g.objects.find((o) => o.label === 'memfd:pagescope-group')!;
  expect(memfd.members).toEqual([pid, children[0]].sort((a, b) => a - b));
  expect(memfd.presentUnion).toBe(24);
});

it('bad group input: one sentence, exit 2', () => {
  for (const [args, msg] of [
    [['scan', '--tree', '999999999'], /^pagescope: no running process has pid 999999999\.$/],
    [
      ['scan', '--cgroup', 'no-such-unit-xyz.service'],
      /^pagescope: no cgroup named "no-such-unit-xyz.service" under /,
    ],
    [['scan', '--pid', '1', '--tree', '1'], /not both\.$/],
    [['scan'], /^pagescope: scan needs a process: --pid PID, --tree PID or --cgroup PATH\.$/],
    [['scan', '--tree', '1', '--regions'], /are for one process/],
    [['scan', '--pids', '1,x'], /^pagescope: "1,x" is not a list of process ids/],
    [['scan', '--pids', '1', '--tree', '1'], /^pagescope: name one group/],
  ] as const) {
    const r = cli([...args]);
    expect(r.code, args.join(' ')).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr.trimEnd()).toMatch(msg);
  }
});
