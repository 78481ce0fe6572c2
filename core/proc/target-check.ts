/**
 * Refusals that need nothing but /proc: the pid names no process, a zombie, a kernel thread, or
 * (for a watch, which needs ptrace) a thread of pagescope's own process (the CLI, the web host's server or Electron main, whose
 * worker threads have their own ids). Each is one sentence that says why and what to do; the CLI
 * (`scan`, `watch --pid`) and the host service (`attach`) ask before they touch the process, so
 * a user never reads "does not exist" for a process that `ps` shows, or a permission message for
 * something no privilege would allow.
 */
import fs from 'node:fs';
import { PagescopeError } from '../kernel/errors.ts';
import { readStatFile } from './stat.ts';

const PF_KTHREAD = 0x00200000;

interface Facts {
  name: string;
  state: string;
  flags: number;
  tgid: number;
}

function facts(pid: number): Facts | null {
  try {
    const { comm: name, fields: rest } = readStatFile(`/proc/${pid}/stat`);
    let tgid = pid;
    try {
      const status = fs.readFileSync(`/proc/${pid}/status`, 'latin1');
      tgid = Number(/^Tgid:\s+(\d+)/m.exec(status)?.[1] ?? pid);
    } catch {
      // gone between the two reads: the stat we have still decides
    }
    return { name, state: rest[0], flags: Number(rest[6]), tgid };
  } catch {
    return null;
  }
}

/**
 * Why `pid` cannot be scanned or watched, as an error to throw, or null when /proc sees nothing
 * against it (permissions and ptrace policy are decided later, by the kernel).
 */
export function targetRefusal(
  pid: number,
  options: { watch?: boolean; self?: number } = {},
): PagescopeError | null {
  const self = options.self ?? process.pid;
  const f = facts(pid);
  if (!f)
    return new PagescopeError(
      `No process with pid ${pid} exists (it may have exited); "pagescope ps" lists processes.`,
      'no-process',
    );
  if (f.state === 'Z' || f.state === 'X')
    return new PagescopeError(
      `Process ${pid} (${f.name}) is a zombie: it has exited and has no memory left to look at ` +
        `(its parent has not collected its exit status yet).`,
      'zombie',
    );
  if ((f.flags & PF_KTHREAD) !== 0)
    return new PagescopeError(
      `Process ${pid} (${f.name}) is a kernel thread: it has no user memory to scan or watch.`,
      'kernel-thread',
    );
  // Reading our own page tables is fine (scan); tracing our own thread group is not (watch).
  if (options.watch && f.tgid === self)
    return new PagescopeError(
      pid === self
        ? `Process ${pid} is pagescope itself, which cannot watch its own memory; pick another process.`
        : `Pid ${pid} is a thread of pagescope itself (process ${self}), which cannot watch its own memory; pick another process.`,
      'self',
    );
  return null;
}

/** Throws targetRefusal(pid) when there is one. */
export function checkTarget(pid: number, options: { watch?: boolean } = {}): void {
  const refusal = targetRefusal(pid, options);
  if (refusal) throw refusal;
}
