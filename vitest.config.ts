import os from 'node:os';
import { defineConfig } from 'vitest/config';

// One runner for everything, as two projects that run one after the other:
//  - unit: code that touches no process but its own and no machine-wide state (the renderer,
//    the protocol, pure core modules): files in parallel on every core, first, and without a
//    fresh module graph per file (isolate: false; importing React, zod and fast-check again for
//    each file cost more than the tests), so a unit test file must not rely on module state
//    another file may have left (reset a store it changes).
//  - system: everything else, one file at a time: kernel tests change machine-wide state (zram
//    swap) and ptrace targets, the e2e suite drives Chromium, and the machine may have two cores.
// A test file not named in UNIT is a system test: a new file runs serially until it is listed.
// The global setup (the Node bundles the CLI and Electron tests run) is the root's: once a run.
const UNIT = [
  'renderer/**/*.test.{ts,tsx}',
  'core/protocol/**/*.test.ts',
  'core/who/page-ranges.test.ts',
  'core/session/aggregate.test.ts',
  'core/session/frame-builder.test.ts',
  'core/watch/ticker.test.ts',
  'core/watch/refusal.test.ts',
  'core/watch/overhead-budget.test.ts',
  'core/watch/sample-error.test.ts',
  'core/watch/group-writes.test.ts',
  'core/watch/sampling.test.ts',
  'core/record/format.test.ts',
  'core/who/who-record.test.ts',
  'core/host/who-event.test.ts',
  'core/record/analytics.test.ts',
  'core/record/report-timing.test.ts',
  'core/record/export-names.test.ts',
  'core/record/page-codec.test.ts',
  'core/scan/summary.test.ts',
  'core/scan/region-list.test.ts',
  'core/host/static-files.test.ts',
  'core/cli/docs.test.ts',
  'core/kernel/privilege.test.ts',
  'bench/bench.test.ts',
  'bench/lib/write-dips.test.ts',
  'testing/wait.test.ts',
  'core/exporter/window.test.ts',
  'scripts/engines.test.ts',
];

const ALL = [
  'core/**/*.test.ts',
  'renderer/**/*.test.{ts,tsx}',
  'electron/**/*.test.ts',
  'e2e/**/*.test.ts',
  'bench/**/*.test.ts',
  'scripts/**/*.test.ts',
  'testing/**/*.test.ts',
];

// Timeouts: a quiet machine's, given to testing/scaled-timeouts.ts (a setup file), which sets
// them per test file scaled by the machine's slowness then (testing/wait.ts), as every wait in a
// test is. A test names no timeout of its own (a literal would not scale): the project's is the
// backstop for a hang, every wait inside a test has its own scaled limit.
const shared = {
  pool: 'forks',
  setupFiles: ['testing/scaled-timeouts.ts'] as string[],
} as const;
const quiet = (testTimeoutMs: number) => ({
  testTimeout: testTimeoutMs,
  hookTimeout: 120_000,
  provide: { quietTimeouts: { testTimeoutMs, hookTimeoutMs: 120_000 } },
});

export default defineConfig({
  test: {
    globalSetup: ['scripts/vitest-global-setup.mjs'],
    reporters: ['default'],
    projects: [
      {
        test: {
          ...shared,
          ...quiet(60_000),
          name: 'unit',
          include: UNIT,
          maxWorkers: os.availableParallelism(),
          isolate: false,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          ...shared,
          ...quiet(240_000),
          name: 'system',
          include: ALL,
          exclude: UNIT,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
