/**
 * What `--vma NAME_OR_INDEX` and `--writable` pick among a process's VMAs, shared by the commands
 * that take them (watch, record), so both choose the same mappings for the same words.
 */
import { PagescopeError } from '../kernel/errors.ts';

interface VmaFacts {
  index: number;
  path: string;
  perms: string;
  kind: string;
}

/** `--vma`: the VMAs whose path is or contains NAME, or the VMA with this index. */
export function vmaByName(name: string): {
  matches: (v: VmaFacts) => boolean;
  byIndex: boolean;
} {
  if (name.trim() === '')
    throw new PagescopeError(
      '--vma needs a name (part of a mapped file path, or [heap], [stack]) or a VMA index; "pagescope scan --pid PID" lists them.',
      'bad-input',
    );
  const index = /^\d+$/.test(name) ? Number(name) : null;
  return {
    matches: (v) => (index !== null ? v.index === index : v.path === name || v.path.includes(name)),
    byIndex: index !== null,
  };
}

/** `--writable`: every writable mapping but the kernel's special ones. */
export const isWritableMapping = (v: VmaFacts): boolean =>
  v.perms[1] === 'w' && v.kind !== 'vvar' && v.kind !== 'vdso' && v.kind !== 'vsyscall';
