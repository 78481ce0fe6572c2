/**
 * `pagescope export FILE --format csv|json|trace [-o OUT]`: per-tick per-VMA counters of a
 * recording as CSV, JSON, or Chrome trace-event JSON for Perfetto UI / chrome://tracing
 * (core/record/export.ts). Written to OUT, or to stdout.
 */
import fs from 'node:fs';
import { PagescopeError } from '../../kernel/errors.ts';
import { exportRecording, type ExportFormat } from '../../record/export.ts';
import { readRecording } from '../../record/reader.ts';
import { out as print } from '../output.ts';
import { writersCollapsed, writersPprof } from '../../who/pprof.ts';

export interface ExportCommandOptions {
  format?: string;
  output?: string;
}

export function exportCommand(file: string, options: ExportCommandOptions): number {
  const format = options.format;
  if (
    format !== 'csv' &&
    format !== 'json' &&
    format !== 'trace' &&
    format !== 'pprof' &&
    format !== 'collapsed'
  )
    throw new PagescopeError(
      `Say which format to export: --format csv, json, trace, pprof or collapsed${format ? ` (not "${format}")` : ''}.`,
      'bad-input',
    );
  const rec = readRecording(file);
  if (rec.truncated) process.stderr.write(`pagescope: ${file} was cut short (${rec.truncated}).\n`);
  if (format === 'pprof' || format === 'collapsed') {
    if (rec.who.size === 0)
      throw new PagescopeError(
        `${file} holds no writers: record with --who to export a profile of who wrote the pages.`,
        'bad-input',
      );
    if (format === 'pprof') {
      const bytes = writersPprof(rec);
      if (options.output) fs.writeFileSync(options.output, bytes, { mode: 0o644 });
      else process.stdout.write(bytes);
      return 0;
    }
    let text = '';
    writersCollapsed(rec, (s) => (text += s));
    if (options.output) fs.writeFileSync(options.output, text, { mode: 0o644 });
    else print(text);
    return 0;
  }
  if (!options.output) {
    exportRecording(rec, format as ExportFormat, print);
    return 0;
  }
  const fd = fs.openSync(options.output, 'w', 0o644);
  try {
    let pending = '';
    const write = (s: string): void => {
      pending += s;
      if (pending.length >= 1 << 16) {
        fs.writeSync(fd, pending);
        pending = '';
      }
    };
    exportRecording(rec, format as ExportFormat, write);
    fs.writeSync(fd, pending);
  } finally {
    fs.closeSync(fd);
  }
  return 0;
}
