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
  'core/session/aggregate.test.ts',
  'core/session/frame-builder.test.ts',
  'core/watch/ticker.test.ts',
  'core/watch/refusal.test.ts',
  'core/watch/overhead-budget.test.ts',
  'core/record/format.test.ts',
  'core/who/who-record.test.ts',
  'core/record/analytics.test.ts',
  'core/record/report-timing.test.ts',
  'core/record/export-names.test.ts',
  'core/scan/summary.test.ts',
  'core/host/static-files.test.ts',
  'core/cli/docs.test.ts',
  'core/kernel/privilege.test.ts',
  'bench/bench.test.ts',
  'bench/lib/write-dips.test.ts',
  'testing/wait.test.ts',
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

const shared = { pool: 'forks', testTimeout: 60_000, hookTimeout: 120_000 } as const;

export default defineConfig({
  test: {
    globalSetup: ['scripts/vitest-global-setup.mjs'],
    reporters: ['default'],
    projects: [
      {
        test: {
          ...shared,
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
