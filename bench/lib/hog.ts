/**
 * A CPU hog beside the target (bench 8c/8d, 11d/11e/11h, 11j): `stress-ng --cpu 2` (both CPUs
 * of this VM busy, the target gets part of one), detached (a neighbour's hog, in a session, so
 * a scheduler autogroup, of its own, as a neighbour's would be). Ready when its two workers run.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { until } from '../../testing/wait.ts';
import { endWithBench } from './live-children.ts';

export interface Hog {
  /** stress-ng's main process (its workers are its children). */
  pid: number | undefined;
  /** Still running (a row measured with it is judged only if it ran to the row's end). */
  running(): boolean;
  /** How it ended, when it has (exit code or signal). */
  ended(): string | null;
  /**
   * SIGTERM, then SIGKILL if it has not exited in 10 s; resolves when it has exited (at once if
   * it already had).
   */
  stop(): Promise<void>;
}

/** The worker processes of stress-ng (its main process's children). */
function hogWorkers(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1')
      .trim()
      .split(/\s+/)
      .filter(Boolean).length;
  } catch {
    return 0;
  }
}

/**
 * Starts `stress-ng --cpu 2` and waits for its two workers. `--timeout 600` is a backstop for a
 * bench that dies without stopping it (SIGKILL, or a crash: a bench ended by SIGINT/SIGTERM or
 * exiting ends it, live-children.ts): a row that outlasts it must check running() after.
 */
export async function startHog(): Promise<Hog> {
  const hog = spawn('stress-ng', ['--cpu', '2', '--timeout', '600', '-q'], {
    stdio: 'ignore',
    detached: true,
  });
  endWithBench(hog);
  const exited = new Promise<void>((res) => {
    hog.once('exit', () => res());
    // A spawn that failed emits 'error' (and maybe no 'exit').
    hog.once('error', () => res());
  });
  let spawnError: Error | null = null;
  hog.once('error', (err) => (spawnError = err));
  const gone = () => hog.exitCode !== null || hog.signalCode !== null || spawnError !== null;
  const hogHandle: Hog = {
    pid: hog.pid,
    running: () => !gone(),
    ended: () =>
      spawnError
        ? `failed to start: ${(spawnError as Error).message}`
        : hog.exitCode !== null
          ? `exited ${hog.exitCode}`
          : hog.signalCode !== null
            ? `killed by ${hog.signalCode}`
            : null,
    stop: async () => {
      if (gone()) return;
      hog.kill('SIGTERM');
      // Its process group (detached: the main process's pid), workers included.
      const timer = setTimeout(() => {
        try {
          process.kill(-hog.pid!, 'SIGKILL');
        } catch {
          hog.kill('SIGKILL');
        }
      }, 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
  try {
    await until(
      'stress-ng --cpu 2 to start its two workers',
      () => gone() || hogWorkers(hog.pid) >= 2,
    );
    if (gone()) throw new Error(`stress-ng ${hogHandle.ended()} before its workers ran`);
  } catch (err) {
    await hogHandle.stop();
    throw err;
  }
  return hogHandle;
}
