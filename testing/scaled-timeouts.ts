/**
 * Vitest setup file (both projects, once per test file): the default test and hook timeouts are
 * the config's quiet-machine values scaled by the machine's slowness now (testing/wait.ts), so
 * a test without a timeout of its own gets as much more time as its waits do. A test that names
 * its own timeout scales it with `limit(ms)`.
 */
import { vi } from 'vitest';
import { limit } from './wait.ts';

/** The config's quiet-machine timeouts (vitest.config.ts). */
export const QUIET_TEST_TIMEOUT_MS = 60_000;
export const QUIET_HOOK_TIMEOUT_MS = 120_000;

vi.setConfig({
  testTimeout: limit(QUIET_TEST_TIMEOUT_MS),
  hookTimeout: limit(QUIET_HOOK_TIMEOUT_MS),
});
