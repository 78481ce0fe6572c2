/**
 * Case 6: the renderer's frame time in real Chromium (Debian's /usr/bin/chromium through
 * playwright-core, with the flags of e2e/helpers.ts), measured by e2e/frame-bench.ts with the
 * app's own performance marks ('pagescope:heatmap-draw', 'pagescope:timeline-draw').
 *
 * 6a: one heatmap frame for 1,048,576 pages (one page per cell): rasterize + putImageData +
 *     drawImage, against the floor any canvas rasterizer pays for the same picture (copy 1M
 *     precomputed pixels into the ImageData, then the same putImageData + drawImage), interleaved
 *     in the same page the same number of times.
 * 6b: one timeline frame (600 ticks, 150 visible), against the same canvas 2D calls with
 *     precomputed coordinates.
 *
 * The goals are absolute budgets (< 8 ms for 1M pages, < 2 ms for the timeline), so
 * pass/miss compares our absolute median with the budget; the ratio says how much of that time
 * is ours rather than the canvas's. Absolute times depend on the machine (and on its load).
 *
 * The drawing code is bundled from the renderer's sources with esbuild at bench time (never a
 * stale dist/renderer), which takes a fraction of a second, so no vite build is needed here.
 */
import { chromiumMissing } from '../../e2e/helpers.ts';
import { budgetCase, infoGoal, round, skippedCase, type CaseResult } from '../lib/stats.ts';
import type { BenchContext } from './context.ts';

export const HEATMAP_NAME = '6a renderer heatmap frame: 1M pages (Chromium)';
export const TIMELINE_NAME = '6b renderer timeline frame: 600 ticks (Chromium)';
export const HEATMAP_BUDGET_MS = 8;
export const TIMELINE_BUDGET_MS = 2;

const HEATMAP_GOAL = infoGoal(`< ${HEATMAP_BUDGET_MS} ms for 1M pages (absolute)`);
const TIMELINE_GOAL = infoGoal(`< ${TIMELINE_BUDGET_MS} ms timeline (absolute)`);
const MACHINE = 'absolute times depend on the machine and its load';

const ms = (x: number) => (x >= 1 ? x.toFixed(1) : x.toFixed(2));

export async function rendererCases(ctx: BenchContext): Promise<CaseResult[]> {
  const missing = chromiumMissing();
  if (missing) {
    const reason = missing.replace(/^skipped: /, '');
    return [
      skippedCase(HEATMAP_NAME, HEATMAP_GOAL, reason),
      skippedCase(TIMELINE_NAME, TIMELINE_GOAL, reason),
    ];
  }
  // Imported lazily: esbuild and the bundle are loaded only when this case runs.
  const { measureFrameTimes } = await import('../../e2e/frame-bench.ts');
  const runs = ctx.quick ? 30 : 100;
  ctx.log(`  Chromium: ${runs} heatmap frames x 2 colour modes and ${runs} timeline samples`);
  const r = await withTimeout(measureFrameTimes(runs, 10), 90_000);
  ctx.log(`  ${r.chromium}`);
  const heatmap = budgetCase(
    HEATMAP_NAME,
    r.heatmap.median,
    r.heatmapReference.median,
    HEATMAP_BUDGET_MS,
    HEATMAP_GOAL.text,
    {
      pages: r.pages,
      runs: r.runs,
      p90_ms: round(r.heatmap.p90),
      writes_mode_ms: round(r.heatmapWrites.median),
      writes_mode_reference_ms: round(r.heatmapWritesReference.median),
      chromium: r.chromium,
      note:
        `medians of ${r.runs} frames (type colours; p90 ${ms(r.heatmap.p90)} ms); writes colours ` +
        `${ms(r.heatmapWrites.median)} vs ${ms(r.heatmapWritesReference.median)} ms; reference = ` +
        `copy of the same 1M precomputed pixels + the same putImageData/drawImage; ${MACHINE}`,
    },
  );
  const timeline = budgetCase(
    TIMELINE_NAME,
    r.timeline.median,
    r.timelineReference.median,
    TIMELINE_BUDGET_MS,
    TIMELINE_GOAL.text,
    {
      runs: r.runs,
      batch: r.timelineBatch,
      p90_ms: round(r.timeline.p90),
      chromium: r.chromium,
      note:
        `medians of ${r.runs} samples of ${r.timelineBatch} draws (per draw; p90 ` +
        `${ms(r.timeline.p90)} ms); reference = the same canvas calls (bars, 2 lines, labels) ` +
        `with precomputed coordinates; ${MACHINE}`,
    },
  );
  return [heatmap, timeline];
}

function withTimeout<T>(p: Promise<T>, limitMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Chromium frame bench took over ${limitMs / 1000} s`)),
      limitMs,
    );
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}
