/**
 * scanGroup and listCgroups through the host service (the one both hosts use), on a real
 * python3 tree sharing memory (testing/group-tree.py): the answer matches the protocol's schema
 * and has the memfd once with each member's share; bad input (a pid that is not running, a
 * cgroup outside the cgroup hierarchies, garbage) gets one sentence and no scan.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGroupTree, type GroupTree } from '../../testing/group-tree.ts';
import { failed } from '../../testing/host-refusal.ts';
import type { GroupScanInfo } from '../protocol/group.ts';
import { responseSchema, type Method, type Response } from '../protocol/messages.ts';
import { cgroupMounts } from '../proc/group.ts';
import { cgroupRoot } from '../exporter/targets.ts';
import { cgroupOf } from './group-host.ts';
import { HostService, type HostConnection } from './service.ts';

let service: HostService;
let conn: HostConnection;
let tree: GroupTree;
let id = 1;

beforeAll(async () => {
  service = new HostService();
  conn = service.connect({ frame: () => {}, event: () => {} });
  tree = await startGroupTree(2, 32);
  await tree.send(`write ${tree.info.pid} memfd 0 16`);
  await tree.send(`write ${tree.info.children[0]} memfd 8 16`);
});

afterAll(async () => {
  await service?.closeAll();
  tree?.close();
});

/**
 * Moves `pids` into a new cgroup v2 under the hierarchy's root; returns what moves them back
 * and removes it, or null (and moves nothing) when that cannot be done here.
 */
function ownCgroup(pids: number[]): (() => void) | null {
  const root = cgroupRoot();
  const cg = path.join(root, `pgs-group-host-test-${process.pid}`);
  const home = (pid: number): string | null => {
    const m = /^0::(.*)$/m.exec(fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
    return m ? path.join(root, m[1]) : null;
  };
  const homes = pids.map(home);
  if (homes.some((h) => h === null)) return null;
  try {
    fs.mkdirSync(cg);
  } catch {
    return null;
  }
  const back = (): void => {
    pids.forEach((p, i) => {
      try {
        fs.writeFileSync(path.join(homes[i]!, 'cgroup.procs'), String(p));
      } catch {
        // exited meanwhile
      }
    });
    try {
      fs.rmdirSync(cg);
    } catch {
      // a process still in it: left to the machine (named by this runner's pid)
    }
  };
  try {
    for (const p of pids) fs.writeFileSync(path.join(cg, 'cgroup.procs'), String(p));
  } catch {
    back();
    return null;
  }
  return back;
}

const ask = (method: string, params: unknown): Promise<Response> =>
  conn.handle({ id: id++, method, params });

function valid(method: Method, r: Response): void {
  const check = responseSchema(method).safeParse(r);
  expect(check.success, `${JSON.stringify(r).slice(0, 400)} ${check.error?.message ?? ''}`).toBe(
    true,
  );
}

describe('scanGroup', () => {
  it('answers a tree with each member and the memfd once, with every member’s share', async () => {
    const r = await ask('scanGroup', { group: { kind: 'tree', root: tree.info.pid } });
    valid('scanGroup', r);
    if (!r.ok) return;
    const g = r.result as GroupScanInfo;
    const { pid, children, grandchild } = tree.info;
    expect(g.members.map((m) => m.pid).sort((a, b) => a - b)).toEqual(
      [pid, ...children, grandchild].sort((a, b) => a - b),
    );
    const memfd = g.objects.filter((o) => o.label === 'memfd:pagescope-group');
    expect(memfd).toHaveLength(1);
    expect(memfd[0].resident).toBe(24); // pages 0..23: 0..15 by the parent, 8..23 by child 0
    const share = (p: number) => memfd[0].shares.find((s) => s.pid === p);
    expect(share(pid)).toMatchObject({ present: 16, share: 12 });
    expect(share(children[0])).toMatchObject({ present: 16, share: 12 });
    expect(share(children[1])).toMatchObject({ present: 0, share: 0 });
    expect(memfd[0].fromObject?.source).toMatch(/^(object|smaps)$/);
    expect(g.describe).toBe(`tree of pid ${pid}`);
  });

  it('runs one scan at a time per connection: a newer one ends the older', async () => {
    const group = { kind: 'tree', root: 1 }; // the whole machine: long enough to be overtaken
    const older = ask('scanGroup', { group });
    const newer = await ask('scanGroup', { group: { kind: 'tree', root: tree.info.pid } });
    valid('scanGroup', newer);
    expect(failed(await older, 'cancelled')).toMatch(/a newer group scan replaced it/);
  });

  it('scans off the event loop: timers keep firing during a big scan', async (ctx) => {
    let last = performance.now();
    let maxGap = 0;
    const t = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
    }, 10);
    try {
      // Every process of the machine: the biggest group there is.
      const r = await ask('scanGroup', { group: { kind: 'tree', root: 1 } });
      valid('scanGroup', r);
      maxGap = Math.max(maxGap, performance.now() - last); // a stall up to the answer, too
      const ms = r.ok ? (r.result as GroupScanInfo).scanMs : 0;
      if (ms < 500)
        return ctx.skip(`the whole machine scanned in ${Math.round(ms)} ms: too quick to tell`);
      expect(
        maxGap,
        `longest stall ${Math.round(maxGap)} ms in a ${Math.round(ms)} ms scan`,
      ).toBeLessThan(ms / 2);
    } finally {
      clearInterval(t);
    }
  });

  it('answers pids', async () => {
    const r = await ask('scanGroup', { group: { kind: 'pids', pids: tree.info.children } });
    valid('scanGroup', r);
    if (r.ok) expect((r.result as { members: unknown[] }).members).toHaveLength(2);
  });

  it('refuses a pid that is not running, in one sentence', async () => {
    const gone = spawnSync('true').pid!; // exited and reaped: not running
    const msg = failed(
      await ask('scanGroup', { group: { kind: 'tree', root: gone } }),
      'no-process',
    );
    expect(msg).toContain(String(gone));
    failed(
      await ask('scanGroup', { group: { kind: 'pids', pids: [tree.info.pid, gone] } }),
      'no-process',
    );
  });

  it('refuses a cgroup outside the cgroup hierarchies, even one that looks like a cgroup', async (ctx) => {
    if (cgroupMounts().length === 0) return ctx.skip('no cgroup hierarchy is mounted here');
    const fake = fs.mkdtempSync(path.join(os.tmpdir(), 'pagescope-fake-cgroup-'));
    fs.writeFileSync(path.join(fake, 'cgroup.procs'), `${tree.info.pid}\n`);
    try {
      for (const p of [fake, '/etc', `/sys/fs/cgroup/../../${fake}`, 'no-such.service']) {
        const msg = failed(
          await ask('scanGroup', { group: { kind: 'cgroup', path: p } }),
          'bad-request',
        );
        expect(msg.length).toBeLessThan(300);
      }
    } finally {
      fs.rmSync(fake, { recursive: true, force: true });
    }
  });

  it('refuses garbage before doing anything', async () => {
    for (const params of [
      {},
      { group: null },
      { group: { kind: 'tree', root: 'init' } },
      { group: { kind: 'tree', root: -1 } },
      { group: { kind: 'cgroup', path: '' } },
      { group: { kind: 'pids', pids: [] } },
      { group: { kind: 'everything' } },
      'scan',
    ])
      failed(await ask('scanGroup', params), 'bad-request');
  });
});

describe('listCgroups', () => {
  it('lists the cgroup of the tree, and scanning it finds the tree', async (ctx) => {
    const mounts = cgroupMounts();
    if (mounts.length === 0) return ctx.skip('no cgroup hierarchy is mounted here');
    // The tree in a cgroup of its own where one can be made (root, cgroup v2): the cgroup it was
    // born in is this runner's, here the machine's root, and scanning it scanned every process
    // (~8 s of a loaded machine). Else that one, as it is.
    const away = ownCgroup([tree.info.pid, ...tree.info.children, tree.info.grandchild]);
    try {
      await listsAndScansTheTree();
    } finally {
      away?.();
    }
  });

  async function listsAndScansTheTree(): Promise<void> {
    const mounts = cgroupMounts();
    const r = await ask('listCgroups', {});
    valid('listCgroups', r);
    if (!r.ok) return;
    const { cgroups } = r.result as { cgroups: Array<{ dir: string; pids: number[] }> };
    const ours = cgroups.find((c) => c.pids.includes(tree.info.pid));
    expect(ours, 'the tree’s cgroup is listed').toBeDefined();
    const own = cgroupOf(fs.readFileSync(`/proc/${tree.info.pid}/cgroup`, 'utf8'), mounts);
    expect(own).not.toBeNull();
    const s = await ask('scanGroup', { group: { kind: 'cgroup', path: ours!.dir } });
    valid('scanGroup', s);
    if (s.ok)
      expect((s.result as { members: Array<{ pid: number }> }).members.map((m) => m.pid)).toContain(
        tree.info.pid,
      );
  }

  it('reads v2 and v1 /proc/PID/cgroup lines', () => {
    const v2 = { version: 2 as const, controllers: 'cgroup2', mount: '/sys/fs/cgroup', root: '/' };
    const v1 = {
      version: 1 as const,
      controllers: 'name=systemd',
      mount: '/sys/fs/cgroup/systemd',
      root: '/',
    };
    expect(cgroupOf('0::/user.slice/a.scope\n', [v2])?.[1]).toBe('/user.slice/a.scope');
    expect(cgroupOf('12:memory:/x\n1:name=systemd:/y.service\n', [v2, v1])?.[1]).toBe('/y.service');
    expect(cgroupOf('garbage', [v2])).toBeNull();
  });
});
