/**
 * What the live group view shows of a group write watch (protocol/group.ts watchGroup and its
 * groupTick events): per member the pages it wrote in the last tick and its ticks added up; per
 * shared object the pages written in the last tick (the union of every member's writes, each
 * page once) with each writer's pages and share, and the distinct pages written since the watch
 * started. Pure, so the words and numbers are tested without a browser.
 *
 * Exact unless said: a member whose writes were sampled (not the UI's watch, which never bounds
 * its cost, but a host may) shows "≈ N pages (estimate; M seen)"; the cost is always an estimate
 * and says so.
 */
import type { GroupWatchStart, GroupWatchTick } from '../../../core/protocol/messages.ts';
import { fmt } from '../theme.ts';
import { pagesText, shareText } from './group-rows.ts';
import type { ShareItem } from './SharedObjectsTable.tsx';

/** Members that could not be watched, kept (the first ones: a cgroup may have hundreds). */
export const MAX_FAILED = 50;

export interface GroupWatchView {
  /** Null while the host has not answered yet. */
  watchId: number | null;
  state: 'starting' | 'watching' | 'stopping' | 'stopped';
  start: GroupWatchStart | null;
  last: GroupWatchTick | null;
  /** Every object written since the start: its names and distinct pages written so far. */
  objects: Record<
    string,
    {
      label: string;
      kind: string;
      identity: string;
      soFar: number;
      sharesSoFar: GroupWatchTick['objects'][number]['sharesSoFar'];
    }
  >;
  /** Members not watched, with why (at the start and as they joined). */
  failed: Array<{ pid: number; name: string; why: string }>;
  /** Why the watch stopped by itself, or why it could not start; null while it runs. */
  ended: string | null;
}

export function startingWatch(): GroupWatchView {
  return {
    watchId: null,
    state: 'starting',
    start: null,
    last: null,
    objects: {},
    failed: [],
    ended: null,
  };
}

export function startedWatch(w: GroupWatchView, start: GroupWatchStart): GroupWatchView {
  return {
    ...w,
    watchId: start.watchId,
    state: 'watching',
    start,
    failed: start.failed.slice(0, MAX_FAILED),
  };
}

/** The view after one tick. */
export function applyTick(w: GroupWatchView, tick: GroupWatchTick): GroupWatchView {
  const objects = { ...w.objects };
  for (const o of tick.objects)
    objects[o.key] = {
      label: o.label,
      kind: o.kind,
      identity: o.identity,
      soFar: o.writtenSoFar,
      sharesSoFar: o.sharesSoFar,
    };
  const failed = [...w.failed, ...tick.failed].slice(0, MAX_FAILED);
  return { ...w, last: tick, objects, failed };
}

/** "Not watching python3 (pid 12): it is a kernel thread." — one sentence each. */
export function failedLines(w: GroupWatchView): string[] {
  return w.failed.map((f) => `Not watching ${f.name} (pid ${f.pid}): ${f.why.replace(/\.$/, '')}.`);
}

function written(pages: number, pageSize: number, exact: boolean, est: number): string {
  if (exact) return pagesText(pages, pageSize);
  return `≈ ${fmt.format(Math.round(est))} pages (estimate; ${fmt.format(pages)} seen)`;
}

/** A member's "written" cells: this tick and the ticks added up; null when nothing is watched. */
export function memberWritten(
  w: GroupWatchView | null,
  pid: number,
  pageSize: number,
): { tick: string; total: string } | null {
  if (!w?.start) return null;
  const m = w.last?.members.find((x) => x.pid === pid);
  if (!m) {
    const failed = w.failed.some((f) => f.pid === pid);
    const none = failed ? 'not watched' : w.last ? 'not watched (yet)' : 'no tick yet';
    return { tick: none, total: '—' };
  }
  return {
    tick: written(m.writtenPages, pageSize, m.exact, m.writtenEst),
    total: pagesText(m.writtenTotal, pageSize),
  };
}

export interface ObjectWritten {
  /** Union of the members' writes in the last tick. */
  tick: string;
  /** Distinct pages since the start. */
  soFar: string;
  /** Each writer's pages and share since the start, the ticks' added up. */
  sharesSoFar: ShareItem[];
  /** The last tick's writers, most pages first. */
  shares: ShareItem[];
}

/** An object's "written" cells, or null when nothing is watched. */
export function objectWritten(
  w: GroupWatchView | null,
  key: string,
  pageSize: number,
  names: ReadonlyMap<number, string>,
): ObjectWritten | null {
  if (!w?.start) return null;
  const o = w.last?.objects.find((x) => x.key === key);
  const soFar = w.objects[key]?.soFar ?? 0;
  const nameOf = (pid: number): string =>
    names.get(pid) ?? w.last?.members.find((m) => m.pid === pid)?.name ?? '?';
  const shareItem = (s: { pid: number; pages: number; share: number }): ShareItem => ({
    pid: s.pid,
    text:
      `${nameOf(s.pid)} (pid ${s.pid}): wrote ${fmt.format(s.pages)} ` +
      `${s.pages === 1 ? 'page' : 'pages'}, share ${shareText(s.share)}`,
  });
  return {
    tick: pagesText(o?.writtenPages ?? 0, pageSize),
    soFar: pagesText(soFar, pageSize),
    shares: (o?.shares ?? []).map(shareItem),
    sharesSoFar: (w.objects[key]?.sharesSoFar ?? []).map(shareItem),
  };
}

/** Objects written since the start that the last scan does not list (keys not in `listed`). */
export function unlistedObjects(
  w: GroupWatchView | null,
  listed: ReadonlySet<string>,
): Array<{ key: string; label: string; what: string }> {
  if (!w) return [];
  return Object.entries(w.objects)
    .filter(([key]) => !listed.has(key))
    .map(([key, o]) => ({ key, label: o.label, what: `${o.kind}, ${o.identity}` }));
}

/** The line under the buttons while watching. */
export function watchSummary(w: GroupWatchView, pageSize: number): string {
  if (w.state === 'starting') return 'Attaching to every member…';
  const s = w.start;
  const head = s
    ? `Watching ${s.watching} of ${fmt.format(s.members.length)} ${s.members.length === 1 ? 'member' : 'members'}, a tick every ${fmt.format(s.intervalMs)} ms.`
    : '';
  const k = w.last;
  if (!k) return `${head} No tick yet.`.trim();
  let line =
    `${head} Tick ${fmt.format(k.tick)}: ${pagesText(k.writtenOnce, pageSize)} written with each ` +
    `shared object once (${pagesText(k.writtenSum, pageSize)} added up over the members).`;
  if (!k.exact) line += ' Some members were sampled: their figures are estimates.';
  if (k.estOverheadPct !== null)
    line +=
      ` Estimated cost: about ${k.estOverheadPct < 0.1 ? '< 0.1' : k.estOverheadPct.toFixed(1)}%` +
      ` of the members’ CPU time (an estimate: their write faults times a measured cost per fault).`;
  return line;
}
