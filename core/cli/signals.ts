/**
 * The signals that end a long-running command (watch, serve, demo) cleanly: Ctrl-C, kill, a
 * closed terminal and Ctrl-\. Each is caught, so the command detaches from its targets and ends
 * the commands it launched before it exits, instead of dying with a target half-handled (or, for
 * SIGQUIT, with a core dump).
 *
 * `onStopSignals` is the stop that `watch` and `record` (of a process or a group) share: why the
 * command stops, set by a signal, by the reader of stdout going away, or by the command itself,
 * and the one wait that any of them ends.
 */
import { onStdoutClosed } from './output.ts';

export const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];

export interface Stop {
  /** Why the command stops; null while it runs (a tick limit ends the wait with none). */
  reason: string | null;
  /** Sets the reason (a second one replaces the first) and ends the wait. */
  stop(reason: string): void;
  /** Sets the reason unless there is one already, and ends the wait. */
  stopOnce(reason: string): void;
  /** Ends the wait without a reason (the command's own limit was reached). */
  wake(): void;
  /** Waits until a stop or a wake; `start` runs once the wait is set up (it may end it at once). */
  wait(start?: () => void): Promise<void>;
  /** Stops listening for the signals (and for stdout). */
  off(): void;
}

/**
 * Listens for STOP_SIGNALS (each one a stop "interrupted by SIG...") and, with `output`, for
 * stdout's reader going away (a stop "the output was closed" unless stopped already: `| head -1`
 * ends the command as Ctrl-C does, and it exits 0). `firstStands`: a signal keeps an earlier
 * reason instead of replacing it.
 */
export function onStopSignals(opts: { output?: boolean; firstStands?: boolean } = {}): Stop {
  let wakeUp: (() => void) | null = null;
  const s: Stop = {
    reason: null,
    stop(reason) {
      s.reason = reason;
      wakeUp?.();
    },
    stopOnce(reason) {
      s.reason ??= reason;
      wakeUp?.();
    },
    wake() {
      wakeUp?.();
    },
    async wait(start) {
      await new Promise<void>((resolve) => {
        wakeUp = resolve;
        start?.();
      });
      wakeUp = null;
    },
    off() {
      for (const sig of STOP_SIGNALS) process.off(sig, onSignal);
      offStdoutClosed();
    },
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    if (opts.firstStands) s.stopOnce(`interrupted by ${sig}`);
    else s.stop(`interrupted by ${sig}`);
  };
  for (const sig of STOP_SIGNALS) process.on(sig, onSignal);
  const offStdoutClosed = opts.output
    ? onStdoutClosed(() => s.stopOnce('the output was closed'))
    : () => {};
  return s;
}
