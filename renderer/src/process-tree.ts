/**
 * The process list as a tree: each process under its parent, children in pid order, so the
 * picker shows postgres's backends under the postmaster and a browser's helpers under it.
 *
 * Strategy: one pass builds the children lists; roots are the processes whose parent is not in
 * the list (init, kthreadd's children when kernel threads are hidden, processes of another pid
 * namespace, or a host that sends no ppid: then every process is a root and the list stays
 * flat, in pid order). Iterative, so a deep chain cannot overflow the stack; a parent loop
 * (impossible from /proc, but the list comes over the wire) is broken by a visited set. Pure.
 */
import type { ProcessSummary } from '../../core/protocol/messages.ts';

export interface TreeRow<P extends Pick<ProcessSummary, 'pid' | 'ppid'>> {
  process: P;
  /** 0 for a root, 1 for its children, and so on. */
  depth: number;
}

export function processTree<P extends Pick<ProcessSummary, 'pid' | 'ppid'>>(
  processes: readonly P[],
): TreeRow<P>[] {
  const byPid = new Map(processes.map((p) => [p.pid, p]));
  const children = new Map<number, P[]>();
  const roots: P[] = [];
  for (const p of processes) {
    const parent = p.ppid;
    if (parent === undefined || parent === p.pid || !byPid.has(parent)) {
      roots.push(p);
      continue;
    }
    const list = children.get(parent);
    if (list) list.push(p);
    else children.set(parent, [p]);
  }
  const byPidOrder = (a: P, b: P): number => a.pid - b.pid;
  roots.sort(byPidOrder);
  for (const list of children.values()) list.sort(byPidOrder);
  const out: TreeRow<P>[] = [];
  const seen = new Set<number>();
  const stack: TreeRow<P>[] = roots.map((p) => ({ process: p, depth: 0 })).reverse();
  const visit = (): void => {
    while (stack.length) {
      const row = stack.pop()!;
      if (seen.has(row.process.pid)) continue;
      seen.add(row.process.pid);
      out.push(row);
      const kids = children.get(row.process.pid) ?? [];
      for (let i = kids.length - 1; i >= 0; i--)
        stack.push({ process: kids[i], depth: row.depth + 1 });
    }
  };
  visit();
  // Processes on a parent loop are reached from no root: shown flat at the end.
  for (const p of [...processes].sort(byPidOrder))
    if (!seen.has(p.pid)) {
      stack.push({ process: p, depth: 0 });
      visit();
    }
  return out;
}
