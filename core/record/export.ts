/**
 * `pagescope export`'s writers: per-tick per-VMA counters of a recording as CSV, as JSON, and as
 * Chrome trace-event JSON (the "JSON Object Format" of the Trace Event Format document), which
 * Perfetto UI and chrome://tracing open: one counter track ("ph": "C") for the process totals,
 * one for the dirty rate and one per VMA that has anything, named by a metadata event
 * ("ph": "M", process_name). Each writer streams through `write` (a file or stdout) as it goes.
 */
import { vmaShortName } from '../protocol/vma-name.ts';
import { dirtyRate } from './analytics.ts';
import type { Recording } from './reader.ts';
import { forEachVmaTick, seriesOf, type VmaTickCounters } from './report.ts';

export type ExportFormat = 'csv' | 'json' | 'trace';
type Write = (s: string) => void;

const COLUMNS: Array<keyof VmaTickCounters> = [
  'tick',
  't',
  'vma',
  'start',
  'end',
  'path',
  'label',
  'present',
  'swapped',
  'watched',
  'written',
];

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function exportCsv(rec: Recording, write: Write): void {
  write(COLUMNS.map((c) => (c === 't' ? 't_ms' : c)).join(',') + '\n');
  forEachVmaTick(rec, (row) => write(COLUMNS.map((c) => csvCell(row[c])).join(',') + '\n'));
}

export function exportJson(rec: Recording, write: Write): void {
  const h = rec.header;
  write(
    `{"format":"pagescope-counters","process":${JSON.stringify(h.process)},"intervalMs":${h.intervalMs},` +
      `"watching":${JSON.stringify(h.watching)},"truncated":${JSON.stringify(rec.truncated)},"ticks":[`,
  );
  let first = true;
  for (const t of rec.ticks) {
    write(`${first ? '' : ','}${JSON.stringify(t.counters)}`);
    first = false;
  }
  write('],"vmaTicks":[');
  first = true;
  forEachVmaTick(rec, (row) => {
    write(`${first ? '' : ','}${JSON.stringify(row)}`);
    first = false;
  });
  write(']}\n');
}

/** A VMA's track name: "vma 12 [heap]", "vma 3 libc.so.6", "vma 40 demo: sweep". */
function trackName(row: VmaTickCounters): string {
  const what = row.label || vmaShortName(row.path) || `anon ${row.start}`;
  return `vma ${row.start} ${what}`;
}

export function exportTrace(rec: Recording, write: Write): void {
  const pid = rec.header.process.pid;
  let first = true;
  const event = (e: object): void => {
    write(`${first ? '' : ',\n'}${JSON.stringify(e)}`);
    first = false;
  };
  write('{"displayTimeUnit":"ms","traceEvents":[\n');
  event({
    name: 'process_name',
    ph: 'M',
    pid,
    tid: 0,
    args: { name: `${rec.header.process.name} (pid ${pid}, pagescope recording)` },
  });
  const rate = dirtyRate(seriesOf(rec), 1000).perTickMiBps;
  rec.ticks.forEach((t, i) => {
    const ts = t.counters.t * 1000;
    const c = t.counters;
    event({
      name: 'pages',
      ph: 'C',
      ts,
      pid,
      tid: 0,
      args: { present: c.present, swapped: c.swapped, written: c.written, watched: c.watched },
    });
    event({ name: 'dirty rate MiB/s (1 s)', ph: 'C', ts, pid, tid: 0, args: { MiBps: rate[i] } });
  });
  forEachVmaTick(rec, (row) => {
    const args: Record<string, number> = { written: row.written };
    if (row.present !== null) args.present = row.present;
    if (row.swapped !== null) args.swapped = row.swapped;
    event({ name: trackName(row), ph: 'C', ts: row.t * 1000, pid, tid: 0, args });
  });
  write('\n]}\n');
}

export function exportRecording(rec: Recording, format: ExportFormat, write: Write): void {
  if (format === 'csv') exportCsv(rec, write);
  else if (format === 'json') exportJson(rec, write);
  else exportTrace(rec, write);
}
