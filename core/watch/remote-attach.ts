/**
 * Attach by pid through the attach helper (attach-helper.ts): pagescope's side.
 *
 * Everything slow is done here before the helper starts (the `syscall` instruction is found,
 * the caller has opened pagemap and mem). The helper is run to completion with spawnSync, in
 * its own session; it sends the userfaultfd over a socketpair and exits; we take the
 * descriptor from our end of the socket. The call is synchronous like the rest of an attach.
 * A group's new members go through one helper run (attachManyThroughHelper): one process start
 * for all of them, the descriptors taken from the socket in the order of the reports.
 */
import { spawnSync, type SpawnSyncOptionsWithStringEncoding } from 'node:child_process';
import module from 'node:module';
import path from 'node:path';
import { PagescopeError } from '../kernel/errors.ts';
import { closeSocket, receiveFd, socketPair } from '../kernel/fd-passing.ts';
import { isErrorCode } from '../protocol/errors.ts';
import { entryCommand } from '../runtime/entry.ts';
import { closeRawFd } from '../kernel/ptrace.ts';
import type { HelperBatchReport, HelperReport } from './attach-helper.ts';

/** Only for a helper that never answers; it gives up on a thread that will not stop in 5 s. */
const HELPER_TIMEOUT_MS = 60_000;

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

/** Runs the helper on `arg`; each ok report's descriptor is taken from the socket in order. */
function runHelper(
  arg: unknown,
  parse: (line: unknown) => HelperReport[] | null,
): Array<{ fd: number; heldMs: number } | PagescopeError> {
  const [ours, theirs] = socketPair();
  const taken: number[] = [];
  try {
    const options: SpawnSyncOptionsWithStringEncoding & { detached: boolean } = {
      stdio: ['ignore', 'pipe', 'pipe', theirs],
      // Own session and process group from the start (spawnSync honours it; its types omit it).
      detached: true,
      encoding: 'utf8',
      timeout: HELPER_TIMEOUT_MS,
      // Under Electron, execPath is the Electron binary: run it as plain Node.
      env: { ...process.env, ...helperCompileCache(), ELECTRON_RUN_AS_NODE: '1' },
    };
    // --no-lazy: every function is compiled when loaded, not on its first call inside the window.
    const helper = entryCommand('watch/attach-helper');
    const r = spawnSync(
      helper.command,
      ['--no-lazy', ...helper.args, JSON.stringify(arg)],
      options,
    );
    closeSocket(theirs);
    const line = (r.stdout ?? '').trim().split('\n').pop() ?? '';
    let reports: HelperReport[] | null = null;
    try {
      reports = parse(JSON.parse(line));
    } catch {
      reports = null;
    }
    if (!reports) {
      const why = r.error?.message ?? (r.stderr ?? '').trim().split('\n').pop() ?? '';
      throw new PagescopeError(
        `The attach helper failed (${r.signal ? `signal ${r.signal}` : `exit code ${r.status}`}${why ? `: ${why}` : ''}); the target was not changed.`,
        'helper-failed',
      );
    }
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
    closeSocket(ours);
  }
}
