/**
 * The heatmap painter: draws one snapshot (frame data, layout, display space, colours, VMAs,
 * selection, cursor) onto a canvas. It owns the canvas-side buffers (an ImageData of one pixel
 * per cell and an offscreen canvas the size of the grid) and nothing else: no store, no events,
 * no timers, so the same code runs in the app and in the frame benchmark (e2e/frame-bench.ts).
 *
 * A paint is: background, rasterize the cells (raster.ts) and scale them up with smoothing off,
 * then the overlays in CSS pixels: page grid, VMA outlines, watched outlines, the picked writer's
 * cells ("by writer", writer-highlight.ts), the focused VMA, the selection, VMA labels, and the
 * keyboard cursor.
 */
import type { VmaInfo } from '../../../core/protocol/messages.ts';
import { formatBytes } from '../theme.ts';
import type { Luts, ThemeColours } from './colour.ts';
import type { DisplaySpace } from './display-space.ts';
import type { HeatStore } from './heat.ts';
import { rasterize, type OverviewData, type WindowData } from './raster.ts';
import { vmaLabel } from './tooltip.ts';
import { cellOf, rangeOutline, type Layout } from './viewport.ts';

/** VMA outlines are drawn only while at most this many VMAs are in view (else they are noise). */
export const MAX_OUTLINED_VMAS = 400;

export interface PaintSnapshot {
  /** CSS size of the canvas (its backing store may be larger: device pixels). */
  width: number;
  layout: Layout;
  space: DisplaySpace;
  theme: ThemeColours;
  luts: Luts;
  overview: OverviewData | null;
  window: WindowData | null;
  /** Writes mode: the heat store and the tick to look at. */
  heat: HeatStore | null;
  tick: number;
  vmas: VmaInfo[];
  selection: { start: number; end: number } | null;
  focusedVma: string | null;
  /** The keyboard cursor's host index, or null when it is not shown. */
  cursor: number | null;
  /** Cells (linear, row * cols + col) holding pages of the writer picked in the Writers panel. */
  highlight?: Uint32Array | null;
}

export class HeatmapPainter {
  private readonly ctx: CanvasRenderingContext2D;
  private readonly off: HTMLCanvasElement;
  private readonly offCtx: CanvasRenderingContext2D;
  private image: ImageData | null = null;
  private pixels: Uint32Array | null = null;
  /** The layout of the last paint (for the frame benchmark's reference picture). */
  lastLayout: Layout | null = null;
  /** What the cells of the last paint were drawn from, and how many pages they hold. */
  private lastKey: unknown[] | null = null;
  private lastDrawn = 0;

  constructor(private readonly canvas: HTMLCanvasElement) {
    this.ctx = canvas.getContext('2d')!;
    this.off = document.createElement('canvas');
    this.offCtx = this.off.getContext('2d')!;
  }

  /** The cell pixels of the last paint (one per cell, row-major), or null before one. */
  get lastPixels(): Uint32Array | null {
    return this.pixels;
  }

  /** Fill the canvas with the background (no frame yet, or an empty space). */
  clear(theme: ThemeColours): void {
    const { ctx, canvas } = this;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = theme.background;
    ctx.fillRect(0, 0, canvas.width, canvas.height);
  }

  /** Paint a snapshot; returns the number of pages drawn. */
  paint(s: PaintSnapshot): number {
    const { ctx, canvas } = this;
    const l = s.layout;
    this.clear(s.theme);
    this.lastLayout = l;
    const { cols, rows } = l;
    if (!this.image || this.image.width !== cols || this.image.height !== rows) {
      this.lastKey = null;
      this.image = new ImageData(cols, rows);
      this.pixels = new Uint32Array(this.image.data.buffer);
      this.off.width = cols;
      this.off.height = rows;
    }
    // The cells change only with the data, the colours or the layout: a redraw for the
    // selection, the cursor or focus reuses them (and the offscreen canvas holding them).
    const key = rasterKey(s);
    let drawn = this.lastDrawn;
    if (!this.lastKey || key.some((x, i) => x !== this.lastKey![i])) {
      drawn = rasterize(this.pixels!, {
        layout: l,
        luts: s.luts,
        overview: s.overview,
        window: s.window,
        heat: s.heat,
        tick: s.tick,
        space: s.space,
      });
      this.offCtx.putImageData(this.image, 0, 0);
      this.lastKey = key;
      this.lastDrawn = drawn;
    }
    const dpr = canvas.width / s.width;
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(this.off, 0, 0, cols * l.cellPx * dpr, rows * l.cellPx * dpr);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    this.drawOverlays(s);
    if (s.cursor !== null) this.drawCursor(s, s.cursor);
    return drawn;
  }

  /** Outline the host range [a, b) on the grid. */
  private strokeRange(s: PaintSnapshot, a: number, b: number): void {
    const { ctx } = this;
    const l = s.layout;
    const lo = Math.max(s.space.toDisplay(a), l.firstIndex);
    const hi = Math.min(s.space.toDisplayEnd(b), l.endIndex);
    if (lo >= hi) return;
    const pts = rangeOutline(l, lo, hi);
    ctx.beginPath();
    ctx.moveTo(pts[0][0] + 0.5, pts[0][1] + 0.5);
    for (let i = 1; i < pts.length; i++) ctx.lineTo(pts[i][0] + 0.5, pts[i][1] + 0.5);
    ctx.closePath();
    ctx.stroke();
  }

  private drawOverlays(s: PaintSnapshot): void {
    const { ctx } = this;
    const { layout: l, space, theme, vmas } = s;
    const c = l.cellPx;
    const vmaEnd = (v: VmaInfo) => v.offset + v.endPage - v.startPage;
    // Page grid when cells are big enough to tell pages apart.
    if (c >= 7) {
      ctx.strokeStyle = theme.background;
      ctx.globalAlpha = 0.55;
      ctx.lineWidth = 1;
      ctx.beginPath();
      for (let x = c; x < l.cols * c; x += c) {
        ctx.moveTo(Math.round(x) + 0.5, 0);
        ctx.lineTo(Math.round(x) + 0.5, l.rows * c);
      }
      for (let y = c; y < l.rows * c; y += c) {
        ctx.moveTo(0, Math.round(y) + 0.5);
        ctx.lineTo(l.cols * c, Math.round(y) + 0.5);
      }
      ctx.stroke();
      ctx.globalAlpha = 1;
    }
    // Faint outline of every VMA in view (its staircase on the wrapped grid).
    let inView = 0;
    for (const v of vmas) {
      if (space.toDisplay(v.offset) < l.endIndex && space.toDisplayEnd(vmaEnd(v)) > l.firstIndex)
        inView++;
    }
    if (inView <= MAX_OUTLINED_VMAS) {
      ctx.strokeStyle = theme.boundary;
      ctx.globalAlpha = 0.28;
      ctx.lineWidth = 1;
      for (const v of vmas) this.strokeRange(s, v.offset, vmaEnd(v));
      ctx.globalAlpha = 1;
    }
    ctx.lineWidth = 2;
    ctx.strokeStyle = theme.watchOutline;
    for (const v of vmas) {
      if (v.watched === 'yes' || v.watched === 'partial') this.strokeRange(s, v.offset, vmaEnd(v));
    }
    if (s.highlight && s.highlight.length) {
      // The selection colour (white on dark, black on light), over the heat colours; inset a
      // pixel on large cells so neighbouring lit cells stay apart.
      ctx.fillStyle = theme.selection;
      ctx.globalAlpha = 0.9;
      const inset = c >= 7 ? 1 : 0;
      for (const k of s.highlight) {
        const row = Math.floor(k / l.cols);
        const col = k - row * l.cols;
        ctx.fillRect(col * c + inset, row * c + inset, c - 2 * inset, c - 2 * inset);
      }
      ctx.globalAlpha = 1;
    }
    if (s.focusedVma !== null) {
      const v = vmas.find((x) => x.start === s.focusedVma);
      if (v) {
        ctx.setLineDash([4, 3]);
        ctx.lineWidth = 1.5;
        ctx.strokeStyle = theme.selection;
        this.strokeRange(s, v.offset, vmaEnd(v));
        ctx.setLineDash([]);
      }
    }
    if (s.selection) {
      ctx.lineWidth = 2;
      ctx.strokeStyle = theme.selection;
      ctx.fillStyle = theme.selection;
      this.strokeRange(s, s.selection.start, s.selection.end);
    }
    // Labels last, inset from the cell corner, so no outline runs through their text.
    // VMA boundaries: a short bar where each VMA starts, plus a label when there is room.
    ctx.font = '600 11px ui-sans-serif, system-ui, sans-serif';
    ctx.textBaseline = 'top';
    let lastLabelY = -100;
    let lastLabelRight = -1;
    for (const v of vmas) {
      const len = v.endPage - v.startPage;
      const d0 = space.toDisplay(v.offset);
      const d1 = space.toDisplayEnd(v.offset + len);
      if (d1 <= l.firstIndex || d0 >= l.endIndex) continue;
      if (d0 < l.firstIndex) continue;
      const { col, row } = cellOf(l, d0);
      ctx.fillStyle = theme.boundary;
      ctx.globalAlpha = 0.85;
      ctx.fillRect(col * c - 1, row * c - 2, 2, c + 4);
      ctx.globalAlpha = 1;
      const rowsTall = (d1 - d0) / l.pagesPerRow;
      const x = col * c + 6;
      const y = row * c + 4;
      if ((rowsTall * c >= 12 || l.cellPx >= 12) && (y - lastLabelY > 14 || x > lastLabelRight)) {
        const text = `${vmaLabel(v)} ${formatBytes(len)}`;
        const w = ctx.measureText(text).width;
        if (x + w < l.cols * c) {
          ctx.fillStyle = theme.background;
          ctx.globalAlpha = 0.72;
          ctx.fillRect(x - 2, y - 1, w + 4, 14);
          ctx.globalAlpha = 1;
          ctx.fillStyle = theme.label;
          ctx.fillText(text, x, y);
          lastLabelY = y;
          lastLabelRight = x + w + 8;
        }
      }
    }
  }

  /** The keyboard cursor: a ring around its cell, in the selection colour. */
  private drawCursor(s: PaintSnapshot, cursor: number): void {
    const { ctx } = this;
    const l = s.layout;
    const d = s.space.toDisplay(cursor);
    if (d < l.firstIndex || d >= l.endIndex) return;
    const { col, row } = cellOf(l, d);
    const c = l.cellPx;
    // At least 11 px across, so a 3 px cell's cursor is still seen; centred on the cell.
    const size = Math.max(c + 2, 11);
    const x = col * c + c / 2 - size / 2;
    const y = row * c + c / 2 - size / 2;
    ctx.lineWidth = 2;
    ctx.strokeStyle = s.theme.background;
    ctx.strokeRect(x - 1, y - 1, size + 2, size + 2);
    ctx.strokeStyle = s.theme.selection;
    ctx.strokeRect(x, y, size, size);
  }
}

/**
 * Everything the cells depend on. The frame's arrays are new objects each tick; the heat store
 * changes in place, but only with a new frame or when cleared (a new `recent` array).
 */
function rasterKey(s: PaintSnapshot): unknown[] {
  const l = s.layout;
  const recent = s.heat?.recent;
  return [
    s.overview,
    s.window,
    s.luts,
    s.space,
    s.heat,
    recent,
    recent?.length,
    recent?.[recent.length - 1]?.tick,
    s.tick,
    l.cols,
    l.rows,
    l.pagesPerCell,
    l.firstIndex,
    l.totalPages,
  ];
}
