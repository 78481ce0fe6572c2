/**
 * The host's group thread (entry 'host/group-worker', bundled to dist/host/group-worker.mjs): one
 * scan of one group (group-scan.ts), or one write watch over it (core/watch/group-watch.ts), off
 * the host's event loop. A group of a hundred processes takes seconds of page-table reads, and a
 * watch attaches every member and collects their writes each tick; on the event loop that would
 * freeze every session's frames and, in Electron, the window's IPC.
 *
 * workerData: `{ spec, mode?: 'scan' }` (the checked GroupSpec, checked on the host's thread):
 * it posts one message, `{ ok: true, result: GroupScanInfo }` or `{ ok: false, error: ErrorInfo }`,
 * then exits.
 * `{ spec, mode: 'watch', watchId, intervalMs }`: it posts `{ type: 'started', start }` (or
 * `{ type: 'failed', error }` and exits), then `{ type: 'tick', tick }` each tick, until the host
 * posts `{ type: 'stop' }` (answered `{ type: 'closed' }`) or the watch ends by itself (every
 * member exited, a failure: `{ type: 'ended', reason }`). Either way GroupWatch.close() runs here,
 * on the thread that attached (the ptrace rule, watcher.ts), before the answer is posted: every
 * member is released as it was, then the thread exits.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PAGE_SIZE } from '../kernel/pagemap-abi.ts';
import type { GroupSpec } from '../proc/group.ts';
import { GroupReader } from '../proc/group.ts';
import { scanGroup } from '../proc/group-scan.ts';
import type { Vma } from '../proc/maps.ts';
import { GROUP_MAX_MEMBERS, type GroupWatchStart } from '../protocol/group.ts';
import { errorInfo } from '../session/errors.ts';
import { GroupWatch, type GroupTick } from '../watch/group-watch.ts';
import { groupScanInfo, GroupWatchTally } from './group-info.ts';

export type GroupWorkerData =
  | { spec: GroupSpec; mode?: 'scan' }
  | { spec: GroupSpec; mode: 'watch'; watchId: number; intervalMs: number };

/** What a watch thread posts (mode 'watch'). */
export type GroupWatchMessage =
  | { type: 'started'; start: GroupWatchStart }
  | { type: 'failed'; error: ReturnType<typeof errorInfo> }
  | { type: 'tick'; tick: ReturnType<GroupWatchTally['add']> }
  | { type: 'ended'; reason: string }
  | { type: 'closed' };

/**
 * What a member's watch covers: every writable mapping, as `pagescope watch --tree` does by
 * default (core/cli/vma-choice.ts isWritableMapping: the kernel's vvar/vdso pages are not memory
 * the program writes).
 */
const WATCHING = 'the writable mappings';
const writable = (vmas: Vma[]) =>
  vmas
    .filter(
      (v) => v.perms[1] === 'w' && v.kind !== 'vvar' && v.kind !== 'vdso' && v.kind !== 'vsyscall',
    )
    .map((v) => ({ startPage: v.startPage, endPage: v.endPage }));

function watch(spec: GroupSpec, watchId: number, intervalMs: number): void {
  const port = parentPort!;
  const post = (m: GroupWatchMessage): void => port.postMessage(m);
  const gw = new GroupWatch({ spec, select: writable, intervalMs });
  let done = false;
  // Closes every member's watch, then says so; the thread then has nothing left to run.
  const finish = (last: GroupWatchMessage): void => {
    if (done) return;
    done = true;
    try {
      gw.close();
    } finally {
      post(last);
      port.close();
    }
  };
  port.on('message', (m: { type?: string }) => {
    if (m?.type === 'stop') finish({ type: 'closed' });
  });
  let failed: GroupTick['failed'];
  try {
    failed = gw.start().failed;
  } catch (err) {
    finish({ type: 'failed', error: errorInfo(err) });
    return;
  }
  const describe = gw.describe();
  post({
    type: 'started',
    start: {
      watchId,
      describe,
      watching: WATCHING,
      intervalMs,
      pageSize: PAGE_SIZE,
      members: gw
        .members()
        .slice(0, GROUP_MAX_MEMBERS)
        .map((m) => ({
          pid: m.member.pid,
          ppid: m.member.ppid,
          name: m.member.name,
          watchedPages: m.watchedPages,
        })),
      failed: failed.slice(0, GROUP_MAX_MEMBERS),
    },
  });
  const tally = new GroupWatchTally();
  const t0 = gw.elapsedMs();
  gw.run(() => {
    if (done) return;
    let k: GroupTick;
    try {
      k = gw.tick();
    } catch (err) {
      finish({ type: 'ended', reason: errorInfo(err).message });
      return;
    }
    post({ type: 'tick', tick: tally.add(k, gw.elapsedMs() - t0) });
    if (gw.empty && spec.kind !== 'cgroup')
      finish({ type: 'ended', reason: `Every member of the ${describe} has exited.` });
  });
}

const data = workerData as GroupWorkerData;
if (data.mode === 'watch') watch(data.spec, data.watchId, data.intervalMs);
else
  try {
    parentPort!.postMessage({
      ok: true,
      result: groupScanInfo(scanGroup(new GroupReader(data.spec))),
    });
  } catch (err) {
    parentPort!.postMessage({ ok: false, error: errorInfo(err) });
  }
