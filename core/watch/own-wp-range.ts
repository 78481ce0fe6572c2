/**
 * A userfaultfd of pagescope's OWN process in async write-protect mode, registered on a range of
 * its own memory: what the self-probes (granularity.ts, overhead.ts) measure with. The target is
 * never involved.
 */
import { closeFd, errno, ioctl, syscall } from '../kernel/libc.ts';
import {
  SYS_userfaultfd,
  UFFD_API,
  UFFD_FEATURE_WP_ASYNC,
  UFFD_FEATURE_WP_UNPOPULATED,
  UFFD_USER_MODE_ONLY,
  UFFDIO_API,
  UFFDIO_REGISTER,
  UFFDIO_REGISTER_MODE_WP,
} from '../kernel/userfaultfd-abi.ts';

const O_CLOEXEC = 0o2000000;
const O_NONBLOCK = 0o4000;

/**
 * Opens the userfaultfd (WP_ASYNC | WP_UNPOPULATED) and registers [start, start + len) for
 * write-protection. Returns the descriptor (the caller closes it), or why the kernel refused.
 */
export function openOwnWpRange(start: number, len: number): { fd: number } | { refused: string } {
  const fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
  if (fd < 0) return { refused: `userfaultfd: errno ${errno()}` };
  const api = new BigUint64Array(3);
  api[0] = BigInt(UFFD_API);
  api[1] = BigInt(UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED);
  const reg = new BigUint64Array(4);
  reg[0] = BigInt(start);
  reg[1] = BigInt(len);
  reg[2] = BigInt(UFFDIO_REGISTER_MODE_WP);
  const refused =
    ioctl(fd, UFFDIO_API, api) < 0
      ? `UFFDIO_API: errno ${errno()}`
      : ioctl(fd, UFFDIO_REGISTER, reg) < 0
        ? `UFFDIO_REGISTER: errno ${errno()}`
        : null;
  if (refused === null) return { fd };
  closeFd(fd);
  return { refused };
}
