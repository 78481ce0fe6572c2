/**
 * What a target could hold of pagescope, read from /proc; shared by the vitest suites and the
 * stress script (no test-runner imports here).
 */
import fs from 'node:fs';

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
