/**
 * The timeline: written pages per tick and present/swapped totals (d3 scales and line shapes on
 * a canvas). Click or drag to look at a past tick; "Live" returns to the latest (in a replay,
 * clicking moves the replay, and the head says which tick it shows). Redrawn
 * imperatively per frame, measured as 'pagescope:timeline-draw'.
 */
import { useEffect, useRef } from 'react';
import { frameHub } from '../frames.ts';
import { useRecording } from '../recording/store.ts';
import { useApp } from '../store.ts';
import { onThemeChange, sizeCanvas, themeColours } from '../theme.ts';
import { drawTimeline, timelineLabel, timelineScales } from './draw.ts';

export const TIMELINE_MEASURE = 'pagescope:timeline-draw';

export function Timeline() {
  const wrapRef = useRef<HTMLDivElement>(null);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const scrubTick = useApp((s) => s.scrubTick);
  // A replay's position is the tick shown (the same number as the slider and the status line);
  // its end is not "live".
  const replayLast = useRecording((s) => (s.replay ? (s.replayTicks.at(-1) ?? 0) : null));

  useEffect(() => {
    const wrap = wrapRef.current!;
    const canvas = canvasRef.current!;
    const ctx = canvas.getContext('2d')!;
    let width = 0;
    let height = 0;
    let scheduled = 0;
    const draw = () => {
      scheduled = 0;
      const dpr = sizeCanvas(canvas, width, height);
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      performance.mark('pagescope:timeline-draw-start');
      const ticks = frameHub.history.map((h) => h.counters);
      drawTimeline(ctx, ticks, width, height, themeColours(), useApp.getState().scrubTick);
      performance.measure(TIMELINE_MEASURE, 'pagescope:timeline-draw-start');
      canvas.setAttribute('aria-label', timelineLabel(ticks));
      canvas.dataset.ticks = String(ticks.length);
      canvas.dataset.maxWritten = String(ticks.reduce((m, t) => Math.max(m, t.written), 0));
      canvas.dataset.maxOverhead = String(ticks.reduce((m, t) => Math.max(m, t.estOverheadPct), 0));
    };
    const schedule = () => {
      if (!scheduled) scheduled = requestAnimationFrame(draw);
    };
    const ro = new ResizeObserver(() => {
      const r = wrap.getBoundingClientRect();
      width = Math.max(50, Math.floor(r.width));
      height = Math.max(40, Math.floor(r.height));
      schedule();
    });
    ro.observe(wrap);
    const unsubHub = frameHub.subscribe(schedule);
    const unsubStore = useApp.subscribe((s, p) => {
      if (s.scrubTick !== p.scrubTick) schedule();
    });
    const unsubTheme = onThemeChange(schedule);

    let dragging = false;
    const pick = (e: PointerEvent) => {
      const ticks = frameHub.history.map((h) => h.counters);
      if (!ticks.length) return;
      const r = canvas.getBoundingClientRect();
      const t = timelineScales(ticks, width).tickAt(e.clientX - r.left);
      useApp.setState({ scrubTick: t === ticks[ticks.length - 1].tick ? null : t });
    };
    const down = (e: PointerEvent) => {
      dragging = true;
      canvas.setPointerCapture(e.pointerId);
      pick(e);
    };
    const move = (e: PointerEvent) => dragging && pick(e);
    const up = () => {
      dragging = false;
    };
    canvas.addEventListener('pointerdown', down);
    canvas.addEventListener('pointermove', move);
    canvas.addEventListener('pointerup', up);
    return () => {
      ro.disconnect();
      unsubHub();
      unsubStore();
      unsubTheme();
      if (scheduled) cancelAnimationFrame(scheduled);
      canvas.removeEventListener('pointerdown', down);
      canvas.removeEventListener('pointermove', move);
      canvas.removeEventListener('pointerup', up);
    };
  }, []);

  return (
    <section className="timeline" aria-label="Timeline">
      <div className="timeline-head">
        <h2>Timeline</h2>
        <span className="key">
          <i className="sw sw-written" /> written / tick <i className="sw sw-present line" />{' '}
          present <i className="sw sw-swapped line" /> swapped
        </span>
        {replayLast !== null ? (
          <span className="scrub">
            Tick{' '}
            <span className="num" style={{ minWidth: `${String(replayLast).length}ch` }}>
              {scrubTick ?? ''}
            </span>{' '}
            · click or drag to move
          </span>
        ) : scrubTick !== null ? (
          <span className="scrub">
            Looking at tick <span className="num">{scrubTick}</span>{' '}
            <button type="button" onClick={() => useApp.setState({ scrubTick: null })}>
              Live
            </button>
          </span>
        ) : (
          <span className="scrub muted">Live · click or drag to look back</span>
        )}
      </div>
      <div className="timeline-canvas" ref={wrapRef}>
        <canvas ref={canvasRef} role="img" aria-label="Timeline" data-testid="timeline" />
      </div>
    </section>
  );
}
