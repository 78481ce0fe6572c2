// The benchmark runner's pure parts: medians, ratios, goals, the table and the JSON shape.
// No timing assertions: speed is measured by `npm run bench`, never asserted in tests.
import { describe, expect, it } from 'vitest';
import { parseGameDate, parseRecordTicks } from './cases/openttd.ts';
import { parseScanLine } from './lib/cli-output.ts';
import { machineInfo } from './lib/machine.ts';
import { parseFields } from './lib/native.ts';
import {
  buildReport,
  estimateFits,
  formatTable,
  goalAtMost,
  infoGoal,
  makeCase,
  median,
  parseArgs,
  ratio,
  round,
  skippedCase,
  verdict,
} from './lib/stats.ts';

describe('median', () => {
  it('takes the middle of an odd list and the mean of the middle two of an even one', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
  });
  it('does not reorder its input', () => {
    const xs = [3, 1, 2];
    median(xs);
    expect(xs).toEqual([3, 1, 2]);
  });
  it('refuses an empty list', () => {
    expect(() => median([])).toThrow(/empty/);
  });
});

describe('estimateFits (issue 22: within 1.5x, or 3 points when both are under 5%)', () => {
  it('judges an overhead estimate against the measured loss', () => {
    expect(estimateFits(60, 90)).toBe(true);
    expect(estimateFits(59, 90)).toBe(false);
    expect(estimateFits(135, 90)).toBe(true);
    expect(estimateFits(4.8, 1.9)).toBe(true);
    expect(estimateFits(4.9, 1.8)).toBe(false);
    expect(estimateFits(5.8, 3.4)).toBe(false);
    expect(estimateFits(3, 0)).toBe(true);
    expect(estimateFits(10, 0)).toBe(false);
  });
});

describe('ratio and goals', () => {
  it('is ours over reference, null when a side is missing or zero', () => {
    expect(ratio(3, 2)).toBe(1.5);
    expect(ratio(null, 2)).toBeNull();
    expect(ratio(2, null)).toBeNull();
    expect(ratio(2, 0)).toBeNull();
  });
  it('passes at or under the goal and misses above it', () => {
    expect(makeCase('x', 1.25, 1, goalAtMost(1.25)).pass).toBe(true);
    expect(makeCase('x', 1.3, 1, goalAtMost(1.25)).pass).toBe(false);
    expect(makeCase('x', 1.3, 1, infoGoal('info')).pass).toBeNull();
  });
  it('rounds to four significant digits and keeps extra fields', () => {
    const c = makeCase('x', 12.345678, 3.3333333, goalAtMost(5), { regions: 7 });
    expect(c.ours_ms).toBe(12.35);
    expect(c.reference_ms).toBe(3.333);
    expect(c.ratio).toBe(3.704);
    expect(c.regions).toBe(7);
    expect(round(0)).toBe(0);
  });
  it('names the verdicts', () => {
    expect(verdict(makeCase('x', 1, 2, goalAtMost(1)))).toBe('pass');
    expect(verdict(makeCase('x', 3, 2, goalAtMost(1)))).toBe('miss');
    expect(verdict(makeCase('x', 3, 2, infoGoal('i')))).toBe('info');
    expect(verdict(skippedCase('x', goalAtMost(1), 'no gcc'))).toBe('skipped');
  });
});

describe('table', () => {
  const cases = [
    makeCase('1a scan', 10, 8, goalAtMost(1.25, 'ours <= 1.25x C'), { note: 'a note' }),
    skippedCase('5 session', infoGoal('-'), 'core/session has not landed'),
  ];
  it('has a header, one row per case, and notes and skip reasons under their rows', () => {
    const lines = formatTable(cases).split('\n');
    expect(lines[0]).toMatch(/^case\s+ours_ms\s+reference_ms\s+ratio\s+goal\s+result$/);
    expect(lines[2]).toMatch(/^1a scan\s+10\.00\s+8\.00\s+1\.25x\s+ours <= 1\.25x C\s+pass$/);
    expect(lines[3]).toBe('    a note');
    expect(lines[4]).toMatch(/^5 session\s+-\s+-\s+-\s+-\s+skipped$/);
    expect(lines[5]).toBe('    skipped: core/session has not landed');
  });
  it('renders as a Markdown table for the README', () => {
    const md = formatTable(cases, { markdown: true }).split('\n');
    expect(md[0]).toBe('| case | ours_ms | reference_ms | ratio | goal | result |');
    expect(md[1]).toBe('| --- | --- | --- | --- | --- | --- |');
    expect(md).toHaveLength(4);
  });
});

describe('JSON report', () => {
  it('is one object with machine and cases carrying the issue fields', () => {
    const report = buildReport(machineInfo(), 'quick', [
      makeCase('1a', 2, 1, goalAtMost(1.25)),
      skippedCase('6', infoGoal('-'), 'no renderer'),
    ]);
    const parsed = JSON.parse(JSON.stringify(report));
    expect(Object.keys(parsed.machine).sort()).toEqual(
      ['cores', 'cpu', 'kernel', 'load_1m', 'memory_gib', 'node'].sort(),
    );
    expect(parsed.machine.cores).toBeGreaterThan(0);
    expect(parsed.machine.node).toBe(process.version);
    for (const c of parsed.cases) {
      for (const k of ['name', 'ours_ms', 'reference_ms', 'ratio', 'goal'])
        expect(c).toHaveProperty(k);
    }
    expect(parsed.cases[0]).toMatchObject({ ratio: 2, pass: false });
    expect(parsed.cases[1]).toMatchObject({ skipped: 'no renderer', ours_ms: null });
  });
});

describe('arguments and the C programs answers', () => {
  it('accepts --quick, --json, --only and refuses the rest with a sentence', () => {
    expect(parseArgs(['--', '--quick', '--json'])).toEqual({ quick: true, json: true, only: [] });
    expect(parseArgs(['--only', '4 watch']).only).toEqual(['4 watch']);
    expect(() => parseArgs(['--fast'])).toThrow(/Unknown argument "--fast"/);
  });
  it('parses "key value" lines', () => {
    expect(parseFields('median_ns 1234 regions 5 pages 6\n')).toEqual({
      median_ns: 1234,
      regions: 5,
      pages: 6,
    });
  });
  it("reads the region count and scan time from `pagescope scan`'s last line", () => {
    const out =
      'RANGE  PERMS\ntotal    24 VMAs   2097771\n' +
      'pid 8074: 1048617 regions scanned with PAGEMAP_SCAN in 709.7 ms; mapped 8.0 GiB, resident 2.0 GiB, swapped 0 B.\n';
    expect(parseScanLine(out)).toEqual({ regions: 1048617, ms: 709.7 });
    expect(
      parseScanLine('pid 1: 1 region scanned with /proc/PID/pagemap in 3 ms; mapped 4.0 KiB'),
    ).toEqual({ regions: 1, ms: 3 });
    expect(() => parseScanLine('pagescope: no such process\n')).toThrow(/no summary line/);
  });
});

describe('bench 12 (OpenTTD): what it reads from record and from the game console', () => {
  it("reads record's tick line: asked, recorded, skipped, the mean interval", () => {
    const out =
      'recorded 285 ticks of process 7 (30 s done) to /tmp/x.pgsrec: 116 KiB, 347 KiB per minute, 2.00 ms per tick to encode and write.\n' +
      'ticks: 300 asked (30 s / 100 ms), 285 recorded, 14 skipped; mean interval 104.9 ms (asked 100 ms); wall time 30.40 s.\n';
    expect(parseRecordTicks(out)).toEqual({
      asked: 300,
      recorded: 285,
      skipped: 14,
      meanMs: 104.9,
    });
    expect(
      parseRecordTicks(
        'ticks: 1 asked (--ticks), 1 recorded, 0 skipped; no mean interval (under 2 ticks)',
      ),
    ).toEqual({ asked: 1, recorded: 1, skipped: 0, meanMs: null });
    expect(parseRecordTicks('recorded 3 ticks')).toBeNull();
  });

  it("reads the console's date as a day number, across a month and a year", () => {
    expect(parseGameDate('Date: 1950-01-31')! + 1).toBe(parseGameDate('Date: 1950-02-01'));
    expect(parseGameDate('Date: 1950-12-31')! + 1).toBe(parseGameDate('Date: 1951-01-01'));
    expect(parseGameDate('dbg: [net] Date: soon')).toBeNull();
  });
});
