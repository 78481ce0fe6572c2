/**
 * What the group view shows, from one scanGroup answer (protocol/group.ts): the members in tree
 * order, and each shared object once with its figures, each saying where it came from, and every
 * member's share. Pure, so the words and numbers are tested without a browser.
 *
 * Numbers shown as exact are exact: pages are counted pages, sizes are pages x the page size in
 * KiB (whole numbers); a proportional share that is not a whole or half number is shown with
 * "≈" and two decimals. A figure the source cannot give ("resident" from smaps) says so.
 */
import type {
  GroupMemberInfo,
  GroupObjectInfo,
  GroupScanInfo,
  GroupSpecParams,
} from '../../../core/protocol/messages.ts';
import { processTree } from '../process-tree.ts';
import { fmt } from '../theme.ts';

/** Quickest refresh of an open group view, and the slowest. */
export const REFRESH_MIN_MS = 2000;
export const REFRESH_MAX_MS = 30_000;

/** Waits between scans: at least 2 s, and at least 5x the last scan so a big group costs ≤ 20%. */
export function refreshDelay(scanMs: number): number {
  return Math.min(REFRESH_MAX_MS, Math.max(REFRESH_MIN_MS, Math.ceil(scanMs * 5)));
}

/** "16 pages (64 KiB)": exact. */
export function pagesText(pages: number, pageSize: number): string {
  const kib = (pages * pageSize) / 1024;
  const size =
    kib >= 1024 * 1024 && kib % 1024 === 0
      ? `${fmt.format(kib / 1024)} MiB`
      : `${fmt.format(kib)} KiB`;
  return `${fmt.format(pages)} ${pages === 1 ? 'page' : 'pages'} (${size})`;
}

/** A share of pages: exact when it is (12, 10.5), else "≈ 3.33". */
export function shareText(share: number): string {
  if (Number.isInteger(share * 2)) return fmt.format(share);
  return `≈ ${share.toFixed(2)}`;
}

/** The group's name as the view's heading says it. */
export function groupTitle(spec: GroupSpecParams): string {
  if (spec.kind === 'tree') return `Tree of pid ${spec.root}`;
  if (spec.kind === 'cgroup') return `Cgroup ${spec.path}`;
  return `Pids ${spec.pids.join(', ')}`;
}

export interface MemberRow {
  member: GroupMemberInfo;
  depth: number;
}

/** Members under their parent (a member whose parent is not in the group is a root). */
export function memberRows(scan: GroupScanInfo): MemberRow[] {
  return processTree(scan.members).map((r) => ({ member: r.process, depth: r.depth }));
}

export interface ShareRow {
  pid: number;
  name: string;
  present: number;
  share: number;
  text: string;
}

/** Members named in one object's "share 0" line; the rest are counted. */
export const ZERO_NAMES = 12;

export interface ObjectRow {
  key: string;
  label: string;
  /** "memfd, inode 1234" */
  what: string;
  size: string;
  /** Resident pages: from the page tables, and from the object when it was read. */
  resident: string;
  swapped: string;
  /** Members with some of its pages present, largest share first. */
  shares: ShareRow[];
  /**
   * Members that map it with none of its pages present, in one line (a cgroup of hundreds maps
   * a segment each process never touched): "0 present, share 0: a (pid 1), b (pid 2)", or null.
   */
  zero: { pids: number[]; text: string } | null;
}

const SOURCES = {
  object: 'from the object',
  smaps: 'from smaps',
} as const;

function residentText(o: GroupObjectInfo, pageSize: number): string {
  const tables = `${pagesText(o.resident, pageSize)} in page tables`;
  const f = o.fromObject;
  if (f?.resident != null)
    return `${tables}; ${pagesText(f.resident, pageSize)} ${SOURCES[f.source]}`;
  return tables;
}

function swappedText(o: GroupObjectInfo, pageSize: number): string {
  const f = o.fromObject;
  if (f) return `${pagesText(f.swapped, pageSize)} ${SOURCES[f.source]}`;
  if (o.kind === 'file') return 'not counted (file pages are not swapped: they are read back)';
  return 'not known (the object could not be read)';
}

/** One row per shared object, its members' shares largest first, those with none in one line. */
export function objectRows(scan: GroupScanInfo): ObjectRow[] {
  const names = new Map(scan.members.map((m) => [m.pid, m.name]));
  const named = (pid: number): string => `${names.get(pid) ?? '?'} (pid ${pid})`;
  return scan.objects.map((o) => {
    const zeros = o.shares.filter((s) => s.present === 0).map((s) => s.pid);
    zeros.sort((a, b) => a - b);
    const more = zeros.length - ZERO_NAMES;
    return {
      key: o.key,
      label: o.label,
      what: `${o.kind}, ${o.identity}`,
      size: pagesText(o.size, scan.pageSize),
      resident: residentText(o, scan.pageSize),
      swapped: swappedText(o, scan.pageSize),
      shares: o.shares
        .filter((s) => s.present > 0)
        .map((s) => ({
          pid: s.pid,
          name: names.get(s.pid) ?? '?',
          present: s.present,
          share: s.share,
          text: `${fmt.format(s.present)} present, share ${shareText(s.share)}`,
        }))
        .sort((a, b) => b.share - a.share || a.pid - b.pid),
      zero: zeros.length
        ? {
            pids: zeros,
            text:
              `0 present, share 0: ${zeros.slice(0, ZERO_NAMES).map(named).join(', ')}` +
              (more > 0 ? ` and ${fmt.format(more)} more` : ''),
          }
        : null,
    };
  });
}

/** The summary line under the heading. */
export function summaryText(scan: GroupScanInfo): string {
  const n = scan.members.length + scan.moreMembers;
  const objects = scan.objects.length + scan.moreObjects;
  return (
    `${fmt.format(n)} ${n === 1 ? 'member' : 'members'}, ${fmt.format(objects)} shared ` +
    `${objects === 1 ? 'object' : 'objects'}. Resident with shared pages counted once: ` +
    `${pagesText(scan.residentOnce, scan.pageSize)} (added up like RSS: ` +
    `${pagesText(scan.residentSum, scan.pageSize)}). Shared memory swapped, from the objects: ` +
    `${pagesText(scan.sharedSwapped, scan.pageSize)}.`
  );
}
