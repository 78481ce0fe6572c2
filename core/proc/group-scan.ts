/**
 * One scan of a group (`pagescope scan --tree PID | --cgroup PATH`): each member's page tables as
 * `scan` reads one process, and the group's shared objects once, with each member's share.
 *
 * Strategy: the members are read from /proc (group.ts), then scanned one after the other with the
 * same Scanner as `scan` (a member that exits or cannot be read meanwhile is listed as skipped,
 * with why). Shared objects come from the members' maps (shared-objects.ts). For each object:
 *  - in the page tables: the object pages each member has present (its mappings' PRESENT regions,
 *    placed at their object offsets), their union (the object's pages some member maps in), and
 *    each member's proportional share (a page present in k members counts 1/k to each: the
 *    shares add up to the union, like PSS);
 *  - from the object itself (shmem only, shared-swap.ts): pages allocated, in memory and
 *    swapped, which no page table shows, with the source.
 * The group's resident total counts each shared object's union once plus every member's pages
 * outside shared mappings, so it is not the sum of RSS. The members run on while being scanned
 * (no member is stopped): each figure is exact for its moment, not one instant for the group.
 */
import { Category } from '../kernel/pagemap-abi.ts';
import type { BackendName } from '../scan/backend.ts';
import { Scanner } from '../scan/scanner.ts';
import { addCounts, emptyCounts, type PageCounts } from '../scan/summary.ts';
import type { GroupReader } from './group.ts';
import { type Member } from './group.ts';
import type { Vma } from './maps.ts';
import { groupSharedObjects, isSharedMapping, type SharedObject } from './shared-objects.ts';
import { objectPagesFromObject, objectPagesFromSmaps, type ObjectPages } from './shared-swap.ts';

export interface MemberScan {
  member: Member;
  vmas: number;
  totals: PageCounts;
  /** Present pages outside MAP_SHARED mappings: this member's own. */
  privatePresent: number;
  scanMs: number;
}

export interface ObjectShare {
  pid: number;
  /** Object pages present in this member's page tables. */
  present: number;
  /** Its proportional share of the union (a page present in k members counts 1/k). */
  share: number;
}

export interface GroupObject {
  object: SharedObject;
  /** Object pages present in some member's page tables. */
  presentUnion: number;
  shares: ObjectShare[];
  /** From the object itself (shmem), or null for a file or where it could not be read. */
  fromObject: ObjectPages | null;
}

export interface GroupScan {
  describe: string;
  members: MemberScan[];
  skipped: Array<{ pid: number; name: string; why: string }>;
  objects: GroupObject[];
  /** Members' private present pages plus each shared object's union once. */
  residentOnce: number;
  /** The sum of the members' present pages (shared pages counted in every member, like RSS). */
  residentSum: number;
  /** Swapped pages of shared objects (from the objects), which no page table shows. */
  sharedSwapped: number;
  readMs: number;
  scanMs: number;
}

interface Scanned {
  member: Member;
  vmas: Vma[];
  /** Present page ranges per VMA index. */
  present: Map<number, Array<[number, number]>>;
  scan: MemberScan;
}

function scanMember(member: Member, backend: BackendName | 'auto'): Scanned {
  const scanner = new Scanner(member.pid, { backend });
  try {
    const r = scanner.scan([]);
    const totals = emptyCounts();
    let privatePresent = 0;
    const present = new Map<number, Array<[number, number]>>();
    for (const v of r.vmas)
      if (r.scannedPages.has(v.index)) addCounts(totals, r.summaries[v.index]);
    const shared = new Set(r.vmas.filter(isSharedMapping).map((v) => v.index));
    const reg = r.regions;
    for (let i = 0; i < reg.length; i++) {
      if (!(reg.categories[i] & Category.PRESENT)) continue;
      const vi = reg.vmaIndex[i];
      if (!shared.has(vi)) {
        privatePresent += reg.endPage[i] - reg.startPage[i];
        continue;
      }
      let list = present.get(vi);
      if (!list) present.set(vi, (list = []));
      list.push([reg.startPage[i], reg.endPage[i]]);
    }
    return {
      member,
      vmas: r.vmas,
      present,
      scan: { member, vmas: r.vmas.length, totals, privatePresent, scanMs: r.scanMs },
    };
  } finally {
    scanner.close();
  }
}

/** The object's figures from the object (shmem), for its largest mapping. */
function objectFigures(o: SharedObject): ObjectPages | null {
  if (o.kind === 'file' || o.kind === 'hugetlb') return null;
  const m = o.mappings.reduce((a, b) => (b.pages > a.pages ? b : a));
  return (
    objectPagesFromObject(m.pid, m.vma) ??
    objectPagesFromSmaps(m.pid, [m.vma]).get(m.vma.index) ??
    null
  );
}

export function scanGroup(reader: GroupReader, backend: BackendName | 'auto' = 'auto'): GroupScan {
  const t0 = performance.now();
  const reading = reader.read();
  const readMs = performance.now() - t0;
  const scanned: Scanned[] = [];
  const skipped: GroupScan['skipped'] = [];
  for (const m of reading.members) {
    try {
      const s = scanMember(m, backend);
      if (s.vmas.length === 0)
        skipped.push({ pid: m.pid, name: m.name, why: 'no user memory (a kernel thread)' });
      else scanned.push(s);
    } catch (err) {
      // Exited meanwhile, a kernel thread, or not ours to read: the rest of the group stands.
      skipped.push({ pid: m.pid, name: m.name, why: (err as Error).message });
    }
  }
  const objects = groupSharedObjects(scanned.map((s): [number, Vma[]] => [s.member.pid, s.vmas]));
  const byPid = new Map(scanned.map((s) => [s.member.pid, s]));
  const groupObjects: GroupObject[] = [];
  let sharedUnion = 0;
  let sharedSwapped = 0;
  for (const o of objects) {
    // Object pages present per member, as sets of object page numbers.
    const perMember = new Map<number, Set<number>>();
    for (const mp of o.mappings) {
      const ranges = byPid.get(mp.pid)!.present.get(mp.vma.index) ?? [];
      let set = perMember.get(mp.pid);
      if (!set) perMember.set(mp.pid, (set = new Set()));
      for (const [a, b] of ranges)
        for (let p = a; p < b; p++) set.add(mp.firstPage + (p - mp.vma.startPage));
    }
    const holders = new Map<number, number>();
    for (const set of perMember.values())
      for (const p of set) holders.set(p, (holders.get(p) ?? 0) + 1);
    const shares: ObjectShare[] = o.members.map((pid) => {
      const set = perMember.get(pid) ?? new Set<number>();
      let share = 0;
      for (const p of set) share += 1 / holders.get(p)!;
      return { pid, present: set.size, share };
    });
    const fromObject = objectFigures(o);
    sharedUnion += holders.size;
    sharedSwapped += fromObject?.swapped ?? 0;
    groupObjects.push({ object: o, presentUnion: holders.size, shares, fromObject });
  }
  const members = scanned.map((s) => s.scan);
  return {
    describe: reader.describe(),
    members,
    skipped,
    objects: groupObjects,
    residentOnce: members.reduce((a, m) => a + m.privatePresent, 0) + sharedUnion,
    residentSum: members.reduce((a, m) => a + m.totals.present, 0),
    sharedSwapped,
    readMs,
    scanMs: performance.now() - t0 - readMs,
  };
}
