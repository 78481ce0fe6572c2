/**
 * The heatmap's React shell: a canvas, an SVG overlay carrying d3-zoom (wheel, drag, keyboard
 * +/-) and d3-brush (Shift-drag selects a range), a tooltip and a live region. It holds the
 * interaction state (size, display space, keyboard cursor) and turns events into store updates;
 * the decisions are pure functions (view-anchor.ts: where the view goes; hit-test.ts: pixels and
 * keys to pages; tooltip.ts: the words) and the drawing is painter.ts — data, render and
 * interaction kept apart, the way Perfetto's track renderers are.
 *
 * Keyboard: the heatmap is one tab stop with a cell cursor. Arrow keys move it (the view pans to
 * keep it in sight), Shift+arrows select from where the selection started, Enter picks the VMA
 * under it. The cursor's cell is described in the tooltip and, debounced, in a polite live region
 * — only when the cursor moves, never per tick.
 *
 * React renders this component once per session; after that every redraw is imperative: the
 * component subscribes to the FrameHub (frames) and to the zustand store (viewport, selection,
 * mode) and schedules one draw per animation frame. Each draw is measured with
 * performance.measure('pagescope:heatmap-draw'). The canvas's data attributes say what the last
 * draw showed (draws, pagesPerCell, firstIndex/endIndex in host pages, squeezed stretches,
 * shownIndices in display cells; tableWaits: draws so far that kept the drawn VMA table because
 * the store's newer one had no frame yet) for tests and for inspection. With a writer picked in
 * the Writers panel ("by writer"), writerCells counts the cells lit for its pages and
 * writerCellsByVma gives them per VMA (JSON, by VMA start), writerHostSpan the host pages
 * [first, end) the lit cells cover; the label says it in words.
 */
import { useEffect, useRef } from 'react';
import { brushY, type D3BrushEvent } from 'd3-brush';
import { select } from 'd3-selection';
import { zoom as d3zoom, zoomIdentity, type D3ZoomEvent, type ZoomBehavior } from 'd3-zoom';
import { frameHub } from '../frames.ts';
import { useApp, vmaAtIndex } from '../store.ts';
import { currentTheme, onThemeChange, sizeCanvas, themeColours } from '../theme.ts';
import { requestView } from '../actions.ts';
import { cellInfo, cellSentence } from './cell-info.ts';
import { buildLuts, type CategoryKey, type ColourMode, type Luts } from './colour.ts';
import type { DisplaySpace } from './display-space.ts';
import type { HeatStore } from './heat.ts';
import {
  brushRange,
  cellCorner,
  cursorStart,
  inView,
  isCursorKey,
  moveCursor,
  selectionBetween,
  vmaAtPoint,
} from './hit-test.ts';
import { HeatmapPainter } from './painter.ts';
import { pickedRanges, useWho } from '../who/store.ts';
import { highlightCells, type WriterHighlight } from './writer-highlight.ts';
import { tipLines, tipPosition, viewSummary, WAITING_SUMMARY } from './tooltip.ts';
import {
  carryRange,
  followSpace,
  hostEnd,
  NO_SPACE,
  type SpaceState,
  zoomAfterResize,
  zoomForRequest,
  zoomToReveal,
} from './view-anchor.ts';
import {
  computeLayout,
  indexAt,
  MAX_WINDOW_PAGES,
  maxZoom,
  viewRequestFor,
  type Layout,
  type ZoomState,
} from './viewport.ts';

export const DRAW_MEASURE = 'pagescope:heatmap-draw';

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
    const painter = new HeatmapPainter(canvas);
    /** CSS size of the canvas. */
    const size = { width: 0, height: 0 };
    /** The last drawn layout (display indices), or null before the first frame. */
    let layout: Layout | null = null;
    /** The display space, the VMA table it was built for (view-anchor.ts's followSpace). */
    let spaceState: SpaceState = NO_SPACE;
    let space: DisplaySpace = spaceState.space;
    let luts: { key: string; luts: Luts } | null = null;
    let pastHeat: { tick: number; heat: HeatStore | null } | null = null;
    /**
     * The picked writer's lit cells and what they were computed from: a redraw for the cursor or
     * a frame with the same writers reuses them (20 writers x 256 ranges took 6 ms to map).
     */
    let litCache: { key: unknown[]; lit: WriterHighlight } | null = null;
    let scheduled = 0;
    let drawCount = 0;
    let tableWaits = 0;
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
    /** Move the view to a zoom state (through d3-zoom, which writes it to the store). */
    const setZoom = (z: ZoomState) =>
      svgSel.call(zoomBehavior.transform, zoomIdentity.translate(0, z.y).scale(z.k));

    const brushG = svgSel.append('g').attr('class', 'brush');
    // A vertical brush: on the wrapped grid a range of pages is a run of rows. (A 2-D brush
    // would lock to one axis while Shift is held, which is d3-brush's own Shift gesture.)
    const brushBehavior = brushY<unknown>()
      .filter((event: MouseEvent) => event.shiftKey && !event.button)
      .on('end', (event: D3BrushEvent<unknown>) => {
        if (!event.selection || !layout) return;
        const [y0, y1] = event.selection as [number, number];
        brushG.call(brushBehavior.move, null);
        const range = brushRange(layout, space, y0, y1);
        if (range) useApp.setState({ selection: range });
      });
    brushG.call(brushBehavior);

    const resize = () => {
      const r = wrap.getBoundingClientRect();
      const next = {
        width: Math.max(50, Math.floor(r.width)),
        height: Math.max(50, Math.floor(r.height)),
      };
      if (next.width === size.width && next.height === size.height) return;
      const keep = zoomAfterResize(space, useApp.getState().zoom, size, next);
      Object.assign(size, next);
      const { width, height } = size;
      sizeCanvas(canvas, width, height);
      svg.setAttribute('width', String(width));
      svg.setAttribute('height', String(height));
      const extent: [[number, number], [number, number]] = [
        [0, 0],
        [width, height],
      ];
      zoomBehavior.extent(extent).translateExtent(extent);
      brushBehavior.extent(extent);
      brushG.call(brushBehavior);
      if (keep) setZoom(keep);
      schedule();
    };

    const schedule = () => {
      if (!scheduled) scheduled = requestAnimationFrame(draw);
    };

    /** Follow a new page space, keeping the page at the centre of the view where it is. */
    function updateSpace(): void {
      const next = followSpace(
        spaceState,
        frameHub.frameFor(useApp.getState().mode),
        useApp.getState(),
        size,
      );
      if (!next) return;
      spaceState = next.state;
      space = spaceState.space;
      if (next.zoom) setZoom(next.zoom);
    }

    function lutsFor(mode: ColourMode, hidden: ReadonlySet<CategoryKey>): Luts {
      const key = `${currentTheme()}|${mode}|${[...hidden].sort().join(',')}`;
      if (!luts || luts.key !== key) luts = { key, luts: buildLuts(themeColours(), mode, hidden) };
      return luts.luts;
    }

    function draw() {
      scheduled = 0;
      const frame = frameHub.frameFor(useApp.getState().mode);
      updateSpace();
      const total = space.totalDisplay;
      zoomBehavior.scaleExtent([1, maxZoom(total, size.width, size.height)]);
      if (frame && total > 0) applyRequests();
      const st = useApp.getState();
      const theme = themeColours();
      const colours = lutsFor(st.mode, st.hidden);
      if (!frame || total <= 0) {
        painter.clear(theme);
        layout = null;
        canvas.setAttribute('aria-label', WAITING_SUMMARY);
        return;
      }
      performance.mark('pagescope:heatmap-draw-start');
      layout = computeLayout(total, size.width, size.height, st.zoom);
      const view = viewRequestFor(layout, size.width, size.height);
      if (view.window) {
        const w = {
          startIndex: space.toHost(view.window.startIndex),
          endIndex: hostEnd(space, view.window.endIndex),
        };
        view.window = w.endIndex - w.startIndex <= MAX_WINDOW_PAGES ? w : undefined;
      }
      requestView(view.window ? view : { buckets: view.buckets });
      let heat: HeatStore | null = frameHub.heat;
      let tick = frame.tick;
      if (st.scrubTick !== null && st.mode === 'writes') {
        if (!pastHeat || pastHeat.tick !== st.scrubTick) {
          pastHeat = { tick: st.scrubTick, heat: frameHub.heatAt(st.scrubTick) };
        }
        heat = pastHeat.heat;
        tick = st.scrubTick;
      }
      const focused = document.activeElement === wrap;
      const who = useWho.getState();
      const picked = who.sessionId === st.session?.sessionId ? pickedRanges(who) : null;
      let lit: WriterHighlight | null = null;
      if (picked) {
        const l = layout;
        const key = [who.picked, who.lastWriters, spaceState.vmas, space, l.firstIndex, l.endIndex];
        key.push(l.pagesPerCell, l.cols);
        if (!litCache || key.some((x, i) => x !== litCache!.key[i]))
          litCache = { key, lit: highlightCells(picked.ranges, spaceState.vmas, space, l) };
        lit = litCache.lit;
      } else litCache = null;
      const drawn = painter.paint({
        width: size.width,
        layout,
        space,
        theme,
        luts: colours,
        overview: frame.overview,
        window: frame.window,
        heat,
        tick,
        vmas: spaceState.vmas,
        selection: st.selection,
        focusedVma: st.focusedVma,
        cursor: focused ? cursor : null,
        highlight: lit?.cells ?? null,
      });
      // The keyboard's tooltip follows its cell when the view moves (its words are only
      // announced on a move, in announceCursor).
      if (focused && cursor !== null && tipForCursor) placeCursorTip(layout);
      performance.measure(DRAW_MEASURE, 'pagescope:heatmap-draw-start');
      drawCount++;
      if (spaceState.vmas !== st.vmas) tableWaits++;
      canvas.dataset.draws = String(drawCount);
      canvas.dataset.tableWaits = String(tableWaits);
      canvas.dataset.pagesPerCell = String(layout.pagesPerCell);
      canvas.dataset.firstIndex = String(space.toHost(layout.firstIndex));
      canvas.dataset.endIndex = String(hostEnd(space, layout.endIndex));
      canvas.dataset.shownIndices = String(layout.endIndex - layout.firstIndex);
      canvas.dataset.squeezed = String(space.segments.filter((g) => g.squeezed).length);
      if (lit) {
        canvas.dataset.writerCells = String(lit.cells.length);
        canvas.dataset.writerCellsByVma = JSON.stringify(lit.byVma);
        // The host pages the lit cells cover, [first, end): a test checks they are the writer's.
        const n = lit.cells.length;
        canvas.dataset.writerHostSpan = n
          ? `${space.toHost(layout.firstIndex + lit.cells[0] * layout.pagesPerCell)},${hostEnd(
              space,
              Math.min(
                layout.endIndex,
                layout.firstIndex + (lit.cells[n - 1] + 1) * layout.pagesPerCell,
              ),
            )}`
          : '';
      } else {
        delete canvas.dataset.writerCells;
        delete canvas.dataset.writerCellsByVma;
        delete canvas.dataset.writerHostSpan;
      }
      const litSentence =
        lit && who.picked
          ? ` ${lit.cells.length} cells highlighted with pages ${picked?.sampled ? 'sampled from the writes of' : 'written by'} ${who.picked.label} in the latest tick.`
          : '';
      canvas.setAttribute(
        'aria-label',
        viewSummary({
          layout,
          space,
          vmas: spaceState.vmas,
          drawn,
          processName: st.session?.name ?? null,
          mode: st.mode,
          counters: frame.counters,
        }) + litSentence,
      );
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
      const info = cellInfo(
        didx,
        layout!.pagesPerCell,
        space,
        spaceState.vmas,
        frameHub.latest!,
        frameHub.heat,
      );
      tip.hidden = false;
      tip.replaceChildren(
        ...tipLines(info).map(({ cls, text }) => {
          const d = document.createElement('div');
          d.className = cls;
          d.textContent = text;
          return d;
        }),
      );
      const p = tipPosition(x, y, size.width, size.height);
      tip.style.transform = `translate(${p.x}px, ${p.y}px)`;
      return cellSentence(info);
    }
    const onLeave = () => {
      tip.hidden = true;
    };
    const onClick = (e: MouseEvent) => {
      if (!layout || e.shiftKey || e.defaultPrevented) return;
      const r = svg.getBoundingClientRect();
      const v = vmaAtPoint(layout, space, spaceState.vmas, e.clientX - r.left, e.clientY - r.top);
      useApp.setState({ focusedVma: v ? v.start : null, selection: null });
    };
    svg.addEventListener('pointermove', onMove);
    svg.addEventListener('pointerleave', onLeave);
    svg.addEventListener('click', onClick);

    /** The tooltip at the cursor's cell; its sentence, or null when the cell is out of view. */
    function placeCursorTip(l: Layout): string | null {
      const d = space.toDisplay(cursor!);
      if (!inView(l, d)) {
        tip.hidden = true;
        return null;
      }
      const [x, y] = cellCorner(l, d);
      return showTip(d, x, y);
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

    function placeCursor() {
      if (!layout) return;
      const st = useApp.getState();
      cursor = cursorStart(layout, space, spaceState.vmas, st.focusedVma);
    }

    const onKey = (e: KeyboardEvent) => {
      if (e.altKey || e.ctrlKey || e.metaKey) return;
      const t = zoomBehavior;
      const k = useApp.getState().zoom.k;
      const l = layout;
      if (isCursorKey(e.key) && l) {
        if (cursor === null) placeCursor();
        const to = moveCursor(l, space, cursor!, e.key);
        if (e.shiftKey) {
          if (anchor === null) anchor = cursor;
        } else anchor = null;
        cursor = to.host;
        const reveal = zoomToReveal(l, to.display, space.totalDisplay, k, size.height);
        if (reveal) setZoom(reveal);
        if (anchor !== null) useApp.setState({ selection: selectionBetween(anchor, cursor) });
        schedule();
        requestAnimationFrame(announceCursor);
      } else if (e.key === '+' || e.key === '=') zoomBy(1.6);
      else if (e.key === '-' || e.key === '_') zoomBy(1 / 1.6);
      else if (e.key === 'PageDown') svgSel.call(t.translateBy, 0, -size.height / k);
      else if (e.key === 'PageUp') svgSel.call(t.translateBy, 0, size.height / k);
      else if (e.key === 'Home' || e.key === '0') svgSel.call(t.transform, zoomIdentity);
      else if (e.key === 'Enter' && cursor !== null) {
        const v = vmaAtIndex(spaceState.vmas, cursor);
        useApp.setState({ focusedVma: v ? v.start : null, selection: null });
        anchor = null;
      } else if (e.key === 'Escape') {
        anchor = null;
        useApp.setState({ selection: null, focusedVma: null });
        // The writer picked in the Writers panel too: its highlight is on this canvas.
        if (useWho.getState().picked) useWho.setState({ picked: null });
      } else return;
      e.preventDefault();
    };

    /** Zoom around the cursor when it is in view, else around the centre. */
    function zoomBy(f: number) {
      let p: [number, number] = [size.width / 2, size.height / 2];
      if (cursor !== null && layout && document.activeElement === wrap) {
        const d = space.toDisplay(cursor);
        if (inView(layout, d)) p = cellCorner(layout, d);
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
      if (space.totalDisplay <= 0 || size.width <= 0) return false;
      const s = useApp.getState();
      let applied = false;
      if (s.zoomRequest && s.zoomRequest.seq !== lastZoomSeq) {
        lastZoomSeq = s.zoomRequest.seq;
        const { range, vmas } = s.zoomRequest;
        setZoom(zoomForRequest(space, range && carryRange(range, vmas, spaceState.vmas), size));
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
    const unsubWho = useWho.subscribe((s, prev) => {
      if (s.picked !== prev.picked || (s.picked && s.lastWriters !== prev.lastWriters)) schedule();
    });
    const unsubTheme = onThemeChange(() => {
      luts = null;
      schedule();
    });
    return () => {
      ro.disconnect();
      unsubHub();
      unsubStore();
      unsubWho();
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
        Escape clears the selection and a writer&apos;s highlight. With a mouse: scroll to zoom,
        drag to pan, Shift-drag to select.
      </p>
      <p ref={liveRef} className="sr-only" aria-live="polite" data-testid="heatmap-live" />
    </div>
  );
}
