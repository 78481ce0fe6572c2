/**
 * The injector: runs a few system calls inside another process, then leaves it exactly as it was.
 *
 * Strategy (KERNEL-NOTES "Another process's memory"): PTRACE_SEIZE + PTRACE_INTERRUPT one thread,
 * find an existing `syscall` instruction (0f 05) in an executable mapping by reading
 * /proc/PID/mem (the target's code is never written: its other threads keep running through
 * it), save the registers, point rip at the instruction with rax = number and orig_rax = -1
 * (so the kernel does no syscall-restart fix-up on our injected call), single-step, read rax,
 * and finally restore the saved registers byte for byte. A thread that was interrupted inside a
 * blocking call (nanosleep, read, futex) has -ERESTART* in rax and the call's number in
 * orig_rax; restoring them makes the kernel restart that call on the way out, as if we had
 * never been there.
 *
 * Every path out of `withStoppedThread` detaches: the target is never left stopped or traced.
 * Signals that arrive while we hold the thread are re-sent to it after the detach.
 */
import fs from 'node:fs';
import { KernelError, PagescopeError } from '../kernel/errors.ts';
import {
  cont,
  decodeStatus,
  detach,
  getRegs,
  interrupt,
  PTRACE_EVENT_EXEC,
  PTRACE_EVENT_STOP,
  Reg,
  Regs,
  seize,
  setRegs,
  SIGTRAP,
  singlestep,
  nap,
  stopFromSiginfo,
  tgkill,
  threadState,
  waitFor,
  WNOHANG,
  type WaitStatus,
} from '../kernel/ptrace.ts';
import { readMaps, type Vma } from '../proc/maps.ts';

export interface TargetStatus {
  state: string;
  tracerPid: number;
  seccomp: number;
  name: string;
}

export function readTargetStatus(pid: number): TargetStatus | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/status`, 'latin1');
  } catch {
    return null;
  }
  const field = (k: string): string => new RegExp(`^${k}:\\s*(.*)$`, 'm').exec(text)?.[1] ?? '';
  return {
    state: field('State').charAt(0),
    tracerPid: Number(field('TracerPid') || 0),
    seccomp: Number(field('Seccomp') || 0),
    name: field('Name'),
  };
}

function isKernelThread(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    const flags = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[6]);
    return (flags & 0x00200000) !== 0; // PF_KTHREAD
  } catch {
    return false;
  }
}

function processName(pid: number): string {
  return readTargetStatus(pid)?.name ?? '?';
}

/** Refusals that need no ptrace call: gone, zombie, already traced, seccomp (unless forced). */
export function preflight(pid: number, options: { force?: boolean } = {}): TargetStatus {
  const st = readTargetStatus(pid);
  if (!st || st.state === 'Z' || st.state === 'X')
    throw new PagescopeError(`Process ${pid} does not exist (it may have exited).`, 'no-process');
  if (pid === process.pid)
    throw new PagescopeError(
      `Process ${pid} is pagescope itself, which cannot trace its own process; watch another one.`,
      'self',
    );
  if (isKernelThread(pid))
    throw new PagescopeError(
      `Process ${pid} (${st.name}) is a kernel thread: it has no user memory to watch.`,
      'kernel-thread',
    );
  if (st.tracerPid !== 0 && st.tracerPid !== process.pid) throw alreadyTraced(pid, st.tracerPid);
  if (st.seccomp === 2 && !options.force)
    throw new PagescopeError(
      `Process ${pid} (${st.name}) runs under a seccomp filter, which could kill it when pagescope ` +
        `injects the userfaultfd system call; pass --force to attach anyway.`,
      'seccomp',
    );
  return st;
}

function alreadyTraced(pid: number, tracer: number): PagescopeError {
  return new PagescopeError(
    `Process ${pid} is already being traced by process ${tracer} (${processName(tracer)}, e.g. gdb ` +
      `or strace) and a process can have only one tracer; detach that tracer first.`,
    'already-traced',
  );
}

function seizeError(pid: number, errno: number): Error {
  const err = new KernelError('PTRACE_SEIZE', errno, { pid });
  if (err.errnoName === 'ESRCH')
    return new PagescopeError(`Process ${pid} does not exist (it may have exited).`, 'no-process');
  if (err.errnoName === 'EPERM' || err.errnoName === 'EACCES') {
    const st = readTargetStatus(pid);
    if (st && st.tracerPid !== 0) return alreadyTraced(pid, st.tracerPid);
    let scope: string | null = null;
    try {
      scope = fs.readFileSync('/proc/sys/kernel/yama/ptrace_scope', 'utf8').trim();
    } catch {
      // no Yama in this kernel
    }
    const policy =
      scope && scope !== '0'
        ? `the ptrace policy (kernel.yama.ptrace_scope = ${scope}) allows tracing only descendants`
        : `pagescope lacks the privilege to trace it (another user's process, or a setuid/non-dumpable one)`;
    return new PagescopeError(
      `Permission denied to attach to process ${pid}: ${policy}; launch the target from pagescope ` +
        `("pagescope watch -- COMMAND") or run pagescope as root or with CAP_SYS_PTRACE.`,
      'permission',
    );
  }
  return err;
}

/** The address of a `syscall` instruction (0f 05) in an executable mapping, found by reading. */
export function findSyscallInstruction(pid: number, vmas: Vma[] = readMaps(pid)): bigint {
  const candidates = [
    ...vmas.filter((v) => v.kind === 'vdso'),
    ...vmas.filter((v) => v.perms[2] === 'x' && v.kind !== 'vdso' && v.kind !== 'vsyscall'),
  ];
  let fd: number;
  try {
    fd = fs.openSync(`/proc/${pid}/mem`, 'r');
  } catch (err) {
    throw new KernelError(
      'open /proc/PID/mem',
      (err as NodeJS.ErrnoException).errno ? -((err as NodeJS.ErrnoException).errno as number) : 13,
      { pid },
    );
  }
  try {
    for (const v of candidates) {
      const len = Math.min((v.endPage - v.startPage) * 4096, 16 << 20);
      const buf = Buffer.alloc(len);
      let n = 0;
      try {
        n = fs.readSync(fd, buf, 0, len, BigInt(v.startPage) << 12n);
      } catch {
        continue;
      }
      for (let i = 0; i + 1 < n; i++) {
        if (buf[i] === 0x0f && buf[i + 1] === 0x05) return (BigInt(v.startPage) << 12n) + BigInt(i);
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  throw new PagescopeError(
    `No syscall instruction was found in the executable mappings of process ${pid}.`,
    'no-syscall-insn',
  );
}

/** A stopped thread we may run system calls in. */
export interface StoppedThread {
  tid: number;
  /** Address of the `syscall` instruction the calls go through. */
  insn: bigint;
  /** Runs `syscall(nr, ...args)` in the thread; returns rax (negative errno on failure). */
  call(nr: number, ...args: Array<number | bigint>): bigint;
}

const ARG_REGS = [Reg.rdi, Reg.rsi, Reg.rdx, Reg.r10, Reg.r8, Reg.r9];

function describeEnd(pid: number, w: WaitStatus): PagescopeError {
  return new PagescopeError(
    w.exited
      ? `Process ${pid} exited (code ${w.exitCode}) while pagescope was attaching.`
      : `Process ${pid} was killed by signal ${w.termSignal} while pagescope was attaching.`,
    'exited',
  );
}

/**
 * Seizes `tid` (or uses a thread the caller already seized and stopped, `alreadyStopped`), stops
 * it, hands it to `body`, then restores its registers and detaches on every path.
 */
export function withStoppedThread<T>(
  pid: number,
  tid: number,
  body: (thread: StoppedThread) => T,
  options: { alreadyStopped?: boolean; syscallAddress?: bigint; settle?: boolean } = {},
): T {
  const resend: number[] = [];
  let attached = options.alreadyStopped ?? false;
  let stopped = options.alreadyStopped ?? false;
  const saved = new Regs();
  const work = new Regs();
  let regsSaved = false;
  let regsDirty = false;

  /**
   * Waits for the next stop of the thread; signals that arrive meanwhile are kept for later.
   * Polls (WNOHANG) rather than blocking: when the target is also a child of our process, the
   * event loop of another thread (libuv's SIGCHLD handler) may collect the notification first.
   * The stop is then read from /proc and PTRACE_GETSIGINFO instead.
   */
  const nextStop = (): WaitStatus => {
    let tracedSince = 0;
    for (let spin = 0; ; spin++) {
      const w = waitFor(tid, WNOHANG);
      if (w) return w;
      const state = threadState(pid, tid);
      if (state === null || state === 'Z' || state === 'X') return decodeStatus(tid, 0); // gone; its exit status went to its parent
      if (state === 't') {
        // /proc shows the stop slightly before the notification is posted: only when it has
        // been stopped for a while with no notification did somebody else collect it.
        const now = performance.now();
        if (!tracedSince) tracedSince = now;
        else if (now - tracedSince > 5) {
          const again = waitFor(tid, WNOHANG);
          if (again) return again;
          const s = stopFromSiginfo(tid);
          if (s) return s;
        }
      } else tracedSince = 0;
      if (spin > 20000)
        throw new PagescopeError(`Process ${pid} did not stop for pagescope.`, 'no-stop');
      nap(spin < 10 ? 0 : 1);
    }
  };

  const waitStop = (want: (w: WaitStatus) => boolean, resume: () => void): void => {
    for (let guard = 0; guard < 1000; guard++) {
      const w = nextStop();
      if (w.exited || w.signaled) {
        attached = false;
        stopped = false;
        throw describeEnd(pid, w);
      }
      stopped = true;
      if (want(w)) return;
      // A signal-delivery-stop of someone else's signal: suppress it now, send it back after
      // the detach so the target still receives it. Group-stop notifications: keep going.
      if (w.event === 0 && w.stopSignal !== SIGTRAP) resend.push(w.stopSignal);
      stopped = false;
      resume();
    }
    throw new PagescopeError(`Process ${pid} did not stop for pagescope.`, 'no-stop');
  };

  /** Runs one instruction; another signal stopping the thread before it runs: step again. */
  const step = (): void => {
    stopped = false;
    singlestep(tid);
    waitStop(
      (w) => w.event === 0 && w.stopSignal === SIGTRAP,
      () => singlestep(tid),
    );
  };

  try {
    if (!attached) {
      const e = seize(tid);
      if (e !== 0) throw seizeError(pid, e);
      attached = true;
      interrupt(tid);
      waitStop(
        (w) => w.event === PTRACE_EVENT_STOP || w.event === PTRACE_EVENT_EXEC,
        () => cont(tid, 0),
      );
    }
    if (options.settle) {
      // At the exec event stop the kernel is still inside execve and will write its return
      // value into rax on the way out: take one step out first (the kernel reports it before
      // the program's first instruction runs) so the saved registers are the program's own.
      step();
    }
    getRegs(tid, saved);
    regsSaved = true;
    const insn = options.syscallAddress ?? findSyscallInstruction(pid);
    const thread: StoppedThread = {
      tid,
      insn,
      call(nr, ...args) {
        for (let attempt = 0; attempt < 3; attempt++) {
          work.copyFrom(saved);
          work.set(Reg.rip, insn);
          work.set(Reg.rax, BigInt(nr));
          work.set(Reg.origRax, -1n);
          ARG_REGS.forEach((r, i) => work.set(r, BigInt(args[i] ?? 0)));
          regsDirty = true;
          setRegs(tid, work);
          step();
          getRegs(tid, work);
          if (work.get(Reg.rip) === insn + 2n) return work.get(Reg.rax);
          // Resumed from a stop in a syscall-exit path, the kernel may report the step before
          // running the instruction (and after writing that syscall's return into rax): redo.
          if (work.get(Reg.rip) !== insn) break;
        }
        throw new PagescopeError(
          `The injected system call in process ${pid} did not complete as expected.`,
          'inject-failed',
        );
      },
    };
    return body(thread);
  } finally {
    if (attached) {
      try {
        if (!stopped) {
          // Only on unexpected errors: bring the thread back to a stop so it can be restored.
          try {
            interrupt(tid);
            waitStop(
              () => true,
              () => cont(tid, 0),
            );
          } catch {
            // gone
          }
        }
        if (regsSaved && regsDirty && stopped) setRegs(tid, saved);
      } catch {
        // The thread is gone; nothing left to restore.
      } finally {
        detach(tid, 0);
        for (const sig of resend) tgkill(pid, tid, sig);
      }
    }
  }
}
