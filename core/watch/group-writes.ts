/**
 * One tick's writes of a group, per member and per shared object: the same shared page written
 * by several members is one written page of the object.
 *
 * Strategy: each member's watcher reports the pages written through ITS page tables (the
 * write-protect bit is per page-table entry, so a page one backend writes is seen only in that
 * backend's tables; the union over members is every write). A written region in a MAP_SHARED
 * mapping of an object (shared-objects.ts: device and inode) is moved to the object's own page
 * numbers (the mapping's file offset plus the distance into the mapping), so members that map
 * the object at different addresses, or different parts of it, line up. Per object a sweep over
 * the members' ranges gives the union (the object's written pages) and each member's share: the
 * pages it wrote, and its proportional share (a page written by k members counts 1/k to each, so
 * the shares add up to the union). Pages outside shared mappings are the member's own
 * (copy-on-write makes even a forked private mapping each process's own). Pure: reads nothing.
 */
import { PAGE_SIZE } from '../kernel/pagemap-abi.ts';
import type { Vma } from '../proc/maps.ts';
import { isSharedMapping, objectKind, type SharedObjectKind } from '../proc/shared-objects.ts';

/** A member's written regions this tick: [startPage, endPage, vmaIndex] into `maps`. */
export interface MemberWrites {
  pid: number;
  maps: readonly Vma[];
  regions: ReadonlyArray<readonly [number, number, number]>;
}

export interface ObjectShareWrites {
  pid: number;
  /** Object pages this member wrote this tick. */
  pages: number;
  /** Its proportional share of the union (a page written by k members counts 1/k). */
  share: number;
}

export interface ObjectWrites {
  /** "DEV:INODE" (shared-objects.ts). */
  key: string;
  kind: SharedObjectKind;
  label: string;
  identity: string;
  /** Object pages written this tick by any member: the union, each page once. */
  writtenPages: number;
  /** The written object pages as sorted, merged [first, end) ranges of object page numbers. */
  ranges: Array<[number, number]>;
  /** Members that wrote it this tick, by pid. */
  shares: ObjectShareWrites[];
}

export interface MemberWriteTotals {
  pid: number;
  /** Every page this member wrote this tick (its own plus shared). */
  writtenPages: number;
  /** Pages outside MAP_SHARED object mappings: this member's own. */
  privatePages: number;
  /** Pages in shared objects (counted in each writer: their sum over members is not the union). */
  sharedPages: number;
}

export interface GroupWrites {
  members: MemberWriteTotals[];
  /** Objects written this tick, the most written first. */
  objects: ObjectWrites[];
  /** Members' own pages plus each object's union once: what the group wrote. */
  writtenOnce: number;
  /** The members' written pages summed (a shared page in every member that wrote it). */
  writtenSum: number;
}

function merge(ranges: Array<[number, number]>): Array<[number, number]> {
  ranges.sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  for (const [a, b] of ranges) {
    const last = out[out.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/** Union and proportional shares of the members' (each merged) ranges, by a sweep. */
function sweep(per: Map<number, Array<[number, number]>>): {
  union: Array<[number, number]>;
  share: Map<number, number>;
} {
  const events: Array<[number, number, number]> = []; // [page, +1/-1, pid]
  for (const [pid, ranges] of per)
    for (const [a, b] of ranges) events.push([a, 1, pid], [b, -1, pid]);
  events.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  const share = new Map<number, number>();
  const active = new Set<number>();
  const union: Array<[number, number]> = [];
  let prev = 0;
  for (const [page, d, pid] of events) {
    if (active.size && page > prev) {
      for (const m of active) share.set(m, (share.get(m) ?? 0) + (page - prev) / active.size);
      const last = union[union.length - 1];
      if (last && last[1] === prev) last[1] = page;
      else union.push([prev, page]);
    }
    prev = page;
    if (d > 0) active.add(pid);
    else active.delete(pid);
  }
  return { union, share };
}

export function groupWrites(members: readonly MemberWrites[]): GroupWrites {
  const objects = new Map<string, { vma: Vma; per: Map<number, Array<[number, number]>> }>();
  const totals: MemberWriteTotals[] = [];
  for (const m of members) {
    const t: MemberWriteTotals = { pid: m.pid, writtenPages: 0, privatePages: 0, sharedPages: 0 };
    const own = new Map<string, Array<[number, number]>>();
    for (const [s, e, vi] of m.regions) {
      const n = e - s;
      t.writtenPages += n;
      const v = m.maps[vi];
      if (!v || v.index !== vi || !isSharedMapping(v)) {
        t.privatePages += n;
        continue;
      }
      t.sharedPages += n;
      const key = `${v.dev}:${v.inode}`;
      const first = Math.floor(v.offset / PAGE_SIZE) + (s - v.startPage);
      let o = objects.get(key);
      if (!o) objects.set(key, (o = { vma: v, per: new Map() }));
      let list = own.get(key);
      if (!list) own.set(key, (list = []));
      list.push([first, first + n]);
    }
    for (const [key, list] of own) objects.get(key)!.per.set(m.pid, merge(list));
    totals.push(t);
  }
  const out: ObjectWrites[] = [];
  for (const [key, o] of objects) {
    const { union, share } = sweep(o.per);
    const kind = objectKind(o.vma);
    out.push({
      key,
      kind,
      label: o.vma.label,
      identity: kind === 'sysv' ? `shmid ${o.vma.inode}` : `inode ${o.vma.inode}`,
      writtenPages: union.reduce((a, [x, y]) => a + y - x, 0),
      ranges: union,
      shares: [...o.per]
        .map(([pid, r]) => ({
          pid,
          pages: r.reduce((a, [x, y]) => a + y - x, 0),
          share: share.get(pid) ?? 0,
        }))
        .sort((a, b) => b.pages - a.pages || a.pid - b.pid),
    });
  }
  out.sort((a, b) => b.writtenPages - a.writtenPages || a.label.localeCompare(b.label));
  const own = totals.reduce((a, t) => a + t.privatePages, 0);
  return {
    members: totals,
    objects: out,
    writtenOnce: own + out.reduce((a, o) => a + o.writtenPages, 0),
    writtenSum: totals.reduce((a, t) => a + t.writtenPages, 0),
  };
}
