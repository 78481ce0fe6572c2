/**
 * Viewport math for the heatmap.
 *
 * The collapsed page space [0, totalPages) is laid out row-major on a grid of square cells
 * (gaps between VMAs already removed by the host). Zoom works like a 1-D zoom along the page
 * index, driven by a d3-zoom transform {k, y}: at k = 1 the whole space fits the canvas; at zoom
 * k the canvas shows about totalPages / k pages, the top being at fraction -y / (k * height) of
 * the space. While a cell still holds several pages, zooming lowers pages-per-cell at a fixed
 * cell size; once a cell is one page, zooming makes the cells bigger (up to MAX_CELL_PX).
 */
import { MAX_BUCKETS, MAX_WINDOW_PAGES } from '../../../core/protocol/constants.ts';

/** The largest overview (buckets) and full-resolution window (pages) the host accepts. */
export { MAX_BUCKETS, MAX_WINDOW_PAGES };
export const BASE_CELL_PX = 3;
export const MAX_CELL_PX = 28;

export interface Layout {
  /** CSS pixels per cell side. */
  cellPx: number;
  cols: number;
  rows: number;
  pagesPerCell: number;
  pagesPerRow: number;
  /** Collapsed index of the top-left cell (a multiple of pagesPerRow). */
  firstIndex: number;
  /** One past the last index shown (clamped to totalPages). */
  endIndex: number;
  totalPages: number;
}

export interface ZoomState {
  k: number;
  y: number;
}

export function baseGrid(width: number, height: number): { cols: number; rows: number } {
  return {
    cols: Math.max(1, Math.floor(width / BASE_CELL_PX)),
    rows: Math.max(1, Math.floor(height / BASE_CELL_PX)),
  };
}

/** The zoom factor at which cells reach MAX_CELL_PX (never below 1). */
export function maxZoom(totalPages: number, width: number, height: number): number {
  if (totalPages <= 0) return 1;
  return Math.max(1, (MAX_CELL_PX * MAX_CELL_PX * totalPages) / Math.max(1, width * height));
}

export function computeLayout(
  totalPages: number,
  width: number,
  height: number,
  zoom: ZoomState,
): Layout {
  const { cols: cols0, rows: rows0 } = baseGrid(width, height);
  const k = Math.max(1, zoom.k);
  const ppcFloat = totalPages / (cols0 * rows0) / k;
  let cellPx = BASE_CELL_PX;
  let cols = cols0;
  let rows = rows0;
  let pagesPerCell = 1;
  if (ppcFloat >= 1) {
    pagesPerCell = Math.max(1, Math.ceil(ppcFloat - 1e-9));
  } else {
    const visible = Math.max(1, totalPages / k);
    cellPx = Math.sqrt((width * height) / visible);
    cellPx = Math.min(MAX_CELL_PX, Math.max(BASE_CELL_PX, cellPx));
    cols = Math.max(1, Math.floor(width / cellPx));
    rows = Math.max(1, Math.ceil(height / cellPx));
  }
  const pagesPerRow = cols * pagesPerCell;
  const totalRows = Math.ceil(totalPages / pagesPerRow);
  const fraction = Math.min(1, Math.max(0, -zoom.y / (k * Math.max(1, height))));
  // The epsilon absorbs float error in y -> fraction -> index (indices reach millions).
  let firstRow = Math.floor((fraction * totalPages) / pagesPerRow + 1e-6);
  firstRow = Math.max(0, Math.min(firstRow, totalRows - rows));
  const firstIndex = firstRow * pagesPerRow;
  const endIndex = Math.min(totalPages, firstIndex + rows * pagesPerRow);
  return { cellPx, cols, rows, pagesPerCell, pagesPerRow, firstIndex, endIndex, totalPages };
}

/** The collapsed index under a point (CSS pixels), or -1 outside the pages. */
export function indexAt(layout: Layout, x: number, y: number): number {
  if (x < 0 || y < 0) return -1;
  const col = Math.floor(x / layout.cellPx);
  const row = Math.floor(y / layout.cellPx);
  if (col >= layout.cols || row >= layout.rows) return -1;
  const index = layout.firstIndex + row * layout.pagesPerRow + col * layout.pagesPerCell;
  return index < layout.totalPages ? index : -1;
}

/** Cell position (col, row) of a collapsed index relative to the top-left cell; rows may be out of view. */
export function cellOf(layout: Layout, index: number): { col: number; row: number } {
  const rel = index - layout.firstIndex;
  const row = Math.floor(rel / layout.pagesPerRow);
  const col = Math.floor((rel - row * layout.pagesPerRow) / layout.pagesPerCell);
  return { col, row };
}

/**
 * The outline of the index range [a, b) on the wrapped grid, as a closed polygon in CSS pixels
 * (a "staircase": rest of the first row, whole middle rows, start of the last row).
 */
export function rangeOutline(layout: Layout, a: number, b: number): Array<[number, number]> {
  const c = layout.cellPx;
  const s = cellOf(layout, a);
  const e = cellOf(layout, Math.max(a, b - 1));
  const x0 = s.col * c;
  const y0 = s.row * c;
  const x1 = (e.col + 1) * c;
  const y1 = (e.row + 1) * c;
  const right = layout.cols * c;
  if (s.row === e.row) {
    return [
      [x0, y0],
      [x1, y0],
      [x1, y1],
      [x0, y1],
    ];
  }
  return [
    [x0, y0],
    [right, y0],
    [right, e.row * c],
    [x1, e.row * c],
    [x1, y1],
    [0, y1],
    [0, y0 + c],
    [x0, y0 + c],
  ];
}

/** A zoom state that shows [a, b) with a little room around it. */
export function zoomToRange(
  totalPages: number,
  height: number,
  a: number,
  b: number,
  kMax: number,
): ZoomState {
  const span = Math.max(1, b - a);
  const k = Math.min(kMax, Math.max(1, totalPages / (span * 1.15)));
  // Start a little above the range so its first row is not glued to the top edge.
  const top = Math.max(0, a - span * 0.05);
  const y = -(top / Math.max(1, totalPages)) * k * height;
  return { k, y };
}

/** What to ask the host for: overview buckets, and a full-resolution window when zoomed in. */
export function viewRequestFor(
  layout: Layout,
  width: number,
  height: number,
): { buckets: number; window?: { startIndex: number; endIndex: number } } {
  const { cols, rows } = baseGrid(width, height);
  const buckets = Math.max(1, Math.min(MAX_BUCKETS, cols * rows, layout.totalPages || 1));
  const visible = layout.endIndex - layout.firstIndex;
  if (layout.totalPages <= 0 || visible <= 0) return { buckets };
  // Page-exact data pays off only when a cell holds a few pages at most.
  if (layout.pagesPerCell > 4 || visible * 2 > MAX_WINDOW_PAGES) return { buckets };
  // One screen of margin on each side, so panning draws from data already here.
  const margin = Math.min(visible, Math.floor((MAX_WINDOW_PAGES - visible) / 2));
  const startIndex = Math.max(0, layout.firstIndex - margin);
  const endIndex = Math.min(layout.totalPages, layout.endIndex + margin);
  return { buckets, window: { startIndex, endIndex } };
}
