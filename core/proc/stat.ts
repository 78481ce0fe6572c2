/**
 * /proc/PID/stat and /proc/PID/task/TID/stat (proc(5)): one line, `pid (comm) state ppid ...`.
 * comm, the task's name (at most 15 bytes), may hold spaces and parentheses (prctl(PR_SET_NAME),
 * /proc/self/comm): it ends at the LAST ')', and the fields after it are split on single spaces.
 * The parser of these files that pagescope's code and its benches use, not the only one: the
 * watcher's run-state probe (watcher.ts) reads the state letter from a descriptor it keeps open,
 * kernel/reap.ts and many tests split a line by hand (the same way: after the last ')').
 */
import { readProcText } from './read-proc.ts';

/** A stat line split: the command name, and the fields after it (`fields[i]` is field i + 3). */
export interface StatFields {
  comm: string;
  fields: string[];
}

/** Splits a stat line (see the top). */
export function parseStat(stat: string): StatFields {
  const close = stat.lastIndexOf(')');
  return {
    comm: stat.slice(stat.indexOf('(') + 1, close),
    fields: stat.slice(close + 2).split(' '),
  };
}

/** Field `n` of a split stat line, numbered as in proc(5) (3 = state, 14 = utime); '' past the end. */
export function statField(stat: StatFields, n: number): string {
  return stat.fields[n - 3] ?? '';
}

/** Field `n` (numbered as in proc(5)) as a number: NaN when missing or not a number. */
export function statNumber(stat: StatFields, n: number): number {
  return Number(stat.fields[n - 3]);
}

/** The stat file at `path`, split; throws the fs error (ENOENT, ESRCH) when it cannot be read. */
export function readStatFile(path: string): StatFields {
  return parseStat(readProcText(path));
}

/** /proc/PID/stat, split; null when the process is gone or unreadable. */
export function readStat(pid: number | 'self'): StatFields | null {
  try {
    return readStatFile(`/proc/${pid}/stat`);
  } catch {
    return null;
  }
}
