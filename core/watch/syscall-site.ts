/**
 * Where the injected system calls run: the address of a `syscall` instruction (0f 05) in the
 * target, found before its thread is stopped.
 *
 * The [vdso] is the same code in every process of a boot (KERNEL-NOTES), so the offset of a
 * `syscall` inside it is read once from pagescope's own [vdso]; in a target it is that target's
 * [vdso] base plus the offset. The two bytes there are checked through /proc/PID/mem (one pread,
 * before any stop). A target without a [vdso] (booted with vdso=0, or it unmapped it) gets the
 * slow path: a search of its executable mappings, still before the stop. pagescope never writes
 * the target's code: its other threads keep running through it.
 */
import fs from 'node:fs';
import { KernelError, PagescopeError } from '../kernel/errors.ts';
import { readMaps, type Vma } from '../proc/maps.ts';

let ownVdsoOffset: number | null | undefined;

function findSyscallBytes(buf: Uint8Array, n: number): number {
  for (let i = 0; i + 1 < n; i++) if (buf[i] === 0x0f && buf[i + 1] === 0x05) return i;
  return -1;
}

function readAt(fd: number, address: bigint, length: number): Buffer {
  const buf = Buffer.alloc(length);
  const n = fs.readSync(fd, buf, 0, length, address);
  return buf.subarray(0, n);
}

/** Offset of a `syscall` instruction inside [vdso], read once from our own process. */
function vdsoSyscallOffset(): number | null {
  if (ownVdsoOffset !== undefined) return ownVdsoOffset;
  ownVdsoOffset = null;
  const vdso = readMaps(process.pid).find((v) => v.kind === 'vdso');
  if (!vdso) return null;
  const fd = fs.openSync('/proc/self/mem', 'r');
  try {
    const bytes = readAt(fd, BigInt(vdso.startPage) << 12n, (vdso.endPage - vdso.startPage) * 4096);
    const at = findSyscallBytes(bytes, bytes.length);
    ownVdsoOffset = at >= 0 ? at : null;
  } finally {
    fs.closeSync(fd);
  }
  return ownVdsoOffset;
}

function openMem(pid: number): number {
  try {
    return fs.openSync(`/proc/${pid}/mem`, 'r');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new KernelError('open /proc/PID/mem', e.errno ? -e.errno : 13, { pid });
  }
}

/** The address of a `syscall` instruction in `pid`: [vdso] + our offset, else a search. */
export function syscallSite(pid: number, vmas: Vma[] = readMaps(pid)): bigint {
  const fd = openMem(pid);
  try {
    const offset = vdsoSyscallOffset();
    const vdso = vmas.find((v) => v.kind === 'vdso');
    if (offset !== null && vdso) {
      const at = (BigInt(vdso.startPage) << 12n) + BigInt(offset);
      try {
        const b = readAt(fd, at, 2);
        if (b[0] === 0x0f && b[1] === 0x05) return at;
      } catch {
        // unreadable [vdso]: search the rest
      }
    }
    const executable = vmas.filter((v) => v.perms[2] === 'x' && v.kind !== 'vsyscall');
    for (const v of executable) {
      const len = Math.min((v.endPage - v.startPage) * 4096, 16 << 20);
      let bytes: Buffer;
      try {
        bytes = readAt(fd, BigInt(v.startPage) << 12n, len);
      } catch {
        continue;
      }
      const i = findSyscallBytes(bytes, bytes.length);
      if (i >= 0) return (BigInt(v.startPage) << 12n) + BigInt(i);
    }
  } finally {
    fs.closeSync(fd);
  }
  throw new PagescopeError(
    `No syscall instruction was found in the executable mappings of process ${pid}.`,
    'no-syscall-insn',
  );
}
