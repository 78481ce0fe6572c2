/**
 * Collects the exit status of helper processes that nobody else will: the esbuild service that
 * tsx's loader starts in each session worker thread (worker-bootstrap.mjs). When a worker ends,
 * its loader thread's event loop closes without waiting for that child; the child then exits
 * (its stdin closed) and would stay a zombie `[esbuild]` under the host (pagescope serve,
 * Electron main) for as long as the host runs. libuv only waits for children it still knows, so
 * we wait for these ones ourselves: by pid, only for zombies with a helper's name, never with
 * waitpid(-1), which could steal the exit status of a child some live event loop still expects.
 */
import fs from 'node:fs';
import koffi from 'koffi';

const lib = koffi.load('libc.so.6');
const waitpid = lib.func('int waitpid(int pid, _Out_ int *status, int options)');
const WNOHANG = 1;

/** Names (comm) of helpers whose zombies we collect. */
export const HELPER_NAMES: readonly string[] = ['esbuild'];

/** Zombie children of this process whose name is in `names`. */
export function helperZombies(names: readonly string[] = HELPER_NAMES): number[] {
  const out: number[] = [];
  let tasks: string[];
  try {
    tasks = fs.readdirSync('/proc/self/task');
  } catch {
    return out;
  }
  for (const tid of tasks) {
    let children: string;
    try {
      children = fs.readFileSync(`/proc/self/task/${tid}/children`, 'latin1');
    } catch {
      continue; // the thread ended meanwhile
    }
    for (const c of children.split(' ')) {
      if (!c.trim()) continue;
      try {
        const stat = fs.readFileSync(`/proc/${c}/stat`, 'latin1');
        const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const state = stat.charAt(stat.lastIndexOf(')') + 2);
        if (state === 'Z' && names.includes(name)) out.push(Number(c));
      } catch {
        // reaped meanwhile
      }
    }
  }
  return out;
}

/** Waits for (reaps) every helper zombie; returns how many were collected. */
export function reapHelperZombies(names: readonly string[] = HELPER_NAMES): number {
  let n = 0;
  for (const pid of helperZombies(names)) if (waitpid(pid, [0], WNOHANG) === pid) n++;
  return n;
}

/**
 * After a worker thread ended: its helper exits a moment later (it sees its stdin close), so look
 * for it for a few seconds, then stop. Timers are unref'd: this never keeps a process alive.
 */
export function reapHelpersSoon(budgetMs = 5000, everyMs = 100): void {
  const until = Date.now() + budgetMs;
  const poll = (): void => {
    if (reapHelperZombies() > 0 || Date.now() >= until) return;
    setTimeout(poll, everyMs).unref();
  };
  setTimeout(poll, 0).unref();
}
