/**
 * A failed request, in words for the user: the host's sentence, then what to do about it where
 * there is something to do. Decided by the error's code, and only by codes a host sends: ADVICE
 * has one entry per ErrorCode (core/protocol/errors.ts), so a new code does not compile until it
 * has been thought about here.
 */
import { errorCodeOf, type ErrorCode } from '../../core/protocol/errors.ts';

/** What to add to the host's sentence, per code; null when the sentence says it all. */
export const ADVICE: Readonly<Record<ErrorCode, string | null>> = {
  'bad-request': null,
  'unknown-session': null,
  version: null,
  busy: null,
  forbidden: null,
  closed: 'Restart `pagescope serve` and reload this page.',
  'too-many-sessions': null,
  'launch-disabled': null,
  'no-process': 'The list has been refreshed.',
  zombie: null,
  'kernel-thread': null,
  self: null,
  exited: 'Pick another process or launch the demo.',
  permission:
    'Run pagescope as root (or with CAP_SYS_PTRACE), or start the program with "Launch command…" so it is pagescope\'s child.',
  'launch-failed': null,
  'bad-command': null,
  'demo-failed': null,
  'demo-timeout': null,
  'bad-range': null,
  'unmapped-range': null,
  'watch-ended': null,
  'no-wp-async': null,
  seccomp: null,
  'already-traced': null,
  'program-changed': null,
  'no-stop': null,
  'no-syscall-insn': null,
  'inject-failed': null,
  'uffd-failed': null,
  'bad-recording': null,
  'not-recording': null,
  'no-recording': null,
  cancelled: null,
  'helper-failed': null,
  unsupported: null,
  kernel: null,
  error: null,
};

/** A user-facing sentence for a failed request (`what`: "Attaching to 42"...). */
export function explain(err: unknown, what: string): string {
  const message = err instanceof Error ? err.message : undefined;
  const base = message ? message.replace(/\s+$/, '') : `${what} failed.`;
  const withStop = /[.!?]$/.test(base) ? base : base + '.';
  const code = errorCodeOf(err);
  const advice = code ? ADVICE[code] : null;
  return advice ? `${withStop} ${advice}` : withStop;
}
