/**
 * Waiting in tests: for a condition, never for a length of time, and with a limit that grows with
 * how slow the machine is right now. `until` polls a condition and returns its first truthy value,
 * or throws naming what it waited for, the last value or error seen, and the limit with its scale:
 * a wait that runs out is a failure, never a quiet return. `sleep` is only for a stimulus (let a
 * target run, aim a kill at a random instant), never before an assertion that depends on how
 * long it slept. No test-runner imports: the e2e helpers and the stress script use it too.
 *
 * The slowness scale (`slowness()`, `limit(ms)`): every limit in a test is written for a quiet
 * machine and multiplied by how much slower this one is now, the larger of two measures:
 *  - CPU share, measured once per process (each system test file has its own): a busy loop of
 *    25 ms of this thread's CPU time, and the wall time it took. On an idle core the ratio is 1;
 *    with 5 runnable tasks on 2 cores it is about 2.5. It needs no reference machine (it compares
 *    the machine with itself, so a slow CI runner that is idle scores 1, as it should: the base
 *    limits already have margin for a slow machine, not for a shared one), and it sees load that
 *    started a second ago.
 *  - load per core, read at each limit (os.loadavg, one small read of /proc/loadavg): the 1-minute
 *    load average over the cores. It lags, but it sees what the short loop can miss (the loop may
 *    land in a quiet 50 ms) and a load that rises during a long test file.
 * The product is at least 1 and at most 30; PAGESCOPE_TEST_SLOWNESS raises the floor (a known slow
 * runner, or to check that a test's limits do scale). Load on 2 cores of 6 to 37 (the issue's
 * busy machine) gives 3 to 18: a 20 s wait becomes 1 to 6 minutes, still bounded.
 */
import os from 'node:os';

/** Resolves after `ms` (a stimulus only: see the top of this file). */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const MAX_SLOWNESS = 30;
let cpuShareRatio: number | undefined;
let sink = 0; // the busy loop's result, kept so the loop cannot be optimised away

// This thread's CPU time (Node 22.19+, not in @types/node yet); the process's on older Nodes.
const threadCpu: (prev?: NodeJS.CpuUsage) => NodeJS.CpuUsage =
  (process as { threadCpuUsage?: typeof process.cpuUsage }).threadCpuUsage?.bind(process) ??
  process.cpuUsage.bind(process);

/** Wall time over this thread's CPU time for a 25 ms busy loop (at most 2 s of wall time). */
export function measureCpuShare(cpuMs = 25): number {
  const cpu0 = threadCpu();
  const wall0 = performance.now();
  let x = sink;
  for (;;) {
    for (let i = 0; i < 20_000; i++) x = (x * 31 + i) | 0;
    const used = threadCpu(cpu0);
    const cpu = (used.user + used.system) / 1000;
    const wall = performance.now() - wall0;
    if (cpu >= cpuMs || wall >= 2000) {
      sink = x;
      return Math.max(1, wall / Math.max(cpu, 1));
    }
  }
}

/** The parts of the scale, for messages and the test's report. */
export function slownessParts(): { cpuShare: number; loadPerCore: number; floor: number } {
  cpuShareRatio ??= measureCpuShare();
  const floor = Number(process.env.PAGESCOPE_TEST_SLOWNESS) || 1;
  return {
    cpuShare: cpuShareRatio,
    loadPerCore: os.loadavg()[0] / os.availableParallelism(),
    floor,
  };
}

/** How many times slower than a quiet machine this one is now (1 to 30): see the top. */
export function slowness(): number {
  const p = slownessParts();
  const s = Math.max(1, p.floor, p.cpuShare, p.loadPerCore);
  return Math.min(MAX_SLOWNESS, Math.round(s * 10) / 10);
}

/** A limit written for a quiet machine, scaled to this one now (whole milliseconds). */
export function limit(ms: number): number {
  return Math.round(ms * slowness());
}

/** "20000 ms × slowness 2.5 = 50000 ms": how a scaled limit is shown in a failure message. */
export function describeLimit(ms: number, scale = slowness()): string {
  return `${ms} ms × slowness ${scale} = ${Math.round(ms * scale)} ms`;
}

/**
 * Polls `fn` every `intervalMs` until it returns something truthy, and returns that. Throws
 * "timed out after N ms (limit L ms × slowness S = M ms) waiting for WHAT (last: ...)" when it
 * never does within the scaled limit (looked at again when time is up, so a machine that became
 * slower during the wait extends it); `what` may be a function, called only then (to include
 * state such as a child's stderr). A condition that throws counts as not yet (its message is
 * the "last" seen), so an `expect` inside works.
 */
export async function until<T>(
  what: string | (() => string),
  fn: () => T | Promise<T>,
  timeoutMs = 20_000,
  intervalMs = 20,
): Promise<NonNullable<T>> {
  const start = performance.now();
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
      last = v;
    } catch (err) {
      last = err instanceof Error ? err.message : err;
    }
    const elapsed = performance.now() - start;
    if (elapsed > timeoutMs) {
      const scale = slowness();
      if (elapsed > timeoutMs * scale) {
        const name = typeof what === 'function' ? what() : what;
        throw new Error(
          `timed out after ${Math.round(elapsed)} ms (limit ${describeLimit(timeoutMs, scale)}) ` +
            `waiting for ${name} (last: ${String(last)})`,
        );
      }
    }
    await sleep(intervalMs);
  }
}

/** `until` for an assertion: waits until `check` stops throwing (its last error is the message). */
export async function eventually(
  what: string | (() => string),
  check: () => void | Promise<void>,
  timeoutMs = 20_000,
  intervalMs = 20,
): Promise<void> {
  await until(
    what,
    async () => {
      await check();
      return true;
    },
    timeoutMs,
    intervalMs,
  );
}
