/**
 * The injector: runs a few system calls inside another process, then leaves it exactly as it was.
 *
 * Strategy: syscall stops, never single-step (docs/DESIGN.md: the tracer's death is not a clean
 * detach). PTRACE_SEIZE (with TRACESYSGOOD) + PTRACE_INTERRUPT one thread; at that stop save its
 * registers; for each call set rip to a `syscall` instruction found beforehand (syscall-site.ts),
 * rax = number, orig_rax = -1 (no restart fix-up of our call), the arguments; PTRACE_SYSCALL to
 * the entry stop and again to the exit stop; read rax. To finish, the saved registers go back
 * byte for byte at the exit stop of the last call and we detach: a detach wakes a stopped tracee
 * through the signal path (see restore()), so the kernel does what it would have done had we
 * never come: restarts an interrupted blocking call (nanosleep, read, futex) with the time that
 * was left, or returns EINTR to it if a signal with a handler is pending.
 *
 * What the kernel clears when the tracer dies (unlink): syscall-stop tracing and a pending
 * interrupt. What it cannot undo: registers we changed. So the only harmful moment is from the
 * first SETREGS of an injected call to the restoring one — the window. Nothing slow happens in
 * it: files are opened and the instruction found before the stop, its code paths are rehearsed
 * before the stop (rehearse), stops are waited for by blocking, and for the window only the
 * thread runs SCHED_FIFO (when we may), so each of its few stops costs microseconds on a loaded
 * machine instead of a time slice; its policy is put back before its registers are. The window
 * is measured (stop to release) for the benchmark. In attach mode the
 * whole sequence runs in its own short-lived process (attach-helper.ts) that pagescope's death
 * does not take with it.
 *
 * Signals that stop the thread while we hold it are not lost: one that arrives before the first
 * stop is delivered at once; one that arrives while our registers are in place is held back and
 * queued again to the thread (tgkill) after the registers are restored, before the detach.
 */
import fs from 'node:fs';
import { KernelError, PagescopeError } from '../kernel/errors.ts';
import { privilegeAdvice } from '../kernel/privilege.ts';
import { checkTarget } from '../proc/target-check.ts';
import {
  boostToRealtime,
  cont,
  detach,
  getRegs,
  interrupt,
  nap,
  PTRACE_EVENT_STOP,
  PTRACE_O_TRACEEXEC,
  PTRACE_O_TRACESYSGOOD,
  Reg,
  Regs,
  restorePolicy,
  resumeToSyscall,
  seize,
  setOptions,
  setRegs,
  SYSCALL_STOP,
  syscallStopKind,
  tgkill,
  waitFor,
  WNOHANG,
  type SchedPolicy,
  type WaitStatus,
} from '../kernel/ptrace.ts';

export interface TargetStatus {
  state: string;
  tracerPid: number;
  seccomp: number;
  name: string;
}

/** /proc/PID/status, or that of thread `tid` of `pid` (seccomp is per thread). */
export function readTargetStatus(pid: number, tid?: number): TargetStatus | null {
  let text: string;
  try {
    text = fs.readFileSync(
      tid === undefined ? `/proc/${pid}/status` : `/proc/${pid}/task/${tid}/status`,
      'latin1',
    );
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

function processName(pid: number): string {
  return readTargetStatus(pid)?.name ?? '?';
}

/** SECCOMP_MODE_STRICT and SECCOMP_MODE_FILTER, as /proc/PID/status shows them (`Seccomp:`). */
const SECCOMP_STRICT = 1;
const SECCOMP_FILTER = 2;

/**
 * Why an injected system call could be fatal to a thread, or null. Seccomp is per thread, so
 * `st` is the status of the thread that would run the call. Strict mode (only read, write, exit
 * and sigreturn allowed, anything else is SIGKILL) is refused always: no call pagescope needs
 * survives it. A filter may kill or may allow: refused unless forced.
 */
export function seccompRefusal(
  pid: number,
  st: TargetStatus,
  options: { force?: boolean } = {},
): PagescopeError | null {
  if (st.seccomp === SECCOMP_STRICT)
    return new PagescopeError(
      `Process ${pid} (${st.name}) runs in seccomp strict mode, where any system call but read, ` +
        `write and exit kills it, so pagescope never injects one into it (not even with --force); ` +
        `"pagescope scan" still shows its pages.`,
      'seccomp',
    );
  if (st.seccomp === SECCOMP_FILTER && !options.force)
    return new PagescopeError(
      `Process ${pid} (${st.name}) runs under a seccomp filter, which could kill it when pagescope ` +
        `injects the userfaultfd system call; pass --force to attach anyway.`,
      'seccomp',
    );
  return null;
}

/**
 * Refusals that need no ptrace call: gone, zombie, already traced, seccomp strict mode, a
 * seccomp filter (unless forced). withHeldThread checks strict mode again at the stop, for the
 * thread it holds: the last moment a check can be made, and the right thread.
 */
export function preflight(pid: number, options: { force?: boolean } = {}): TargetStatus {
  checkTarget(pid, { watch: true }); // gone, zombie, kernel thread, ourselves
  const st = readTargetStatus(pid);
  if (!st)
    throw new PagescopeError(`Process ${pid} does not exist (it may have exited).`, 'no-process');
  if (st.tracerPid !== 0 && !ourThread(st.tracerPid)) throw alreadyTraced(pid, st.tracerPid);
  const seccomp = seccompRefusal(pid, st, options);
  if (seccomp) throw seccomp;
  return st;
}

/**
 * Whether `tid` is a thread of this process: then the tracer is us (launch mode seizes the child
 * from the thread that spawned it, which in a session is a worker thread, not the main one).
 */
function ourThread(tid: number): boolean {
  return tid === process.pid || fs.existsSync(`/proc/self/task/${tid}`);
}

function alreadyTraced(pid: number, tracer: number): PagescopeError {
  return new PagescopeError(
    `Process ${pid} is already being traced by process ${tracer} (${processName(tracer)}, e.g. gdb ` +
      `or strace) and a process can have only one tracer; detach that tracer first.`,
    'already-traced',
  );
}

export function seizeError(pid: number, errno: number): Error {
  const err = new KernelError('PTRACE_SEIZE', errno, { pid });
  const st = readTargetStatus(pid);
  // EPERM is also what a process that is exiting (a zombie) answers.
  if (err.errnoName === 'ESRCH' || !st || st.state === 'Z' || st.state === 'X')
    return new PagescopeError(`Process ${pid} does not exist (it may have exited).`, 'no-process');
  if (err.errnoName === 'EPERM' || err.errnoName === 'EACCES') {
    if (st.tracerPid !== 0) return alreadyTraced(pid, st.tracerPid);
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
      `Permission denied to attach to process ${pid}: ${policy}; ${privilegeAdvice(undefined, undefined, true)}.`,
      'permission',
    );
  }
  return err;
}

/** A thread held at a ptrace stop, in which system calls can be run. */
export interface HeldThread {
  tid: number;
  /** Address of the `syscall` instruction the calls go through. */
  insn: bigint;
  /** Runs `syscall(nr, ...args)` in the thread; returns rax (negative errno on failure). */
  call(nr: number, ...args: Array<number | bigint>): bigint;
}

export interface HoldOptions {
  /** A `syscall` instruction in the target (syscallSite), found before the stop. */
  syscallAddress: bigint;
  /**
   * Launch mode: the caller seized `tid` with PTRACE_O_TRACEEXEC and holds it at its exec event
   * stop. The thread is first taken to the exit of execve so the saved registers are final.
   */
  atExecStop?: boolean;
  /** How long the first stop may take (a thread in uninterruptible sleep), ms. */
  stopTimeoutMs?: number;
}

const ARG_REGS = [Reg.rdi, Reg.rsi, Reg.rdx, Reg.r10, Reg.r8, Reg.r9];
/** SIGILL, SIGBUS, SIGFPE, SIGSEGV: what executing at a wrong address raises. */
const FAULTS = new Set([4, 7, 8, 11]);

function syscallStillThere(memFd: number, insn: bigint): boolean {
  const b = Buffer.alloc(2);
  try {
    return fs.readSync(memFd, b, 0, 2, insn) === 2 && b[0] === 0x0f && b[1] === 0x05;
  } catch {
    return false;
  }
}

function programChanged(pid: number): PagescopeError {
  return new PagescopeError(
    `Process ${pid} executed another program while pagescope was attaching; nothing was changed.`,
    'program-changed',
  );
}

function describeEnd(pid: number, w: WaitStatus): PagescopeError {
  return new PagescopeError(
    w.exited
      ? `Process ${pid} exited (code ${w.exitCode}) while pagescope was attaching.`
      : `Process ${pid} was killed by signal ${w.termSignal} while pagescope was attaching.`,
    'exited',
  );
}

function noStop(pid: number): PagescopeError {
  return new PagescopeError(
    `Process ${pid} did not stop for pagescope (it may be in uninterruptible sleep); try again.`,
    'no-stop',
  );
}

/**
 * Holds thread `tid` of `pid` at a ptrace stop, hands it to `body`, then restores its registers
 * and detaches on every path. Returns body's value and how long the thread was held (ms, from
 * its stop to its release).
 */
export function withHeldThread<T>(
  pid: number,
  tid: number,
  options: HoldOptions,
  body: (thread: HeldThread) => T,
): { value: T; heldMs: number } {
  const insn = options.syscallAddress;
  const saved = new Regs();
  const work = new Regs();
  const heldBack: number[] = [];
  let attached = options.atExecStop ?? false;
  let stopped = attached;
  let dirty = false;
  let stoppedAt = 0;
  let heldMs = 0;
  let value: T;
  let lastStop: WaitStatus | null = null;
  let deliverOnDetach = 0;
  let boosted: SchedPolicy | null = null;

  /** Blocks until a stop that `want` accepts; other stops are resumed with `resume`. */
  const waitUntil = (want: (w: WaitStatus) => boolean, resume: () => void): WaitStatus => {
    for (let guard = 0; guard < 1000; guard++) {
      const w = waitFor(tid);
      if (!w) continue;
      if (w.exited || w.signaled) {
        attached = stopped = false;
        throw describeEnd(pid, w);
      }
      stopped = true;
      lastStop = w;
      if (want(w)) return w;
      // A fault on our own instruction (the address became invalid): ours, not to be delivered.
      if (w.event === 0 && dirty && FAULTS.has(w.stopSignal))
        throw new PagescopeError(
          `The injected system call faulted in process ${pid} (signal ${w.stopSignal}); it was not delivered and nothing was changed.`,
          'inject-failed',
        );
      // Someone else's signal while our registers are in place: hold it back, queue it again
      // once the thread's own registers are back. Group-stop notifications: carry on.
      if (w.event === 0 && w.stopSignal !== SYSCALL_STOP) heldBack.push(w.stopSignal);
      stopped = false;
      resume();
    }
    throw noStop(pid);
  };
  /**
   * Puts the thread's own registers back at the stop it is in, before any user instruction runs:
   * the exit stop of our last call, an interrupt or group stop, or a signal-delivery stop. The
   * detach then wakes the thread through the kernel's signal path (__ptrace_unlink sets
   * TIF_SIGPENDING on a stopped tracee; PTRACE_INTERRUPT first makes sure of it, and unlink
   * clears the trap it asks for), so the kernel's own restart logic sees the restored registers:
   * an interrupted nanosleep or read is restarted, or returns EINTR to a signal handler, exactly
   * as without us. At a syscall-entry stop the pending call is skipped first (orig_rax = -1).
   */
  const restore = (): void => {
    let at = stopped ? lastStop : null;
    if (!at) {
      interrupt(tid); // running after an error: bring it to any stop
      at = waitUntil(
        () => true,
        () => cont(tid, 0),
      );
    }
    if (at.event === 0 && at.stopSignal === SYSCALL_STOP && syscallStopKind(tid) === 'entry') {
      getRegs(tid, work);
      work.set(Reg.origRax, -1n);
      setRegs(tid, work);
      toSyscall();
      at = waitUntil(syscallStop, toSyscall);
    }
    if (at.event === 0 && at.stopSignal !== SYSCALL_STOP) {
      // A signal-delivery stop: deliver that signal on detach, unless it is a fault of our own
      // instruction (the thread is at the `syscall` we pointed it to).
      getRegs(tid, work);
      const ours = FAULTS.has(at.stopSignal) && work.get(Reg.rip) === insn;
      if (!ours) deliverOnDetach = at.stopSignal;
    }
    if (boosted) restorePolicy(tid, boosted);
    setRegs(tid, saved);
    for (const sig of heldBack) tgkill(pid, tid, sig);
    interrupt(tid);
  };
  const toSyscall = (): void => {
    stopped = false;
    resumeToSyscall(tid);
  };
  const syscallStop = (w: WaitStatus): boolean => w.event === 0 && w.stopSignal === SYSCALL_STOP;

  let memFd = -1;
  try {
    memFd = fs.openSync(`/proc/${pid}/mem`, 'r');
    if (options.atExecStop) {
      setOptions(tid, PTRACE_O_TRACEEXEC | PTRACE_O_TRACESYSGOOD);
      toSyscall();
      waitUntil(syscallStop, toSyscall); // the exit of execve: rax now holds its result
    } else {
      const e = seize(tid, PTRACE_O_TRACESYSGOOD);
      if (e !== 0) throw seizeError(pid, e);
      attached = true;
      interrupt(tid);
      // Nothing has changed in the thread until the first SETREGS, so this first wait may give
      // up (a thread in uninterruptible sleep) and detach harmlessly: it polls with a deadline.
      const deadline = performance.now() + (options.stopTimeoutMs ?? 5000);
      for (let spin = 0; !stopped; spin++) {
        const w = waitFor(tid, WNOHANG);
        if (!w) {
          if (performance.now() > deadline) throw noStop(pid);
          nap(spin < 200 ? 0.02 : 1);
          continue;
        }
        if (w.exited || w.signaled) {
          attached = false;
          throw describeEnd(pid, w);
        }
        if (w.event === PTRACE_EVENT_STOP) stopped = true;
        else cont(tid, w.event === 0 ? w.stopSignal : 0); // a signal came first: deliver it
      }
    }
    stoppedAt = performance.now();
    // Stopped, the thread cannot enter strict mode any more (only it can, by its own prctl):
    // checked here, for this very thread, nothing has been changed in it yet.
    const held = readTargetStatus(pid, tid);
    if (held && held.seccomp === SECCOMP_STRICT) throw seccompRefusal(pid, held)!;
    // The `syscall` was found in the address space the process had before the stop; if it
    // executed another program meanwhile, the address means nothing now. The mem descriptor was
    // opened on the old address space: after an exec it reads nothing.
    if (!syscallStillThere(memFd, insn)) throw programChanged(pid);
    getRegs(tid, saved);
    const thread: HeldThread = {
      tid,
      insn,
      call(nr, ...args) {
        work.copyFrom(saved);
        work.set(Reg.rip, insn);
        work.set(Reg.rax, BigInt(nr));
        work.set(Reg.origRax, -1n);
        ARG_REGS.forEach((r, i) => work.set(r, BigInt(args[i] ?? 0)));
        dirty = true;
        setRegs(tid, work);
        // Real-time for the length of the window only (restored before the registers are): on a
        // loaded machine each of the few stops below then costs microseconds, not time slices.
        boosted ??= boostToRealtime(tid);
        toSyscall();
        waitUntil(syscallStop, toSyscall); // entry
        getRegs(tid, work);
        if (work.get(Reg.origRax) === BigInt(nr)) {
          toSyscall();
          waitUntil(syscallStop, toSyscall); // exit
          getRegs(tid, work);
          if (work.get(Reg.rip) === insn + 2n) return work.get(Reg.rax);
        }
        throw new PagescopeError(
          `The injected system call in process ${pid} did not complete as expected; nothing was changed.`,
          'inject-failed',
        );
      },
    };
    value = body(thread);
  } finally {
    if (attached) {
      try {
        if (dirty) restore();
      } catch {
        // The thread is gone: nothing left to restore.
      } finally {
        detach(tid, deliverOnDetach);
        heldMs = stoppedAt ? performance.now() - stoppedAt : 0;
      }
    }
    if (memFd >= 0) fs.closeSync(memFd);
  }
  return { value, heldMs };
}

/**
 * Runs, harmlessly, the code the window will run (koffi's call paths, the register image, the
 * mem check), so that its first execution — lazy compilation, inline caches, koffi's call
 * set-up — happens before the thread is stopped rather than while it is held. Each ptrace call
 * goes to pid 0, which the kernel refuses at once.
 */
export function rehearse(pid: number, insn: bigint): void {
  const r = new Regs();
  const w = new Regs();
  w.copyFrom(r);
  ARG_REGS.forEach((reg, i) => w.set(reg, BigInt(i)));
  w.set(Reg.rip, insn + 2n);
  void (w.get(Reg.rip) === insn + 2n && w.get(Reg.rax) === 0n);
  const attempts: Array<() => unknown> = [
    () => getRegs(0, r),
    () => setRegs(0, r),
    () => resumeToSyscall(0),
    () => cont(0, 0),
    () => interrupt(0),
    () => waitFor(0, WNOHANG),
    () => tgkill(pid, 0, 0),
    () => detach(0, 0),
    () => boostToRealtime(-1),
  ];
  for (const f of attempts) {
    try {
      f();
    } catch {
      // refused, as intended
    }
  }
  const fd = fs.openSync(`/proc/${pid}/mem`, 'r');
  try {
    syscallStillThere(fd, insn);
  } finally {
    fs.closeSync(fd);
  }
}
