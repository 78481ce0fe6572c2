/**
 * A GroupScan (core/proc/group-scan.ts) as the protocol's answer (protocol/group.ts): plain
 * data, lists bounded (GROUP_MAX_MEMBERS members, GROUP_MAX_OBJECTS objects, the rest counted),
 * figures in pages with the page size. Pure.
 */
import { PAGE_SIZE } from '../kernel/pagemap-abi.ts';
import type { GroupScan } from '../proc/group-scan.ts';
import { GROUP_MAX_MEMBERS, GROUP_MAX_OBJECTS, type GroupScanInfo } from '../protocol/group.ts';

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
