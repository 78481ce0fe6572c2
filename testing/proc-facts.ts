/**
 * Facts about a test's processes read from /proc: whether one is alive, what it holds of
 * pagescope. Shared by the vitest suites, the e2e helpers and the stress script (no test-runner
 * imports here).
 */
import fs from 'node:fs';

/** True while `pid` runs: a zombie (exited, not yet collected) or a gone pid is not alive. */
export function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return !'ZX'.includes(stat.charAt(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

/**
 * A process named by its pid and its start time (/proc/PID/stat field 22, clock ticks after
 * boot). pid_max is 32,768 on these machines and a busy suite goes round it in minutes, so a pid
 * kept for a cleanup may name another process by then: a CI run lost a vitest worker to a
 * cleanup's SIGKILL of a pid that had been a demo's. Null when no such process runs.
 */
export interface ProcRef {
  pid: number;
  start: string;
}

function startTime(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

export function procRef(pid: number): ProcRef | null {
  const start = startTime(pid);
  return start === null ? null : { pid, start };
}

/** Whether `ref` still names the same running process (not a zombie, not a later one). */
export function sameProcess(ref: ProcRef | null): boolean {
  return ref !== null && startTime(ref.pid) === ref.start && alive(ref.pid);
}

/** Sends `signal` to the process `ref` names if it is still that process; true if sent. */
export function signalIfSame(ref: ProcRef | null, signal: NodeJS.Signals = 'SIGKILL'): boolean {
  if (!ref || !sameProcess(ref)) return false;
  try {
    process.kill(ref.pid, signal);
    return true;
  } catch {
    return false; // gone meanwhile
  }
}

/** How many userfaultfd descriptors `pid` holds. */
export function userfaultfdCount(pid: number): number {
  let n = 0;
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`).includes('userfaultfd')) n++;
    } catch {
      // closed meanwhile
    }
  }
  return n;
}
