/**
 * The pure parts of the benchmark runner: medians, ratios, goals, the terminal table and the
 * JSON report. No timing and no processes here, so bench.test.ts can check them directly.
 */

/** A goal on `ratio` (ours / reference): met when ratio <= max. `null` max = informational. */
export interface Goal {
  /** Met when ratio <= max; null when the case only reports a figure. */
  max: number | null;
  /** What the goal says, in words, for the table and the JSON. */
  text: string;
}

export interface CaseResult {
  name: string;
  ours_ms: number | null;
  reference_ms: number | null;
  /** ours / reference, computed in the same run. */
  ratio: number | null;
  goal: string;
  /** true = goal met, false = missed, null = informational or skipped. */
  pass: boolean | null;
  /** Why the case did not run on this machine. */
  skipped?: string;
  /** What "ours" and "reference" are, and anything worth knowing about the figure. */
  note?: string;
  [extra: string]: unknown;
}

export interface MachineInfo {
  cpu: string;
  cores: number;
  kernel: string;
  node: string;
  memory_gib: number;
  /** 1-minute load average when the run started: these machines are shared, so say how busy. */
  load_1m: number;
}

export interface Report {
  machine: MachineInfo;
  mode: 'quick' | 'full';
  cases: CaseResult[];
}

/** Median of a non-empty list (mean of the middle two for even lengths). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of an empty list');
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * Whether an overhead estimate meets issue 22's goal against the measured loss (both percent):
 * within 1.5x of it, or within 3 points when both are under 5%.
 */
export function estimateFits(est: number, measured: number): boolean {
  if (est < 5 && measured < 5) return Math.abs(est - measured) <= 3;
  if (measured <= 0 || est <= 0) return false;
  return est / measured <= 1.5 && measured / est <= 1.5;
}

/** ours / reference, or null when either side is missing or the reference is zero. */
export function ratio(ours: number | null, reference: number | null): number | null {
  if (ours === null || reference === null || !(reference > 0) || !Number.isFinite(ours))
    return null;
  return ours / reference;
}

export function goalAtMost(max: number, text = `ratio <= ${max}`): Goal {
  return { max, text };
}

export function infoGoal(text: string): Goal {
  return { max: null, text };
}

/** Builds a case row from two medians and a goal. */
export function makeCase(
  name: string,
  ours: number | null,
  reference: number | null,
  goal: Goal,
  extra: Record<string, unknown> = {},
): CaseResult {
  const r = ratio(ours, reference);
  return {
    name,
    ours_ms: ours === null ? null : round(ours),
    reference_ms: reference === null ? null : round(reference),
    ratio: r === null ? null : round(r),
    goal: goal.text,
    pass: goal.max === null || r === null ? null : r <= goal.max,
    ...extra,
  };
}

/** A row whose verdict is the absolute median against a budget (not the ratio). */
export function budgetCase(
  name: string,
  ours: number,
  reference: number,
  budgetMs: number,
  goalText: string,
  extra: Record<string, unknown> = {},
): CaseResult {
  const row = makeCase(name, ours, reference, infoGoal(goalText), {
    budget_ms: budgetMs,
    ...extra,
  });
  row.pass = ours < budgetMs;
  return row;
}

export function skippedCase(name: string, goal: Goal, reason: string): CaseResult {
  return {
    name,
    ours_ms: null,
    reference_ms: null,
    ratio: null,
    goal: goal.text,
    pass: null,
    skipped: reason,
  };
}

/** Four significant digits: enough for noisy timings, short in a table. */
export function round(x: number): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  return Number(x.toPrecision(4));
}

function cell(x: number | null): string {
  if (x === null) return '-';
  if (Math.abs(x) >= 100) return x.toFixed(1);
  if (Math.abs(x) >= 1) return x.toFixed(2);
  return x.toPrecision(3);
}

export function verdict(c: CaseResult): string {
  if (c.skipped) return 'skipped';
  if (c.pass === null) return 'info';
  return c.pass ? 'pass' : 'miss';
}

/** The table: one row per case, with the note (or skip reason) under the row. */
export function formatTable(cases: readonly CaseResult[], options: { markdown?: boolean } = {}) {
  const head = ['case', 'ours_ms', 'reference_ms', 'ratio', 'goal', 'result'];
  const rows = cases.map((c) => [
    c.name,
    cell(c.ours_ms),
    cell(c.reference_ms),
    c.ratio === null ? '-' : `${cell(c.ratio)}x`,
    c.goal,
    verdict(c),
  ]);
  if (options.markdown) {
    const esc = (s: string) => s.replace(/\|/g, '\\|');
    const lines = [
      `| ${head.join(' | ')} |`,
      `| ${head.map(() => '---').join(' | ')} |`,
      ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
    ];
    return lines.join('\n');
  }
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r.map((v, i) => (i === 0 || i === 4 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ');
  const out = [line(head), widths.map((w) => '-'.repeat(w)).join('  ')];
  cases.forEach((c, i) => {
    out.push(line(rows[i]));
    const note = c.skipped ? `skipped: ${c.skipped}` : c.note;
    if (note) out.push(`    ${note}`);
  });
  return out.join('\n');
}

export function buildReport(
  machine: MachineInfo,
  mode: 'quick' | 'full',
  cases: CaseResult[],
): Report {
  return { machine, mode, cases };
}

export interface BenchArgs {
  quick: boolean;
  json: boolean;
  /** Run only the cases whose name contains one of these strings (empty = all). */
  only: string[];
}

/** Parses the runner's arguments; throws a one-sentence error on anything unknown. */
export function parseArgs(argv: readonly string[]): BenchArgs {
  const args: BenchArgs = { quick: false, json: false, only: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') args.quick = true;
    else if (a === '--json') args.json = true;
    else if (a === '--only' && i + 1 < argv.length) args.only.push(argv[++i]);
    else if (a === '--') continue;
    else
      throw new Error(
        `Unknown argument "${a}": use --quick, --json and --only NAME (e.g. npm run bench -- --quick --json).`,
      );
  }
  return args;
}
