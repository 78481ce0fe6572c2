import os from 'node:os';
import { defineConfig } from 'vitest/config';

// One runner for everything, as three projects that run one after the other (sequence.groupOrder:
// projects of one group order run together; this config gives each its own):
//  - unit: code that touches no process but its own and no machine-wide state (the renderer,
//    the protocol, pure core modules): files in parallel on every core, first, and without a
//    fresh module graph per file (isolate: false; importing React, zod and fast-check again for
//    each file cost more than the tests), so a unit test file must not rely on module state
//    another file may have left (reset a store it changes).
//  - system: files with their own processes, ports and temporary folders and nothing else the
//    machine shares (most CLI, host, session, watcher and e2e files: each its own target, its own
//    `pagescope serve` on port 0 and its own Chromium): PARALLEL_WORKERS files at a time. They
//    mostly wait (for ticks, for a target, for a browser), so more files than cores overlap. Last.
//  - system-serial: everything else, one file at a time, second, and alone: files that change
//    machine-wide state (zram swap), that measure time, rates or CPU shares that other files
//    beside them would disturb (the kill torture's aim, an estimate under a hog of its own, a
//    writer's rate within 5-10%), and files that rebuild or walk dist/ (npm pack, electron-builder,
//    `npm start`) while other files run the CLI from it. Before the parallel files, not after:
//    limits scale with the 1-minute load average (testing/wait.ts), and after three files at a
//    time (load 6-9 on 2 cores) it takes the whole serial phase to decay, so the serial files,
//    alone on a machine then quiet, ran their scaled waits and stimuli 2-4x longer than needed.
// A system test file is in the serial project unless PARALLEL names it: a new file runs alone
// until someone reads it and lists it (the rule for PARALLEL: it starts its own processes only,
// uses port 0 or freePort(), writes only under a folder of its own (mkdtemp) and asserts no rate,
// duration or CPU share that another test's load would move; a scaled limit is fine).
// The global setup (the Node bundles the CLI and Electron tests run, the UI when it is stale) is
// the root's: once a run, before any file, so no file builds while another runs.
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
  'core/watch/registration.test.ts',
  'core/proc/read-proc.test.ts',
  'core/record/format.test.ts',
  'core/who/who-record.test.ts',
  'core/host/who-event.test.ts',
  'core/host/group-info.test.ts',
  'core/record/analytics.test.ts',
  'core/record/report-timing.test.ts',
  'core/record/export-names.test.ts',
  'core/record/page-codec.test.ts',
  'core/scan/summary.test.ts',
  'core/scan/region-list.test.ts',
  'core/host/static-files.test.ts',
  'core/host/frame-window.test.ts',
  'core/cli/docs.test.ts',
  'core/kernel/privilege.test.ts',
  'bench/bench.test.ts',
  'bench/lib/write-dips.test.ts',
  'bench/lib/ab-rounds.test.ts',
  'bench/lib/tx-log.test.ts',
  'bench/cases/tick-cost.test.ts',
  'testing/wait.test.ts',
  'core/exporter/window.test.ts',
  'scripts/engines.test.ts',
  'e2e/chromium-args.test.ts',
];

// System files that may run beside each other (see the rule above). Left out on purpose, so
// serial: testing/zram.test.ts, core/proc/shared-swap.test.ts, core/proc/group-scan.test.ts,
// core/scan/backends.property.test.ts, core/scan/scanner.test.ts, core/demo/demo.test.ts (zram
// swap; the demo's CPU share too), core/watch/overhead-load.test.ts (CPU hogs of its own), core/watch/overhead.test.ts
// (fault cost timing), core/watch/injector.test.ts (times a target's blocking calls around an
// attach), core/host/heavy-work.test.ts (answers within a second beside a compare),
// testing/rate-writer.test.ts (a writer's rate within 5-10%), scripts/dist.test.ts, electron/start.test.ts, electron/electron.test.ts,
// e2e/electron.test.ts (they walk or rebuild dist/), core/watch/attach-busy.test.ts and core/watch/burst.test.ts (a first tick's
// time and a burst's faults, beside a CPU hog of their own), core/host/group-host.test.ts (the
// host's event loop stalls no more than it says while a group scan runs).
const PARALLEL = [
  'bench/lib/run-command.test.ts',
  // Runs dist/'s CLI (read only) as bench 11 does: what rebuilds dist/ is in the serial project, before.
  'bench/lib/cli-watch.test.ts',
  'testing/c-build.test.ts',
  'bin/compile-cache.test.ts',
  'core/cli/cli-edges.test.ts',
  // Reads dist/'s chunks: what rebuilds dist/ (from the same sources) is all in the serial project, before.
  'core/cli/startup-chunks.test.ts',
  // Packs dist/ (read only) into a folder of its own and installs it there; what rebuilds dist/
  // is in the serial project, before.
  'scripts/package.test.ts',
  'core/cli/cli.test.ts',
  'core/cli/commands/watch.test.ts',
  'core/cli/signals.test.ts',
  'core/demo/demo-cli.test.ts',
  'core/exporter/deploy.test.ts',
  'core/exporter/exporter-safety.test.ts',
  // A rate-writer on an absolute clock (a late step catches up) and rates over 10 s windows of
  // real tick times: 10% bounds that held at load 18-46 (prometheus: -0.1 to -4.7% off); they
  // mostly wait for ticks and scrapes (4-6 s of CPU in 17-23 s), alone they idled the machine.
  'core/exporter/exporter.test.ts',
  'core/exporter/prometheus.test.ts',
  'core/host/caps.test.ts',
  // 1000 of its 4000 requests within 60 s are enough: 4000 took 5.6 s at load 16 on 2 cores.
  'core/host/fuzz.test.ts',
  'core/host/recording-bad-files.test.ts',
  'core/host/recording.test.ts',
  'core/host/serve-process.test.ts',
  'core/host/server.test.ts',
  'core/host/service.test.ts',
  'core/host/uploads.test.ts',
  'core/host/who-host.test.ts',
  'core/kernel/capabilities.test.ts',
  'core/kernel/containment.test.ts',
  'core/kernel/mm.test.ts',
  'core/kernel/pagemap-abi.test.ts',
  'core/kernel/parent-death.test.ts',
  'core/kernel/perf-event.test.ts',
  'core/kernel/privilege-caps.test.ts',
  'core/kernel/reap.test.ts',
  'core/proc/group-postgres.test.ts',
  'core/proc/group.test.ts',
  'core/proc/maps.test.ts',
  'core/proc/processes.test.ts',
  'core/proc/shared-objects.test.ts',
  'core/proc/smaps.test.ts',
  'core/proc/stat.test.ts',
  'core/proc/vma-labels.test.ts',
  'core/record/record.test.ts',
  // Its time limits are scaled when each run ends, so by the load beside it then.
  'core/record/costly-files.test.ts',
  'core/runtime/entry.test.ts',
  'core/scan/pagemap-scan-backend.test.ts',
  'core/scan/pagemap-scan-pieces.test.ts',
  'core/scan/scanner-sizing.test.ts',
  'core/scan/targets.test.ts',
  'core/session/errors.test.ts',
  'core/session/session.test.ts',
  'core/session/vma-table.test.ts',
  'core/watch/driver.test.ts',
  // Its 40 kills are aimed at instants of attaches (it needs 5 of them to land while a thread is
  // held, and landed 8-16 of 24 at load 18-46): it asserts no time, and its CPU (a core for ~40 s)
  // overlaps the other files' waits instead of running alone.
  'core/watch/attach-torture.test.ts',
  'core/watch/granularity.test.ts',
  'core/watch/safety.test.ts',
  'core/watch/watch-cli.test.ts',
  'core/watch/watcher-runs.test.ts',
  'core/watch/watcher-sampling.test.ts',
  'core/watch/watcher.test.ts',
  // EBUSY retries: its own targets; the retry schedule is checked against the ticks' own times.
  'core/watch/busy-retry.test.ts',
  // A refused MAP_DROPPABLE region of its own python3 target.
  'core/watch/droppable.test.ts',
  'core/who/attribution.test.ts',
  'core/who/elf.test.ts',
  'core/who/symbols.test.ts',
  'core/who/who-cli.test.ts',
  'core/who/who-record-cli.test.ts',
  'e2e/a11y.test.ts',
  'e2e/picker-tree.test.ts',
  'e2e/recording.test.ts',
  'e2e/web-token.test.ts',
  'e2e/web.test.ts',
  'e2e/who.test.ts',
  'electron/main.test.ts',
  'electron/preload.test.ts',
  // Groups: their own fixture trees, cgroups named by pid, a postgres cluster on a free port.
  'core/cli/commands/watch-group.test.ts',
  'core/cli/commands/record-group.test.ts',
  'core/watch/group-watch.test.ts',
  'core/watch/group-watch-postgres.test.ts',
  'core/watch/attach-many.test.ts',
  'core/host/group-replay.test.ts',
  'core/host/group-watch-host.test.ts',
  'e2e/group-view.test.ts',
  'e2e/group-replay.test.ts',
];
// Three: the machine is what limits a run, not waiting (a quiet run kept its 2 CPUs 86% busy,
// /proc/stat). Five were tried: no faster (vitest 364-392 s quiet, 372 s in a fresh clone) and
// a load of 12-15 where three make 6-9, which only moves more tests nearer their limits.
const PARALLEL_WORKERS = 3;

const ALL = [
  'core/**/*.test.ts',
  'renderer/**/*.test.{ts,tsx}',
  'electron/**/*.test.ts',
  'e2e/**/*.test.ts',
  'bench/**/*.test.ts',
  'scripts/**/*.test.ts',
  'testing/**/*.test.ts',
  'bin/**/*.test.ts',
];

// Timeouts: a quiet machine's, given to testing/scaled-timeouts.ts (a setup file), which sets
// them per test file scaled by the machine's slowness then (testing/wait.ts), as every wait in a
// test is. A test names no timeout of its own (a literal would not scale): the project's is the
// backstop for a hang, every wait inside a test has its own scaled limit.
// PAGESCOPE_ENTRIES=dist: workers and programs pagescope starts (session worker, heavy worker,
// attach helper...) run from dist/, which the global setup has just built from these sources, as
// in production, not through tsx, which compiled their sources again in each (3-8 s of CPU).
const shared = {
  pool: 'forks',
  setupFiles: ['testing/scaled-timeouts.ts'] as string[],
  env: { PAGESCOPE_ENTRIES: 'dist' },
} as const;
// System files log their CPU and wall time where PAGESCOPE_TEST_CPU_LOG says (testing/file-cpu.ts).
const systemSetup = [...shared.setupFiles, 'testing/file-cpu.ts'];
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
          setupFiles: systemSetup,
          name: 'system',
          include: PARALLEL,
          maxWorkers: PARALLEL_WORKERS,
          sequence: { groupOrder: 2 },
        },
      },
      {
        test: {
          ...shared,
          ...quiet(240_000),
          setupFiles: systemSetup,
          name: 'system-serial',
          include: ALL,
          exclude: [...UNIT, ...PARALLEL],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
