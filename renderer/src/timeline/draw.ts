/**
 * Timeline drawing (pure apart from the canvas context): written pages per tick as bars, present
 * and swapped totals as lines on their own scale, the estimated overhead of watching as a dashed
 * line on a percent scale with the range it may be in shaded around it, a cursor on the tick
 * being looked at.
 */
import { scaleLinear } from 'd3-scale';
import { area, line } from 'd3-shape';
import type { TickCounters } from '../../../core/protocol/messages.ts';
import { OVERHEAD_IS, overheadText, pctText } from '../../../core/protocol/overhead-text.ts';
import type { ThemeColours } from '../heatmap/colour.ts';

export const PAD = { left: 8, right: 8, top: 18, bottom: 14 };

export interface TimelineScales {
  x: (tick: number) => number;
  tickAt: (px: number) => number;
  first: number;
  last: number;
}

/** Ticks shown at once: the timeline scrolls with the newest tick at the right. */
export const VISIBLE_TICKS = 150;

export function timelineScales(ticks: TickCounters[], width: number): TimelineScales {
  const last = ticks.length ? ticks[ticks.length - 1].tick : 1;
  const first = Math.max(ticks.length ? ticks[0].tick : 0, last - VISIBLE_TICKS + 1);
  const x = scaleLinear()
    .domain([first, Math.max(first + 1, last)])
    .range([PAD.left, width - PAD.right]);
  return {
    x: (t) => x(t),
    tickAt: (px) => Math.round(Math.min(last, Math.max(first, x.invert(px)))),
    first,
    last,
  };
}

/**
 * The overhead scale's top, percent: the largest estimate or the top of its stated range shown,
 * at most 100 (0: no overhead to draw).
 */
export function overheadScaleMax(ticks: readonly TickCounters[]): number {
  let m = 0;
  for (const t of ticks) m = Math.max(m, t.estOverheadPct, t.estOverheadHighPct);
  return Math.min(100, m);
}

/** The timeline's accessible name: the latest tick, its overhead said as the estimate it is. */
export function timelineLabel(ticks: readonly TickCounters[]): string {
  const last = ticks[ticks.length - 1];
  if (!last) return 'Timeline: no ticks yet.';
  return `Timeline of ${ticks.length} ticks; latest tick ${last.tick}: ${last.written} written, ${last.present} present, ${last.swapped} swapped pages; estimated overhead ${overheadText(last.estOverheadPct, last.estOverheadLowPct, last.estOverheadHighPct)} (estimated ${OVERHEAD_IS}; in brackets the range it may be in).`;
}

export function drawTimeline(
  ctx: CanvasRenderingContext2D,
  ticks: TickCounters[],
  width: number,
  height: number,
  theme: ThemeColours,
  cursor: number | null,
): void {
  ctx.clearRect(0, 0, width, height);
  if (ticks.length === 0) return;
  const sc = timelineScales(ticks, width);
  ticks = ticks.filter((t) => t.tick >= sc.first);
  const plotBottom = height - PAD.bottom;
  let maxW = 1;
  let maxP = 1;
  for (const t of ticks) {
    if (t.written > maxW) maxW = t.written;
    if (t.present > maxP) maxP = t.present;
    if (t.swapped > maxP) maxP = t.swapped;
  }
  const yW = scaleLinear().domain([0, maxW]).range([plotBottom, PAD.top]).nice();
  const yP = scaleLinear().domain([0, maxP]).range([plotBottom, PAD.top]).nice();
  const barW = Math.max(1, (width - PAD.left - PAD.right) / VISIBLE_TICKS - 1);
  ctx.fillStyle = theme.heat[theme.heat.length - 2];
  for (const t of ticks) {
    if (t.written <= 0) continue;
    const y = yW(t.written);
    ctx.fillRect(sc.x(t.tick) - barW / 2, y, barW, plotBottom - y);
  }
  const drawLine = (key: 'present' | 'swapped', colour: string) => {
    const l = line<TickCounters>()
      .x((d) => sc.x(d.tick))
      .y((d) => yP(d[key]))
      .context(ctx);
    ctx.beginPath();
    l(ticks);
    ctx.lineWidth = 1.5;
    ctx.strokeStyle = colour;
    ctx.stroke();
  };
  drawLine('present', theme.present);
  drawLine('swapped', theme.swapped);
  const maxO = ticks.reduce((m, t) => Math.max(m, t.estOverheadPct), 0);
  const topO = overheadScaleMax(ticks);
  if (topO > 0) {
    const yO = scaleLinear()
      .domain([0, Math.max(1, topO)])
      .range([plotBottom, PAD.top])
      .nice();
    // The range each tick's estimate may be in, shaded (ticks that state none are left out).
    const band = area<TickCounters>()
      .defined((d) => d.estOverheadLowPct >= 0 && d.estOverheadHighPct >= 0)
      .x((d) => sc.x(d.tick))
      .y0((d) => yO(d.estOverheadLowPct))
      .y1((d) => yO(d.estOverheadHighPct))
      .context(ctx);
    ctx.beginPath();
    band(ticks);
    ctx.globalAlpha = 0.18;
    ctx.fillStyle = theme.label;
    ctx.fill();
    ctx.globalAlpha = 1;
    const l = line<TickCounters>()
      .x((d) => sc.x(d.tick))
      .y((d) => yO(d.estOverheadPct))
      .context(ctx);
    ctx.beginPath();
    l(ticks);
    ctx.setLineDash([4, 3]);
    ctx.lineWidth = 1.5;
    ctx.strokeStyle = theme.label;
    ctx.stroke();
    ctx.setLineDash([]);
  }
  ctx.strokeStyle = theme.notPresent;
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(PAD.left, plotBottom + 0.5);
  ctx.lineTo(width - PAD.right, plotBottom + 0.5);
  ctx.stroke();
  ctx.font = '10px ui-sans-serif, system-ui, sans-serif';
  ctx.fillStyle = theme.label;
  ctx.globalAlpha = 0.7;
  ctx.textBaseline = 'top';
  ctx.fillText(`tick ${sc.first}`, PAD.left, plotBottom + 2);
  const lastText = `tick ${sc.last}`;
  ctx.fillText(lastText, width - PAD.right - ctx.measureText(lastText).width, plotBottom + 2);
  ctx.textBaseline = 'alphabetic';
  ctx.fillText(`max ${yW.domain()[1]} written / tick`, PAD.left, PAD.top - 5);
  const pText = `lines: 0–${yP.domain()[1].toLocaleString('en-US')} pages`;
  ctx.fillText(pText, width - PAD.right - ctx.measureText(pText).width, PAD.top - 5);
  if (topO > 0) {
    const oText = `dashed: est. overhead (% of target CPU on write faults; shaded: its range), max ${pctText(maxO)}%`;
    ctx.fillText(oText, (width - ctx.measureText(oText).width) / 2, PAD.top - 5);
  }
  ctx.globalAlpha = 1;
  if (cursor !== null) {
    const x = Math.round(sc.x(cursor)) + 0.5;
    ctx.strokeStyle = theme.selection;
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(x, PAD.top - 4);
    ctx.lineTo(x, plotBottom);
    ctx.stroke();
  }
}
