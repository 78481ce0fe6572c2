/**
 * The injected part of an attach: inside a held thread of the target, create a userfaultfd (the
 * context belongs to the mm that creates it), copy it into our own process with pidfd_getfd,
 * and close the target's descriptor, so the only reference lives with us. Used by the attach
 * helper process (attach by pid) and in-process by launch mode.
 */
import { closeFd } from '../kernel/libc.ts';
import { KernelError, PagescopeError } from '../kernel/errors.ts';
import { SYS_close, takeRemoteFd } from '../kernel/ptrace.ts';
import { SYS_userfaultfd, UFFD_USER_MODE_ONLY } from '../kernel/userfaultfd-abi.ts';
import type { HeldThread } from './injector.ts';

const O_CLOEXEC = 0o2000000;
const O_NONBLOCK = 0o4000;

/**
 * Returns our descriptor of a userfaultfd made inside the target; the target keeps none.
 * `pidfd` names the target (openPidfd), opened before the thread was stopped.
 */
export function injectUserfaultfd(t: HeldThread, pid: number, pidfd: number): number {
  const r = t.call(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
  if (r < 0n) {
    const e = new KernelError('userfaultfd (injected into the target)', Number(-r), { pid });
    throw new PagescopeError(
      `Process ${pid} could not create a userfaultfd: ${e.errnoName} (${e.describe()}).`,
      'uffd-failed',
    );
  }
  const targetFd = Number(r);
  let ours = -1;
  let takeError: unknown = null;
  try {
    ours = takeRemoteFd(pidfd, targetFd, pid);
  } catch (err) {
    takeError = err;
  }
  // Whatever happened, the target must not keep the descriptor.
  const closed = t.call(SYS_close, targetFd);
  if (takeError) throw takeError;
  if (closed < 0n) {
    closeFd(ours);
    throw new PagescopeError(
      `Closing the injected descriptor in process ${pid} failed; attach was undone.`,
      'inject-failed',
    );
  }
  return ours;
}
