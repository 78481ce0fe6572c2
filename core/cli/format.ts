/** Small text formatting helpers for the CLI's tables and sentences. */
import { PAGE_SIZE } from '../kernel/pagemap-abi.ts';

export { formatBytes } from '../protocol/format.ts';

export function pagesToKiB(pages: number): number {
  return (pages * PAGE_SIZE) / 1024;
}

/** "1 VMA", "3 VMAs"; `plural` for irregular words ("1 VMA piece", "2 VMA pieces" need none). */
export function count(n: number, word: string, plural = `${word}s`): string {
  return `${n} ${n === 1 ? word : plural}`;
}

/**
 * Shortens `text` to at most `max` characters by cutting out its middle
 * ("/usr/lib/x86_…/libstdc++.so.6"): the start says where a path is, the end which file it is,
 * so the end keeps the file name whole when it can, or else the larger share.
 */
export function elideMiddle(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 1) return '…'.slice(0, max);
  const keep = max - 1;
  // A path keeps its file name whole when that leaves a few characters of the folder.
  const slash = text.lastIndexOf('/');
  const base = slash > 0 ? text.length - slash : 0;
  const head = base > 0 && keep - base >= 4 ? keep - base : Math.floor(keep * 0.4);
  return text.slice(0, head) + '…' + text.slice(text.length - (keep - head));
}

/** Cells that stand for "no number here" and align like numbers. */
const PLACEHOLDERS = new Set(['-', 'n/a']);

/**
 * Renders rows as an aligned table; number columns (numbers, "-" and "n/a") are right-aligned.
 * With `maxWidth`, the column `shrink` (by index) is cut in the middle so lines fit when they can.
 */
export function table(
  header: string[],
  rows: Array<Array<string | number>>,
  fit?: { maxWidth: number; shrink: number; minWidth?: number },
): string {
  const numeric = header.map((_, i) =>
    rows.every((r) => typeof r[i] === 'number' || PLACEHOLDERS.has(String(r[i]))),
  );
  let cells = [header, ...rows.map((r) => r.map(String))];
  let widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  if (fit) {
    const total = widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1);
    const over = total - fit.maxWidth;
    if (over > 0) {
      const w = Math.max(fit.minWidth ?? 12, header[fit.shrink].length, widths[fit.shrink] - over);
      cells = cells.map((r) => r.map((c, i) => (i === fit.shrink ? elideMiddle(c, w) : c)));
      widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
    }
  }
  return cells
    .map((r) =>
      r
        .map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
