/**
 * Passing a file descriptor from one process to another over a Unix socket (SCM_RIGHTS).
 *
 * The attach helper (core/watch/attach-helper.ts) takes the target's userfaultfd and must hand it
 * to pagescope. A descriptor in flight in a socket's queue stays alive after its sender exits, so
 * the helper can send it and exit at once; pagescope collects it after the helper is gone. If
 * pagescope is gone instead, the socket and the descriptor in it are freed with it.
 *
 * struct msghdr and struct cmsghdr are laid out by hand for x86_64 (LP64): one int in one
 * control message needs CMSG_SPACE(4) = 24 bytes.
 */
import koffi from 'koffi';
import { KernelError } from './errors.ts';

const lib = koffi.load('libc.so.6');
const c = {
  socketpair: lib.func('int socketpair(int domain, int type, int protocol, _Out_ int *fds)'),
  sendmsg: lib.func('int64_t sendmsg(int fd, void *msg, int flags)'),
  recvmsg: lib.func('int64_t recvmsg(int fd, void *msg, int flags)'),
  close: lib.func('int close(int fd)'),
};

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const MSG_DONTWAIT = 0x40;
const MSG_CMSG_CLOEXEC = 0x40000000;

/** socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC): two connected ends. */
export function socketPair(): [number, number] {
  const fds = [0, 0];
  if (c.socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
    throw new KernelError('socketpair', koffi.errno());
  return [fds[0], fds[1]];
}

export function closeSocket(fd: number): void {
  c.close(fd);
}

/** One message of one byte and one fd, in one off-heap buffer (its addresses go to the kernel). */
function message(): { msg: Buffer; control: Buffer } {
  const all = Buffer.from(new ArrayBuffer(256));
  const base = BigInt(koffi.address(all));
  const msg = all.subarray(0, 56);
  const iov = all.subarray(64, 80);
  const control = all.subarray(96, 120);
  iov.writeBigUInt64LE(base + 128n, 0); // iov_base: one data byte at offset 128
  iov.writeBigUInt64LE(1n, 8); // iov_len
  msg.writeBigUInt64LE(base + 64n, 16); // msg_iov
  msg.writeBigUInt64LE(1n, 24); // msg_iovlen
  msg.writeBigUInt64LE(base + 96n, 32); // msg_control
  msg.writeBigUInt64LE(24n, 40); // msg_controllen
  return { msg, control };
}

/** Sends `fd` (and one byte) over the connected socket `sock`. */
export function sendFd(sock: number, fd: number): void {
  const m = message();
  m.control.writeBigUInt64LE(20n, 0); // cmsg_len = CMSG_LEN(4)
  m.control.writeInt32LE(SOL_SOCKET, 8);
  m.control.writeInt32LE(SCM_RIGHTS, 12);
  m.control.writeInt32LE(fd, 16);
  if (Number(c.sendmsg(sock, m.msg, 0)) !== 1) throw new KernelError('sendmsg', koffi.errno());
}

/** Receives one descriptor sent with sendFd, without blocking; null when none is queued. */
export function receiveFd(sock: number): number | null {
  const m = message();
  const n = Number(c.recvmsg(sock, m.msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC));
  if (n < 0) {
    const e = koffi.errno();
    if (e === 11) return null; // EAGAIN
    throw new KernelError('recvmsg', e);
  }
  const controlLen = Number(m.msg.readBigUInt64LE(40));
  if (n !== 1 || controlLen < 20) return null;
  if (m.control.readInt32LE(8) !== SOL_SOCKET || m.control.readInt32LE(12) !== SCM_RIGHTS)
    return null;
  return m.control.readInt32LE(16);
}
