/**
 * ptrace, waitpid, pidfd and a few process-control calls, bound through koffi.
 *
 * These are the calls the write watcher needs to run one system call inside another process
 * (see core/watch/injector.ts). They are synchronous on purpose: ptrace requests are valid only
 * from the thread that attached, so the whole attach-inject-detach sequence runs to completion
 * in one synchronous call on one thread, and never yields to the event loop in between (libuv's
 * SIGCHLD handler must not reap our ptrace stops in launch mode).
 *
 * libc is loaded again here (koffi caches the handle) so libc.ts stays small.
 */
import koffi from 'koffi';
import { KernelError } from './errors.ts';
import { SYS_pidfd_getfd, SYS_pidfd_open } from './userfaultfd-abi.ts';

const lib = koffi.load('libc.so.6');

export const PTRACE_CONT = 7;
export const PTRACE_SYSCALL = 24;
export const PTRACE_GETREGS = 12;
export const PTRACE_SETREGS = 13;
export const PTRACE_DETACH = 17;
export const PTRACE_SETOPTIONS = 0x4200;
export const PTRACE_SEIZE = 0x4206;
export const PTRACE_INTERRUPT = 0x4207;

export const PTRACE_O_TRACESYSGOOD = 0x1;
export const PTRACE_O_TRACEEXEC = 0x10;
/** stopSignal of a syscall-entry or syscall-exit stop under PTRACE_O_TRACESYSGOOD. */
export const SYSCALL_STOP = 0x85;
export const PTRACE_EVENT_EXEC = 4;
export const PTRACE_EVENT_STOP = 128;

export const WNOHANG = 1;
export const __WALL = 0x40000000;

export const SIGKILL = 9;
export const SIGTRAP = 5;
export const SIGSTOP = 19;
export const SIGCONT = 18;

/** struct user_regs_struct on x86_64: 27 u64 = 216 bytes; byte offsets of the fields we use. */
export const USER_REGS_SIZE = 216;
export const Reg = {
  r10: 56,
  r9: 64,
  r8: 72,
  rax: 80,
  rdx: 96,
  rsi: 104,
  rdi: 112,
  origRax: 120,
  rip: 128,
} as const;

const SYS_close = 3;
const SYS_ptrace = 101;

const c = {
  // glibc's ptrace is variadic; on x86_64 integer arguments travel the same way either way. The
  // raw system call is used instead so no PEEK* special-casing of glibc can get in the way.
  syscall4: lib.func('syscall', 'long', ['long', 'long', 'long', 'uint64_t', 'uint64_t']),
  waitpid: lib.func('int waitpid(int pid, _Out_ int *status, int options)'),
  kill: lib.func('int kill(int pid, int sig)'),
  tgkill: lib.func('syscall', 'long', ['long', 'long', 'long', 'long']),
  close: lib.func('int close(int fd)'),
  pipe2: lib.func('int pipe2(_Out_ int *fds, int flags)'),
  write: lib.func('int64_t write(int fd, const void *buf, uint64_t count)'),
  syscall3: lib.func('syscall', 'long', ['long', 'long', 'long', 'long']),
  waitid: lib.func('int waitid(int idtype, int id, void *info, int options)'),
};

const P_PID = 1;
const WSTOPPED = 2;
const WEXITED = 4;
const WNOWAIT = 0x01000000;
const CLD_EXITED = 1;
const CLD_KILLED = 2;
const CLD_DUMPED = 3;
const siginfo = new Int32Array(32);

const SYS_tgkill = 234;

function errnoNow(): number {
  return koffi.errno();
}

/** Raw ptrace; returns the result or -1 with errno set. `data` may be a number or an address. */
export function ptraceRaw(
  request: number,
  pid: number,
  addr: bigint | number,
  data: bigint | number,
): number {
  return Number(c.syscall4(SYS_ptrace, request, pid, BigInt(addr), BigInt(data)));
}

function ptraceCheck(
  op: string,
  request: number,
  pid: number,
  addr: bigint | number,
  data: bigint | number,
): void {
  if (ptraceRaw(request, pid, addr, data) < 0) throw new KernelError(op, errnoNow(), { pid });
}

export function seize(pid: number, options = 0): number {
  return ptraceRaw(PTRACE_SEIZE, pid, 0, options) < 0 ? errnoNow() : 0;
}

export function interrupt(pid: number): void {
  ptraceCheck('PTRACE_INTERRUPT', PTRACE_INTERRUPT, pid, 0, 0);
}

export function cont(pid: number, signal = 0): void {
  ptraceCheck('PTRACE_CONT', PTRACE_CONT, pid, 0, signal);
}

const PTRACE_GET_SYSCALL_INFO = 0x420e;
const syscallInfo = new Uint8Array(new ArrayBuffer(128));
const syscallInfoAddress = BigInt(koffi.address(syscallInfo));

/** At a syscall stop: whether it is the call's entry or its exit (PTRACE_GET_SYSCALL_INFO). */
export function syscallStopKind(pid: number): 'entry' | 'exit' | 'other' {
  if (ptraceRaw(PTRACE_GET_SYSCALL_INFO, pid, syscallInfo.byteLength, syscallInfoAddress) < 0)
    return 'other';
  const op = syscallInfo[0];
  return op === 1 ? 'entry' : op === 2 ? 'exit' : 'other';
}

/** Resumes until the next syscall entry or exit (or signal); the kernel clears it on unlink. */
export function resumeToSyscall(pid: number, signal = 0): void {
  ptraceCheck('PTRACE_SYSCALL', PTRACE_SYSCALL, pid, 0, signal);
}

export function setOptions(pid: number, options: number): void {
  ptraceCheck('PTRACE_SETOPTIONS', PTRACE_SETOPTIONS, pid, 0, options);
}

/** Detaches; returns 0 or the errno (callers on error paths must not throw). */
export function detach(pid: number, signal = 0): number {
  return ptraceRaw(PTRACE_DETACH, pid, 0, signal) < 0 ? errnoNow() : 0;
}

/** A 216-byte user_regs_struct in off-heap memory (its address goes to the kernel). */
export class Regs {
  readonly buf = new BigInt64Array(new ArrayBuffer(USER_REGS_SIZE));
  readonly address: bigint = BigInt(koffi.address(this.buf));

  get(offset: number): bigint {
    return this.buf[offset / 8];
  }

  set(offset: number, value: bigint): void {
    this.buf[offset / 8] = BigInt.asIntN(64, value);
  }

  copyFrom(other: Regs): void {
    this.buf.set(other.buf);
  }

  equals(other: Regs): boolean {
    for (let i = 0; i < this.buf.length; i++) if (this.buf[i] !== other.buf[i]) return false;
    return true;
  }
}

const napCell = new Int32Array(new SharedArrayBuffer(4));
/** Sleeps the calling thread (main or worker) without yielding to the event loop. */
export function nap(ms: number): void {
  Atomics.wait(napCell, 0, 0, ms);
}

export function getRegs(pid: number, regs: Regs): void {
  ptraceCheck('PTRACE_GETREGS', PTRACE_GETREGS, pid, 0, regs.address);
}

export function setRegs(pid: number, regs: Regs): void {
  ptraceCheck('PTRACE_SETREGS', PTRACE_SETREGS, pid, 0, regs.address);
}

export interface WaitStatus {
  pid: number;
  raw: number;
  exited: boolean;
  exitCode: number;
  signaled: boolean;
  termSignal: number;
  stopped: boolean;
  stopSignal: number;
  /** PTRACE_EVENT_* of a ptrace event stop, 0 otherwise. */
  event: number;
}

export function decodeStatus(pid: number, raw: number): WaitStatus {
  const stopped = (raw & 0xff) === 0x7f;
  const exited = (raw & 0x7f) === 0;
  return {
    pid,
    raw,
    exited,
    exitCode: exited ? (raw >> 8) & 0xff : 0,
    signaled: !stopped && !exited,
    termSignal: !stopped && !exited ? raw & 0x7f : 0,
    stopped,
    stopSignal: stopped ? (raw >> 8) & 0xff : 0,
    event: stopped ? (raw >>> 16) & 0xffff : 0,
  };
}

/**
 * waitpid(pid, __WALL | extra). Blocks the calling thread (that is the point: the caller is in
 * the middle of a ptrace sequence). Retries on EINTR. Returns null with WNOHANG and nothing ready.
 */
export function waitFor(pid: number, extra = 0): WaitStatus | null {
  const status = [0];
  for (;;) {
    // Peek first (WNOWAIT): an exit is reported but NOT reaped, so the real parent (libuv, for a
    // process we launched) still collects it and its child handle ends normally.
    siginfo.fill(0);
    const p = c.waitid(P_PID, pid, siginfo, WEXITED | WSTOPPED | WNOWAIT | __WALL | extra);
    if (p < 0) {
      const e = errnoNow();
      if (e === 4) continue;
      throw new KernelError('waitid', e, { pid });
    }
    if (siginfo[4] === 0) return null; // WNOHANG, nothing ready (si_pid is 0)
    const code = siginfo[2];
    if (code === CLD_EXITED) return decodeStatus(pid, (siginfo[6] & 0xff) << 8);
    if (code === CLD_KILLED || code === CLD_DUMPED) return decodeStatus(pid, siginfo[6] & 0x7f);
    const r = c.waitpid(pid, status, __WALL | extra);
    if (r > 0) return decodeStatus(r, status[0]);
    if (r === 0) return null;
    const e = errnoNow();
    if (e === 4) continue; // EINTR
    throw new KernelError('waitpid', e, { pid });
  }
}

export function kill(pid: number, signal: number): number {
  return c.kill(pid, signal) < 0 ? errnoNow() : 0;
}

export function tgkill(tgid: number, tid: number, signal: number): number {
  return Number(c.tgkill(SYS_tgkill, tgid, tid, signal)) < 0 ? errnoNow() : 0;
}

/** pidfd_open(pid): a descriptor that names this process and no later one with its pid. */
export function openPidfd(pid: number): number {
  const pidfd = Number(c.syscall3(SYS_pidfd_open, pid, 0, 0));
  if (pidfd < 0) throw new KernelError('pidfd_open', errnoNow(), { pid });
  return pidfd;
}

/** pidfd_getfd(pidfd, targetFd): a copy of another process's descriptor. */
export function takeRemoteFd(pidfd: number, targetFd: number, pid: number): number {
  const fd = Number(c.syscall3(SYS_pidfd_getfd, pidfd, targetFd, 0));
  if (fd < 0) throw new KernelError('pidfd_getfd', errnoNow(), { pid });
  return fd;
}

export { SYS_close };

/** pipe2(O_CLOEXEC): [readFd, writeFd]. */
export function pipe(): [number, number] {
  const fds = [0, 0];
  if (c.pipe2(fds, 0o2000000) < 0) throw new KernelError('pipe2', errnoNow());
  return [fds[0], fds[1]];
}

export function writeFd(fd: number, data: Uint8Array): number {
  return Number(c.write(fd, data, data.byteLength));
}

export function closeRawFd(fd: number): void {
  c.close(fd);
}

const proc = {
  setsid: lib.func('int setsid(void)'),
  signal: lib.func('intptr_t signal(int sig, intptr_t handler)'),
};
const SIG_IGN = 1;

/** setsid(): a new session and process group, so nothing aimed at the caller's group or terminal reaches us. */
export function newSession(): void {
  proc.setsid(); // EPERM when already a group leader (spawned detached): already on our own
}

/**
 * Ignores every catchable signal whose default action ends the process (HUP, INT, QUIT, TERM,
 * PIPE, USR1/2, ALRM, job-control stops, real-time signals...). The disposition is per process,
 * so no thread of Node's can be picked to die of one. Faults (SEGV, BUS...) are left alone.
 */
export function ignoreTerminatingSignals(): void {
  const sigs = [1, 2, 3, 10, 12, 13, 14, 15, 16, 20, 21, 22, 24, 25, 26, 27, 29, 30];
  for (let s = 34; s <= 64; s++) sigs.push(s); // SIGRTMIN..SIGRTMAX (32, 33 belong to glibc)
  for (const s of sigs) proc.signal(s, SIG_IGN);
}

const sched = {
  getscheduler: lib.func('int sched_getscheduler(int pid)'),
  getparam: lib.func('int sched_getparam(int pid, _Out_ int *param)'),
  setscheduler: lib.func('int sched_setscheduler(int pid, int policy, const int *param)'),
};
const SCHED_OTHER = 0;
const SCHED_FIFO = 1;
const SCHED_BATCH = 3;
const SCHED_RESET_ON_FORK = 0x40000000;

/** A thread's scheduling policy (with its reset-on-fork flag) and priority, to put back. */
export interface SchedPolicy {
  policy: number;
  priority: number;
}

/**
 * Runs thread `tid` (0: the caller) SCHED_FIFO at the lowest real-time priority, so that on a
 * loaded machine it is scheduled at once each time it is woken. Returns what to restore, or null
 * when it was not done (not privileged, or a policy we would not restore exactly). sched_setscheduler
 * keeps the nice value of a normal thread, so restoring the policy restores everything.
 */
export function boostToRealtime(tid: number): SchedPolicy | null {
  const policy = sched.getscheduler(tid);
  if (policy < 0) return null;
  const base = policy & ~SCHED_RESET_ON_FORK;
  if (base !== SCHED_OTHER && base !== SCHED_BATCH) return null;
  const param = [0];
  if (sched.getparam(tid, param) < 0) return null;
  if (sched.setscheduler(tid, SCHED_FIFO | (policy & SCHED_RESET_ON_FORK), [1]) < 0) return null;
  return { policy, priority: param[0] };
}

export function restorePolicy(tid: number, saved: SchedPolicy): void {
  sched.setscheduler(tid, saved.policy, [saved.priority]);
}
