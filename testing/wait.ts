/**
 * Waiting in tests: for a condition, never for a length of time. `until` polls a condition and
 * returns its first truthy value, or throws naming what it waited for (and the last value or
 * error seen) when the time is up: a wait that runs out is a failure, never a quiet return.
 * `sleep` is only for a stimulus (let a target run, aim a kill at a random instant), never before
 * an assertion that depends on how long it slept. No test-runner imports: the e2e helpers and
 * the stress script use it too.
 */

/** Resolves after `ms` (a stimulus only: see the top of this file). */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `fn` every `intervalMs` until it returns something truthy, and returns that. Throws
 * "timed out after N ms waiting for WHAT" when it never does within `timeoutMs`; `what` may be a
 * function, called only then (to include state such as a child's stderr).
 */
export async function until<T>(
  what: string | (() => string),
  fn: () => T | Promise<T>,
  timeoutMs = 20_000,
  intervalMs = 20,
): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
      last = v;
    } catch (err) {
      last = err instanceof Error ? err.message : err;
    }
    if (Date.now() > end) {
      const name = typeof what === 'function' ? what() : what;
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${name} (last: ${String(last)})`,
      );
    }
    await sleep(intervalMs);
  }
}
