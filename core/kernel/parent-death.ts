/**
 * Children that die with pagescope, however pagescope ends (exit, crash, SIGKILL).
 *
 * The kernel's tool is PR_SET_PDEATHSIG, but it must be called IN the child, between fork and
 * exec, and Node's spawn runs no code of ours there. So the child is started through a small
 * exec chain that does it and then becomes the target (same pid throughout):
 *
 *   setpriv --pdeathsig KILL -- /bin/sh -c 'CHECK; JOIN; exec "$@"' pagescope-pdeathsig PPID CG CMD...
 *
 * - `setpriv` (util-linux, on every Debian) calls prctl(PR_SET_PDEATHSIG) and execs the shell;
 *   the setting survives exec (it is cleared only by set-uid/set-gid execs).
 * - CHECK closes the one race: if pagescope died after fork but before the prctl, no signal will
 *   ever come; the shell then sees a parent pid other than ours and exits instead of running.
 * - JOIN moves the shell into the launch's cgroup CG (containment.ts) when one is given, before
 *   anything of the command runs, so all it ever starts is born inside; a failed move runs
 *   nothing (exit 125). The signal alone reaches this one process, not its descendants.
 * - The signal is sent when the spawning THREAD ends, not only the process. Sessions spawn from
 *   their worker thread (see core/session/worker-protocol.ts), whose end is the session's end,
 *   when the child is to be killed anyway.
 *
 * Callers that attach right after spawning wait for the chain to finish (`untilExeced`), so they
 * never look at setpriv's or the shell's address space instead of the target's.
 * Without setpriv the command runs directly, or through the shell alone when it must join a
 * cgroup (`wrapped: false` either way), and the caller says so.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PagescopeError } from './errors.ts';

const SCRIPT =
  '[ "$PPID" = "$1" ] || exit 125; [ -z "$2" ] || echo 0 > "$2/cgroup.procs" || exit 125; shift 2; exec "$@"';
const NAME = 'pagescope-pdeathsig';

let setprivPath: string | null | undefined;

/** setpriv with --pdeathsig, or null when this machine has none. */
export function findSetpriv(): string | null {
  if (setprivPath !== undefined) return setprivPath;
  setprivPath = null;
  for (const dir of ['/usr/bin', '/bin', ...(process.env.PATH ?? '').split(':')]) {
    if (!dir) continue;
    const p = path.join(dir, 'setpriv');
    try {
      fs.accessSync(p, fs.constants.X_OK);
      setprivPath = p;
      break;
    } catch {
      // not here
    }
  }
  return setprivPath;
}

export interface WrappedCommand {
  file: string;
  args: string[];
  /** False when setpriv is missing and the command runs without a parent-death signal. */
  wrapped: boolean;
}

/**
 * `command` started so that it gets `signal` when this process (the spawning thread) ends, and,
 * with `cgroup`, so that it runs inside that cgroup from its first instruction.
 */
export function dieWithParent(
  command: string[],
  signal: 'KILL' | 'TERM' = 'KILL',
  cgroup: string | null = null,
): WrappedCommand {
  const chain = ['/bin/sh', '-c', SCRIPT, NAME, String(process.pid), cgroup ?? '', ...command];
  const setpriv = findSetpriv();
  if (!setpriv) {
    if (cgroup) return { file: chain[0], args: chain.slice(1), wrapped: false };
    return { file: command[0], args: command.slice(1), wrapped: false };
  }
  return { file: setpriv, args: [`--pdeathsig`, signal, '--', ...chain], wrapped: true };
}

/**
 * Where `pid` is in the chain above: 'wrapper' while it is still setpriv or the checking shell,
 * 'program' once it runs the target (or is gone), 'unknown' when its command line reads empty
 * (for an instant mid-exec, or a program that blanks its own).
 */
export function chainStage(pid: number): 'wrapper' | 'program' | 'unknown' {
  let argv: string[];
  try {
    argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return 'program'; // gone: nothing left to wait for
  }
  if (argv.length <= 1 && !argv[0]) return 'unknown';
  const i = argv.indexOf(SCRIPT);
  return i > 0 && argv[i + 1] === NAME ? 'wrapper' : 'program';
}

/** True while `pid` is still setpriv or the checking shell of the chain above. */
export function inWrapper(pid: number): boolean {
  return chainStage(pid) === 'wrapper';
}

/**
 * Resolves once `pid` runs the target itself (the chain has exec'ed it), or rejects after
 * `timeoutMs`. `gone()` says when the child has exited, so a failed exec ends the wait at once.
 * An empty command line is waited on for at most half a second: mid-exec it is momentary, and a
 * program may blank its own.
 */
export async function untilExeced(
  pid: number,
  gone: () => boolean,
  timeoutMs = 10_000,
): Promise<void> {
  const start = Date.now();
  for (let delay = 1; ; delay = Math.min(delay * 2, 20)) {
    const stage = chainStage(pid);
    if (stage === 'program' || gone()) return;
    if (stage === 'unknown' && Date.now() - start > 500) return;
    if (Date.now() - start > timeoutMs)
      throw new PagescopeError(
        `The launched program (pid ${pid}) did not start within ${timeoutMs} ms.`,
        'launch-failed',
      );
    await new Promise((r) => setTimeout(r, delay));
  }
}

/** The path `command0` runs (PATH search as execvp does), or null when there is none. */
export function resolveProgram(command0: string): string | null {
  const candidates = command0.includes('/')
    ? [command0]
    : (process.env.PATH ?? '/usr/bin:/bin').split(':').map((d) => path.join(d || '.', command0));
  for (const p of candidates) {
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return null;
}
