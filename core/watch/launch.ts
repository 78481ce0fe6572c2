/**
 * Launch mode: start the target as our child and attach before it runs any code of its own.
 * The one launch path for the CLI (`pagescope watch -- CMD`) and the UI's "Launch command"
 * (core/session/target.ts); also the helpers both use for the child's end.
 *
 * Strategy: the child is `sh -c 'read _ <&3; exec "$@" 3<&-' sh COMMAND...`, which blocks on a
 * pipe. We PTRACE_SEIZE it with PTRACE_O_TRACEEXEC (allowed even where the ptrace policy lets
 * a process trace only its descendants), release the pipe, and wait for the exec event stop:
 * there the new program's address space exists but not one instruction of it has run. The
 * userfaultfd is injected at that stop and the child is detached; from then on it is watched
 * like any other process. The whole sequence is synchronous so libuv's SIGCHLD handling never
 * sees our ptrace stops.
 *
 * Containment (core/kernel/containment.ts): the child joins its launch's cgroup in the
 * parent-death chain, before the gate, so everything the command starts, at any depth, is
 * killed with it when pagescope ends however it ends, or when the command exits; where no
 * cgroup can be made, its process group is (weaker: see that file).
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { announceFallback, containLaunch, type Contained } from '../kernel/containment.ts';
import { dieWithParent } from '../kernel/parent-death.ts';
import { errorCode, PagescopeError } from '../kernel/errors.ts';
import { processAlive } from '../proc/processes.ts';
import {
  closeRawFd,
  cont,
  detach,
  kill,
  nap,
  pipe,
  PTRACE_EVENT_EXEC,
  PTRACE_EVENT_STOP,
  PTRACE_O_TRACEEXEC,
  seize,
  SIGKILL,
  waitFor,
  writeFd,
} from '../kernel/ptrace.ts';
import { WriteWatcher } from './watcher.ts';

/**
 * Where `cmd` would be executed from, or a sentence why it cannot be: checked before launching,
 * so a typo gets pagescope's one line and not the launcher shell's "sh: 1: exec: ...: not found".
 */
export function resolveCommand(cmd: string, envPath = process.env.PATH ?? ''): string {
  const check = (p: string): 'ok' | 'missing' | 'dir' | 'noexec' => {
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch {
      return 'missing';
    }
    if (st.isDirectory()) return 'dir';
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return 'ok';
    } catch {
      return 'noexec';
    }
  };
  const fail = (why: string): never => {
    throw new PagescopeError(`Cannot launch ${JSON.stringify(cmd)}: ${why}.`, 'bad-command');
  };
  if (cmd === '') fail('the command is empty');
  if (cmd.includes('/')) {
    const r = check(cmd);
    if (r === 'missing') fail('no such file');
    if (r === 'dir') fail('it is a directory');
    if (r === 'noexec') fail('it is not executable (chmod +x?)');
    return cmd;
  }
  let sawNoExec = false;
  for (const dir of envPath.split(':')) {
    const p = path.join(dir || '.', cmd);
    const r = check(p);
    if (r === 'ok') return p;
    if (r === 'noexec') sawNoExec = true;
  }
  return fail(
    sawNoExec
      ? 'it is on PATH but not executable'
      : 'no such command on PATH (give its path, e.g. ./prog)',
  );
}

export interface LaunchOptions {
  force?: boolean;
  /** stdio of the child for fds 0..2 (default: inherit). */
  stdio?: Array<'inherit' | 'pipe' | 'ignore' | number>;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/**
 * Waits (briefly, synchronously) until `pid` is the shell `exe` blocked in read() on our pipe:
 * spawn can return before the child's first exec, and /proc shows the new exe before an exec is
 * over, so only a shell sitting in read() has no exec of the chain (node -> setpriv -> sh -> sh)
 * left.
 */
function untilWaitingShell(pid: number, exe: string): void {
  for (let spin = 0; spin < 5000; spin++) {
    try {
      if (
        fs.readlinkSync(`/proc/${pid}/exe`) === exe &&
        fs.readFileSync(`/proc/${pid}/syscall`, 'latin1').startsWith('0 ')
      )
        return;
    } catch {
      if (!fs.existsSync(`/proc/${pid}`)) return; // gone: the wait below says so
      // mid-exec: the link is not readable for an instant
    }
    nap(1);
  }
}

export function launchAndAttach(
  command: string[],
  options: LaunchOptions = {},
): { child: ChildProcess; watcher: WriteWatcher; containment: Contained } {
  if (command.length === 0)
    throw new PagescopeError(
      'No command to launch was given (write it after "--").',
      'bad-command',
    );
  const shellReal = fs.realpathSync('/bin/sh');
  // Before the child exists: the reaper must be there if we die right after the spawn.
  const containment = containLaunch();
  const [readEnd, writeEnd] = pipe();
  let child: ChildProcess;
  try {
    const stdio = [
      ...(options.stdio ?? ['inherit', 'inherit', 'inherit']),
      readEnd,
    ] as StdioOptions;
    // Through the parent-death chain (core/kernel/parent-death.ts): the command dies with
    // pagescope however pagescope ends, and joins the launch's cgroup before it runs.
    const run = dieWithParent(
      ['/bin/sh', '-c', 'read _ <&3; exec "$@" 3<&-', 'sh', ...command],
      'KILL',
      containment.cgroup,
    );
    child = spawn(run.file, run.args, {
      stdio,
      env: options.env,
      cwd: options.cwd,
      detached: containment.detached,
    });
    containment.adopt(child);
  } catch (err) {
    closeRawFd(writeEnd);
    containment.end();
    throw err;
  } finally {
    closeRawFd(readEnd);
  }
  const pid = child.pid;
  if (pid === undefined) {
    closeRawFd(writeEnd);
    throw new PagescopeError(`Could not start ${command[0]}.`, 'launch-failed');
  }
  let traced = false;
  let released = false;
  let stoppedAtExec = false;
  try {
    // The chain up to the waiting shell must be over before we count exec events.
    untilWaitingShell(pid, shellReal);
    const e = seize(pid, PTRACE_O_TRACEEXEC);
    if (e !== 0)
      throw new PagescopeError(
        `Could not trace the launched command (errno ${e}).`,
        'launch-failed',
      );
    traced = true;
    writeFd(writeEnd, new Uint8Array([10]));
    closeRawFd(writeEnd);
    released = true;
    for (let guard = 0; guard < 10000 && !stoppedAtExec; guard++) {
      const w = waitFor(pid);
      if (!w) continue;
      if (w.exited || w.signaled) {
        traced = false;
        throw new PagescopeError(
          `The command ${JSON.stringify(command[0])} ended before it started (${w.exited ? `exit code ${w.exitCode}: not found or not executable?` : `signal ${w.termSignal}`}).`,
          'launch-failed',
        );
      }
      if (w.event === PTRACE_EVENT_EXEC) stoppedAtExec = true;
      else if (w.event === PTRACE_EVENT_STOP) cont(pid, 0);
      else cont(pid, w.stopSignal); // a signal for the shell: deliver it
    }
    if (!stoppedAtExec)
      throw new PagescopeError('The launched command never executed.', 'launch-failed');
    // attach() restores the registers and detaches on every path, success or not; a detach
    // after that (on an error below) is a harmless ESRCH.
    const watcher = WriteWatcher.attach(pid, { force: options.force, alreadyStoppedTid: pid });
    // The command runs: a weaker containment than a cgroup is said now (once, on stderr).
    announceFallback(containment);
    return { child, watcher, containment };
  } catch (err) {
    if (!released) closeRawFd(writeEnd);
    // A program that ran and ended by itself while we attached (`sh -c 'exit 3'` on a busy
    // machine) is not "does not exist": the caller learns how it ended from the child. Our
    // own unreaped child that "does not exist" is dying (its pid cannot have been reused).
    const endedByItself = stoppedAtExec && (errorCode(err) === 'no-process' || !processAlive(pid));
    if (traced) detach(pid, 0); // harmless ESRCH when already detached
    kill(pid, SIGKILL);
    throw endedByItself ? new LaunchedProgramEnded(child, command[0]) : err;
  }
}

/** The launched program ran and ended while pagescope attached to it; `child` says how. */
export class LaunchedProgramEnded extends PagescopeError {
  constructor(
    readonly child: ChildProcess,
    program: string,
  ) {
    super(
      `The launched program ${JSON.stringify(program)} ended while pagescope attached to it.`,
      'exited',
    );
  }
}

/** Whether a launched child has exited (its exit status is known). */
export const childGone = (c: ChildProcess): boolean => c.exitCode !== null || c.signalCode !== null;

/** How a launched child ended, as a phrase ("exit code 3", "signal SIGTERM"), or null. */
export function childExitPhrase(c: ChildProcess): string | null {
  if (c.signalCode) return `signal ${c.signalCode}`;
  if (c.exitCode !== null) return `exit code ${c.exitCode}`;
  return null;
}

/** Ends a launched child: SIGTERM, then SIGKILL if it lingers `graceMs`. */
export function endChild(c: ChildProcess | null, graceMs = 1000): void {
  if (!c || childGone(c)) return;
  c.kill('SIGTERM');
  setTimeout(() => {
    if (!childGone(c)) c.kill('SIGKILL');
  }, graceMs).unref();
}

/** Resolves once a launched child has exited (or after `timeoutMs`, whichever is first). */
export function whenExited(c: ChildProcess | null, timeoutMs: number): Promise<void> {
  if (!c || childGone(c)) return Promise.resolve();
  return new Promise((resolve) => {
    c.once('exit', () => resolve());
    setTimeout(resolve, timeoutMs).unref();
  });
}
