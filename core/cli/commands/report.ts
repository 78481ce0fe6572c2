/**
 * `pagescope report FILE [--json] [--link SPEED] [--sort writes|distinct|share] [--top N]`: the
 * write working-set analytics of a recording (core/record/report.ts) as tables, or as one JSON
 * object. A truncated recording (its recorder was killed) is reported up to its last complete
 * tick, with one line on stderr saying so.
 */
import { PagescopeError } from '../../kernel/errors.ts';
import { OVERHEAD_IS, overheadText, pctText } from '../../protocol/overhead-text.ts';
import { labelledName } from '../../protocol/vma-name.ts';
import { sortVmaRows } from '../../record/analytics.ts';
import { isGroupRecording } from '../../record/group-recording.ts';
import { readRecording } from '../../record/reader.ts';
import { buildReport } from '../../record/report.ts';
import { writersReport } from '../../who/who-report.ts';
import { count, formatBytes, table } from '../format.ts';
import { out as print } from '../output.ts';
import { groupReportCommand } from './report-group.ts';

export interface ReportCommandOptions {
  json?: boolean;
  link?: string;
  sort?: 'writes' | 'distinct' | 'share';
  top?: string;
}

/**
 * A link speed: "1gbit", "10Gbit/s", "100mbit" (bits per second) or "500MB/s", "1GB/s" (bytes,
 * capital B). Returns bytes per second.
 */
export function parseLinkSpeed(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(bit|B)(?:\/s|ps)?\s*$/i.exec(text);
  const unitIsBytes = m !== null && m[3] === 'B';
  if (!m || !(Number(m[1]) > 0) || (!unitIsBytes && m[3].toLowerCase() !== 'bit'))
    throw new PagescopeError(
      `--link "${text}" is not a link speed: write e.g. 1gbit, 10Gbit/s, 100mbit or 500MB/s.`,
      'bad-input',
    );
  const scale = { '': 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12 }[m[2].toLowerCase() as '' | 'k'] ?? 1;
  const v = Number(m[1]) * scale;
  return unitIsBytes ? v : v / 8;
}

const mib = (pages: number): string => formatBytes(pages * 4096);
const rate = (x: number): string => `${x.toFixed(2)} MiB/s`;

export function reportCommand(file: string, options: ReportCommandOptions): number {
  const link = parseLinkSpeed(options.link ?? '1gbit');
  const top =
    options.top === undefined
      ? 15
      : /^\d+$/.test(options.top) && Number(options.top) > 0
        ? Number(options.top)
        : (() => {
            throw new PagescopeError(
              `--top must be a positive whole number, not "${options.top}".`,
              'bad-input',
            );
          })();
  // A group's recording (format version 3): per member and per shared object.
  if (isGroupRecording(file)) return groupReportCommand(file, options.json === true);
  const rec = readRecording(file);
  if (rec.truncated) process.stderr.write(`pagescope: ${file} was cut short (${rec.truncated}).\n`);
  const r = buildReport(rec, link);
  const who = writersReport(rec, Math.min(top, 10));
  if (options.json) {
    print(JSON.stringify(who ? { ...r, writers: who } : r) + '\n');
    return 0;
  }
  const by = { writes: 'pageWrites', distinct: 'distinctPages', share: 'share' } as const;
  const rows = sortVmaRows(r.perVma, by[options.sort ?? 'writes']);
  const p = r.precopy;
  const tm = r.timing;
  const ms = (x: number): string => `${x >= 100 ? x.toFixed(0) : x.toFixed(1)} ms`;
  const sec = (x: number): string => `${(x / 1000).toFixed(1)} s`;
  const cell = (x: number | null, star: boolean): string | number =>
    x === null ? 'n/a' : star ? `${x}*` : x;
  const starred = r.workingSet.some((w) => w.lastSpansGap || w.peakSpansGap);
  const lines = [
    `${file}: process ${r.process.pid} (${r.process.name}), recorded ${r.createdAt} on Linux ${r.kernel}`,
    `${count(r.ticks, 'tick')} over ${sec(r.durationMs)}, asked every ${r.intervalMs} ms` +
      (tm.meanIntervalMs === null
        ? ''
        : `, came every ${ms(tm.meanIntervalMs)} (mean; median ${ms(tm.medianIntervalMs ?? 0)})`) +
      `; ${count(tm.skipped, 'tick')} skipped; ` +
      (tm.gaps.count
        ? `${count(tm.gaps.count, 'gap')} over ${tm.gapFactor}x the interval, the longest ${sec(tm.gaps.longestMs)} ` +
          `(${tm.gaps.list
            .slice(0, 5)
            .map((g) => `${sec(g.ms)} before tick ${g.tick} at ${sec(g.toMs)}`)
            .join(', ')}${tm.gaps.count > 5 ? ', ...' : ''})`
        : `no gap over ${tm.gapFactor}x the interval`),
    `watching ${r.watching}; file ${formatBytes(r.file.bytes)} (${formatBytes(r.bytesPerMinute)} per minute)` +
      (r.file.endedCleanly
        ? `; ended: ${r.file.endReason}`
        : '; did not end cleanly (recorder killed?)'),
    `resident ${mib(r.pages.presentFirst)} -> ${mib(r.pages.presentLast)}, swapped ${mib(r.pages.swappedLast)}, watched ${mib(r.pages.watchedLast)}`,
    '',
    'Write working set (distinct pages written per window, where a whole window fits in the run)',
    table(
      ['WINDOW', 'LAST', 'MEAN', 'PEAK', 'PEAK SIZE', 'SPANNING A GAP'],
      r.workingSet.map((w) => [
        w.window,
        cell(w.last, w.lastSpansGap),
        cell(w.mean, false),
        cell(w.peak, w.peakSpansGap),
        w.peak === null ? 'n/a' : mib(w.peak),
        w.peak === null ? 'n/a (longer than the run)' : `${w.spanningGap} of ${w.positions}`,
      ]),
    ),
    ...(starred
      ? [`* that window spans a gap in the ticks: its writes cover more time than the window says.`]
      : []),
    '',
    `Dirty rate (bytes written per second of wall time, over ${sec(r.dirtyRate.coveredMs)}): mean ${rate(r.dirtyRate.meanMiBps)}, ` +
      `peak ${rate(r.dirtyRate.peakMiBps)} (${r.dirtyRate.windowMs / 1000} s windows)`,
    ...(r.overhead
      ? [
          `Cost of being watched, estimated (the ${OVERHEAD_IS}, per tick; in brackets the range it may be in): ` +
            `median ${overheadText(r.overhead.medianPct, r.overhead.medianLowPct ?? -1, r.overhead.medianHighPct ?? -1)}, ` +
            `peak ${pctText(r.overhead.peakPct)}% at tick ${r.overhead.peakTick}, over ${count(r.overhead.ticks, 'watched tick')}`,
        ]
      : []),
    `Write frequency: ${r.writeFrequency.hot} hot (written in >= ${r.writeFrequency.hotShare * 100}% of ticks), ` +
      `${r.writeFrequency.warm} warm (>= ${r.writeFrequency.warmShare * 100}%), ${r.writeFrequency.cold} cold pages`,
    '',
    `Pre-copy estimate at ${formatBytes(p.linkBytesPerSecond)}/s (an estimate from the measured working-set curve per second of wall time, at most the dirty rate; only watched memory counts as dirtied):`,
    `  ${mib(p.memoryPages)} to copy; ${count(p.iterations, 'round')} (${p.rounds.map((x) => mib(x.pages)).join(', ')}); ` +
      `final dirty set ${mib(p.finalDirtyPages)} -> downtime ~${p.downtimeMs.toFixed(0)} ms; total ~${(p.totalMs / 1000).toFixed(2)} s; ` +
      (p.converged ? 'converges' : `does not converge (${p.stopped})`),
    '',
    `Writes per VMA (sorted by ${options.sort ?? 'writes'}${rows.length > top ? `, top ${top} of ${rows.length}` : ''})`,
    rows.length === 0
      ? '(no writes recorded)'
      : table(
          ['START', 'VMA', 'PAGE WRITES', 'DISTINCT', 'WRITE RATE', 'SHARE'],
          rows
            .slice(0, top)
            .map((v) => [
              '0x' + (v.start * 4096).toString(16),
              labelledName(v, false) || '[anon]',
              v.pageWrites,
              v.distinctPages,
              rate(v.writeMiBps),
              `${(v.share * 100).toFixed(1)}%`,
            ]),
          { maxWidth: process.stdout.columns || 120, shrink: 1 },
        ),
  ];
  if (who) lines.push('', ...writersLines(who, top));
  if (r.sampledTicks)
    lines.push(
      `note: ${count(r.sampledTicks, 'tick')} of ${r.ticks} watched a sample of the pages (a bound on the overhead): their written pages are the sample's, so the write figures count what was seen, fewer than were written.`,
    );
  for (const n of r.notes) lines.push(`note after tick ${n.afterTicks}: ${n.kind}: ${n.message}`);
  print(lines.join('\n') + '\n');
  return 0;
}

/** The top-writers tables of a recording made with --who: overall, then per VMA. */
function writersLines(w: NonNullable<ReturnType<typeof writersReport>>, top: number): string[] {
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
  const est = w.periods.some((p) => p > 1)
    ? ` (sampled 1 in ${w.periods.join('/')} faults: pages are estimates)`
    : '';
  const out = [
    `Top writers (page writes attributed from ${count(w.writeSamples, 'sampled fault')} in ${count(w.ticks, 'tick')}${est}; ` +
      `${count(w.otherSamples, 'other fault')}${w.lost ? `, ${count(w.lost, 'sample')} lost` : ''})`,
    table(
      ['FUNCTION', 'THREAD', 'PAGE WRITES', 'SHARE'],
      w.overall.map((x) => [x.fn, `${x.thread} ${x.tid}`, x.pages, pct(x.share)]),
      { maxWidth: process.stdout.columns || 120, shrink: 0 },
    ),
    '',
    `Top writers per VMA${w.perVma.length > top ? ` (top ${top} of ${w.perVma.length} VMAs)` : ''}`,
  ];
  for (const v of w.perVma.slice(0, top)) {
    out.push(`0x${v.start} ${v.label || '[anon]'}: ${v.pages} page writes`);
    out.push(
      table(
        ['  FUNCTION', 'THREAD', 'PAGE WRITES', 'SHARE'],
        v.writers
          .slice(0, 5)
          .map((x) => [`  ${x.fn}`, `${x.thread} ${x.tid}`, x.pages, pct(x.share)]),
        { maxWidth: process.stdout.columns || 120, shrink: 0 },
      ),
    );
  }
  return out;
}
