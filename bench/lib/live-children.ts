/**
 * Children the bench starts detached (a session of their own: a Ctrl-C at the bench's terminal
 * reaches the bench only) that must not outlive it: the CLI watches (cli-watch.ts) and the CPU
 * hog (hog.ts). When the bench exits before it stopped them, they are ended here (SIGKILL at
 * exit; SIGTERM, their clean end, when SIGINT or SIGTERM ends the bench, which runs no 'exit'
 * handler then). A child in the bench's own session gets the terminal's signal too; ending it
 * again here is harmless.
 */
import type { ChildProcess } from 'node:child_process';

const live = new Set<ChildProcess>();
let exitHook = false;
const BENCH_STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** Ends every live child, then the bench by the same signal (its default action). */
function onBenchSignal(sig: NodeJS.Signals): void {
  for (const c of live) c.kill('SIGTERM');
  live.clear();
  setSignalHooks(false);
  // Another handler (a runner's) heard this signal too and decides; else the default: die.
  if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
}

let signalHooks = false;
/** The signal handlers are on only while a child is live (a handler keeps node from dying). */
function setSignalHooks(on: boolean): void {
  if (on === signalHooks) return;
  signalHooks = on;
  for (const sig of BENCH_STOP_SIGNALS)
    if (on) process.on(sig, onBenchSignal);
    else process.removeListener(sig, onBenchSignal);
}

/** `child` is ended with the bench (see above) until it exits. Call right after spawn. */
export function endWithBench(child: ChildProcess): void {
  if (child.exitCode !== null || child.signalCode !== null) return;
  live.add(child);
  setSignalHooks(true);
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
  const forget = () => {
    if (!live.delete(child)) return;
    if (live.size === 0) setSignalHooks(false);
  };
  child.once('exit', forget);
  // A spawn that failed emits 'error' (and maybe no 'exit').
  child.once('error', forget);
}
