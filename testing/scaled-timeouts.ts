/**
 * Vitest setup file (both projects, once per test file): every limit vitest itself keeps is a
 * quiet machine's limit scaled by the machine's slowness now (testing/wait.ts), as until()'s are:
 *  - the test and hook timeouts (each project's in vitest.config.ts, given here by `provide`);
 *    a test names no timeout of its own: `it(name, fn, 120_000)` would not scale (vitest fixes
 *    it when the file is collected), `it(name, { timeout: limit(120_000) }, fn)` would;
 *  - vi.waitFor and expect.poll: their `timeout` (given, or 10 s instead of vitest's 1 s: a wait
 *    is for a condition, and only a wait that fails lasts to its limit) is scaled, and a
 *    vi.waitFor that gives up says so with its limit and scale after the last error it saw.
 * So a test written with plain vitest waits holds on a busy machine too; new tests should still
 * prefer until()/eventually() (wait.ts), whose failure names what was awaited.
 */
import { expect, inject, vi } from 'vitest';
import { describeLimit, limit, slowness } from './wait.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The project's test and hook timeouts on a quiet machine (vitest.config.ts). */
    quietTimeouts: { testTimeoutMs: number; hookTimeoutMs: number };
  }
}

/** vi.waitFor's and expect.poll's limit, on a quiet machine, when the test names none. */
export const QUIET_WAIT_TIMEOUT_MS = 10_000;

const quiet = inject('quietTimeouts');
vi.setConfig({
  testTimeout: limit(quiet.testTimeoutMs),
  hookTimeout: limit(quiet.hookTimeoutMs),
});

type WaitForOptions = { timeout?: number; interval?: number } | number | undefined;
const ORIGINAL = Symbol.for('pagescope.unscaled');
type Patched<F> = F & { [ORIGINAL]?: F };

// The vitest module may outlive one test file in a worker: wrap the originals, once.
const waitFor = ((vi.waitFor as Patched<typeof vi.waitFor>)[ORIGINAL] ??= vi.waitFor);
const scaledWaitFor = ((callback: Parameters<typeof vi.waitFor>[0], options: WaitForOptions) => {
  const o = typeof options === 'number' ? { timeout: options } : (options ?? {});
  const quiet = o.timeout ?? QUIET_WAIT_TIMEOUT_MS;
  const scale = slowness();
  return waitFor(callback, { ...o, timeout: Math.round(quiet * scale) }).catch((err: unknown) => {
    if (err instanceof Error)
      err.message += ` (vi.waitFor gave up after ${describeLimit(quiet, scale)})`;
    throw err;
  });
}) as Patched<typeof vi.waitFor>;
scaledWaitFor[ORIGINAL] = waitFor;
vi.waitFor = scaledWaitFor;

const poll = ((expect.poll as Patched<typeof expect.poll>)[ORIGINAL] ??= expect.poll);
const scaledPoll = ((fn: Parameters<typeof expect.poll>[0], options = {}) =>
  poll(fn, {
    ...options,
    timeout: limit(options.timeout ?? QUIET_WAIT_TIMEOUT_MS),
  })) as Patched<typeof expect.poll>;
scaledPoll[ORIGINAL] = poll;
expect.poll = scaledPoll;
