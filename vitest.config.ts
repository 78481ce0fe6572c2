import { defineConfig } from 'vitest/config';

// One runner for everything: unit and kernel tests next to the code (core/**), renderer unit
// tests, and the end-to-end suite (e2e/**, real Chromium through the web host).
// Test files run one at a time: kernel tests change machine-wide state (zram swap) and ptrace
// targets, and the machine has two cores.
export default defineConfig({
  test: {
    include: [
      'core/**/*.test.ts',
      'renderer/**/*.test.{ts,tsx}',
      'electron/**/*.test.ts',
      'e2e/**/*.test.ts',
      'bench/**/*.test.ts',
      'scripts/**/*.test.ts',
      'testing/**/*.test.ts',
    ],
    globalSetup: ['scripts/vitest-global-setup.mjs'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
