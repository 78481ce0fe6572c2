/**
 * The heatmap's words, as pure functions: the tooltip's lines and where the tooltip goes, the
 * canvas's accessible summary of what is in view, and a VMA's short label (drawn on the grid).
 * What one cell holds comes from cell-info.ts; this file only arranges it.
 */
import type { TickCounters, VmaInfo } from '../../../core/protocol/messages.ts';
import { vmaShortName } from '../../../core/protocol/vma-name.ts';
import { vmaAtIndex } from '../store.ts';
import { fmt } from '../theme.ts';
import type { CellInfo } from './cell-info.ts';
import type { DisplaySpace } from './display-space.ts';
import { hostEnd } from './view-anchor.ts';
import type { Layout } from './viewport.ts';

/** Room the tooltip keeps from the right and bottom edges (CSS px). */
const TIP_WIDTH = 300;
const TIP_HEIGHT = 70;

/** A VMA's short name: what its path names (vma-name.ts), else its label, else its kind. */
export function vmaLabel(v: VmaInfo): string {
  if (v.path) return vmaShortName(v.path);
  if (v.label) return v.label;
  return v.kind === 'anon' ? 'anon' : `[${v.kind}]`;
}

/** The tooltip's lines (CSS class, text), in order. */
export function tipLines(info: CellInfo): Array<{ cls: string; text: string }> {
  const lines = [{ cls: 'tip-addr', text: info.address }];
  if (info.vma) lines.push({ cls: 'tip-vma', text: info.vma });
  lines.push({ cls: 'tip-cats', text: info.categories });
  if (info.writers) lines.push({ cls: 'tip-writers', text: info.writers });
  return lines;
}

/**
 * Where the tooltip's corner goes for a point (x, y) in a view of width x height: below right of
 * the point, above it near the bottom edge, pulled left near the right edge, never off the top
 * left.
 */
export function tipPosition(
  x: number,
  y: number,
  width: number,
  height: number,
): { x: number; y: number } {
  const tx = Math.min(x + 14, width - TIP_WIDTH);
  const ty = y + 16 > height - TIP_HEIGHT ? y - TIP_HEIGHT : y + 16;
  return { x: Math.max(0, tx), y: Math.max(0, ty) };
}

export interface SummaryInput {
  layout: Layout;
  space: DisplaySpace;
  vmas: VmaInfo[];
  /** Pages drawn (the rasterizer's count). */
  drawn: number;
  processName: string | null;
  mode: string;
  counters: TickCounters;
}

/** The canvas's accessible name: what is in view, how dense, and the tick's counts. */
export function viewSummary(s: SummaryInput): string {
  const { layout: l, space, vmas, counters: c } = s;
  const first = vmaAtIndex(vmas, space.toHost(l.firstIndex));
  const last = vmaAtIndex(vmas, space.toHost(Math.max(l.firstIndex, l.endIndex - 1)));
  const where =
    first && last && first !== last
      ? `from ${vmaLabel(first)} to ${vmaLabel(last)}`
      : first
        ? `inside ${vmaLabel(first)}`
        : '';
  const per = l.pagesPerCell === 1 ? 'one page per cell' : `${l.pagesPerCell} pages per cell`;
  const shown = hostEnd(space, l.endIndex) - space.toHost(l.firstIndex);
  return (
    `Heatmap of ${s.processName ?? 'the process'} in ${s.mode} mode, ` +
    `${fmt.format(shown)} of ${fmt.format(space.totalHost)} pages shown ${where}, ${per}` +
    (space.isIdentity ? '' : ', empty reservations squeezed') +
    ` (${fmt.format(s.drawn)} drawn). Tick ${c.tick}: ${fmt.format(c.present)} present, ` +
    `${fmt.format(c.swapped)} swapped, ${fmt.format(c.written)} written.`
  );
}

/** The canvas's accessible name before the first frame. */
export const WAITING_SUMMARY = 'Heatmap: waiting for the first scan of the process.';
