/** Small text formatting helpers for the CLI's tables. */
import { PAGE_SIZE } from '../kernel/pagemap-abi.ts';

export { formatBytes } from '../protocol/format.ts';

export function pagesToKiB(pages: number): number {
  return (pages * PAGE_SIZE) / 1024;
}

/** Renders rows as an aligned table; numbers are right-aligned. */
export function table(header: string[], rows: Array<Array<string | number>>): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const numeric = header.map((_, i) => rows.every((r) => typeof r[i] === 'number'));
  return cells
    .map((r) =>
      r
        .map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
