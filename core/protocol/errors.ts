/**
 * Errors on the protocol: the closed list of codes a host can answer with, and the one error
 * object a Bridge rejects with, whichever host is behind it.
 *
 * Why a list and not free strings: the UI decides what to tell the user by the code, so every
 * code a host sends must be one the UI knows (renderer/src/actions.ts maps each of them), and a
 * code the UI tests for must be one a host sends. `ERROR_CODES` is that list with what each code
 * means; the engine's PagescopeError takes only these (or a CLI-only code, core/kernel/errors.ts),
 * so a new code cannot reach the UI without being added here first.
 *
 * Why the renderer builds the error itself: Electron's contextBridge copies an Error across
 * worlds as a bare Error with its message only (custom fields and even `name` are lost), so the
 * preload hands over the host's Response as plain data and bridge.ts turns it into a
 * PagescopeProtocolError in the page; the WebSocket bridge goes through the same function.
 *
 * Plain TypeScript: no zod, no Node APIs (the renderer and the preload import it).
 */

/** Every code a host answers with, and what it means. */
export const ERROR_CODES = {
  // The request itself
  'bad-request':
    'The message failed validation (messages.ts schemas) or asked for something impossible.',
  'unknown-session':
    'The request named a session this connection does not have (it may have ended).',
  version: 'hello with another protocol version.',
  busy: 'Too many requests in flight on one connection, or the host-wide upload quota is full.',
  forbidden: 'An IPC request from a frame other than the app window (Electron).',
  closed: 'The connection is closed (the host side, or the socket as the bridge saw it).',
  'too-many-sessions': 'The per-connection or per-host session cap is reached.',
  'launch-disabled': 'This host does not allow launching commands.',
  // The target process
  'no-process': 'No such process (it may have exited).',
  zombie: 'The process is a zombie: it has no memory left.',
  'kernel-thread': 'The process is a kernel thread: it has no user memory.',
  self: 'The process is pagescope itself.',
  exited: 'The process or its session has ended.',
  permission: 'Not allowed to trace or read the process (ptrace access).',
  // Launching
  'launch-failed': 'The command could not be started, or exited at once.',
  'bad-command': 'No command, or one that cannot be run.',
  'demo-failed': 'The demo workload did not start properly.',
  'demo-timeout': 'The demo workload did not report ready in time.',
  // Ranges and write watching
  'bad-range': 'No range, or a range that cannot be watched.',
  'unmapped-range': 'The range is not mapped in the process.',
  'watch-ended': 'The write watch has ended (the process exited or executed another program).',
  'no-wp-async': 'The kernel lacks userfaultfd async write-protection.',
  seccomp:
    'The process runs in seccomp strict mode (never attached) or under a seccomp filter (attach needs force).',
  'already-traced': 'Another tracer (gdb, strace) holds the process.',
  'program-changed': 'The process executed another program during the attach.',
  'no-stop': 'The process did not stop for the attach (uninterruptible sleep).',
  'no-syscall-insn': 'No syscall instruction in the process to inject through.',
  'inject-failed': 'The injected system call failed or faulted; nothing was changed.',
  'uffd-failed': 'The process could not create a userfaultfd.',
  'helper-failed': 'The attach helper process failed; the target was not changed.',
  // Recordings (recording.ts)
  'bad-recording':
    'The file is not a readable recording (garbage, another version, damaged, too large, no tick).',
  'not-recording': 'The session is not being recorded (snapshots, compare and analytics need it).',
  'no-recording': 'No such recording on this host (serve FILE not given, or not in its folder).',
  cancelled:
    'The user closed a file dialog without choosing, or a newer request of the same kind replaced this one.',
  // The kernel, and the rest
  unsupported: 'The kernel does not support a call pagescope needs (ENOTTY, ENOSYS).',
  kernel: 'Another system call failure; the message names the call and the errno.',
  error: 'Anything else (an unexpected failure); the message says what.',
} as const satisfies Record<string, string>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The codes, in the order above. */
export const ERROR_CODE_LIST = Object.keys(ERROR_CODES) as ErrorCode[];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/**
 * What a Bridge's request rejects with when the host answered ok: false (or the link to it is
 * gone: code 'closed'). The same class, fields and prototype from every bridge.
 */
export class PagescopeProtocolError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'PagescopeProtocolError';
    this.code = code;
  }
}

/**
 * The error for a host's `{ code, message }`. Anything else (a code from a newer host, no
 * message) is kept readable: an unknown code becomes 'error', a missing message a generic one.
 */
export function protocolError(info: { code?: unknown; message?: unknown }): PagescopeProtocolError {
  const code = isErrorCode(info.code) ? info.code : 'error';
  const message =
    typeof info.message === 'string' && info.message ? info.message : 'The host reported an error.';
  return new PagescopeProtocolError(code, message);
}

/** The code of anything a Bridge rejected with, or undefined when it is not a protocol error. */
export function errorCodeOf(err: unknown): ErrorCode | undefined {
  return err instanceof PagescopeProtocolError ? err.code : undefined;
}
