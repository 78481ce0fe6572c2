/**
 * The process list: one readdir of /proc and a few small reads per pid. Processes that exit while
 * being read are skipped, never reported as errors.
 */
import fs from 'node:fs';
import { readStat, readStatFile } from './stat.ts';

export interface ProcessInfo {
  pid: number;
  /** The parent's pid (0 for init and kthreadd). */
  ppid: number;
  /** The kernel's command name (comm, at most 15 characters). */
  name: string;
  /** The full command line, arguments joined by spaces ('' for kernel threads). */
  cmdline: string;
  uid: number;
  user: string;
  /** Resident set size in KiB. */
  rssKiB: number;
  /** One-letter state from /proc/PID/stat (R, S, D, T, Z...). */
  state: string;
  /** Kernel threads have no user memory to show. */
  kernelThread: boolean;
}

let userNames: Map<number, string> | null = null;

function userName(uid: number): string {
  if (!userNames) {
    userNames = new Map();
    try {
      for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
        const f = line.split(':');
        if (f.length > 2) userNames.set(Number(f[2]), f[0]);
      }
    } catch {
      // No passwd file (a minimal container): numeric uids are shown.
    }
  }
  return userNames.get(uid) ?? String(uid);
}

/** The kernel's flag for a kernel thread (include/linux/sched.h), in /proc/PID/stat's field 9. */
export const PF_KTHREAD = 0x00200000;
/** Set on a task from the start of do_exit: its memory may already be gone (include/linux/sched.h). */
export const PF_EXITING = 0x00000004;

/** Reads one process, or returns null when it is gone or unreadable. */
export function readProcess(pid: number): ProcessInfo | null {
  try {
    const stat = readStat(pid);
    if (!stat) return null;
    const { comm: name, fields: rest } = stat;
    const state = rest[0];
    const flags = Number(rest[6]);
    const status = fs.readFileSync(`/proc/${pid}/status`, 'latin1');
    const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? -1);
    const rssKiB = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
    let cmdline = '';
    try {
      cmdline = fs
        .readFileSync(`/proc/${pid}/cmdline`, 'utf8')
        .replace(/\0+$/, '')
        .split('\0')
        .join(' ');
    } catch {
      // cmdline may be unreadable for a zombie; the name still identifies it.
    }
    return {
      pid,
      ppid: Number(rest[1]),
      name,
      cmdline,
      uid,
      user: userName(uid),
      rssKiB,
      state,
      kernelThread: (flags & PF_KTHREAD) !== 0,
    };
  } catch {
    return null; // exited between readdir and read, or hidden from us
  }
}

export function listProcesses(options: { includeKernelThreads?: boolean } = {}): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const p = readProcess(Number(entry));
    if (p && (options.includeKernelThreads || !p.kernelThread)) out.push(p);
  }
  return out.sort((a, b) => a.pid - b.pid);
}

/**
 * Whether a pid names a live process (zombies and threads in the middle of exiting count as
 * exited: a killed process has lost its memory map before it shows as a zombie). A zombie main
 * thread whose other threads run on (it called pthread_exit, or a thread executing a program
 * waits for it to die) is alive: any thread of it not exiting says so.
 */
export function processAlive(pid: number): boolean {
  try {
    for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
      const { fields } = readStatFile(`/proc/${pid}/task/${t}/stat`);
      const state = fields[0];
      const flags = Number(fields[6]); // field 9
      if (state !== 'Z' && state !== 'X' && state !== '' && (flags & PF_EXITING) === 0) return true;
    }
  } catch {
    // gone meanwhile
  }
  return false;
}

/**
 * Whether `pid` holds a userfaultfd descriptor (/proc/PID/fd, anon_inode:[userfaultfd]): the
 * target's own, since the one pagescope injects is closed in the target as soon as it is copied
 * out. Stops at the first. When the table cannot be read it answers true: the caller then treats
 * a busy range as the process's own, the choice that cannot take a range from it.
 */
export function holdsUserfaultfd(pid: number): boolean {
  let fds: string[];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    return true;
  }
  for (const fd of fds) {
    try {
      if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === 'anon_inode:[userfaultfd]') return true;
    } catch {
      // closed meanwhile
    }
  }
  return false;
}
