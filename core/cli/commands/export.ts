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

export interface ExportCommandOptions {
  format?: string;
  output?: string;
}

export function exportCommand(file: string, options: ExportCommandOptions): number {
  const format = options.format;
  if (format !== 'csv' && format !== 'json' && format !== 'trace')
    throw new PagescopeError(
      `Say which format to export: --format csv, json or trace${format ? ` (not "${format}")` : ''}.`,
      'bad-input',
    );
  const rec = readRecording(file);
  if (rec.truncated) process.stderr.write(`pagescope: ${file} was cut short (${rec.truncated}).\n`);
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
