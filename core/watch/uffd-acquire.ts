/**
 * Attach: getting a userfaultfd that lives in the target's address space into pagescope.
 *
 * Strategy (KERNEL-NOTES "Another process's memory"): the userfaultfd is created INSIDE the
 * target (the context belongs to the mm that created it) by the attach helper process
 * (attach-helper.ts, which pagescope's death cannot interrupt), copied out with pidfd_getfd and
 * closed in the target, and handed to us; the only reference lives in pagescope. If pagescope
 * dies, even by SIGKILL, the kernel drops every registration with the descriptor and the target
 * is as before. Launch mode injects in this process instead, at the exec stop of our own child.
 * Everything slow (finding the `syscall` instruction, opening pagemap and mem) happens before
 * the target's thread is held.
 */
import fs from 'node:fs';
import { KernelError, PagescopeError } from '../kernel/errors.ts';
import { closeRawFd, openPidfd } from '../kernel/ptrace.ts';
import { readStatFile, statField } from '../proc/stat.ts';
import { PagemapScanBackend } from '../scan/pagemap-scan-backend.ts';
import { injectUserfaultfd } from './inject-userfaultfd.ts';
import { readTargetStatus, seizeError, withHeldThread } from './injector.ts';
import { attachManyThroughHelper, attachThroughHelper } from './remote-attach.ts';
import { syscallSite } from './syscall-site.ts';

/**
 * Makes the userfaultfd inside `pid` and returns our copy of it; the target keeps nothing.
 * Everything slow happens before the thread is held: the `syscall` instruction is found and
 * pagemap and mem are opened. Attach by pid goes through the attach helper process (pagescope's
 * death cannot interrupt it); launch mode injects here, at the exec stop of our own child.
 */
export function acquireUserfaultfd(
  pid: number,
  tid: number,
  how: { atExecStop: boolean; inProcess: boolean },
): {
  fd: number;
  probeAddress: bigint;
  backend: PagemapScanBackend;
  memFd: number;
  heldMs: number;
} {
  // Opened before the thread is held. Refused here means refused to trace: say it that way.
  let backend: PagemapScanBackend;
  let memFd = -1;
  try {
    backend = new PagemapScanBackend(pid);
  } catch (err) {
    throw isDenied(err) ? seizeError(pid, EPERM) : err;
  }
  try {
    memFd = fs.openSync(`/proc/${pid}/mem`, 'r');
    if (how.inProcess) {
      const insn = syscallSite(pid);
      const pidfd = openPidfd(pid);
      try {
        const held = withHeldThread(
          pid,
          tid,
          { syscallAddress: insn, atExecStop: how.atExecStop },
          (t) => injectUserfaultfd(t, pid, pidfd),
        );
        return { fd: held.value, heldMs: held.heldMs, probeAddress: insn, backend, memFd };
      } finally {
        closeRawFd(pidfd);
      }
    }
    // A program that executes another one between our look and the stop (a launcher) is
    // detected at the stop and left alone; look again at the new program.
    for (let attempt = 1; ; attempt++) {
      const insn = syscallSite(pid);
      try {
        return { ...attachThroughHelper(pid, tid, insn), probeAddress: insn, backend, memFd };
      } catch (err) {
        if (!(err instanceof PagescopeError && err.code === 'program-changed') || attempt === 3)
          throw err;
        // Both descriptors belong to the old address space.
        backend.close();
        fs.closeSync(memFd);
        memFd = -1;
        backend = new PagemapScanBackend(pid);
        memFd = fs.openSync(`/proc/${pid}/mem`, 'r');
      }
    }
  } catch (err) {
    backend.close();
    if (memFd >= 0) fs.closeSync(memFd);
    throw isDenied(err) ? seizeError(pid, EPERM) : err;
  }
}

/** What acquireUserfaultfd returns. */
export type Acquired = ReturnType<typeof acquireUserfaultfd>;

/**
 * Attach by pid for several targets at once (a group's members, issue 24): each target's slow
 * part (pagemap, mem, the `syscall` instruction) first, then ONE attach helper run for all of
 * them (one process start instead of one per member, most of an attach's time on a loaded
 * machine). Each entry is that target's result or the error it met (a failed target keeps
 * nothing of us and holds nothing of ours). A target that exec'd between our look and its stop
 * is attached again alone (acquireUserfaultfd, which looks at the new program).
 */
export function acquireManyUserfaultfds(
  targets: Array<{ pid: number; tid: number }>,
): Array<Acquired | Error> {
  interface Prepared {
    backend: PagemapScanBackend;
    memFd: number;
    insn: bigint;
  }
  const out: Array<Acquired | Error> = [];
  const prepared: Array<Prepared | null> = targets.map((t, i) => {
    let backend: PagemapScanBackend | null = null;
    let memFd = -1;
    try {
      backend = new PagemapScanBackend(t.pid);
      memFd = fs.openSync(`/proc/${t.pid}/mem`, 'r');
      return { backend, memFd, insn: syscallSite(t.pid) };
    } catch (err) {
      backend?.close();
      if (memFd >= 0) fs.closeSync(memFd);
      out[i] = asError(isDenied(err) ? seizeError(t.pid, EPERM) : err);
      return null;
    }
  });
  const ready = targets.flatMap((t, i) => (prepared[i] ? [i] : []));
  let results: Array<{ fd: number; heldMs: number } | Error>;
  try {
    results = attachManyThroughHelper(
      ready.map((i) => ({ ...targets[i], syscallAddress: prepared[i]!.insn })),
    );
  } catch (err) {
    results = ready.map(() => asError(err)); // the helper as a whole: no target was changed
  }
  ready.forEach((i, k) => {
    const p = prepared[i]!;
    const r = results[k];
    if (!(r instanceof Error)) {
      out[i] = {
        fd: r.fd,
        heldMs: r.heldMs,
        probeAddress: p.insn,
        backend: p.backend,
        memFd: p.memFd,
      };
      return;
    }
    p.backend.close();
    fs.closeSync(p.memFd);
    if (r instanceof PagescopeError && r.code === 'program-changed') {
      try {
        out[i] = acquireUserfaultfd(targets[i].pid, targets[i].tid, {
          atExecStop: false,
          inProcess: false,
        });
      } catch (err) {
        out[i] = asError(err);
      }
      return;
    }
    out[i] = asError(isDenied(r) ? seizeError(targets[i].pid, EPERM) : r);
  });
  return out;
}

const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

const EPERM = 1;

/** A permission error from opening the target's /proc files (Node's or ours). */
function isDenied(err: unknown): boolean {
  if (err instanceof KernelError) return err.errnoName === 'EACCES' || err.errnoName === 'EPERM';
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'EACCES' || code === 'EPERM';
}

/** The thread to hold: the main one, or any live one when it has exited. */
export function pickThread(pid: number): number {
  const main = readTargetStatus(pid);
  if (main && main.state !== 'Z') return pid;
  // The main thread exited while others run on: any live thread shares the mm.
  for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
    const state = statField(readStatFile(`/proc/${pid}/task/${t}/stat`), 3);
    if (state !== 'Z' && state !== 'X') return Number(t);
  }
  return pid;
}
