/**
 * The heatmap: a canvas drawn from typed arrays, plus an SVG overlay carrying d3-zoom (wheel,
 * drag, keyboard +/-) and d3-brush (Shift-drag selects a range).
 *
 * Keyboard: the heatmap is one tab stop with a cell cursor. Arrow keys move it (the view pans to
 * keep it in sight), Shift+arrows select from where the selection started, Enter picks the VMA
 * under it. The cursor's cell is described in the tooltip and, debounced, in a polite live region
 * — only when the cursor moves, never per tick.
 *
 * React renders this component once per session; after that every redraw is imperative: the
 * component subscribes to the FrameHub (frames) and to the zustand store (viewport, selection,
 * mode) and schedules one draw per animation frame. Each draw is measured with
 * performance.measure('pagescope:heatmap-draw').
 */
import { useEffect, useRef } from 'react';
import { brushY, type D3BrushEvent } from 'd3-brush';
import { select } from 'd3-selection';
import { zoom as d3zoom, zoomIdentity, type D3ZoomEvent, type ZoomBehavior } from 'd3-zoom';
import type { VmaInfo } from '../../../core/protocol/messages.ts';
import { frameHub } from '../frames.ts';
import { useApp, vmaAtIndex, vmaAtPage } from '../store.ts';
import {
  currentTheme,
  fmt,
  formatBytes,
  onThemeChange,
  sizeCanvas,
  themeColours,
} from '../theme.ts';
import { cellInfo, cellSentence } from './cell-info.ts';
import { buildLuts, type Luts } from './colour.ts';
import { buildDisplaySpace, DisplaySpace } from './display-space.ts';
import type { HeatStore } from './heat.ts';
import { rasterize } from './raster.ts';
import { requestView } from '../actions.ts';
import {
  cellOf,
  computeLayout,
  indexAt,
  MAX_WINDOW_PAGES,
  maxZoom,
  rangeOutline,
  viewRequestFor,
  zoomToRange,
  type Layout,
} from './viewport.ts';

export const DRAW_MEASURE = 'pagescope:heatmap-draw';

function vmaLabel(v: VmaInfo): string {
  if (v.path) {
    const base = v.path.split('/').pop() || v.path;
    return base;
  }
  if (v.label) return v.label;
  return v.kind === 'anon' ? 'anon' : `[${v.kind}]`;
}

export function Heatmap() {
  const wrapRef = useRef<HTMLDivElement>(null);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const svgRef = useRef<SVGSVGElement>(null);
  const tipRef = useRef<HTMLDivElement>(null);
  const liveRef = useRef<HTMLParagraphElement>(null);

  useEffect(() => {
    const wrap = wrapRef.current!;
    const canvas = canvasRef.current!;
    const svg = svgRef.current!;
    const tip = tipRef.current!;
    const live = liveRef.current!;
    const ctx = canvas.getContext('2d')!;
    const off = document.createElement('canvas');
    const offCtx = off.getContext('2d')!;
    let image: ImageData | null = null;
    let pixels: Uint32Array | null = null;
    let width = 0;
    let height = 0;
    let layout: Layout | null = null;
    let space: DisplaySpace = DisplaySpace.identity(0);
    let spaceKey = '';
    let spaceVmas: VmaInfo[] = [];
    /** Host index of a display index (end-exclusive variant maps the end of the space). */
    const hostEnd = (d: number) => (d >= space.totalDisplay ? space.totalHost : space.toHost(d));
    let lutKey = '';
    let luts: Luts | null = null;
    let scheduled = 0;
    let pastHeat: { tick: number; heat: HeatStore | null } | null = null;
    let drawCount = 0;
    /** The keyboard cursor (host index) and where a Shift+arrow selection started. */
    let cursor: number | null = null;
    let anchor: number | null = null;
    let announceTimer: ReturnType<typeof setTimeout> | null = null;
    /** True while the tooltip describes the keyboard cursor (not the mouse). */
    let tipForCursor = false;
    let lastZoomSeq = 0;
    let lastCommandSeq = 0;

    const zoomBehavior: ZoomBehavior<SVGSVGElement, unknown> = d3zoom<SVGSVGElement, unknown>()
      .filter((event: Event) => {
        const e = event as MouseEvent;
        if (event.type === 'wheel') return true;
        if (event.type === 'dblclick') return false;
        return !e.shiftKey && !e.button;
      })
      .on('zoom', (event: D3ZoomEvent<SVGSVGElement, unknown>) => {
        useApp.setState({ zoom: { k: event.transform.k, y: event.transform.y } });
      });
    const svgSel = select(svg);
    svgSel.call(zoomBehavior);

    const brushG = svgSel.append('g').attr('class', 'brush');
    // A vertical brush: on the wrapped grid a range of pages is a run of rows. (A 2-D brush
    // would lock to one axis while Shift is held, which is d3-brush's own Shift gesture.)
    const brushBehavior = brushY<unknown>()
      .filter((event: MouseEvent) => event.shiftKey && !event.button)
      .on('end', (event: D3BrushEvent<unknown>) => {
        if (!event.selection || !layout) return;
        const [y0, y1] = event.selection as [number, number];
        brushG.call(brushBehavior.move, null);
        const l = layout;
        const rowA = Math.max(0, Math.floor(y0 / l.cellPx));
        const rowB = Math.min(l.rows, Math.max(rowA + 1, Math.ceil(y1 / l.cellPx)));
        const start = space.toHost(l.firstIndex + rowA * l.pagesPerRow);
        const end = hostEnd(Math.min(l.totalPages, l.firstIndex + rowB * l.pagesPerRow));
        if (start >= end) return;
        useApp.setState({ selection: { start, end } });
      });
    brushG.call(brushBehavior);

    const resize = () => {
      const r = wrap.getBoundingClientRect();
      const w = Math.max(50, Math.floor(r.width));
      const h = Math.max(50, Math.floor(r.height));
      if (w === width && h === height) return;
      // Keep the page at the top of the view where it is: the zoom's y is a fraction of the
      // height, so a new height (a toolbar wrapping, a window resize) would move the view.
      const zoom = useApp.getState().zoom;
      const top =
        width > 0 && zoom.k > 1 && space.totalDisplay > 0
          ? computeLayout(space.totalDisplay, width, height, zoom).firstIndex
          : null;
      width = w;
      height = h;
      sizeCanvas(canvas, width, height);
      svg.setAttribute('width', String(width));
      svg.setAttribute('height', String(height));
      zoomBehavior
        .extent([
          [0, 0],
          [width, height],
        ])
        .translateExtent([
          [0, 0],
          [width, height],
        ]);
      brushBehavior.extent([
        [0, 0],
        [width, height],
      ]);
      brushG.call(brushBehavior);
      if (top !== null) {
        const y = -(top / space.totalDisplay) * zoom.k * height;
        svgSel.call(zoomBehavior.transform, zoomIdentity.translate(0, y).scale(zoom.k));
      }
      schedule();
    };

    const schedule = () => {
      if (!scheduled) scheduled = requestAnimationFrame(draw);
    };

    function draw() {
      scheduled = 0;
      let st = useApp.getState();
      const frame = frameHub.frameFor(st.mode);
      const hostTotal = frame?.totalPages ?? st.totalPages;
      const next =
        frame && st.compact
          ? buildDisplaySpace(hostTotal, frame.overview, st.vmas)
          : DisplaySpace.identity(hostTotal);
      const nextKey = `${hostTotal}|${next.segments.map((g) => `${g.hostStart}:${g.squeezed ? 1 : 0}`).join(',')}`;
      if (nextKey !== spaceKey || st.vmas !== spaceVmas) {
        // The page space changed under the view (a VMA grew or appeared, pages faulted into a
        // squeezed stretch): keep the page (by address) at the centre of the view where it is.
        let anchorPage: number | null = null;
        let anchorIndex: number | null = null;
        let half = 0;
        if (space.totalHost > 0 && st.zoom.k > 1) {
          // Where the current zoom puts the view in the old space (not the last drawn layout,
          // which may predate a zoom that has not been drawn yet).
          const old = computeLayout(space.totalDisplay, width, height, st.zoom);
          half = Math.floor((old.endIndex - old.firstIndex) / 2);
          anchorIndex = space.toHost(old.firstIndex + half);
          // A page inside a squeezed stretch is no anchor (the stretch changes): use the first
          // page after it.
          const seg = space.segmentAtHost(anchorIndex);
          if (seg.squeezed) {
            half -= space.toDisplayEnd(seg.hostEnd) - (old.firstIndex + half);
            anchorIndex = Math.min(space.totalHost - 1, seg.hostEnd);
          }
          const v = vmaAtIndex(spaceVmas, anchorIndex);
          if (v) anchorPage = v.startPage + (anchorIndex - v.offset);
        }
        space = next;
        spaceKey = nextKey;
        spaceVmas = st.vmas;
        if (anchorIndex !== null && space.totalDisplay > 0) {
          if (anchorPage !== null) {
            const v = vmaAtPage(st.vmas, anchorPage);
            if (v) anchorIndex = v.offset + (anchorPage - v.startPage);
          }
          const k = st.zoom.k;
          const top = Math.max(0, space.toDisplay(anchorIndex) - half);
          const y = -(top / space.totalDisplay) * k * height;
          if (Math.abs(y - st.zoom.y) > 1e-6) {
            svgSel.call(zoomBehavior.transform, zoomIdentity.translate(0, y).scale(k));
            st = useApp.getState();
          }
        }
      }
      const total = space.totalDisplay;
      const kMax = maxZoom(total, width, height);
      zoomBehavior.scaleExtent([1, kMax]);
      if (frame && total > 0 && applyRequests()) st = useApp.getState();
      const theme = themeColours();
      const key = `${currentTheme()}|${st.mode}|${[...st.hidden].sort().join(',')}`;
      if (key !== lutKey || !luts) {
        luts = buildLuts(theme, st.mode, st.hidden);
        lutKey = key;
      }
      const dpr = canvas.width / width;
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.fillStyle = theme.background;
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      if (!frame || total <= 0) {
        layout = null;
        canvas.setAttribute('aria-label', 'Heatmap: waiting for the first scan of the process.');
        return;
      }
      performance.mark('pagescope:heatmap-draw-start');
      layout = computeLayout(total, width, height, st.zoom);
      const view = viewRequestFor(layout, width, height);
      if (view.window) {
        const w = {
          startIndex: space.toHost(view.window.startIndex),
          endIndex: hostEnd(view.window.endIndex),
        };
        view.window = w.endIndex - w.startIndex <= MAX_WINDOW_PAGES ? w : undefined;
      }
      requestView(view.window ? view : { buckets: view.buckets });
      const { cols, rows } = layout;
      if (!image || image.width !== cols || image.height !== rows) {
        image = new ImageData(cols, rows);
        pixels = new Uint32Array(image.data.buffer);
        off.width = cols;
        off.height = rows;
      }
      let heat: HeatStore | null = frameHub.heat;
      let tick = frame.tick;
      if (st.scrubTick !== null && st.mode === 'writes') {
        if (!pastHeat || pastHeat.tick !== st.scrubTick) {
          pastHeat = { tick: st.scrubTick, heat: frameHub.heatAt(st.scrubTick) };
        }
        heat = pastHeat.heat;
        tick = st.scrubTick;
      }
      const drawn = rasterize(pixels!, {
        layout,
        luts,
        overview: frame.overview,
        window: frame.window,
        heat,
        tick,
        space,
      });
      offCtx.putImageData(image, 0, 0);
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(off, 0, 0, cols * layout.cellPx * dpr, rows * layout.cellPx * dpr);
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      drawOverlays(layout, st.vmas, st.selection, st.focusedVma);
      if (cursor !== null && document.activeElement === wrap) {
        drawCursor(layout);
        // The keyboard's tooltip follows its cell when the view moves (its words are only
        // announced on a move, in announceCursor).
        if (tipForCursor) placeCursorTip(layout);
      }
      performance.measure(DRAW_MEASURE, 'pagescope:heatmap-draw-start');
      drawCount++;
      canvas.dataset.draws = String(drawCount);
      canvas.dataset.pagesPerCell = String(layout.pagesPerCell);
      canvas.dataset.firstIndex = String(space.toHost(layout.firstIndex));
      canvas.dataset.endIndex = String(hostEnd(layout.endIndex));
      canvas.dataset.squeezed = String(space.segments.filter((g) => g.squeezed).length);
      (window as { __pagescopeHeatmap?: unknown }).__pagescopeHeatmap = { space, layout };
      canvas.setAttribute('aria-label', summary(layout, st.vmas, drawn));
    }

    function summary(l: Layout, vmas: VmaInfo[], drawn: number): string {
      const st = useApp.getState();
      const f = frameHub.latest!;
      const c = f.counters;
      const first = vmaAtIndex(vmas, space.toHost(l.firstIndex));
      const last = vmaAtIndex(vmas, space.toHost(Math.max(l.firstIndex, l.endIndex - 1)));
      const where =
        first && last && first !== last
          ? `from ${vmaLabel(first)} to ${vmaLabel(last)}`
          : first
            ? `inside ${vmaLabel(first)}`
            : '';
      const per = l.pagesPerCell === 1 ? 'one page per cell' : `${l.pagesPerCell} pages per cell`;
      return (
        `Heatmap of ${st.session?.name ?? 'the process'} in ${st.mode} mode, ` +
        `${fmt.format(hostEnd(l.endIndex) - space.toHost(l.firstIndex))} of ${fmt.format(space.totalHost)} pages shown ${where}, ${per}` +
        (space.isIdentity ? '' : ', empty reservations squeezed') +
        ` (${fmt.format(drawn)} drawn). Tick ${c.tick}: ${fmt.format(c.present)} present, ` +
        `${fmt.format(c.swapped)} swapped, ${fmt.format(c.written)} written.`
      );
    }

    /** Outline the host range [a, b) on the grid. */
    function strokeRange(l: Layout, a: number, b: number) {
      const lo = Math.max(space.toDisplay(a), l.firstIndex);
      const hi = Math.min(space.toDisplayEnd(b), l.endIndex);
      if (lo >= hi) return;
      const pts = rangeOutline(l, lo, hi);
      ctx.beginPath();
      ctx.moveTo(pts[0][0] + 0.5, pts[0][1] + 0.5);
      for (let i = 1; i < pts.length; i++) ctx.lineTo(pts[i][0] + 0.5, pts[i][1] + 0.5);
      ctx.closePath();
      ctx.stroke();
    }

    function drawOverlays(
      l: Layout,
      vmas: VmaInfo[],
      selection: { start: number; end: number } | null,
      focused: string | null,
    ) {
      const theme = themeColours();
      const c = l.cellPx;
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
        const d0 = space.toDisplay(v.offset);
        if (
          d0 < l.endIndex &&
          space.toDisplayEnd(v.offset + v.endPage - v.startPage) > l.firstIndex
        )
          inView++;
      }
      if (inView <= 400) {
        ctx.strokeStyle = theme.boundary;
        ctx.globalAlpha = 0.28;
        ctx.lineWidth = 1;
        for (const v of vmas) strokeRange(l, v.offset, v.offset + v.endPage - v.startPage);
        ctx.globalAlpha = 1;
      }
      ctx.lineWidth = 2;
      ctx.strokeStyle = theme.watchOutline;
      for (const v of vmas) {
        if (v.watched === 'yes' || v.watched === 'partial') {
          strokeRange(l, v.offset, v.offset + v.endPage - v.startPage);
        }
      }
      if (focused !== null) {
        const v = vmas.find((x) => x.start === focused);
        if (v) {
          ctx.setLineDash([4, 3]);
          ctx.lineWidth = 1.5;
          ctx.strokeStyle = theme.selection;
          strokeRange(l, v.offset, v.offset + v.endPage - v.startPage);
          ctx.setLineDash([]);
        }
      }
      if (selection) {
        ctx.lineWidth = 2;
        ctx.strokeStyle = theme.selection;
        ctx.fillStyle = theme.selection;
        strokeRange(l, selection.start, selection.end);
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
        if (d0 >= l.firstIndex) {
          const { col, row } = cellOf(l, d0);
          ctx.fillStyle = theme.boundary;
          ctx.globalAlpha = 0.85;
          ctx.fillRect(col * c - 1, row * c - 2, 2, c + 4);
          ctx.globalAlpha = 1;
          const rowsTall = (d1 - d0) / l.pagesPerRow;
          const x = col * c + 6;
          const y = row * c + 4;
          if (
            (rowsTall * c >= 12 || l.cellPx >= 12) &&
            (y - lastLabelY > 14 || x > lastLabelRight)
          ) {
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
    }

    /** The keyboard cursor: a ring around its cell, in the selection colour. */
    function drawCursor(l: Layout) {
      const d = space.toDisplay(cursor!);
      if (d < l.firstIndex || d >= l.endIndex) return;
      const { col, row } = cellOf(l, d);
      const c = l.cellPx;
      const theme = themeColours();
      // At least 11 px across, so a 3 px cell's cursor is still seen; centred on the cell.
      const size = Math.max(c + 2, 11);
      const x = col * c + c / 2 - size / 2;
      const y = row * c + c / 2 - size / 2;
      ctx.lineWidth = 2;
      ctx.strokeStyle = theme.background;
      ctx.strokeRect(x - 1, y - 1, size + 2, size + 2);
      ctx.strokeStyle = theme.selection;
      ctx.strokeRect(x, y, size, size);
    }

    // Tooltip.
    const onMove = (e: PointerEvent) => {
      if (!layout || !frameHub.latest) return;
      const r = svg.getBoundingClientRect();
      const x = e.clientX - r.left;
      const y = e.clientY - r.top;
      const didx = indexAt(layout, x, y);
      if (didx < 0) {
        tip.hidden = true;
        return;
      }
      tipForCursor = false;
      showTip(didx, x, y);
    };

    /** Show the tooltip for a display index at (x, y) in the overlay; returns its sentence. */
    function showTip(didx: number, x: number, y: number): string {
      const st = useApp.getState();
      const info = cellInfo(
        didx,
        layout!.pagesPerCell,
        space,
        st.vmas,
        frameHub.latest!,
        frameHub.heat,
      );
      tip.hidden = false;
      tip.innerHTML = '';
      const line = (cls: string, text: string) => {
        const d = document.createElement('div');
        d.className = cls;
        d.textContent = text;
        tip.appendChild(d);
      };
      line('tip-addr', info.address);
      if (info.vma) line('tip-vma', info.vma);
      line('tip-cats', info.categories);
      const tx = Math.min(x + 14, width - 300);
      const ty = y + 16 > height - 70 ? y - 70 : y + 16;
      tip.style.transform = `translate(${Math.max(0, tx)}px, ${Math.max(0, ty)}px)`;
      return cellSentence(info);
    }
    const onLeave = () => {
      tip.hidden = true;
    };
    const onClick = (e: MouseEvent) => {
      if (!layout || e.shiftKey || e.defaultPrevented) return;
      const r = svg.getBoundingClientRect();
      const didx = indexAt(layout, e.clientX - r.left, e.clientY - r.top);
      const v = didx >= 0 ? vmaAtIndex(useApp.getState().vmas, space.toHost(didx)) : null;
      useApp.setState({ focusedVma: v ? v.start : null, selection: null });
    };
    svg.addEventListener('pointermove', onMove);
    svg.addEventListener('pointerleave', onLeave);
    svg.addEventListener('click', onClick);

    /** Move the view (keeping the zoom) so that display index d is on screen. */
    function reveal(d: number) {
      if (!layout) return;
      const l = layout;
      if (d >= l.firstIndex && d < l.endIndex) return;
      const k = useApp.getState().zoom.k;
      const top = Math.max(0, d - Math.floor(l.rows / 2) * l.pagesPerRow);
      const y = -(top / space.totalDisplay) * k * height;
      svgSel.call(zoomBehavior.transform, zoomIdentity.translate(0, y).scale(k));
    }

    /** The tooltip at the cursor's cell; its sentence, or null when the cell is out of view. */
    function placeCursorTip(l: Layout): string | null {
      const d = space.toDisplay(cursor!);
      if (d < l.firstIndex || d >= l.endIndex) {
        tip.hidden = true;
        return null;
      }
      const { col, row } = cellOf(l, d);
      return showTip(d, col * l.cellPx, row * l.cellPx);
    }

    /** Say what is under the cursor: the tooltip now, the live region once the keys rest. */
    function announceCursor() {
      if (cursor === null || !layout || !frameHub.latest) return;
      const sentence = placeCursorTip(layout);
      if (sentence === null) return;
      tipForCursor = true;
      if (announceTimer) clearTimeout(announceTimer);
      announceTimer = setTimeout(() => {
        live.textContent = sentence;
      }, 250);
    }

    /** The cursor's first position: the focused VMA when it is in view, else the view's top. */
    function placeCursor() {
      if (!layout) return;
      const st = useApp.getState();
      const v = st.vmas.find((x) => x.start === st.focusedVma);
      const d = v ? space.toDisplay(v.offset) : -1;
      const inView = d >= layout.firstIndex && d < layout.endIndex;
      cursor = space.toHost(inView ? d : layout.firstIndex);
    }

    const onKey = (e: KeyboardEvent) => {
      if (e.altKey || e.ctrlKey || e.metaKey) return;
      const t = zoomBehavior;
      const k = useApp.getState().zoom.k;
      const l = layout;
      const move: Record<string, number> = l
        ? {
            ArrowLeft: -l.pagesPerCell,
            ArrowRight: l.pagesPerCell,
            ArrowUp: -l.pagesPerRow,
            ArrowDown: l.pagesPerRow,
          }
        : {};
      if (e.key in move && l) {
        if (cursor === null) placeCursor();
        const from = space.toDisplay(cursor!);
        const to = Math.max(0, Math.min(space.totalDisplay - 1, from + move[e.key]));
        if (e.shiftKey) {
          if (anchor === null) anchor = cursor;
        } else anchor = null;
        cursor = space.toHost(to);
        reveal(to);
        if (anchor !== null) {
          const a = Math.min(anchor, cursor);
          const b = Math.max(anchor, cursor) + 1;
          useApp.setState({ selection: { start: a, end: b } });
        }
        schedule();
        requestAnimationFrame(announceCursor);
      } else if (e.key === '+' || e.key === '=') zoomBy(1.6);
      else if (e.key === '-' || e.key === '_') zoomBy(1 / 1.6);
      else if (e.key === 'PageDown') svgSel.call(t.translateBy, 0, -height / k);
      else if (e.key === 'PageUp') svgSel.call(t.translateBy, 0, height / k);
      else if (e.key === 'Home' || e.key === '0') svgSel.call(t.transform, zoomIdentity);
      else if (e.key === 'Enter' && cursor !== null) {
        const v = vmaAtIndex(useApp.getState().vmas, cursor);
        useApp.setState({ focusedVma: v ? v.start : null, selection: null });
        anchor = null;
      } else if (e.key === 'Escape') {
        anchor = null;
        useApp.setState({ selection: null, focusedVma: null });
      } else return;
      e.preventDefault();
    };

    /** Zoom around the cursor when it is in view, else around the centre. */
    function zoomBy(f: number) {
      let p: [number, number] = [width / 2, height / 2];
      if (cursor !== null && layout && document.activeElement === wrap) {
        const d = space.toDisplay(cursor);
        if (d >= layout.firstIndex && d < layout.endIndex) {
          const { col, row } = cellOf(layout, d);
          p = [col * layout.cellPx, row * layout.cellPx];
        }
      }
      svgSel.call(zoomBehavior.scaleBy, f, p);
    }

    const onFocus = () => {
      if (cursor === null) placeCursor();
      schedule();
      requestAnimationFrame(announceCursor);
    };
    const onBlur = () => {
      tip.hidden = true;
      tipForCursor = false;
      schedule();
    };
    wrap.addEventListener('focus', onFocus);
    wrap.addEventListener('blur', onBlur);
    wrap.addEventListener('keydown', onKey);

    const ro = new ResizeObserver(resize);
    ro.observe(wrap);
    resize();

    const unsubHub = frameHub.subscribe(schedule);
    /**
     * Apply a pending zoom request (focus a VMA, show the demo) or heatmap command (a shortcut).
     * Requests wait for the first frame: a range means nothing before the display space exists.
     */
    function applyRequests(): boolean {
      if (space.totalDisplay <= 0 || width <= 0) return false;
      const s = useApp.getState();
      let applied = false;
      if (s.zoomRequest && s.zoomRequest.seq !== lastZoomSeq) {
        lastZoomSeq = s.zoomRequest.seq;
        const r = s.zoomRequest.range;
        const total = space.totalDisplay;
        const z = r
          ? zoomToRange(
              total,
              height,
              space.toDisplay(r.start),
              space.toDisplayEnd(r.end),
              maxZoom(total, width, height),
            )
          : { k: 1, y: 0 };
        svgSel.call(zoomBehavior.transform, zoomIdentity.translate(0, z.y).scale(z.k));
        applied = true;
      }
      if (s.heatmapCommand && s.heatmapCommand.seq !== lastCommandSeq) {
        lastCommandSeq = s.heatmapCommand.seq;
        const cmd = s.heatmapCommand.cmd;
        if (cmd === 'all') svgSel.call(zoomBehavior.transform, zoomIdentity);
        else zoomBy(cmd === 'in' ? 1.6 : 1 / 1.6);
        applied = true;
      }
      return applied;
    }

    const unsubStore = useApp.subscribe((s, prev) => {
      if (s.zoomRequest !== prev.zoomRequest || s.heatmapCommand !== prev.heatmapCommand) {
        if (!applyRequests()) schedule();
      }
      if (
        s.zoom !== prev.zoom ||
        s.vmas !== prev.vmas ||
        s.mode !== prev.mode ||
        s.hidden !== prev.hidden ||
        s.selection !== prev.selection ||
        s.focusedVma !== prev.focusedVma ||
        s.scrubTick !== prev.scrubTick ||
        s.totalPages !== prev.totalPages ||
        s.compact !== prev.compact
      ) {
        schedule();
      }
    });
    const unsubTheme = onThemeChange(() => {
      lutKey = '';
      schedule();
    });
    return () => {
      ro.disconnect();
      unsubHub();
      unsubStore();
      unsubTheme();
      if (scheduled) cancelAnimationFrame(scheduled);
      svg.removeEventListener('pointermove', onMove);
      svg.removeEventListener('pointerleave', onLeave);
      svg.removeEventListener('click', onClick);
      wrap.removeEventListener('keydown', onKey);
      wrap.removeEventListener('focus', onFocus);
      wrap.removeEventListener('blur', onBlur);
      if (announceTimer) clearTimeout(announceTimer);
      svgSel.on('.zoom', null);
      brushG.remove();
    };
  }, []);

  return (
    <div
      className="heatmap"
      ref={wrapRef}
      tabIndex={0}
      role="group"
      aria-roledescription="heatmap"
      aria-label="Pages of the process"
      aria-describedby="heatmap-help"
    >
      <canvas ref={canvasRef} role="img" aria-label="Heatmap" data-testid="heatmap" />
      <svg ref={svgRef} className="heatmap-overlay" aria-hidden="true" />
      <div ref={tipRef} className="tooltip" hidden aria-hidden="true" data-testid="heatmap-tip" />
      <p id="heatmap-help" className="sr-only">
        Arrow keys move a cursor from cell to cell, Shift with arrows selects pages, Enter picks the
        region under the cursor, plus and minus zoom, Page Up and Page Down scroll, Home shows all,
        Escape clears. With a mouse: scroll to zoom, drag to pan, Shift-drag to select.
      </p>
      <p ref={liveRef} className="sr-only" aria-live="polite" data-testid="heatmap-live" />
    </div>
  );
}
