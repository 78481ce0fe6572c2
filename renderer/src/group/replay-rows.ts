/**
 * What the group view shows of a group recording (format version 3, protocol/group.ts
 * GroupRecordingInfo) at one tick: each member's written pages (own and shared) in that tick,
 * and each shared object written in it once, with the object pages written (the union of every
 * member's writes: a page two members wrote counts once), the distinct pages written from the
 * first tick up to this one, and each member's pages and proportional share. Pure, so the words
 * and numbers are tested without a browser.
 *
 * Exact: the pages are the recording's counted pages; "so far" is the union of the ticks' written
 * ranges (merged as intervals, never page by page, so a wide range costs nothing more).
 */
import type { GroupRecordingInfo } from '../../../core/protocol/messages.ts';
import { processTree } from '../process-tree.ts';
import { fmt } from '../theme.ts';
import { pagesText, shareText } from './group-rows.ts';

/** Pages covered by half-open [first, end) ranges, each page once however often it appears. */
export function unionPages(ranges: ReadonlyArray<readonly [number, number]>): number {
  const sorted = ranges.filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  let total = 0;
  let start = -1;
  let end = -1;
  for (const [a, b] of sorted) {
    if (a > end) {
      total += end - start;
      start = a;
      end = b;
    } else if (b > end) end = b;
  }
  return total + (end - start);
}

/** "tick 3 of 12, 0.6 s after the start" */
export function tickText(info: GroupRecordingInfo, index: number): string {
  const t = info.ticks[index];
  return (
    `tick ${fmt.format(index + 1)} of ${fmt.format(info.ticks.length)}, ` +
    `${(t.t / 1000).toFixed(1)} s after the start`
  );
}

/** The banner under the heading: what was recorded, and whether it is whole. */
export function replaySummary(info: GroupRecordingInfo): string {
  const parts = [
    `${info.describe}, recorded ${info.createdAt}, a tick every ${fmt.format(info.intervalMs)} ms, watching ${info.watching}.`,
  ];
  if (info.truncated) parts.push(`Cut short: ${info.truncated}.`);
  else if (!info.endedCleanly) parts.push('The recorder did not close the file (it was stopped).');
  if (info.moreTicks > 0)
    parts.push(`${fmt.format(info.moreTicks)} later ticks are not shown (too many to load).`);
  return parts.join(' ');
}

export interface ReplayMemberRow {
  pid: number;
  ppid: number | null;
  name: string;
  depth: number;
  written: string;
  own: string;
  shared: string;
}

/** Members of tick `index`, under their parent (from the header; a member that joined later is a root). */
export function replayMemberRows(info: GroupRecordingInfo, index: number): ReplayMemberRow[] {
  const ppids = new Map(info.members.map((m) => [m.pid, m.ppid]));
  const t = info.ticks[index];
  const tree = processTree(t.members.map((m) => ({ ...m, ppid: ppids.get(m.pid) })));
  return tree.map(({ process: m, depth }) => ({
    pid: m.pid,
    ppid: m.ppid ?? null,
    name: m.name,
    depth,
    written: pagesText(m.writtenPages, info.pageSize),
    own: pagesText(m.privatePages, info.pageSize),
    shared: pagesText(m.sharedPages, info.pageSize),
  }));
}

export interface ReplayShareRow {
  pid: number;
  text: string;
}

export interface ReplayObjectRow {
  key: string;
  label: string;
  what: string;
  /** Object pages written in this tick, each once whoever wrote it. */
  written: number;
  writtenText: string;
  /** Distinct object pages written from the first tick to this one. */
  soFar: number;
  soFarText: string;
  shares: ReplayShareRow[];
}

/** The shared objects written in tick `index`, most written first, each member's share. */
export function replayObjectRows(info: GroupRecordingInfo, index: number): ReplayObjectRow[] {
  const t = info.ticks[index];
  const names = new Map<number, string>(info.members.map((m) => [m.pid, m.name]));
  for (let i = 0; i <= index; i++) for (const m of info.ticks[i].members) names.set(m.pid, m.name);
  return t.objects
    .map((o) => {
      const upTo: Array<[number, number]> = [];
      for (let i = 0; i <= index; i++)
        for (const p of info.ticks[i].objects) if (p.key === o.key) upTo.push(...p.ranges);
      const written = unionPages(o.ranges);
      const soFar = unionPages(upTo);
      return {
        key: o.key,
        label: o.label,
        what: `${o.kind}, ${o.identity}`,
        written,
        writtenText: pagesText(written, info.pageSize),
        soFar,
        soFarText: pagesText(soFar, info.pageSize),
        shares: [...o.shares]
          .sort((a, b) => b.share - a.share || a.pid - b.pid)
          .map((s) => ({
            pid: s.pid,
            text:
              `${names.get(s.pid) ?? '?'} (pid ${s.pid}): wrote ${fmt.format(s.pages)} ` +
              `${s.pages === 1 ? 'page' : 'pages'}, share ${shareText(s.share)}`,
          })),
      };
    })
    .sort((a, b) => b.written - a.written || a.label.localeCompare(b.label));
}

/** Joins, exits and execs in tick `index`, as one line, or null. */
export function changesText(info: GroupRecordingInfo, index: number): string | null {
  const t = info.ticks[index];
  const list = (xs: Array<{ pid: number; name: string }>) =>
    xs.map((x) => `${x.name} (pid ${x.pid})`).join(', ');
  const parts: string[] = [];
  if (t.joined.length) parts.push(`joined: ${list(t.joined)}`);
  if (t.left.length) parts.push(`left: ${list(t.left)}`);
  if (t.execd.length) parts.push(`executed another program: ${list(t.execd)}`);
  return parts.length ? `${parts.join('; ')}.` : null;
}
