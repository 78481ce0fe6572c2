/**
 * What the exporter watches: target specs and the processes they match now.
 *
 * A spec is one of `pid:N`, `comm:REGEX` (the kernel's command name, 15 characters at most,
 * matched whole) or `cgroup:PATH` (a cgroup v2 path as /proc/PID/cgroup shows it, e.g.
 * /system.slice/redis.service, or that folder under the cgroup2 mount: each process in it or in
 * a folder below it, watched singly; group sessions are another issue). The cgroup2 mount is
 * found in /proc/self/mountinfo (/sys/fs/cgroup on a unified host, /sys/fs/cgroup/unified on a
 * hybrid one).
 * The spec's text is also its `target` label, so a series says which line asked for it.
 *
 * Matching is a fresh look at /proc (or the cgroup's cgroup.procs) each time it is asked: the
 * exporter calls it every rescan, so a restarted service (a new pid with the same comm, or a new
 * process in the same cgroup) is picked up by the next look. Never matched: the exporter itself
 * and its own children (the short-lived attach helpers), kernel threads, zombies.
 */
import fs from 'node:fs';
import nodePath from 'node:path';
import { PagescopeError } from '../kernel/errors.ts';
import { PF_KTHREAD } from '../proc/processes.ts';
import { readStat } from '../proc/stat.ts';

export type TargetSpec =
  | { kind: 'pid'; text: string; pid: number }
  | { kind: 'comm'; text: string; pattern: RegExp }
  | { kind: 'cgroup'; text: string; dir: string };

/** Where cgroup v2 is mounted (the first cgroup2 mount), /sys/fs/cgroup when none is found. */
export function cgroupRoot(): string {
  try {
    for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const [mount, fsPart] = line.split(' - ');
      if (fsPart?.startsWith('cgroup2 ')) return mount.split(' ')[4];
    }
  } catch {
    // no /proc: the default below
  }
  return '/sys/fs/cgroup';
}

const bad = (why: string): never => {
  throw new PagescopeError(why, 'bad-input');
};

/** One spec from its text (`pid:N`, `comm:REGEX`, `cgroup:PATH`); a one-sentence error if bad. */
export function parseTarget(text: string, root?: string): TargetSpec {
  const t = text.trim();
  const colon = t.indexOf(':');
  const kind = colon > 0 ? t.slice(0, colon) : '';
  const value = colon > 0 ? t.slice(colon + 1) : '';
  if (kind === 'pid') return pidTarget(value);
  if (kind === 'comm') return commTarget(value);
  if (kind === 'cgroup') return cgroupTarget(value, root);
  return bad(
    `"${t}" is not a target: write pid:PID, comm:PATTERN or cgroup:PATH (one per line in a --targets file).`,
  );
}

export function pidTarget(value: string): TargetSpec {
  const v = value.trim();
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 4_194_304)
    bad(`--pid must be a process id (a whole number from 1 to 4194304), not "${value}".`);
  return { kind: 'pid', text: `pid:${Number(v)}`, pid: Number(v) };
}

export function commTarget(value: string): TargetSpec {
  const v = value.trim();
  if (v === '')
    bad('--comm needs a pattern (a regular expression matched against the whole command name).');
  let pattern: RegExp;
  try {
    pattern = new RegExp(`^(?:${v})$`);
  } catch (err) {
    return bad(`--comm "${v}" is not a regular expression: ${(err as Error).message}.`);
  }
  return { kind: 'comm', text: `comm:${v}`, pattern };
}

export function cgroupTarget(value: string, root = cgroupRoot()): TargetSpec {
  const v = value.trim();
  if (v === '') bad('--cgroup needs a path (e.g. /system.slice/redis.service).');
  const dir = nodePath.resolve(v.startsWith(root + '/') || v === root ? v : nodePath.join(root, v));
  if (dir !== root && !dir.startsWith(root + '/')) bad(`--cgroup "${v}" lies outside ${root}.`);
  return { kind: 'cgroup', text: `cgroup:${dir.slice(root.length) || '/'}`, dir };
}

/**
 * A --targets file: one spec a line, `#` starts a comment, blank lines skipped. A bad line is an
 * error naming the file and the line (the caller keeps the list it had).
 */
export function parseTargetsFile(file: string): TargetSpec[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    return bad(
      `Cannot read the targets file ${JSON.stringify(file)} (${(err as NodeJS.ErrnoException).code ?? 'error'}).`,
    );
  }
  const out: TargetSpec[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) return;
    try {
      out.push(parseTarget(line));
    } catch (err) {
      bad(`${file} line ${i + 1}: ${(err as Error).message}`);
    }
  });
  return dedupe(out);
}

/** The specs without repeats (same text), in their first order. */
export function dedupe(specs: TargetSpec[]): TargetSpec[] {
  const seen = new Set<string>();
  return specs.filter((s) => !seen.has(s.text) && seen.add(s.text));
}

/** What the exporter needs to know of a process it may watch. */
export interface ProcFacts {
  pid: number;
  /** /proc/PID/stat field 22 (clock ticks since boot): tells a restarted pid from the old one. */
  startTime: number;
  ppid: number;
  comm: string;
  state: string;
  kernelThread: boolean;
}

/** One process's facts from /proc/PID/stat, or null when it is gone or unreadable. */
export function procFacts(pid: number): ProcFacts | null {
  const stat = readStat(pid);
  if (!stat) return null;
  const { comm, fields: f } = stat;
  return {
    pid,
    comm,
    state: f[0],
    ppid: Number(f[1]),
    kernelThread: (Number(f[6]) & PF_KTHREAD) !== 0,
    startTime: Number(f[19]),
  };
}

/** The cgroup v2 path of a process ('/system.slice/x.service'), '' when unknown. */
export function cgroupOf(pid: number): string {
  try {
    const text = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8');
    return /^0::(.*)$/m.exec(text)?.[1] ?? '';
  } catch {
    return '';
  }
}

function cgroupPids(dir: string, out: Set<number>, depth = 0): void {
  let procs: string;
  try {
    procs = fs.readFileSync(nodePath.join(dir, 'cgroup.procs'), 'utf8');
  } catch {
    return; // gone, or not a cgroup folder: matches nothing (said by the target's gauge)
  }
  for (const l of procs.split('\n')) if (/^\d+$/.test(l)) out.add(Number(l));
  if (depth > 32) return;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries)
    if (e.isDirectory()) cgroupPids(nodePath.join(dir, e.name), out, depth + 1);
}

/** Whether the exporter may watch this process at all (not itself, its children, a kernel thread). */
function watchable(p: ProcFacts | null, self: number): p is ProcFacts {
  return (
    p !== null &&
    p.pid !== self &&
    p.ppid !== self &&
    !p.kernelThread &&
    p.state !== 'Z' &&
    p.state !== 'X'
  );
}

/**
 * The processes each spec matches now: spec text -> facts by pid. One readdir of /proc serves
 * every comm spec. `self`: the exporter's pid (never matched, nor its children).
 */
export function matchTargets(
  specs: readonly TargetSpec[],
  self = process.pid,
): Map<string, ProcFacts[]> {
  const out = new Map<string, ProcFacts[]>();
  let all: ProcFacts[] | null = null;
  const everyProcess = (): ProcFacts[] => {
    if (all) return all;
    all = [];
    for (const e of fs.readdirSync('/proc'))
      if (/^\d+$/.test(e)) {
        const p = procFacts(Number(e));
        if (watchable(p, self)) all.push(p);
      }
    return all;
  };
  for (const s of specs) {
    if (s.kind === 'pid') {
      const p = procFacts(s.pid);
      out.set(s.text, watchable(p, self) ? [p] : []);
    } else if (s.kind === 'comm') {
      out.set(
        s.text,
        everyProcess().filter((p) => s.pattern.test(p.comm)),
      );
    } else {
      const pids = new Set<number>();
      cgroupPids(s.dir, pids);
      const found: ProcFacts[] = [];
      for (const pid of [...pids].sort((a, b) => a - b)) {
        const p = procFacts(pid);
        if (watchable(p, self)) found.push(p);
      }
      out.set(s.text, found);
    }
  }
  return out;
}
