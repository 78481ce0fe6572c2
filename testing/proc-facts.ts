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
