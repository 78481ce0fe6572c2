/**
 * A GroupScan (core/proc/group-scan.ts) and a group watch's ticks as the protocol's answers
 * (protocol/group.ts): plain data, lists bounded (GROUP_MAX_MEMBERS members, GROUP_MAX_OBJECTS
 * objects, the rest counted), figures in pages with the page size. Pure.
 */
import { PAGE_SIZE } from '../kernel/pagemap-abi.ts';
import type { GroupScan } from '../proc/group-scan.ts';
import {
  GROUP_MAX_MEMBERS,
  GROUP_MAX_OBJECTS,
  GROUP_WATCH_MAX_RANGES,
  type GroupScanInfo,
  type GroupWatchTick,
} from '../protocol/group.ts';
import type { GroupTick } from '../watch/group-watch.ts';

/** A GroupScan as the protocol's answer (bounded lists, pages). */
export function groupScanInfo(g: GroupScan): GroupScanInfo {
  return {
    describe: g.describe,
    pageSize: PAGE_SIZE,
    members: g.members.slice(0, GROUP_MAX_MEMBERS).map((m) => ({
      pid: m.member.pid,
      ppid: m.member.ppid,
      name: m.member.name,
      resident: m.totals.present,
      swapped: m.totals.swapped,
      privateResident: m.privatePresent,
    })),
    moreMembers: Math.max(0, g.members.length - GROUP_MAX_MEMBERS),
    skipped: g.skipped.slice(0, GROUP_MAX_MEMBERS),
    objects: g.objects.slice(0, GROUP_MAX_OBJECTS).map((o) => ({
      key: o.object.key,
      kind: o.object.kind,
      label: o.object.label,
      identity: o.object.identity,
      size: o.object.pagesMapped,
      resident: o.presentUnion,
      fromObject: o.fromObject && {
        swapped: o.fromObject.swapped,
        resident: o.fromObject.resident,
        allocated: o.fromObject.allocated,
        source: o.fromObject.source,
      },
      shares: o.shares.slice(0, GROUP_MAX_MEMBERS),
    })),
    moreObjects: Math.max(0, g.objects.length - GROUP_MAX_OBJECTS),
    residentOnce: g.residentOnce,
    residentSum: g.residentSum,
    sharedSwapped: g.sharedSwapped,
    scanMs: g.readMs + g.scanMs,
  };
}

/**
 * A group watch's ticks (core/watch/group-watch.ts GroupTick) as the protocol's groupTick
 * events, with what the UI shows beside each tick: every member's writes added up over the ticks,
 * each object's distinct pages written since the watch started (the union of every tick's
 * ranges, merged as intervals, so it stays exact and small whatever the pages) and each
 * member's pages and share of it, the ticks' added up (a tick's UI may miss a tick: these do not). Lists bounded as
 * the scan's are. Pure.
 */
export class GroupWatchTally {
  private ticks = 0;
  private readonly memberTotals = new Map<number, number>();
  private readonly objectSoFar = new Map<string, Array<[number, number]>>();
  /** Per object, per member: its pages and shares, each tick's added up. */
  private readonly objectShares = new Map<string, Map<number, { pages: number; share: number }>>();

  /** Forgets a member that left or exec'd (a pid reused later starts from 0). */
  private forget(pid: number): void {
    this.memberTotals.delete(pid);
  }

  add(k: GroupTick, t: number): GroupWatchTick {
    this.ticks++;
    for (const m of [...k.left, ...k.execd]) this.forget(m.pid);
    const brief = (m: { pid: number; name: string }) => ({ pid: m.pid, name: m.name });
    const members = k.members.slice(0, GROUP_MAX_MEMBERS).map((m) => {
      const total = (this.memberTotals.get(m.pid) ?? 0) + m.writtenPages;
      this.memberTotals.set(m.pid, total);
      const exact = m.figures.sampleFraction === 1;
      return {
        pid: m.pid,
        name: m.name,
        writtenPages: m.writtenPages,
        writtenTotal: total,
        privatePages: m.privatePages,
        sharedPages: m.sharedPages,
        exact,
        writtenEst: exact ? m.writtenPages : Math.max(0, m.figures.writtenEst),
      };
    });
    for (const o of k.writes.objects) {
      const merged = mergeRanges([...(this.objectSoFar.get(o.key) ?? []), ...o.ranges]);
      this.objectSoFar.set(o.key, merged);
      let per = this.objectShares.get(o.key);
      if (!per) this.objectShares.set(o.key, (per = new Map()));
      for (const sh of o.shares) {
        const was = per.get(sh.pid) ?? { pages: 0, share: 0 };
        per.set(sh.pid, { pages: was.pages + sh.pages, share: was.share + sh.share });
      }
    }
    return {
      tick: this.ticks,
      t: Math.max(0, Math.round(t)),
      exact: k.exact,
      estOverheadPct: k.estOverheadPct >= 0 ? k.estOverheadPct : null,
      writtenOnce: k.writes.writtenOnce,
      writtenSum: k.writes.writtenSum,
      members,
      objects: k.writes.objects.slice(0, GROUP_MAX_OBJECTS).map((o) => ({
        key: o.key,
        kind: o.kind,
        label: o.label,
        identity: o.identity,
        writtenPages: o.writtenPages,
        writtenSoFar: this.soFar(o.key),
        ranges: o.ranges.slice(0, GROUP_WATCH_MAX_RANGES),
        shares: o.shares.slice(0, GROUP_MAX_MEMBERS),
        sharesSoFar: [...(this.objectShares.get(o.key) ?? [])]
          .map(([pid, v]) => ({ pid, pages: v.pages, share: v.share }))
          .sort((a, b) => b.pages - a.pages || a.pid - b.pid)
          .slice(0, GROUP_MAX_MEMBERS),
      })),
      moreObjects: Math.max(0, k.writes.objects.length - GROUP_MAX_OBJECTS),
      joined: k.joined.slice(0, GROUP_MAX_MEMBERS).map(brief),
      execd: k.execd.slice(0, GROUP_MAX_MEMBERS).map(brief),
      left: k.left.slice(0, GROUP_MAX_MEMBERS).map(brief),
      failed: k.failed.slice(0, GROUP_MAX_MEMBERS),
      ended: k.ended.slice(0, GROUP_MAX_MEMBERS),
    };
  }

  /** Distinct pages of object `key` written since the start. */
  soFar(key: string): number {
    return (this.objectSoFar.get(key) ?? []).reduce((n, [a, b]) => n + b - a, 0);
  }
}

/** Sorted, merged [first, end) ranges. */
export function mergeRanges(ranges: Array<[number, number]>): Array<[number, number]> {
  const sorted = ranges.filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  const out: Array<[number, number]> = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}
