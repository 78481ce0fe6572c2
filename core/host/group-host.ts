/**
 * The host's side of groups (protocol/group.ts): checks the group a UI names, scans it with
 * core/proc/group-scan.ts, and lists the cgroups of the listed processes for the picker.
 *
 * Strategy: everything a UI sends is distrusted past its schema. A tree's root and each pid must
 * be a running process ('no-process', one sentence). A cgroup may be named as core/proc/group.ts
 * resolves it (a directory, a path inside a hierarchy, a unit, a container id), but whatever it
 * resolves to must, with symlinks and ".." resolved, lie inside a mounted cgroup hierarchy
 * (/sys/fs/cgroup): no request makes the host read a `cgroup.procs` planted anywhere else.
 * The scan is synchronous (one reading of each member's page tables, milliseconds per member)
 * and bounded in what it answers (GROUP_MAX_MEMBERS members, GROUP_MAX_OBJECTS objects).
 */
import fs from 'node:fs';
import path from 'node:path';
import { PagescopeError } from '../kernel/errors.ts';
import { PAGE_SIZE } from '../kernel/pagemap-abi.ts';
import {
  cgroupMounts,
  GroupError,
  GroupReader,
  readMember,
  resolveCgroup,
  type CgroupMount,
  type GroupSpec,
} from '../proc/group.ts';
import { scanGroup, type GroupScan } from '../proc/group-scan.ts';
import { listProcesses } from '../proc/processes.ts';
import {
  GROUP_MAX_CGROUPS,
  GROUP_MAX_MEMBERS,
  GROUP_MAX_OBJECTS,
  type CgroupSummary,
  type GroupScanInfo,
  type GroupSpecParams,
} from '../protocol/group.ts';

function running(pid: number): void {
  if (!readMember(pid))
    throw new PagescopeError(
      `No running process has pid ${pid} (it may have exited).`,
      'no-process',
    );
}

function insideMount(dir: string, mounts: CgroupMount[]): boolean {
  let real: string;
  try {
    real = fs.realpathSync(dir);
  } catch {
    return false;
  }
  return mounts.some((m) => real === m.mount || real.startsWith(m.mount + '/'));
}

/** The checked group a UI's spec names; throws one sentence ('no-process' or 'bad-request'). */
export function hostGroupSpec(p: GroupSpecParams, mounts = cgroupMounts()): GroupSpec {
  if (p.kind === 'tree') {
    running(p.root);
    return { kind: 'tree', root: p.root };
  }
  if (p.kind === 'pids') {
    for (const pid of p.pids) running(pid);
    return { kind: 'pids', pids: [...new Set(p.pids)] };
  }
  const where = mounts[0]?.mount ?? '/sys/fs/cgroup';
  const notOne = (): PagescopeError =>
    new PagescopeError(
      `${JSON.stringify(p.path.slice(0, 200))} is not a cgroup under ${where}: name one the picker lists.`,
      'bad-request',
    );
  let dir: string;
  try {
    dir = resolveCgroup(p.path, mounts);
  } catch (err) {
    // resolveCgroup's sentences speak of the CLI's --cgroup: the UI gets its own.
    if (err instanceof GroupError) throw notOne();
    throw err;
  }
  if (!insideMount(dir, mounts)) throw notOne();
  return { kind: 'cgroup', path: fs.realpathSync(dir) };
}

/** A GroupScan as the protocol's answer (bounded lists, pages). */
export function groupScanInfo(g: GroupScan): GroupScanInfo {
  return {
    describe: g.describe,
    pageSize: PAGE_SIZE,
    members: g.members.slice(0, GROUP_MAX_MEMBERS).map((m) => ({
      pid: m.member.pid,
      ppid: m.member.ppid,
      name: m.member.name,
      resident: m.totals.present,
      swapped: m.totals.swapped,
      privateResident: m.privatePresent,
    })),
    moreMembers: Math.max(0, g.members.length - GROUP_MAX_MEMBERS),
    skipped: g.skipped.slice(0, GROUP_MAX_MEMBERS),
    objects: g.objects.slice(0, GROUP_MAX_OBJECTS).map((o) => ({
      key: o.object.key,
      kind: o.object.kind,
      label: o.object.label,
      identity: o.object.identity,
      size: o.object.pagesMapped,
      resident: o.presentUnion,
      fromObject: o.fromObject && {
        swapped: o.fromObject.swapped,
        resident: o.fromObject.resident,
        allocated: o.fromObject.allocated,
        source: o.fromObject.source,
      },
      shares: o.shares.slice(0, GROUP_MAX_MEMBERS),
    })),
    moreObjects: Math.max(0, g.objects.length - GROUP_MAX_OBJECTS),
    residentOnce: g.residentOnce,
    residentSum: g.residentSum,
    sharedSwapped: g.sharedSwapped,
    scanMs: g.readMs + g.scanMs,
  };
}

/** One scan of the group a UI names. */
export function hostScanGroup(p: GroupSpecParams): GroupScanInfo {
  return groupScanInfo(scanGroup(new GroupReader(hostGroupSpec(p))));
}

/**
 * A process's cgroup in the first hierarchy that has it (v2 first: `0::/path`; on a v1 machine
 * the hierarchy whose controllers the mount names), as [mount, path inside], or null.
 */
export function cgroupOf(text: string, mounts: CgroupMount[]): [CgroupMount, string] | null {
  const lines = text.split('\n').filter(Boolean);
  for (const m of mounts) {
    for (const l of lines) {
      const [id, controllers, ...rest] = l.split(':');
      const where = rest.join(':');
      const ok = m.version === 2 ? id === '0' && controllers === '' : controllers === m.controllers;
      if (ok && where) return [m, where];
    }
  }
  return null;
}

/** The cgroups of the processes listProcesses lists, in path order (parents before children). */
export function hostListCgroups(mounts = cgroupMounts()): CgroupSummary[] {
  const byPath = new Map<string, CgroupSummary>();
  for (const p of listProcesses()) {
    let text: string;
    try {
      text = fs.readFileSync(`/proc/${p.pid}/cgroup`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const found = cgroupOf(text, mounts);
    if (!found) continue;
    const [m, where] = found;
    const rel = m.root !== '/' && where.startsWith(m.root) ? where.slice(m.root.length) : where;
    const key = `${m.mount}\0${where}`;
    let c = byPath.get(key);
    if (!c) byPath.set(key, (c = { path: where, dir: path.join(m.mount, rel), pids: [] }));
    c.pids.push(p.pid);
  }
  const out = [...byPath.values()];
  for (const c of out) c.pids.sort((a, b) => a - b);
  return out
    .sort((a, b) => (a.dir < b.dir ? -1 : a.dir > b.dir ? 1 : 0))
    .slice(0, GROUP_MAX_CGROUPS);
}
