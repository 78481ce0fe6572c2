/**
 * `npm run bench [-- --quick] [-- --json] [-- --only NAME]`: pagescope's benchmarks, each a ratio
 * against a reference doing the same work in the same run (see bench/README section in the
 * project README). Progress goes to stderr; stdout gets the table, or with --json exactly one
 * JSON object {machine, mode, cases}.
 *
 * A case that cannot run here (no gcc, no PAGEMAP_SCAN, no userfaultfd) is reported as skipped
 * with its reason; a case that fails unexpectedly is reported as skipped with the error, and the
 * runner carries on with the next one.
 */
import { userMessage } from '../core/kernel/errors.ts';
import { ATTACH_NAME, attachCases } from './cases/attach.ts';
import type { BenchContext } from './cases/context.ts';
import { heatmapScaleCases, SCALE_APP_NAME, SCALE_PAINT_NAME } from './cases/heatmap-scale.ts';
import { EXPORTER_NAME, exporterCases } from './cases/exporter.ts';
import { HEATMAP_NAME, rendererCases, TIMELINE_NAME } from './cases/renderer.ts';
import { OPENTTD_NAMES, openttdCases } from './cases/openttd.ts';
import { BIG_RECORD_NAME, bigProcessCases, COLD_SCAN_NAME } from './cases/big-process.ts';
import { REAL_TARGET_NAMES, realTargetCases } from './cases/real-targets.ts';
import { WHO_COST_NAMES, whoCostCases } from './cases/who-cost.ts';
import { RECORD_NAME, recordCases } from './cases/record.ts';
import { scaleScanCase, scanCases, SCALE_NAME } from './cases/scan.ts';
import { sessionCases } from './cases/session.ts';
import { SESSION_SCALE_NAME, sessionScaleCases } from './cases/session-scale.ts';
import { startupCases, STARTUP_NAMES } from './cases/startup.ts';
import { TICK_COST_NAME, tickCostCases } from './cases/tick-cost.ts';
import { watchCases } from './cases/watch.ts';
import { WATCHED_WRITER_NAMES, watchedWriterCases } from './cases/watched-writer.ts';
import { wtrackCases } from './cases/wtrack.ts';
import { machineInfo } from './lib/machine.ts';
import { buildPrograms } from './lib/native.ts';
import {
  buildReport,
  formatTable,
  infoGoal,
  parseArgs,
  skippedCase,
  type BenchArgs,
  type CaseResult,
} from './lib/stats.ts';

interface CaseGroup {
  /** Names of the rows it produces (for --only and for the row an error turns into). */
  names: string[];
  run: (ctx: BenchContext) => Promise<CaseResult[]>;
}

const GROUPS: CaseGroup[] = [
  { names: ['1 scanner vs C', '2 PAGEMAP_SCAN vs pagemap read'], run: scanCases },
  { names: [SCALE_NAME], run: scaleScanCase },
  { names: ['3 write tracking cost'], run: wtrackCases },
  { names: ['4 watch tick'], run: watchCases },
  { names: WATCHED_WRITER_NAMES, run: watchedWriterCases },
  { names: ['5 session tick end to end', '7 host memory'], run: sessionCases },
  { names: [SESSION_SCALE_NAME], run: sessionScaleCases },
  { names: [HEATMAP_NAME, TIMELINE_NAME], run: rendererCases },
  { names: [SCALE_PAINT_NAME, SCALE_APP_NAME], run: heatmapScaleCases },
  { names: [ATTACH_NAME], run: attachCases },
  { names: STARTUP_NAMES, run: startupCases },
  { names: [RECORD_NAME], run: recordCases },
  { names: [COLD_SCAN_NAME, BIG_RECORD_NAME], run: bigProcessCases },
  { names: [EXPORTER_NAME], run: exporterCases },
  { names: REAL_TARGET_NAMES, run: realTargetCases },
  { names: [TICK_COST_NAME], run: tickCostCases },
  { names: WHO_COST_NAMES, run: whoCostCases },
  { names: OPENTTD_NAMES, run: openttdCases },
];

/** Cases of the issue that need parts not built yet: listed so the report shows the gap. */
const NOT_YET: Array<[string, string]> = [];

async function main(args: BenchArgs): Promise<number> {
  const log = (m: string) => process.stderr.write(`${m}\n`);
  const started = performance.now();
  const machine = machineInfo(); // before the run: its load average is the neighbours', not ours
  const built = buildPrograms();
  if (!built.ok) log(`C reference programs unavailable: ${built.reason}`);
  const ctx: BenchContext = { quick: args.quick, built, log, only: args.only };
  const want = (names: string[]) =>
    args.only.length === 0 || names.some((n) => args.only.some((o) => n.includes(o)));
  const cases: CaseResult[] = [];
  for (const g of GROUPS) {
    if (!want(g.names)) continue;
    log(`== ${g.names.join(', ')}`);
    try {
      cases.push(...(await g.run(ctx)));
    } catch (e) {
      const reason = `failed: ${userMessage(e)}`;
      log(`${g.names.join(', ')} ${reason}`);
      for (const n of g.names) cases.push(skippedCase(n, infoGoal('-'), reason));
    }
  }
  for (const [name, reason] of NOT_YET) {
    if (want([name])) cases.push(skippedCase(name, infoGoal('-'), reason));
  }
  const report = buildReport(machine, args.quick ? 'quick' : 'full', cases);
  log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  if (args.json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } else {
    const m = report.machine;
    process.stdout.write(
      `${formatTable(cases)}\n\nmachine: ${m.cpu}, ${m.cores} cores, ${m.memory_gib} GiB, Linux ${m.kernel}, Node ${m.node}, load ${m.load_1m} at start (${report.mode} run)\n`,
    );
  }
  return 0;
}

let args: BenchArgs;
try {
  args = parseArgs(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(2);
}
process.exitCode = await main(args);
