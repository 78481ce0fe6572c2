/**
 * A group of processes as a reading of /proc: a process and its descendants (`--tree PID`), the
 * members of a cgroup (`--cgroup PATH`) or a list of pids. Nothing is attached or traced here.
 *
 * Strategy: a group is re-read on demand (`GroupReader.read()`), and each reading is compared
 * with the last, so a caller follows members that start, exec and exit (postgres forks a backend
 * per connection) as a diff: joined, exec'd, left. A member is known by pid AND start time (a
 * reused pid is a new member), and an exec by its new memory image: the exe link and the
 * addresses where the new image put its arguments and stack (/proc/PID/stat fields 28 and 48,
 * which an exec always sets anew) change, while pid and start time stay.
 *  - Trees are walked through /proc/PID/task/TID/children (one small read per thread of each
 *    member, not a read of every process on the machine); a kernel without CONFIG_PROC_CHILDREN
 *    gets one pass over every /proc/PID/stat for the parent links.
 *  - Cgroups are found wherever they are mounted (/proc/self/mountinfo): cgroup v2 at
 *    /sys/fs/cgroup or at /sys/fs/cgroup/unified on a hybrid machine, and v1 hierarchies. A
 *    cgroup is named by its directory, by its path inside a hierarchy ("/system.slice/x.service"),
 *    by a systemd unit name ("postgresql.service", found by name under the hierarchies) or by a
 *    container id (a directory whose name holds it: docker-<id>.scope, /docker/<id>, libpod-…).
 *    Its members are the processes of it and of every cgroup below it.
 * Processes that exit while being read are skipped, never errors.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PagescopeError } from '../kernel/errors.ts';
import { readStat } from './stat.ts';

export type GroupSpec =
  | { kind: 'tree'; root: number }
  | { kind: 'cgroup'; path: string }
  | { kind: 'pids'; pids: number[] };

export interface Member {
  pid: number;
  ppid: number;
  /** comm (at most 15 characters). */
  name: string;
  /** Clock ticks since boot when it started: with the pid, what identifies a process. */
  startTime: number;
  /** The exe link ('' when unreadable) and where the memory image put argv and the stack. */
  exe: string;
  image: string;
}

export interface GroupDiff {
  joined: Member[];
  /** Same process (pid and start time), a new program. */
  execd: Member[];
  left: Member[];
}

export interface GroupReading {
  members: Member[];
  diff: GroupDiff;
  /** How long the reading took. */
  ms: number;
}

/** Bad input for a group (an unknown cgroup, a pid that is not running): one sentence, exit 2. */
export class GroupError extends PagescopeError {
  constructor(message: string) {
    super(message, 'bad-input');
  }
}

/** Reads one process's stat, or null when it is gone. */
export function readMember(pid: number): Member | null {
  const stat = readStat(pid);
  if (!stat) return null;
  const { comm: name, fields: f } = stat;
  if (f[0] === 'Z' || f[0] === 'X') return null; // a zombie has no memory left to read
  let exe = '';
  try {
    exe = fs.readlinkSync(`/proc/${pid}/exe`);
  } catch {
    // a kernel thread or no permission: the image fields still tell execs apart
  }
  return {
    pid,
    ppid: Number(f[1]),
    name,
    startTime: Number(f[19]),
    exe,
    image: `${f[25]}:${f[45]}`, // startstack, arg_start
  };
}

function childrenOf(pid: number): number[] | null {
  let tasks: string[];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const t of tasks) {
    let text: string;
    try {
      text = fs.readFileSync(`/proc/${pid}/task/${t}/children`, 'latin1');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && t === String(pid)) {
        // The main thread is there but has no children file: no CONFIG_PROC_CHILDREN.
        if (fs.existsSync(`/proc/${pid}/task/${t}/stat`)) return null;
      }
      continue;
    }
    for (const c of text.split(' ')) if (c.trim()) out.push(Number(c));
  }
  return out;
}

/** The pids of a process and all its descendants, the root first (empty when it is gone). */
export function treePids(root: number): number[] {
  if (!fs.existsSync(`/proc/${root}`)) return [];
  const out: number[] = [];
  const queue = [root];
  const seen = new Set<number>();
  while (queue.length) {
    const pid = queue.shift()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    out.push(pid);
    const kids = childrenOf(pid);
    if (kids === null) return treePidsByStat(root);
    queue.push(...kids);
  }
  return out;
}

/** The same from every process's parent link (kernels without task/TID/children). */
function treePidsByStat(root: number): number[] {
  const kids = new Map<number, number[]>();
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const m = readMember(Number(e));
    if (!m) continue;
    const list = kids.get(m.ppid);
    if (list) list.push(m.pid);
    else kids.set(m.ppid, [m.pid]);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length) {
    const pid = queue.shift()!;
    out.push(pid);
    queue.push(...(kids.get(pid) ?? []));
  }
  return out;
}

export interface CgroupMount {
  /** 'cgroup2', or the v1 hierarchy's controllers ("memory", "name=systemd"). */
  version: 1 | 2;
  controllers: string;
  /** Where it is mounted, and which cgroup path its root is (usually "/"). */
  mount: string;
  root: string;
}

/** The cgroup hierarchies mounted here, v2 first. */
export function cgroupMounts(mountinfo?: string): CgroupMount[] {
  const text = mountinfo ?? fs.readFileSync('/proc/self/mountinfo', 'utf8');
  const out: CgroupMount[] = [];
  for (const line of text.split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!post) continue;
    const [fstype, , superOpts = ''] = post.split(' ');
    if (fstype !== 'cgroup2' && fstype !== 'cgroup') continue;
    const f = pre.split(' ');
    const mount = f[4].replace(/\\040/g, ' ');
    const controllers =
      fstype === 'cgroup2'
        ? 'cgroup2'
        : superOpts
            .split(',')
            .filter((o) => !['rw', 'ro', 'relatime', 'nosuid', 'nodev', 'noexec'].includes(o))
            .join(',');
    out.push({ version: fstype === 'cgroup2' ? 2 : 1, controllers, mount, root: f[3] });
  }
  return out.sort((a, b) => b.version - a.version);
}

const UNIT = /\.(service|scope|slice|socket|mount)$/;
const CONTAINER_ID = /^[0-9a-f]{12,64}$/;

function isCgroupDir(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'cgroup.procs'));
}

/** Directories under `top` (itself included) whose base name passes `match`, breadth first. */
function findDirs(top: string, match: (name: string) => boolean, limit = 20_000): string[] {
  const out: string[] = [];
  const queue = [top];
  let visited = 0;
  while (queue.length && visited++ < limit) {
    const dir = queue.shift()!;
    if (match(path.basename(dir))) out.push(dir);
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) if (e.isDirectory()) queue.push(path.join(dir, e.name));
  }
  return out;
}

/**
 * The cgroup directory a user's `--cgroup` names: a directory, a path inside a hierarchy, a
 * systemd unit or a container id. Throws a GroupError (one sentence) when it names none, or
 * several different ones.
 */
export function resolveCgroup(name: string, mounts: CgroupMount[] = cgroupMounts()): string {
  if (!name)
    throw new GroupError('--cgroup needs a cgroup path, a systemd unit or a container id.');
  if (mounts.length === 0) throw new GroupError('no cgroup hierarchy is mounted here.');
  if (path.isAbsolute(name) && isCgroupDir(name)) return path.resolve(name);
  // A path inside a hierarchy: v2 first, then the v1 ones (where pids are tracked: a systemd
  // machine's name=systemd, or any).
  const inside = name.startsWith('/') ? name : '/' + name;
  for (const m of mounts) {
    const rel = m.root !== '/' && inside.startsWith(m.root) ? inside.slice(m.root.length) : inside;
    const dir = path.join(m.mount, rel);
    if (isCgroupDir(dir)) return dir;
  }
  const base = path.basename(name);
  let match: ((n: string) => boolean) | null = null;
  if (UNIT.test(base)) match = (n) => n === base;
  else if (CONTAINER_ID.test(base))
    match = (n) =>
      n === base ||
      (n.includes(base) && /(docker|libpod|crio|containerd|cri-containerd)/.test(n)) ||
      n.includes(`-${base}`);
  if (match) {
    for (const m of mounts) {
      const found = findDirs(m.mount, match).filter(isCgroupDir);
      // A container's id may name its scope and the scope's own sub-cgroups: the shortest wins.
      found.sort((a, b) => a.length - b.length);
      if (found.length) return found[0];
    }
    throw new GroupError(
      `no cgroup named ${JSON.stringify(base)} under ${mounts.map((m) => m.mount).join(', ')}.`,
    );
  }
  throw new GroupError(
    `${JSON.stringify(name)} is not a cgroup: give its directory (under ${mounts[0].mount}), its path there, a systemd unit or a container id.`,
  );
}

/** The pids in a cgroup and every cgroup below it. */
export function cgroupPids(dir: string): number[] {
  const out: number[] = [];
  for (const d of findDirs(dir, () => true)) {
    let text: string;
    try {
      text = fs.readFileSync(path.join(d, 'cgroup.procs'), 'latin1');
    } catch {
      continue; // removed while being read
    }
    for (const l of text.split('\n')) if (l) out.push(Number(l));
  }
  return out;
}

const key = (m: Member): string => `${m.pid}@${m.startTime}`;

/**
 * Follows one group: each read() lists the members now and what changed since the last read
 * (the first read has every member joined).
 */
export class GroupReader {
  private last = new Map<string, Member>();
  readonly spec: GroupSpec;

  constructor(spec: GroupSpec) {
    this.spec = spec;
    if (spec.kind === 'pids' && spec.pids.length === 0)
      throw new GroupError('a group of pids needs at least one pid.');
  }

  /** A one-line description: "tree of 1234", "cgroup /sys/fs/cgroup/x", "pids 1, 2". */
  describe(): string {
    const s = this.spec;
    if (s.kind === 'tree') return `tree of pid ${s.root}`;
    if (s.kind === 'cgroup') return `cgroup ${s.path}`;
    return `pids ${s.pids.join(', ')}`;
  }

  private pids(): number[] {
    const s = this.spec;
    if (s.kind === 'tree') return treePids(s.root);
    if (s.kind === 'cgroup') return cgroupPids(s.path);
    return s.pids;
  }

  read(): GroupReading {
    const t0 = performance.now();
    const now = new Map<string, Member>();
    const members: Member[] = [];
    for (const pid of this.pids()) {
      const m = readMember(pid);
      if (!m || now.has(key(m))) continue;
      now.set(key(m), m);
      members.push(m);
    }
    const diff: GroupDiff = { joined: [], execd: [], left: [] };
    for (const [k, m] of now) {
      const before = this.last.get(k);
      if (!before) diff.joined.push(m);
      else if (before.exe !== m.exe || before.image !== m.image) diff.execd.push(m);
    }
    for (const [k, m] of this.last) if (!now.has(k)) diff.left.push(m);
    this.last = now;
    return { members, diff, ms: performance.now() - t0 };
  }
}

/** The group a command line names, checked: a tree's root and each pid must be running. */
export function groupSpec(opts: { tree?: string; cgroup?: string; pids?: number[] }): GroupSpec {
  const given = [opts.tree !== undefined, opts.cgroup !== undefined, !!opts.pids?.length];
  if (given.filter(Boolean).length !== 1)
    throw new GroupError('name one group: --tree PID, --cgroup PATH or --pids LIST.');
  if (opts.tree !== undefined) {
    const root = Number(opts.tree);
    if (!/^\d+$/.test(opts.tree) || root < 1)
      throw new GroupError(`--tree needs a process id, not ${JSON.stringify(opts.tree)}.`);
    if (!readMember(root)) throw new GroupError(`no running process has pid ${root}.`);
    return { kind: 'tree', root };
  }
  if (opts.cgroup !== undefined) return { kind: 'cgroup', path: resolveCgroup(opts.cgroup) };
  for (const pid of opts.pids!)
    if (!readMember(pid)) throw new GroupError(`no running process has pid ${pid}.`);
  return { kind: 'pids', pids: opts.pids! };
}
