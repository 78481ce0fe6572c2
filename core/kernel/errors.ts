/**
 * Typed errors for everything that talks to the kernel.
 *
 * A failed system call becomes a KernelError carrying the operation, the errno name and the pid
 * it concerned; `describe()` turns it into one sentence a user can act on. Errors that are not
 * the kernel's (bad input, a missing feature) are PagescopeErrors with a message already written
 * for a user. The CLI and the hosts print `userMessage(err)` and never a stack trace.
 */
import koffi from 'koffi';
import os from 'node:os';
import { isErrorCode, type ErrorCode } from '../protocol/errors.ts';
import { privilegeAdvice } from './privilege.ts';

const currentErrno = (): number => koffi.errno();

const ERRNO_NAMES = new Map<number, string>(
  Object.entries(os.constants.errno).map(([name, value]) => [value, name]),
);

export function errnoName(errno: number): string {
  return ERRNO_NAMES.get(errno) ?? `E${errno}`;
}

/**
 * Codes only the command line gives (bad flags); a host never sends them, so they are not in the
 * protocol's list (core/protocol/errors.ts). Everything outside core/cli uses ErrorCodes
 * (errors.test.ts checks the sources).
 */
export type CliErrorCode = 'bad-pid' | 'bad-seconds' | 'bad-port' | 'bad-host' | 'bad-input';

export type PagescopeErrorCode = ErrorCode | CliErrorCode;

/** An error whose message is already meant for a user: bad input, missing features, policy. */
export class PagescopeError extends Error {
  constructor(
    message: string,
    /** A stable machine-readable code for hosts and tests, e.g. 'bad-range', 'no-process'. */
    readonly code: PagescopeErrorCode = 'error',
  ) {
    super(message);
    this.name = 'PagescopeError';
  }
}

export interface KernelErrorContext {
  pid?: number;
  path?: string;
}

/** A system call failed. `op` names the call as a user would read it ("open /proc/1/pagemap"). */
export class KernelError extends Error {
  readonly errnoName: string;
  readonly pid: number | undefined;
  readonly path: string | undefined;

  constructor(
    readonly op: string,
    readonly errno: number,
    context: KernelErrorContext = {},
  ) {
    const name = errnoName(errno);
    super(`${op} failed: ${name} (${errnoText(errno)})`);
    this.name = 'KernelError';
    this.errnoName = name;
    this.pid = context.pid;
    this.path = context.path;
  }

  /** Builds the error from the calling thread's current errno. */
  static fromErrno(op: string, context: KernelErrorContext = {}): KernelError {
    return new KernelError(op, currentErrno(), context);
  }

  /** One sentence that says what happened and what to do about it. */
  describe(): string {
    const who = this.pid !== undefined ? `process ${this.pid}` : 'the process';
    switch (this.errnoName) {
      case 'ENOENT':
      case 'ESRCH':
        return `${capitalize(who)} does not exist (it may have exited).`;
      case 'EACCES':
      case 'EPERM':
        return (
          `Permission denied to ${this.op} for ${who}: reading another process's page tables ` +
          `needs ptrace access to it (same user and a permissive ptrace policy, or root / ` +
          `CAP_SYS_PTRACE); ${privilegeAdvice()}.`
        );
      case 'ENOTTY':
        return `This kernel does not support ${this.op} (PAGEMAP_SCAN needs Linux 6.7 or newer).`;
      case 'EINVAL':
        return `The kernel rejected ${this.op} as invalid (${this.message}).`;
      case 'EBUSY':
        return `${capitalize(this.op)} is busy: the range is already registered with another userfaultfd.`;
      case 'ENOMEM':
        return `The kernel ran out of memory for ${this.op}.`;
      default:
        return `${capitalize(this.op)} failed for ${who}: ${this.errnoName} (${errnoText(this.errno)}).`;
    }
  }
}

function errnoText(errno: number): string {
  return ERRNO_TEXT[errno] ?? 'error';
}

const ERRNO_TEXT: Record<number, string> = {
  1: 'operation not permitted',
  2: 'no such file or directory',
  3: 'no such process',
  4: 'interrupted system call',
  5: 'I/O error',
  9: 'bad file descriptor',
  11: 'resource temporarily unavailable',
  12: 'out of memory',
  13: 'permission denied',
  14: 'bad address',
  16: 'device or resource busy',
  22: 'invalid argument',
  25: 'inappropriate ioctl for device',
  38: 'function not implemented',
};

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/**
 * The protocol's code for any thrown value: a PagescopeError's own code, a KernelError's by its
 * errno (ESRCH/ENOENT 'no-process', EPERM/EACCES 'permission', ENOTTY/ENOSYS/EOPNOTSUPP
 * 'unsupported', any other 'kernel'), and 'error' for the rest (a CLI-only code too, which no
 * host should ever meet).
 */
export function errorCode(err: unknown): ErrorCode {
  if (err instanceof PagescopeError) return isErrorCode(err.code) ? err.code : 'error';
  if (err instanceof KernelError) {
    switch (err.errnoName) {
      case 'ESRCH':
      case 'ENOENT':
        return 'no-process';
      case 'EPERM':
      case 'EACCES':
        return 'permission';
      case 'ENOTTY':
      case 'ENOSYS':
      case 'EOPNOTSUPP':
        return 'unsupported';
      default:
        return 'kernel';
    }
  }
  return 'error';
}

/** The sentence to show a user for any thrown value. */
export function userMessage(err: unknown): string {
  if (err instanceof KernelError) return err.describe();
  if (err instanceof PagescopeError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Turns a Node fs error (ENOENT, EACCES...) on a /proc path into a KernelError. */
export function fromNodeError(err: unknown, op: string, context: KernelErrorContext): unknown {
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e.errno === 'number' && typeof e.code === 'string') {
    const errno = (os.constants.errno as Record<string, number>)[e.code] ?? -e.errno;
    return new KernelError(op, errno, context);
  }
  return err;
}
