/**
 * The host's side of groups (protocol/group.ts): checks the group a UI names, scans it with
 * core/proc/group-scan.ts, and lists the cgroups of the listed processes for the picker.
 *
 * Strategy: everything a UI sends is distrusted past its schema. A tree's root and each pid must
 * be a running process ('no-process', one sentence). A cgroup may be named as core/proc/group.ts
 * resolves it (a directory, a path inside a hierarchy, a unit, a container id), but whatever it
 * resolves to must, with symlinks and ".." resolved, lie inside a mounted cgroup hierarchy
 * (/sys/fs/cgroup): no request makes the host read a `cgroup.procs` planted anywhere else.
 * The scan itself runs in a thread of its own (group-worker.ts: a hundred members' page tables
 * take seconds, which the event loop, serving every session's frames, must not wait for), bounded
 * in time (GROUP_SCAN_TIMEOUT_MS) and in what it answers (group-info.ts). A connection runs one
 * scan at a time (service.ts): a newer one ends the older's thread, which answers 'cancelled'
 * (the UI asks for the group it shows now, never two at once).
 */
import fs from 'node:fs';
import path from 'node:path';
import { PagescopeError } from '../kernel/errors.ts';
import { reapHelpersSoon } from '../kernel/reap.ts';
import {
  cgroupMounts,
  GroupError,
  GroupReader,
  readMember,
  resolveCgroup,
  type CgroupMount,
  type GroupSpec,
} from '../proc/group.ts';
import { listProcesses } from '../proc/processes.ts';
import type { ErrorInfo } from '../protocol/messages.ts';
import {
  GROUP_MAX_CGROUPS,
  type CgroupSummary,
  type GroupScanInfo,
  type GroupSpecParams,
} from '../protocol/group.ts';
import { startWorker } from '../runtime/entry.ts';
import { cancelledError, fromInfo, timeoutError } from './heavy.ts';

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

/** Longest one group scan may take (a cgroup of thousands of processes). */
export const GROUP_SCAN_TIMEOUT_MS = 60_000;

/**
 * One scan of a checked group in its own thread (group-worker.ts), so the host's event loop
 * (every session's frames, Electron's IPC) never waits on page-table reads; the thread ends
 * with the scan, or is ended at the time limit.
 */
export function scanGroupOffThread(
  spec: GroupSpec,
  opts: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<GroupScanInfo> {
  const what = `Scanning the ${describeSpec(spec)}`;
  const timeoutMs = opts.timeoutMs ?? GROUP_SCAN_TIMEOUT_MS;
  const { signal } = opts;
  if (signal?.aborted) return Promise.reject(cancelledError(signal, what));
  const worker = startWorker('host/group-worker', { workerData: { spec } });
  worker.once('exit', () => reapHelpersSoon()); // from the sources, tsx leaves an esbuild child
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (err: Error | null, value?: GroupScanInfo): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      void worker.terminate();
      if (err) reject(err);
      else resolve(value!);
    };
    const timer = setTimeout(() => finish(timeoutError(what, timeoutMs)), timeoutMs);
    const onAbort = (): void => finish(cancelledError(signal!, what));
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.once('message', (a: { ok: boolean; result?: GroupScanInfo; error?: ErrorInfo }) =>
      a.ok ? finish(null, a.result) : finish(fromInfo(a.error!)),
    );
    worker.once('error', (err) =>
      finish(new PagescopeError(`${what} failed: ${err.message}.`, 'error')),
    );
    worker.once('exit', () =>
      finish(new PagescopeError(`${what} failed: its thread stopped.`, 'error')),
    );
  });
}

function describeSpec(spec: GroupSpec): string {
  return new GroupReader(spec).describe();
}

/** One scan of the group a UI names: checked here, scanned in its own thread. */
export function hostScanGroup(p: GroupSpecParams, signal?: AbortSignal): Promise<GroupScanInfo> {
  return scanGroupOffThread(hostGroupSpec(p), { signal });
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
