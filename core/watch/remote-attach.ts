/**
 * Attach by pid through the attach helper (attach-helper.ts): pagescope's side.
 *
 * Everything slow is done here before the helper starts (the `syscall` instruction is found,
 * the caller has opened pagemap and mem). The helper is run to completion with spawnSync, in
 * its own session; it sends the userfaultfd over a socketpair and exits; we take the
 * descriptor from our end of the socket. The call is synchronous like the rest of an attach.
 */
import { spawnSync, type SpawnSyncOptionsWithStringEncoding } from 'node:child_process';
import { PagescopeError } from '../kernel/errors.ts';
import { closeSocket, receiveFd, socketPair } from '../kernel/fd-passing.ts';
import { isErrorCode } from '../protocol/errors.ts';
import { entryCommand } from '../runtime/entry.ts';
import type { HelperReport } from './attach-helper.ts';

/** Only for a helper that never answers; it gives up on a thread that will not stop in 5 s. */
const HELPER_TIMEOUT_MS = 60_000;

/** Our descriptor of a userfaultfd made inside `pid`, and how long its thread `tid` was held. */
export function attachThroughHelper(
  pid: number,
  tid: number,
  syscallAddress: bigint,
): { fd: number; heldMs: number } {
  const [ours, theirs] = socketPair();
  try {
    const args = JSON.stringify({ pid, tid, insn: `0x${syscallAddress.toString(16)}` });
    const options: SpawnSyncOptionsWithStringEncoding & { detached: boolean } = {
      stdio: ['ignore', 'pipe', 'pipe', theirs],
      // Own session and process group from the start (spawnSync honours it; its types omit it).
      detached: true,
      encoding: 'utf8',
      timeout: HELPER_TIMEOUT_MS,
      // Under Electron, execPath is the Electron binary: run it as plain Node.
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
    };
    // --no-lazy: every function is compiled when loaded, not on its first call inside the window.
    const helper = entryCommand('watch/attach-helper');
    const r = spawnSync(helper.command, ['--no-lazy', ...helper.args, args], options);
    closeSocket(theirs);
    const line = (r.stdout ?? '').trim().split('\n').pop() ?? '';
    let report: HelperReport | null = null;
    try {
      report = JSON.parse(line) as HelperReport;
    } catch {
      report = null;
    }
    if (!report) {
      const why = r.error?.message ?? (r.stderr ?? '').trim().split('\n').pop() ?? '';
      throw new PagescopeError(
        `The attach helper failed (${r.signal ? `signal ${r.signal}` : `exit code ${r.status}`}${why ? `: ${why}` : ''}); the target was not changed.`,
        'helper-failed',
      );
    }
    if (!report.ok)
      throw new PagescopeError(
        report.message,
        isErrorCode(report.code) ? report.code : 'helper-failed',
      );
    const fd = receiveFd(ours);
    if (fd === null)
      throw new PagescopeError(
        'The attach helper reported success but sent no descriptor; the target keeps none.',
        'helper-failed',
      );
    return { fd, heldMs: report.heldMs };
  } finally {
    closeSocket(ours);
  }
}
