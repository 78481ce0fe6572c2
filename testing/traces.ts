/**
 * THE check that a target holds no trace of pagescope: no userfaultfd descriptor, no `uw`
 * VmFlag (uffd-wp registration), no WPALLOWED page, no tracer on any thread. Every suite, the
 * e2e flows and the attach torture use tracesLeft(); the parts are exported for tests that
 * look at one of them. No test-runner imports (the stress script uses it too).
 */
import fs from 'node:fs';
import { Category } from '../core/kernel/pagemap-abi.ts';
import { readSmaps } from '../core/proc/smaps.ts';
import { Scanner } from '../core/scan/scanner.ts';
import { userfaultfdCount } from './proc-facts.ts';

export { userfaultfdCount };

/** TracerPid of `pid`'s thread `tid` (its main thread by default); -1 when it is gone. */
export function tracerPid(pid: number, tid = pid): number {
  try {
    const st = fs.readFileSync(`/proc/${pid}/task/${tid}/status`, 'latin1');
    return Number(/^TracerPid:\s+(\d+)/m.exec(st)?.[1] ?? -1);
  } catch {
    return -1;
  }
}

/** The threads of `pid` that have a tracer. */
export function tracedThreads(pid: number): number[] {
  let tids: number[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`).map(Number);
  } catch {
    return [];
  }
  return tids.filter((tid) => tracerPid(pid, tid) > 0);
}

export function uwVmas(pid: number): string[] {
  return readSmaps(pid)
    .filter((e) => e.vmFlags.includes('uw'))
    .map((e) => `${e.startHex}-${e.endHex}`);
}

export function wpAllowedPages(pid: number): number {
  const s = new Scanner(pid);
  try {
    const r = s.scan([], { categoryMask: Category.WPALLOWED, returnMask: Category.WPALLOWED });
    return r.regions.pagesWith(Category.WPALLOWED);
  } finally {
    s.close();
  }
}

/**
 * Every trace of pagescope `pid` holds; [] when clean. `ownUserfaultfds`: descriptors the target
 * holds itself (a test target that uses userfaultfd on its own).
 */
export function tracesLeft(pid: number, ownUserfaultfds = 0): string[] {
  const out: string[] = [];
  const u = userfaultfdCount(pid);
  if (u !== ownUserfaultfds) out.push(`${u} userfaultfd descriptors (expected ${ownUserfaultfds})`);
  const uw = uwVmas(pid);
  if (uw.length) out.push(`uw VmFlag on ${uw.join(', ')}`);
  const wp = wpAllowedPages(pid);
  if (wp) out.push(`${wp} WPALLOWED pages`);
  for (const tid of tracedThreads(pid))
    out.push(`thread ${tid} has TracerPid ${tracerPid(pid, tid)}`);
  return out;
}

/** Our own descriptors that concern the target: userfaultfds and its /proc files. */
export function ownFdsFor(pid: number): string[] {
  const out: string[] = [];
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      const link = fs.readlinkSync(`/proc/self/fd/${fd}`);
      if (link.includes('userfaultfd') || link.includes(`/proc/${pid}/`)) out.push(link);
    } catch {
      // the readdir's own descriptor
    }
  }
  return out;
}
