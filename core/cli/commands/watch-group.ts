/**
 * `pagescope watch --tree PID | --cgroup PATH | --pids A,B,...`: which pages a group of processes
 * writes, tick by tick, per member and per shared object.
 *
 *   pagescope watch (--tree PID | --cgroup PATH | --pids LIST) [--writable | --shared | --vma NAME]
 *                   [--interval MS] [--ticks N] [--json [--all-ranges]] [--max-overhead PCT] [--force]
 *
 * The watch is core/watch/group-watch.ts: one watch per member (the same driver as a single
 * watch), members that start, exec and exit followed, and a shared object (shmem, memfd, SysV,
 * a MAP_SHARED file) shown once: its written pages are the union of every member's writes, with
 * each member's pages and proportional share. What is watched in each member: every writable
 * mapping (--writable, the default), only the writable MAP_SHARED mappings of objects (--shared:
 * cheaper, and what postgres's shared buffers are), or the mappings whose path contains NAME (--vma).
 * --max-overhead PCT holds each member's estimated write-fault cost under PCT of its own CPU
 * time, which keeps the group's under PCT of the group's CPU time (README: "Watching a group").
 * Human output: one block per tick (the group's written pages with each object once, the
 * members' sum, the objects written with their writers, the busiest members, who joined, exec'd,
 * left). --json: a `{"start": true, ...}` line with the members, one line per tick
 * ({tick, t, lagMs, skipped, exact, writtenOnce, writtenSum, estOverheadPct, groupCpuMs,
 * intervalMs, membershipMs, members: [...], objects: [...], joined, execd, left, ended, failed}),
 * and a last `{"done": true, ...}` line. The run ends with Ctrl-C, SIGTERM, --ticks, or when no
 * member is left (a tree or pid list whose processes all exited).
 */
import { PagescopeError } from '../../kernel/errors.ts';
import { PAGE_SIZE } from '../../kernel/pagemap-abi.ts';
import { groupSpec, type Member } from '../../proc/group.ts';
import { pageToHex, type Vma } from '../../proc/maps.ts';
import { isSharedMapping } from '../../proc/shared-objects.ts';
import type { PageRange } from '../../scan/scanner.ts';
import { faultCost } from '../../watch/overhead.ts';
import { GroupWatch, type GroupTick } from '../../watch/group-watch.ts';
import type { ObjectWrites } from '../../watch/group-writes.ts';
import type { TickTiming } from '../../watch/ticker.ts';
import type { VmaWatchState } from '../../watch/watcher.ts';
import { parseMaxOverhead } from '../args.ts';
import { count, formatBytes } from '../format.ts';
import { out as print } from '../output.ts';
import { onStopSignals } from '../signals.ts';
import { isWritableMapping, vmaByName } from '../vma-choice.ts';
import { parsePids } from './scan.ts';
import { JSON_RANGE_CAP, lateNote, overheadNote, type WatchCommandOptions } from './watch.ts';

export interface GroupWatchCommandOptions extends WatchCommandOptions {
  tree?: string;
  cgroup?: string;
  pids?: string;
  shared?: boolean;
}

/** Whether the options name a group (then watchCommand hands over to groupWatchCommand). */
export function namesGroup(o: GroupWatchCommandOptions): boolean {
  return o.tree !== undefined || o.cgroup !== undefined || o.pids !== undefined;
}

export function parseWhole(text: string, what: string, min: number, max: number): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < min || Number(text) > max)
    throw new PagescopeError(
      `${what} must be a whole number from ${min} to ${max}, not "${text}".`,
      'bad-input',
    );
  return Number(text);
}

/** The group the options name (--tree, --cgroup or --pids). */
export function groupSpecOf(o: GroupWatchCommandOptions): ReturnType<typeof groupSpec> {
  return groupSpec({ tree: o.tree, cgroup: o.cgroup, pids: parsePids(o.pids) });
}

/**
 * What a group command (watch or record of --tree, --cgroup or --pids) checks first and reads
 * from its options: nothing of one process (--pid, a command, addresses, --who), then `own`, the
 * command's own checks, then what to watch in each member, the interval and --ticks.
 */
export function groupOptions(
  command: string[],
  o: GroupWatchCommandOptions & { demo?: boolean },
  c: {
    verb: 'watched' | 'recorded';
    /** The option that names addresses of one process (--range, --watch) and what it got. */
    ranges: [string, string[] | undefined];
    /** The interval's bounds in ms. */
    interval: [number, number];
    own: () => void;
  },
): { sel: ReturnType<typeof memberSelector>; intervalMs: number; maxTicks: number } {
  if (!namesGroup(o))
    throw new PagescopeError(
      '--shared goes with a group: --tree PID, --cgroup PATH or --pids LIST.',
      'bad-input',
    );
  const recording = c.verb === 'recorded';
  if (command.length > 0 || o.pid !== undefined || (recording && o.demo))
    throw new PagescopeError(
      `A group (--tree, --cgroup or --pids) is ${c.verb} by itself: ` +
        (recording ? 'give no --pid, --demo or command.' : 'give no --pid and no command.'),
      'bad-input',
    );
  const [rangesFlag, ranges] = c.ranges;
  if (ranges?.length)
    throw new PagescopeError(
      `${rangesFlag} names addresses of one process; in a group use --writable, --shared or --vma NAME.`,
      'bad-input',
    );
  if (o.who)
    throw new PagescopeError(
      `--who ${recording ? 'records' : 'names'} the writers of one process (--pid), not of a group.`,
      'bad-input',
    );
  c.own();
  const sel = memberSelector(o);
  const intervalMs = parseWhole(o.interval ?? '500', '--interval (ms)', ...c.interval);
  const maxTicks = o.ticks !== undefined ? parseWhole(o.ticks, '--ticks', 1, 1e9) : Infinity;
  return { sel, intervalMs, maxTicks };
}

export function memberSelector(o: GroupWatchCommandOptions): {
  select: (vmas: Vma[]) => PageRange[];
  what: string;
} {
  const chosen = [o.vma !== undefined, o.writable === true, o.shared === true].filter(Boolean);
  if (chosen.length > 1)
    throw new PagescopeError('Choose one of --vma, --writable and --shared.', 'bad-input');
  const pages = (v: Vma): PageRange => ({ startPage: v.startPage, endPage: v.endPage });
  if (o.vma !== undefined) {
    const { matches, byIndex } = vmaByName(o.vma);
    if (byIndex)
      throw new PagescopeError(
        'In a group --vma takes a name (VMA indexes differ from process to process).',
        'bad-input',
      );
    return {
      select: (vmas) => vmas.filter(matches).map(pages),
      what: `the mappings named ${JSON.stringify(o.vma)}`,
    };
  }
  if (o.shared)
    return {
      // Writable ones: a read-only shared mapping (a locale cache) cannot be written anyway.
      select: (vmas) => vmas.filter((v) => isSharedMapping(v) && v.perms[1] === 'w').map(pages),
      what: 'the shared mappings',
    };
  return {
    select: (vmas) => vmas.filter(isWritableMapping).map(pages),
    what: 'the writable mappings',
  };
}

const round2 = (n: number): number => Math.round(n * 100) / 100;
const who = (m: Pick<Member, 'pid' | 'name'>): string => `${m.pid} ${m.name}`;

function objectJson(o: ObjectWrites, cap: number): Record<string, unknown> {
  return {
    key: o.key,
    kind: o.kind,
    label: o.label,
    identity: o.identity,
    writtenPages: o.writtenPages,
    ranges: o.ranges.slice(0, cap),
    moreRanges: Math.max(0, o.ranges.length - cap),
    shares: o.shares.map((s) => ({ pid: s.pid, pages: s.pages, share: round2(s.share) })),
  };
}

function tickJson(
  n: number,
  t: number,
  timing: TickTiming,
  k: GroupTick,
  cap: number,
): Record<string, unknown> {
  const brief = (m: Member): Record<string, unknown> => ({ pid: m.pid, name: m.name });
  return {
    tick: n,
    t,
    lagMs: timing.lagMs,
    skipped: timing.skipped,
    intervalMs: timing.intervalMs,
    exact: k.exact,
    writtenOnce: k.writes.writtenOnce,
    writtenSum: k.writes.writtenSum,
    estOverheadPct: k.estOverheadPct >= 0 ? round2(k.estOverheadPct) : null,
    groupCpuMs: k.groupCpuMs >= 0 ? round2(k.groupCpuMs) : null,
    membershipMs: round2(k.membershipMs),
    members: k.members.map((m) => ({
      pid: m.pid,
      name: m.name,
      writtenPages: m.writtenPages,
      privatePages: m.privatePages,
      sharedPages: m.sharedPages,
      exact: m.figures.sampleFraction === 1,
      sampleFraction: m.figures.sampleFraction,
      writtenEst: m.figures.writtenEst,
      writtenErr: m.figures.writtenErr >= 0 ? m.figures.writtenErr : null,
      estOverheadPct: round2(m.figures.estOverheadPct),
      targetCpuMs: m.figures.targetCpuMs >= 0 ? round2(m.figures.targetCpuMs) : null,
      ...(m.targetState === 'stopped' ? { stopped: true } : {}),
    })),
    objects: k.writes.objects.map((o) => objectJson(o, cap)),
    joined: k.joined.map(brief),
    execd: k.execd.map(brief),
    left: k.left.map(brief),
    ended: k.ended,
    failed: k.failed,
  };
}

/** "12,3 pages (48 KiB)" */
const pagesText = (n: number): string => `${count(n, 'page')} (${formatBytes(n * PAGE_SIZE)})`;

function tickText(
  n: number,
  t: number,
  timing: TickTiming,
  k: GroupTick,
  interval: number,
): string {
  const names = new Map(k.members.map((m) => [m.pid, m.name]));
  const pct = k.estOverheadPct;
  const lines = [
    `tick ${n}  +${t} ms  written ${pagesText(k.writes.writtenOnce)} with each shared object once` +
      ` (${count(k.writes.writtenSum, 'page')} summed over ${count(k.members.length, 'member')})` +
      (k.exact ? '' : '  (some members sampled: counts seen, not all)') +
      (pct >= 0
        ? overheadNote({ estOverheadPct: pct }).replace('its CPU', "the group's CPU")
        : '') +
      lateNote(timing, interval),
  ];
  for (const o of k.writes.objects.slice(0, 5)) {
    const writers = o.shares
      .slice(0, 3)
      .map((s) => `${s.pid} ${names.get(s.pid) ?? ''} ${s.pages}`.replace('  ', ' '))
      .join(', ');
    const more = o.shares.length > 3 ? `, +${o.shares.length - 3} more` : '';
    lines.push(
      `  ${o.label} (${o.identity}): ${count(o.writtenPages, 'page')} written by ${count(o.shares.length, 'member')}: ${writers}${more}`,
    );
  }
  if (k.writes.objects.length > 5)
    lines.push(`  +${count(k.writes.objects.length - 5, 'more shared object')} written`);
  const busy = k.members
    .filter((m) => m.writtenPages > 0)
    .sort((a, b) => b.writtenPages - a.writtenPages);
  if (busy.length)
    lines.push(
      `  members: ${busy
        .slice(0, 5)
        .map(
          (m) => `${who(m)} ${m.writtenPages}${m.privatePages ? ` (own ${m.privatePages})` : ''}`,
        )
        .join(', ')}${busy.length > 5 ? `, +${busy.length - 5} more` : ''}`,
    );
  const changes = [
    k.joined.length ? `joined ${k.joined.map(who).join(', ')}` : '',
    k.execd.length ? `executed a new program ${k.execd.map(who).join(', ')}` : '',
    k.left.length ? `left ${k.left.map(who).join(', ')}` : '',
  ].filter(Boolean);
  if (changes.length) lines.push(`  ${changes.join('; ')}`);
  for (const f of k.failed) lines.push(`  not watching ${who(f)}: ${f.why}.`);
  return lines.join('\n') + '\n';
}

export async function groupWatchCommand(
  command: string[],
  options: GroupWatchCommandOptions,
): Promise<number> {
  const { sel, intervalMs, maxTicks } = groupOptions(command, options, {
    verb: 'watched',
    ranges: ['--range', options.range],
    interval: [10, 3_600_000],
    own: () => {
      if (options.allRanges && !options.json)
        throw new PagescopeError('--all-ranges goes with --json.', 'bad-input');
    },
  });
  const maxOverheadPct =
    options.maxOverhead !== undefined ? parseMaxOverhead(options.maxOverhead) : null;
  const json = options.json === true;
  const cap = options.allRanges ? Infinity : JSON_RANGE_CAP;
  const spec = groupSpecOf(options);
  const note = (s: string): void => {
    process.stderr.write(`pagescope: ${s}\n`);
  };

  const stop = onStopSignals({ output: true });

  let mappingNote = false;
  // Members share libraries and objects: each refusal is said once, for the first member.
  const said = new Set<string>();
  // Pieces said refused for another userfaultfd (EBUSY), by member and range: the ticks retry
  // them, and one line says when one is watched after all (a pagescope that was still exiting).
  const saidBusy = new Set<string>();
  const place = (s: VmaWatchState, m: Member): string =>
    `${s.path || 'anonymous memory'} at 0x${pageToHex(s.startPage)}-0x${pageToHex(s.endPage)} in ${who(m)}`;
  const onAppeared = (m: Member, states: VmaWatchState[]): void => {
    for (const s of states)
      if (s.status === 'watched' && saidBusy.delete(`${m.pid}|${s.startPage}-${s.endPage}`))
        note(
          `now watching ${place(s, m)}: the other userfaultfd let go of it; its writes count from now.`,
        );
  };
  const onArmed = (m: Member, states: VmaWatchState[]): void => {
    for (const s of states) {
      const r = s.refusal;
      if (s.status !== 'refused' || !r || r.code === 'no-access') continue;
      if (said.has(`${s.path}|${s.reason}`)) continue;
      said.add(`${s.path}|${s.reason}`);
      if (r.code === 'other-userfaultfd') saidBusy.add(`${m.pid}|${s.startPage}-${s.endPage}`);
      if (r.code === 'mapping-changed') {
        if (!mappingNote)
          note(
            `some mappings of ${who(m)} changed while they were being registered; the next tick picks them up.`,
          );
        mappingNote = true;
        continue;
      }
      note(`not watching ${place(s, m)}: ${s.reason}.`);
    }
  };
  const gw = new GroupWatch({
    spec,
    select: sel.select,
    intervalMs,
    force: options.force,
    maxOverheadPct,
    onArmed,
    onAppeared,
  });
  let ticks = 0;
  let failure: unknown = null;
  try {
    const started = gw.start();
    const members = gw.members();
    const watchedPages = members.reduce((n, m) => n + m.watchedPages, 0);
    if (json)
      print(
        JSON.stringify({
          start: true,
          group: gw.describe(),
          watching: sel.what,
          intervalMs,
          maxOverheadPct,
          members: members.map((m) => ({
            pid: m.member.pid,
            ppid: m.member.ppid,
            name: m.member.name,
            watchedPages: m.watchedPages,
          })),
          failed: started.failed,
        }) + '\n',
      );
    else {
      print(
        `watching the ${gw.describe()}: ${count(members.length, 'member')}, ${sel.what}, ${pagesText(watchedPages)} in all, every ${intervalMs} ms.\n` +
          `each shared object (shared anonymous memory, memfd, SysV, shared file pages) is counted once: its written pages are every member's writes together.\n` +
          `being watched costs each member about ${faultCost().usPerFault.toFixed(2)} us per first write to a page per tick` +
          (maxOverheadPct !== null
            ? `; each member's estimated cost is kept under ${maxOverheadPct}% of its own CPU time, so the group's is under ${maxOverheadPct}% of the group's.\n`
            : '.\n'),
      );
      for (const f of started.failed) note(`not watching ${who(f)}: ${f.why}.`);
    }
    const t0 = gw.elapsedMs();
    if (!stop.reason)
      await stop.wait(() =>
        gw.run((timing) => {
          if (stop.reason) return;
          let k: GroupTick;
          try {
            k = gw.tick();
          } catch (err) {
            failure = err;
            stop.stop('failed');
            return;
          }
          ticks++;
          const t = Math.round(gw.elapsedMs() - t0);
          print(
            json
              ? JSON.stringify(tickJson(ticks, t, timing, k, cap)) + '\n'
              : tickText(ticks, t, timing, k, intervalMs),
          );
          if (gw.empty && spec.kind !== 'cgroup')
            stop.stop(`every member of the ${gw.describe()} has exited`);
          else if (ticks >= maxTicks) stop.wake();
        }),
      );
  } finally {
    stop.off();
    gw.close();
  }
  if (failure) throw failure;
  const reason = stop.reason ?? `${count(ticks, 'tick')} done`;
  if (json)
    print(
      JSON.stringify({
        done: true,
        reason,
        ticks,
        faultCostUs: round2(faultCost().usPerFault),
      }) + '\n',
    );
  else print(`done: ${reason} after ${count(ticks, 'tick')}; every member was released.\n`);
  return 0;
}
