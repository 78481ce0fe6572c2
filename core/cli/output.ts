/**
 * stdout as a pipe that may close: `pagescope scan --pid P | head -2` or
 * `pagescope watch ... --json | head -1`. The reader leaving is a normal end, as for any Unix
 * tool: no stack trace, exit code 0. Node ignores SIGPIPE, so the closed pipe arrives as an
 * EPIPE 'error' event on process.stdout; we swallow it, remember that output is over, and tell
 * whoever listens (a running watch stops as it does on Ctrl-C: it detaches, ends a launched
 * command, and returns 0). Writes after that are dropped.
 */

let installed = false;
let closed = false;
const listeners = new Set<() => void>();

function onError(err: NodeJS.ErrnoException): void {
  if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
  if (closed) return;
  closed = true;
  for (const l of [...listeners]) l();
}

/** Installs the EPIPE handler on process.stdout (once per process). */
export function watchStdout(): void {
  if (installed) return;
  installed = true;
  process.stdout.on('error', onError);
}

/** Whether the reader of our stdout has gone away. */
export function stdoutClosed(): boolean {
  return closed;
}

/** Calls `listener` once when stdout's reader goes away; returns a function that unsubscribes. */
export function onStdoutClosed(listener: () => void): () => void {
  if (closed) {
    queueMicrotask(listener);
    return () => {};
  }
  const once = (): void => {
    listeners.delete(once);
    listener();
  };
  listeners.add(once);
  return () => listeners.delete(once);
}

/** Writes to stdout unless its reader has gone. */
export function out(text: string): void {
  if (!closed) process.stdout.write(text);
}
