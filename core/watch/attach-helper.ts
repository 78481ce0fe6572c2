/**
 * The attach helper: a short-lived process that does the part of an attach that must not be
 * interrupted, so that pagescope's own death at any instant cannot harm the target.
 *
 * Why a process of its own: between "set the injected registers" and "restore them" the
 * target's thread holds registers that are not its own (injector.ts). If the tracer dies then,
 * the kernel unlinks the thread and it runs on with them. pagescope is an app that users kill,
 * whose terminal gets closed, whose process group gets signalled and that the OOM killer may
 * pick; this helper is none of those:
 * - it runs in its own session and process group (spawned detached, and setsid again here), so
 *   signals to pagescope's group or terminal (Ctrl-C, Ctrl-\, SIGHUP) never reach it;
 * - every catchable signal that would end it is ignored before it touches the target;
 * - as root it sets oom_score_adj to -1000 (the OOM killer never picks it); unprivileged this
 *   fails and it carries on;
 * - it holds the thread for well under a millisecond (the window is reported back).
 * Only SIGKILL sent to this helper itself, by pid, inside that window remains; README says so.
 *
 * Protocol (core/watch/remote-attach.ts is the other side): the last argument is JSON {pid, tid,
 * insn}, or `-` for the same JSON on stdin (a helper started ahead, while pagescope still loads
 * and looks at the target: it has made itself safe before it reads);
 * fd 3 is a Unix socket. The descriptor is sent over fd 3 with SCM_RIGHTS (it stays alive in
 * the socket after we exit; if pagescope is gone, it is freed with the socket and the target,
 * which keeps no descriptor of its own, is as before). One JSON line on stdout says how it went.
 * A batch (a group's members, issue 24): the argument is {batch: [{pid, tid, insn}, ...]}; the
 * targets are attached one after another, each exactly as a single one (its own pidfd, rehearsal
 * and held window; a failure leaves that target as it was and the next is tried), each success's
 * descriptor sent in order, and the line is {batch: [report, ...]}. One helper start for the
 * whole group instead of one per member: the start is most of an attach's time on a loaded
 * machine.
 */
import fs from 'node:fs';
import { errorCode, userMessage } from '../kernel/errors.ts';
import { sendFd } from '../kernel/fd-passing.ts';
import type { ErrorCode } from '../protocol/errors.ts';
import {
  boostToRealtime,
  closeRawFd,
  ignoreTerminatingSignals,
  newSession,
  openPidfd,
} from '../kernel/ptrace.ts';
import { injectUserfaultfd } from './inject-userfaultfd.ts';
import { rehearse, withHeldThread } from './injector.ts';

/** What the helper prints, one JSON line. */
export type HelperReport =
  { ok: true; heldMs: number } | { ok: false; code: ErrorCode; message: string };

/** A batch's reports, in the order of its targets. */
export interface HelperBatchReport {
  batch: HelperReport[];
}

export interface HelperTarget {
  pid: number;
  tid: number;
  insn: string;
}

const HELPER_SOCKET_FD = 3;

/** One target, `{pid, tid, insn}`: its descriptor sent over fd 3 when it worked. */
function attachOne(target: HelperTarget): HelperReport {
  const { pid, tid, insn } = target;
  let pidfd = -1;
  try {
    pidfd = openPidfd(pid);
    rehearse(pid, BigInt(insn));
    const { value: fd, heldMs } = withHeldThread(pid, tid, { syscallAddress: BigInt(insn) }, (t) =>
      injectUserfaultfd(t, pid, pidfd),
    );
    try {
      sendFd(HELPER_SOCKET_FD, fd);
    } finally {
      closeRawFd(fd); // the copy in the socket is the one that counts
    }
    return { ok: true, heldMs };
  } catch (err) {
    return { ok: false, code: errorCode(err), message: userMessage(err) };
  } finally {
    if (pidfd >= 0) closeRawFd(pidfd);
  }
}

function run(): HelperReport | HelperBatchReport {
  newSession();
  ignoreTerminatingSignals();
  boostToRealtime(0); // as root: never preempted while it holds the thread
  try {
    fs.writeFileSync('/proc/self/oom_score_adj', '-1000');
  } catch {
    // not root: the default score of a small process
  }
  // '-': started ahead of the attach (remote-attach.ts prestartHelper), the targets come on
  // stdin once pagescope knows them; EOF without them (pagescope gone or done) ends it untouched.
  const last = process.argv[process.argv.length - 1] ?? '{}';
  const text = last === '-' ? fs.readFileSync(0, 'utf8') : last;
  if (!text.trim()) process.exit(0);
  const arg = JSON.parse(text) as HelperTarget | { batch: HelperTarget[] };
  if ('batch' in arg) return { batch: arg.batch.map(attachOne) };
  return attachOne(arg);
}

process.stdout.write(JSON.stringify(run()) + '\n');
