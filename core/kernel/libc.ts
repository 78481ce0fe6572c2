/**
 * The libc calls pagescope needs, bound once through koffi's prebuilt binaries (no compiler).
 *
 * Every wrapper here returns the raw result and leaves errno in `errno()`; the `check*` helpers
 * turn a -1 into a KernelError. Buffers passed as `void *` are handed to the kernel without a
 * copy; when a struct must hold a pointer to another buffer (pm_scan_arg.vec), `addressOf` gives
 * the backing store address of an off-heap ArrayBuffer, which V8 never moves.
 */
import koffi from 'koffi';
import { KernelError, type KernelErrorContext } from './errors.ts';

const lib = koffi.load('libc.so.6');

export const O_RDONLY = 0;
export const O_RDWR = 2;
export const O_CLOEXEC = 0o2000000;

const c = {
  open: lib.func('int open(const char *path, int flags)'),
  close: lib.func('int close(int fd)'),
  ioctlPtr: lib.func('ioctl', 'int', ['int', 'unsigned long', 'void *']),
  // The argument as an address (an off-heap buffer's, addressOf): nothing for koffi to marshal
  // or copy back, which a call on another thread must not depend on.
  ioctlAddr: lib.func('ioctl', 'int', ['int', 'unsigned long', 'uintptr_t']),
  pread: lib.func('int64_t pread(int fd, void *buf, uint64_t count, int64_t offset)'),
  syscall6: lib.func('syscall', 'long', ['long', 'long', 'long', 'long', 'long', 'long', 'long']),
  clockGettime: lib.func('int clock_gettime(int clk, void *ts)'),
};

const CLOCK_THREAD_CPUTIME_ID = 3;
const tsBuf = new BigInt64Array(2);

/** CPU time this thread has run, microseconds (CLOCK_THREAD_CPUTIME_ID, ns resolution). */
export function threadCpuUs(): number {
  if (c.clockGettime(CLOCK_THREAD_CPUTIME_ID, tsBuf) !== 0)
    throw new KernelError('clock_gettime', errno());
  return Number(tsBuf[0]) * 1e6 + Number(tsBuf[1]) / 1000;
}

export function errno(): number {
  return koffi.errno();
}

/** Throws a KernelError when a call returned -1. */
export function check(result: number, op: string, context: KernelErrorContext = {}): number {
  if (result < 0) throw KernelError.fromErrno(op, context);
  return result;
}

export function openFile(path: string, flags: number, context: KernelErrorContext = {}): number {
  return check(c.open(path, flags | O_CLOEXEC), `open ${path}`, { ...context, path });
}

export function closeFd(fd: number): void {
  c.close(fd);
}

/** ioctl with a pointer argument (a typed array or Buffer, passed without copying). */
export function ioctl(fd: number, request: number, arg: ArrayBufferView | null): number {
  return c.ioctlPtr(fd, request, arg);
}

/**
 * ioctl on libuv's thread pool (koffi's `.async`): the calling thread goes on while the kernel
 * works. `argAddress` is the address (addressOf) of an off-heap buffer that must stay alive and
 * untouched until the promise settles, as must every buffer it points to. Resolves with the
 * result and that thread's errno (meaningful when the result is -1); the descriptor must not be
 * closed before then (its number could be reused by another open meanwhile).
 */
export function ioctlAsync(
  fd: number,
  request: number,
  argAddress: bigint,
): Promise<{ result: number; errno: number }> {
  return new Promise((resolve, reject) => {
    c.ioctlAddr.async(fd, request, argAddress, (err: unknown, result: number) => {
      // koffi sets errno to the worker thread's around this callback.
      if (err) reject(err instanceof Error ? err : new Error(String(err)));
      else resolve({ result, errno: result < 0 ? koffi.errno() : 0 });
    });
  });
}

/** pread into `buf` (whole view); returns bytes read or -1. */
export function pread(fd: number, buf: ArrayBufferView, offset: bigint | number): number {
  return Number(c.pread(fd, buf, buf.byteLength, offset));
}

/** A raw system call with up to six integer arguments. Returns the result or -1 (errno set). */
export function syscall(nr: number, ...args: Array<number | bigint>): number {
  const a = [0, 0, 0, 0, 0, 0].map((d, i) => args[i] ?? d);
  return Number(c.syscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5]));
}

/** Address of an ArrayBuffer's backing store; it must be off-heap (allocated with new ArrayBuffer of 128+ bytes). */
export function addressOf(view: ArrayBufferView): bigint {
  return BigInt(koffi.address(view));
}

export { koffi, lib as libc };
