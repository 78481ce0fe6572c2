/**
 * Attach by pid through the attach helper (attach-helper.ts): pagescope's side.
 *
 * Everything slow is done here before the helper is given its target (the `syscall` instruction
 * is found, the caller has opened pagemap and mem). The helper starts in its own session, makes
 * itself safe and reads its target from stdin; it sends the userfaultfd over a socketpair, writes
 * its report and exits; we wait for that EOF (blocking: the call is synchronous like the rest of
 * an attach) and take the descriptor from our end of the socket. The CLI's `watch --pid` starts
 * the helper ahead (prestartHelper), so that its Node start, most of an attach's time on a loaded
 * machine, overlaps pagescope's own start instead of following it (issue 24); `record --pid`
 * too, whose attach runs in its session's worker thread: the main thread starts the helper and
 * hands it over (takePrestartedHelper, adoptPrestartedHelper: descriptors are the process's, so
 * the worker uses the same pipes; the main thread's ChildProcess reaps it).
 * A group's new members go through one helper run (attachManyThroughHelper): one process start
 * for all of them, the descriptors taken from the socket in the order of the reports.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import module from 'node:module';
import path from 'node:path';
import { KernelError, PagescopeError } from '../kernel/errors.ts';
import { addressOf, errno, O_CLOEXEC, syscall } from '../kernel/libc.ts';
import { closeSocket, receiveFd, socketPair } from '../kernel/fd-passing.ts';
import { isErrorCode } from '../protocol/errors.ts';
import { entryCommand } from '../runtime/entry.ts';
import { closeRawFd } from '../kernel/ptrace.ts';
import type { HelperBatchReport, HelperReport } from './attach-helper.ts';

/** Only for a helper that never answers; it gives up on a thread that will not stop in 5 s. */
const HELPER_TIMEOUT_MS = 60_000;

const SYS_POLL = 7;
const SYS_PIPE2 = 293;
const POLLIN = 1;
const EINTR = 4;

/** Our descriptor of a userfaultfd made inside `pid`, and how long its thread `tid` was held. */
export function attachThroughHelper(
  pid: number,
  tid: number,
  syscallAddress: bigint,
): { fd: number; heldMs: number } {
  const [result] = runHelper({ pid, tid, insn: hex(syscallAddress) }, (line) => {
    const report = line as HelperReport | null;
    return report && typeof report.ok === 'boolean' ? [report] : null;
  });
  if (result instanceof PagescopeError) throw result;
  return result;
}

/**
 * Several targets through ONE helper run (a group's members, issue 24): for each, in order, our
 * descriptor and the held time, or the error that target's attach met (that target keeps
 * nothing of us; the others are attached regardless). A helper that fails as a whole throws.
 */
export function attachManyThroughHelper(
  targets: Array<{ pid: number; tid: number; syscallAddress: bigint }>,
): Array<{ fd: number; heldMs: number } | PagescopeError> {
  const out: Array<{ fd: number; heldMs: number } | PagescopeError> = [];
  // A run per BATCH_MAX targets: the argument stays far under the kernel's 128 KiB per argument,
  // and the descriptors in flight in the socket stay few.
  for (let i = 0; i < targets.length; i += BATCH_MAX) {
    const part = targets.slice(i, i + BATCH_MAX);
    const batch = part.map((t) => ({ pid: t.pid, tid: t.tid, insn: hex(t.syscallAddress) }));
    try {
      out.push(
        ...runHelper({ batch }, (line) => {
          const reports = (line as HelperBatchReport | null)?.batch;
          return Array.isArray(reports) && reports.length === part.length ? reports : null;
        }),
      );
    } catch (err) {
      if (i === 0) throw err; // nothing handed over yet
      // Earlier runs' descriptors are the caller's already: this run's targets fail alone.
      const e =
        err instanceof PagescopeError ? err : new PagescopeError(String(err), 'helper-failed');
      out.push(...part.map(() => e));
    }
  }
  return out;
}

/** Targets per helper run. */
export const BATCH_MAX = 32;

const hex = (a: bigint): string => `0x${a.toString(16)}`;

/**
 * The CLI's compile cache (bin/compile-cache.mjs) for the helper too: its start is most of an
 * attach's time on a loaded machine, and half of that is compiling its bundle. Node names the
 * cache by a folder of its own under the one given (version, flags, uid): the helper, started
 * with other flags, gets a folder of its own beside the CLI's.
 */
function helperCompileCache(): { NODE_COMPILE_CACHE?: string } {
  const dir = (module as { getCompileCacheDir?: () => string | undefined }).getCompileCacheDir?.();
  return dir && !process.env.NODE_COMPILE_CACHE ? { NODE_COMPILE_CACHE: path.dirname(dir) } : {};
}

/** A helper process started and waiting for its targets on stdin (its argument is `-`). */
interface StartedHelper {
  /** Only to end one that never answers (runHelper's time limit). */
  child: Pick<ChildProcess, 'kill'>;
  /** Our ends: its stdin, its stdout and stderr (one pipe), the socket the descriptors come by. */
  input: number;
  output: number;
  ours: number;
}

let prestarted: StartedHelper | null = null;

/**
 * Starts an attach helper now, for the next attach by pid in this process (the CLI's `watch
 * --pid`): its Node start (most of an attach's time on a loaded machine) runs while pagescope
 * loads, checks the target and calibrates, instead of after. It waits for its targets on stdin,
 * having made itself safe first (attach-helper.ts); one never used ends at EOF (at our exit, or
 * discardPrestartedHelper), having touched nothing. Never throws: a helper that cannot start now
 * is started at the attach as usual.
 */
export function prestartHelper(): void {
  try {
    prestarted ??= startHelper();
  } catch {
    prestarted = null;
  }
}

/** Ends a prestarted helper that will not be used (it exits at EOF, touching nothing). */
export function discardPrestartedHelper(): void {
  const h = prestarted;
  prestarted = null;
  if (h) for (const fd of [h.input, h.output, h.ours]) closeRawFd(fd);
}

/** A prestarted helper as another thread of this process takes it over: its pid, our ends. */
export interface HelperHandle {
  pid: number;
  input: number;
  output: number;
  ours: number;
}

/**
 * Hands the prestarted helper over to another thread (a session's worker, which attaches there):
 * this thread forgets it without closing anything. Null when none is prestarted.
 */
export function takePrestartedHelper(): HelperHandle | null {
  const h = prestarted;
  prestarted = null;
  if (!h) return null;
  const pid = (h.child as ChildProcess).pid;
  if (pid === undefined) {
    // It could not start: as if none was (the attach starts one as usual).
    for (const fd of [h.input, h.output, h.ours]) closeRawFd(fd);
    return null;
  }
  return { pid, input: h.input, output: h.output, ours: h.ours };
}

/**
 * The helper another thread of this process started and handed over (takePrestartedHelper), for
 * this thread's next attach by pid. Used at most once; one never used ends at our exit (EOF).
 */
export function adoptPrestartedHelper(h: HelperHandle): void {
  discardPrestartedHelper();
  prestarted = {
    child: {
      kill: (signal?: NodeJS.Signals | number) => {
        try {
          process.kill(h.pid, signal);
          return true;
        } catch {
          return false;
        }
      },
    },
    input: h.input,
    output: h.output,
    ours: h.ours,
  };
}

function startHelper(): StartedHelper {
  const [ours, theirs] = socketPair();
  const fds = [theirs];
  try {
    const [inRead, inWrite] = pipe();
    fds.push(inRead, inWrite);
    const [outRead, outWrite] = pipe();
    fds.push(outRead, outWrite);
    // --no-lazy: every function is compiled when loaded, not on its first call inside the window.
    const helper = entryCommand('watch/attach-helper');
    const child = spawn(helper.command, ['--no-lazy', ...helper.args, '-'], {
      stdio: [inRead, outWrite, outWrite, theirs],
      // Own session and process group from the start.
      detached: true,
      // Under Electron, execPath is the Electron binary: run it as plain Node.
      env: { ...process.env, ...helperCompileCache(), ELECTRON_RUN_AS_NODE: '1' },
    });
    // A helper that could not start reads as one that ended without a report (EOF at once).
    child.on('error', () => {});
    child.unref();
    for (const fd of [theirs, inRead, outWrite]) closeRawFd(fd); // the helper's copies are its own
    return { child, input: inWrite, output: outRead, ours };
  } catch (err) {
    for (const fd of fds) closeRawFd(fd);
    closeSocket(ours);
    throw err;
  }
}

/** pipe2(O_CLOEXEC): [read end, write end]. */
function pipe(): [number, number] {
  const fds = new Int32Array(new ArrayBuffer(128), 0, 2);
  if (syscall(SYS_PIPE2, addressOf(fds), O_CLOEXEC) < 0) throw KernelError.fromErrno('pipe2');
  return [fds[0], fds[1]];
}

/**
 * Everything the helper writes (stdout and stderr), up to its EOF (it exited), waiting at most
 * `timeoutMs`; null when it did not end in time. Blocking, like the rest of an attach.
 */
function readToEnd(fd: number, timeoutMs: number): string | null {
  const deadline = performance.now() + timeoutMs;
  const pollfd = new Int32Array(new ArrayBuffer(128), 0, 2);
  const buf = Buffer.alloc(4096);
  let text = '';
  for (;;) {
    const left = Math.ceil(deadline - performance.now());
    if (left <= 0) return null;
    pollfd[0] = fd;
    pollfd[1] = POLLIN; // events (short) = POLLIN, revents (short) = 0
    const ready = syscall(SYS_POLL, addressOf(pollfd), 1, left);
    if (ready < 0) {
      if (errno() === EINTR) continue;
      throw KernelError.fromErrno('poll');
    }
    if (ready === 0) continue; // the deadline is checked above
    const n = fs.readSync(fd, buf);
    if (n === 0) return text;
    text += buf.toString('utf8', 0, n);
  }
}

/** Runs the helper on `arg`; each ok report's descriptor is taken from the socket in order. */
function runHelper(
  arg: unknown,
  parse: (line: unknown) => HelperReport[] | null,
): Array<{ fd: number; heldMs: number } | PagescopeError> {
  const h = prestarted ?? startHelper();
  prestarted = null;
  const taken: number[] = [];
  let output = h.output;
  try {
    try {
      fs.writeSync(h.input, JSON.stringify(arg) + '\n');
    } catch {
      // It ended before reading (EPIPE): no report, said below.
    }
    closeRawFd(h.input); // EOF: its whole argument
    const text = readToEnd(h.output, HELPER_TIMEOUT_MS);
    closeRawFd(h.output);
    output = -1;
    if (text === null) {
      h.child.kill('SIGTERM');
      throw new PagescopeError(
        `The attach helper gave no answer in ${HELPER_TIMEOUT_MS / 1000} s; the target was not changed.`,
        'helper-failed',
      );
    }
    // Its report is its last line that is one (Node may have written a warning around it).
    const lines = text.trim().split('\n');
    let reports: HelperReport[] | null = null;
    for (let i = lines.length - 1; i >= 0 && !reports; i--) {
      try {
        reports = parse(JSON.parse(lines[i]));
      } catch {
        reports = null;
      }
    }
    if (!reports) {
      const why = lines.filter((l) => l.trim()).pop() ?? '';
      throw new PagescopeError(
        `The attach helper failed (it ended without a report${why ? `: ${why}` : ''}); the target was not changed.`,
        'helper-failed',
      );
    }
    const ours = h.ours;
    const out = reports.map((report): { fd: number; heldMs: number } | PagescopeError => {
      if (!report.ok)
        return new PagescopeError(
          report.message,
          isErrorCode(report.code) ? report.code : 'helper-failed',
        );
      const fd = receiveFd(ours);
      if (fd === null)
        return new PagescopeError(
          'The attach helper reported success but sent no descriptor; the target keeps none.',
          'helper-failed',
        );
      taken.push(fd);
      return { fd, heldMs: report.heldMs };
    });
    taken.length = 0; // handed over
    return out;
  } finally {
    for (const fd of taken) closeRawFd(fd);
    if (output >= 0) closeRawFd(output);
    closeSocket(h.ours);
  }
}
