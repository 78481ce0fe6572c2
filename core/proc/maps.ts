/**
 * /proc/PID/maps: the VMAs of a process.
 *
 * Parsed into plain records once per tick (a process has hundreds to tens of thousands of VMAs,
 * never millions). Addresses are kept as page numbers (exact as JS numbers even for [vsyscall] at
 * 0xffffffffff600000) and as the kernel's own hex text, which is what users and JSON see.
 */
import { fromNodeError } from '../kernel/errors.ts';
import { PAGE_SHIFT } from '../kernel/pagemap-abi.ts';
import { vmaName } from '../protocol/vma-name.ts';
import { readProcText } from './read-proc.ts';

export type VmaKind =
  'heap' | 'stack' | 'vdso' | 'vvar' | 'vsyscall' | 'file' | 'anon' | 'shmem' | 'hugetlb';

export interface Vma {
  /** Position in /proc/PID/maps order. */
  index: number;
  startPage: number;
  endPage: number;
  /** Hex text of the start and end addresses as in maps (no 0x). */
  startHex: string;
  endHex: string;
  /** e.g. "rw-p". */
  perms: string;
  offset: number;
  dev: string;
  inode: number;
  /** The path or pseudo-name ("[heap]"), '' for anonymous memory: maps' text, unchanged. */
  path: string;
  /**
   * What it is, as every view names it (protocol/vma-name.ts): the file's path, "shared
   * anonymous", "memfd:NAME", "SysV shm key 0x…", "[heap]"; '' for plain anonymous memory.
   */
  label: string;
  kind: VmaKind;
}

const LINE = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) (\S+) (\d+)\s*(.*)$/;

export function parseMaps(text: string): Vma[] {
  const vmas: Vma[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const m = LINE.exec(line);
    if (!m) throw new Error(`unparsable /proc/PID/maps line: ${JSON.stringify(line)}`);
    const [, startHex, endHex, perms, offset, dev, inode, path] = m;
    vmas.push({
      index: vmas.length,
      startPage: hexToPage(startHex),
      endPage: hexToPage(endHex),
      startHex,
      endHex,
      perms,
      offset: parseInt(offset, 16),
      dev,
      inode: Number(inode),
      path,
      label: vmaName(path),
      kind: vmaKind(path, perms, Number(inode)),
    });
  }
  return vmas;
}

export function readMaps(pid: number): Vma[] {
  return parseMaps(readMapsText(pid));
}

/** /proc/PID/maps' text; errors as PagescopeErrors naming the process. */
function readMapsText(pid: number): string {
  const path = `/proc/${pid}/maps`;
  try {
    return readProcText(path); // not readFileSync: read each tick (read-proc.ts)
  } catch (err) {
    throw fromNodeError(err, `read ${path}`, { pid, path });
  }
}

/**
 * readMaps for one process read again and again (a watch reads the maps every tick): the text is
 * read each time, and parsed only when it differs from the previous read's; else the previous
 * Vma[] is returned again (the same array: callers treat it as read-only). The text is all the
 * maps say (ranges, permissions, offsets, files), so an unchanged text is an unchanged layout
 * and nothing a tick does with it can differ. Parsing is two-thirds of a read's CPU time
 * (measured on redis's 122 VMAs: 50 us to read, 93 us to parse), and a watch's CPU time is the
 * target's on a machine the target fills (core/watch/overhead.ts competingOwnMs).
 */
export class MapsReader {
  private lastText: string | null = null;
  private lastVmas: Vma[] = [];

  constructor(readonly pid: number) {}

  /** The maps now (readMaps), the previous array itself when the text did not change. */
  read(): Vma[] {
    const text = readMapsText(this.pid);
    if (text !== this.lastText) {
      this.lastVmas = parseMaps(text);
      this.lastText = text;
    }
    return this.lastVmas;
  }
}

export function hexToPage(hex: string): number {
  // Hex addresses have up to 16 digits; dropping the last three (12 bits) leaves at most 13,
  // which a double holds exactly.
  return hex.length <= 3 ? 0 : parseInt(hex.slice(0, -3), 16);
}

/** The 256 bytes as two hex digits each (pageToHex). */
const HEX_BYTE = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));
const LOW_PAGES = 2 ** 24;

/**
 * A page's address in hex, without 0x. Its low 24 bits by table: a written-range list of a busy
 * tick (`watch --json`, up to 1,000 ranges) formats 2,000 addresses, which toString(16) alone
 * did in ~0.6 ms of the watching thread, the table in ~0.15 ms.
 */
export function pageToHex(page: number): string {
  if (page < LOW_PAGES) return page.toString(16) + '000';
  const hi = Math.floor(page / LOW_PAGES);
  const lo = page - hi * LOW_PAGES;
  return (
    hi.toString(16) + HEX_BYTE[lo >>> 16] + HEX_BYTE[(lo >>> 8) & 255] + HEX_BYTE[lo & 255] + '000'
  );
}

export function pageToAddress(page: number): bigint {
  return BigInt(page) << BigInt(PAGE_SHIFT);
}

export function vmaKind(path: string, perms: string, inode: number): VmaKind {
  if (path === '[heap]') return 'heap';
  if (path === '[stack]' || path.startsWith('[stack:')) return 'stack';
  if (path === '[vdso]') return 'vdso';
  if (path === '[vvar]' || path === '[vvar_vclock]') return 'vvar';
  if (path === '[vsyscall]') return 'vsyscall';
  // /dev/zero mapped private is plain anonymous memory (shared, the kernel renames it deleted).
  if (path === '/dev/zero') return 'anon';
  if (path.startsWith('/anon_hugepage') || path.includes('hugepages')) return 'hugetlb';
  if (
    path.startsWith('/memfd:') ||
    path.startsWith('/SYSV') ||
    path === '/dev/zero (deleted)' ||
    path.startsWith('[anon_shmem:') ||
    path.startsWith('/dev/shm/')
  )
    return 'shmem';
  if (path === '' || path.startsWith('[anon:')) return perms[3] === 's' && inode ? 'shmem' : 'anon';
  if (path.startsWith('[')) return 'anon';
  return 'file';
}

/** The VMAs kind names that the kernel maps specially (no page-table walk makes sense there). */
export function isSpecialKind(kind: VmaKind): boolean {
  return kind === 'vdso' || kind === 'vvar' || kind === 'vsyscall';
}
