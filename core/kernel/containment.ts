/**
 * Containment of a launch: every process a launched command (or the demo) starts, at any depth,
 * ends with pagescope, however pagescope ends (exit, crash, SIGKILL), and when the launched
 * command itself ends.
 *
 * The parent-death signal (parent-death.ts) reaches the direct child only: `sh -c 'sleep 9 &
 * sleep 8; wait'` loses its shell and leaves both sleeps to init. So, per launch:
 *
 * - A cgroup (v2), where we may create one under our own cgroup (root, or a delegated subtree
 *   such as systemd's user@UID.service): `<our cgroup>/pagescope-<pid>-<thread>.<n>`. The launched child
 *   joins it itself, in the parent-death chain's shell before it execs anything
 *   (`echo 0 > cgroup.procs`), so everything it ever forks is born inside; a process cannot
 *   leave a cgroup by setsid, double fork or reparenting.
 * - A reaper: `/bin/sh -c REAPER` in its own session (a terminal's Ctrl-C or hangup does not
 *   reach it), started BEFORE the child, whose stdin is a pipe only we hold (close-on-exec, so
 *   no launched process inherits it). SIGKILL runs no code of ours, but the kernel closes our
 *   end: the reaper reads EOF, sends SIGTERM to what is left, waits up to a second, writes
 *   `cgroup.kill` (SIGKILL to the whole cgroup, atomically against forks) and removes the cgroup.
 *   The same EOF is how a launch ends normally: when the launched child exits (or the thread
 *   that spawned it ends, see parent-death.ts) we close our end, and what it left behind goes,
 *   so no cgroup is left behind either. A reaper costs one idle dash (~1 MB) per live launch.
 * - Fallback where no cgroup can be created (an unprivileged user in a non-delegated cgroup, no
 *   cgroup2 mount, or PAGESCOPE_CONTAINMENT=process-group): the child starts in its own session
 *   and process group (spawn `detached`), and the reaper kills that process group (TERM, then
 *   KILL). It cannot hold for a descendant that calls setsid/setpgid (daemons double-fork and
 *   do): that one leaves the group and survives. And the launched command then has no
 *   controlling terminal (a program opening /dev/tty fails; Ctrl-C reaches it through
 *   pagescope, which ends it). We say which mode a launch got (`Contained.mode`), and a launched
 *   command that falls back says so once on stderr (`Contained.notice`, one sentence with the
 *   reason, `announceFallback`): silently weaker containment would surprise the user whose
 *   daemon outlives pagescope.
 *
 * Not used: a subreaper (PR_SET_CHILD_SUBREAPER) would have to be an ancestor of the launched
 * processes, but the launched command must be our own child (ptrace under Yama scope 1, exit
 * status); clone3(CLONE_INTO_CGROUP) is not reachable from Node's spawn; `systemd-run --scope`
 * needs systemd and a bus, and would put systemd between us and the child.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { threadId } from 'node:worker_threads';

/** Name prefix of the cgroups we create: `pagescope-<host pid>-<thread id>.<n>`. */
export const CGROUP_PREFIX = 'pagescope-';

/**
 * The reaper. $1: the cgroup directory, or empty in process-group mode; stdin: the process group
 * to kill (one line, process-group mode), then EOF when the launch is over. dash's kill takes a
 * negative pid for a group as `kill -SIG -PGID` (no `--`).
 */
const REAPER = `
pg=
while read -r l; do pg=$l; done
cg=$1
if [ -n "$cg" ]; then
  for p in $(cat "$cg/cgroup.procs" 2>/dev/null); do kill -TERM "$p" 2>/dev/null; done
  n=0
  while [ $n -lt 20 ] && grep -q '^populated 1' "$cg/cgroup.events" 2>/dev/null; do
    sleep 0.05; n=$((n+1))
  done
  n=0
  until rmdir "$cg" 2>/dev/null || [ ! -d "$cg" ]; do
    echo 1 > "$cg/cgroup.kill" 2>/dev/null ||
      for p in $(cat "$cg/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    n=$((n+1)); [ $n -lt 600 ] || exit 1
    sleep 0.05
  done
elif [ -n "$pg" ]; then
  if kill -TERM -"$pg" 2>/dev/null; then
    n=0
    while [ $n -lt 20 ] && kill -0 -"$pg" 2>/dev/null; do sleep 0.05; n=$((n+1)); done
    kill -9 -"$pg" 2>/dev/null
  fi
fi
`;
const REAPER_NAME = 'pagescope-reaper';

export type ContainmentMode = 'cgroup' | 'process-group';

let parentDir: string | null | undefined;

/**
 * The cgroup v2 directory this process is in (where launch cgroups are created), or null when
 * there is none: found from /proc/self/cgroup's `0::PATH` line and the cgroup2 mount in
 * /proc/self/mountinfo (at /sys/fs/cgroup on a unified system, /sys/fs/cgroup/unified on a
 * hybrid one).
 */
export function ownCgroupDir(): string | null {
  if (parentDir !== undefined) return parentDir;
  parentDir = null;
  try {
    const own = /^0::(.*)$/m.exec(fs.readFileSync('/proc/self/cgroup', 'utf8'))?.[1];
    if (own === undefined) return null;
    for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const [pre, post] = line.split(' - ');
      if (!post?.startsWith('cgroup2 ')) continue;
      const f = pre.split(' ');
      const root = f[3];
      const mount = f[4];
      if (!own.startsWith(root)) continue;
      const dir = path.join(mount, own.slice(root === '/' ? 0 : root.length));
      if (fs.existsSync(path.join(dir, 'cgroup.procs'))) {
        parentDir = dir;
        break;
      }
    }
  } catch {
    // no /proc or no cgroup2: the fallback
  }
  return parentDir;
}

let seq = 0;

/**
 * A new empty cgroup for one launch, or null with the reason when none can be made here (then
 * the process-group fallback is used).
 */
function makeCgroup(): { dir: string | null; why: string } {
  if (process.env.PAGESCOPE_CONTAINMENT === 'process-group')
    return { dir: null, why: 'PAGESCOPE_CONTAINMENT=process-group' };
  const parent = ownCgroupDir();
  if (!parent) return { dir: null, why: 'no cgroup v2 hierarchy here' };
  // Worker threads share the pid and each has its own `seq`: the thread id keeps names apart;
  // EEXIST (a leftover of an earlier process with our pid) moves on to the next number.
  let dir = '';
  for (let tries = 0; ; tries++) {
    dir = path.join(parent, `${CGROUP_PREFIX}${process.pid}-${threadId}.${++seq}`);
    try {
      fs.mkdirSync(dir);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST' && tries < 100) continue;
      return { dir: null, why: `cannot create a cgroup in ${parent} (${(err as Error).message})` };
    }
  }
  try {
    // Moving a process needs write access to both cgroup.procs (and the common ancestor's).
    fs.accessSync(path.join(parent, 'cgroup.procs'), fs.constants.W_OK);
    fs.accessSync(path.join(dir, 'cgroup.procs'), fs.constants.W_OK);
  } catch (err) {
    fs.rmdirSync(dir);
    return { dir: null, why: `cannot move processes into ${dir} (${(err as Error).message})` };
  }
  return { dir, why: '' };
}

/** One launch's containment: made before the child is spawned, tied to it once it is. */
export interface Contained {
  mode: ContainmentMode;
  /** The launch's cgroup directory (cgroup mode), which the child must join before it execs. */
  cgroup: string | null;
  /** Why the fallback was used (empty in cgroup mode). */
  why: string;
  /** The sentence that tells the user about the fallback, or null in cgroup mode. */
  notice: string | null;
  /** Spawn the child `detached` (its own session and process group): process-group mode. */
  detached: boolean;
  /**
   * Ties the containment to the spawned child: when it exits, whatever it left behind is ended
   * and the cgroup removed. Call right after spawn (with or without a pid).
   */
  adopt(child: ChildProcess): void;
  /** Ends the launch now: everything still in it gets SIGTERM, then SIGKILL. Idempotent. */
  end(): void;
}

/** The sentence for a launch held by its process group because no cgroup could be made. */
export function fallbackNotice(why: string): string {
  return (
    `No cgroup for this launch (${why}): it is held by its process group only, so a process ` +
    'it starts that calls setsid outlives pagescope, and it has no controlling terminal.'
  );
}

let noticeSaid = false;

/**
 * Says a launch's fallback (its `notice`) on stderr, once per thread (a host may launch many
 * times). Called once the command runs (launch.ts), so a launch that fails says only why; the
 * demo workload, which never leaves its process group, is not announced.
 */
export function announceFallback(c: Contained): void {
  if (!c.notice || noticeSaid) return;
  noticeSaid = true;
  process.stderr.write(`pagescope: ${c.notice}\n`);
}

/**
 * Sets up containment for one launch: a cgroup where possible (else the process-group
 * fallback), and the reaper that ends it when we close our end of its pipe or die.
 */
export function containLaunch(): Contained {
  const { dir, why } = makeCgroup();
  let reaper: ChildProcess | null;
  try {
    reaper = spawn('/bin/sh', ['-c', REAPER, REAPER_NAME, dir ?? ''], {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    reaper.on('error', () => {});
    reaper.stdin!.on('error', () => {});
    // Neither the reaper nor our end of its pipe keeps this process (or thread) alive.
    reaper.unref();
    (reaper.stdin as unknown as { unref?: () => void }).unref?.();
  } catch (err) {
    if (dir) fs.rmdirSync(dir);
    throw err;
  }
  let ended = false;
  const end = (): void => {
    if (ended) return;
    ended = true;
    reaper?.stdin?.end();
  };
  return {
    mode: dir ? 'cgroup' : 'process-group',
    cgroup: dir,
    why,
    notice: dir ? null : fallbackNotice(why),
    detached: !dir,
    adopt(child) {
      if (child.pid === undefined) {
        end(); // never started (the 'error' event says why)
        return;
      }
      if (!dir) reaper?.stdin?.write(`${child.pid}\n`);
      if (child.exitCode !== null || child.signalCode !== null) end();
      else child.once('exit', end);
    },
    end,
  };
}

/** The launch cgroups of process `hostPid` that exist now (tests: none may be left behind). */
export function launchCgroupsOf(hostPid: number, under = ownCgroupDir()): string[] {
  if (!under) return [];
  const found: string[] = [];
  const walk = (dir: string, depth: number): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const p = path.join(dir, e.name);
      if (e.name.startsWith(`${CGROUP_PREFIX}${hostPid}-`)) found.push(p);
      if (depth < 4) walk(p, depth + 1);
    }
  };
  walk(under, 0);
  return found;
}
