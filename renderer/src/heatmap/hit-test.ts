/**
 * From the heatmap's pixels and keys to pages, as pure functions of the drawn layout and the
 * display space: which host pages a brushed band of rows covers, which VMA a click lands on,
 * where the keyboard cursor starts and where an arrow key moves it. The React shell only reads
 * pointer coordinates and keys and applies the answers.
 */
import type { VmaInfo } from '../../../core/protocol/messages.ts';
import { vmaAtIndex } from '../store.ts';
import type { DisplaySpace } from './display-space.ts';
import { hostEnd } from './view-anchor.ts';
import { cellOf, indexAt, type Layout } from './viewport.ts';

/** The host range of the whole rows a vertical brush from y0 to y1 (CSS px) covers, or null. */
export function brushRange(
  layout: Layout,
  space: DisplaySpace,
  y0: number,
  y1: number,
): { start: number; end: number } | null {
  const l = layout;
  const rowA = Math.max(0, Math.floor(y0 / l.cellPx));
  const rowB = Math.min(l.rows, Math.max(rowA + 1, Math.ceil(y1 / l.cellPx)));
  const start = space.toHost(l.firstIndex + rowA * l.pagesPerRow);
  const end = hostEnd(space, Math.min(l.totalPages, l.firstIndex + rowB * l.pagesPerRow));
  return start < end ? { start, end } : null;
}

/** The VMA under a point (CSS px), or null off the pages or between VMAs. */
export function vmaAtPoint(
  layout: Layout,
  space: DisplaySpace,
  vmas: VmaInfo[],
  x: number,
  y: number,
): VmaInfo | null {
  const d = indexAt(layout, x, y);
  return d >= 0 ? vmaAtIndex(vmas, space.toHost(d)) : null;
}

/** True when display index d is drawn in the layout. */
export function inView(layout: Layout, d: number): boolean {
  return d >= layout.firstIndex && d < layout.endIndex;
}

/** Top-left corner (CSS px) of the cell of display index d. */
export function cellCorner(layout: Layout, d: number): [number, number] {
  const { col, row } = cellOf(layout, d);
  return [col * layout.cellPx, row * layout.cellPx];
}

/** The cursor's first position (host index): the focused VMA when in view, else the view's top. */
export function cursorStart(
  layout: Layout,
  space: DisplaySpace,
  vmas: VmaInfo[],
  focusedVma: string | null,
): number {
  const v = focusedVma === null ? undefined : vmas.find((x) => x.start === focusedVma);
  const d = v ? space.toDisplay(v.offset) : -1;
  return space.toHost(inView(layout, d) ? d : layout.firstIndex);
}

export const CURSOR_KEYS = ['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown'] as const;
export type CursorKey = (typeof CURSOR_KEYS)[number];

export function isCursorKey(key: string): key is CursorKey {
  return (CURSOR_KEYS as readonly string[]).includes(key);
}

/**
 * Where an arrow key moves the cursor: one cell sideways or one row up or down, clamped to the
 * space. Returns the new display index (for revealing it) and host index.
 */
export function moveCursor(
  layout: Layout,
  space: DisplaySpace,
  cursor: number,
  key: CursorKey,
): { display: number; host: number } {
  const step =
    key === 'ArrowLeft'
      ? -layout.pagesPerCell
      : key === 'ArrowRight'
        ? layout.pagesPerCell
        : key === 'ArrowUp'
          ? -layout.pagesPerRow
          : layout.pagesPerRow;
  const from = space.toDisplay(cursor);
  const display = Math.max(0, Math.min(space.totalDisplay - 1, from + step));
  return { display, host: space.toHost(display) };
}

/** The selection a Shift+arrow makes: from the anchor to the cursor, both included. */
export function selectionBetween(anchor: number, cursor: number): { start: number; end: number } {
  return { start: Math.min(anchor, cursor), end: Math.max(anchor, cursor) + 1 };
}
