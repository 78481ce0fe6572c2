/**
 * Shared objects identified once across a group: mappings of the same object in several members
 * (postgres's shared buffers in every backend, a memfd passed to children) become one object with
 * the members that map it.
 *
 * Strategy: an object is known by its device and inode in /proc/PID/maps, which the kernel gives
 * every MAP_SHARED mapping: shmem (shared anonymous memory, memfd, /dev/shm) has an inode of its
 * own on the internal shm mount, so two `mmap(-1, MAP_SHARED)` regions are two objects while a
 * forked child's copy of one is the same object; a SysV segment's inode is its shmid; a file is
 * its file. Each mapping covers object pages [offset, offset + length), so members that map
 * different parts of one object are placed where they are. Private mappings are left out:
 * copy-on-write makes their written pages each process's own. Labels are the names every view
 * uses (protocol/vma-name.ts): "shared anonymous", "memfd:NAME", "SysV shm key 0x…", the file.
 * Pure: it reads nothing itself.
 */
import { PAGE_SIZE } from '../kernel/pagemap-abi.ts';
import type { Vma } from './maps.ts';

export type SharedObjectKind =
  'shared anonymous' | 'memfd' | 'sysv' | 'posix shm' | 'hugetlb' | 'file';

export interface ObjectMapping {
  pid: number;
  vma: Vma;
  /** The object's first page this mapping maps, and how many pages. */
  firstPage: number;
  pages: number;
}

export interface SharedObject {
  /** "DEV:INODE", unique per object on this machine while it exists. */
  key: string;
  kind: SharedObjectKind;
  /** The name every view shows (vma-name.ts). */
  label: string;
  /** What tells it from another object of the same name: "inode 1234", "shmid 5". */
  identity: string;
  /** maps' path text of its first mapping, unchanged. */
  path: string;
  mappings: ObjectMapping[];
  /** The pids that map it, ascending. */
  members: number[];
  /** Object pages some member maps (the union of the mappings' ranges). */
  pagesMapped: number;
}

export function objectKind(v: Vma): SharedObjectKind {
  const p = v.path;
  if (v.kind === 'hugetlb') return 'hugetlb';
  if (p.startsWith('/memfd:')) return 'memfd';
  if (p.startsWith('/SYSV')) return 'sysv';
  if (p.startsWith('/dev/shm/')) return 'posix shm';
  if (v.kind === 'shmem') return 'shared anonymous';
  return 'file';
}

/**
 * Whether a mapping is of a shared object (MAP_SHARED with an inode). A SysV segment's inode is
 * its shmid, and the first segment made after boot has shmid 0: it is an object all the same.
 */
export function isSharedMapping(v: Vma): boolean {
  return v.perms[3] === 's' && (v.inode !== 0 || objectKind(v) === 'sysv');
}

/** Length of the union of [first, end) ranges. */
function unionLength(ranges: Array<[number, number]>): number {
  ranges.sort((a, b) => a[0] - b[0]);
  let total = 0;
  let end = -Infinity;
  for (const [a, b] of ranges) {
    if (b <= end) continue;
    total += b - Math.max(a, end);
    end = b;
  }
  return total;
}

/** The group's shared objects from each member's maps, the most members first, then by label. */
export function groupSharedObjects(maps: Iterable<[number, Vma[]]>): SharedObject[] {
  const objects = new Map<string, SharedObject>();
  for (const [pid, vmas] of maps) {
    for (const v of vmas) {
      if (!isSharedMapping(v)) continue;
      const key = `${v.dev}:${v.inode}`;
      let o = objects.get(key);
      if (!o) {
        const kind = objectKind(v);
        o = {
          key,
          kind,
          label: v.label,
          identity: kind === 'sysv' ? `shmid ${v.inode}` : `inode ${v.inode}`,
          path: v.path,
          mappings: [],
          members: [],
          pagesMapped: 0,
        };
        objects.set(key, o);
      }
      o.mappings.push({
        pid,
        vma: v,
        firstPage: Math.floor(v.offset / PAGE_SIZE),
        pages: v.endPage - v.startPage,
      });
      if (!o.members.includes(pid)) o.members.push(pid);
    }
  }
  const out = [...objects.values()];
  for (const o of out) {
    o.members.sort((a, b) => a - b);
    o.pagesMapped = unionLength(o.mappings.map((m) => [m.firstPage, m.firstPage + m.pages]));
  }
  return out.sort((a, b) => b.members.length - a.members.length || a.label.localeCompare(b.label));
}
