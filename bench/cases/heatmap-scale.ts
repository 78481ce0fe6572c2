/**
 * Case 9b: the heatmap draw at scale in Chromium, on the layout of issue 11: an 8 GiB mapping
 * with every other page of its first half present (about a million runs of alike pages).
 *
 * Two measurements, both with the app's own mark ('pagescope:heatmap-draw'):
 * - paint (e2e/frame-bench.ts, measureScalePaint): the heatmap painter on that layout in a blank
 *   page, the whole process in view (overview) and zoomed to one page per cell (window), against
 *   the floor any canvas heatmap pays for the same picture (copy the precomputed cells in, then
 *   the same putImageData + drawImage), interleaved in the same page;
 * - app (e2e/heatmap-scale-bench.ts): the real app attached through `pagescope serve` to a real
 *   python3 target with that layout: draw median and the longest long task in the page (a
 *   'longtask' observer), whole view and zoomed. Skipped in --quick runs (minutes, 2 GiB target).
 *   A long task is wall time, which on a loaded machine includes waiting for a core; the note
 *   also gives, from a Chrome trace of the same views, the CPU time of the longest task and of
 *   the task that was longest in wall time, so a miss says whether the time was ours. Pass/miss
 *   is on wall time, as the goal is stated.
 *
 * The goal is absolute (< 8 ms median per draw, no long task over 50 ms), so pass/miss
 * compares the absolute median with the budget; the ratio says how much of that time is ours
 * rather than the canvas's. Absolute times depend on the machine and its load: on a loaded
 * machine the app's medians include time the page spent waiting for a core.
 */
import { chromiumMissing } from '../../e2e/helpers.ts';
import { budgetCase, infoGoal, round, skippedCase, type CaseResult } from '../lib/stats.ts';
import type { BenchContext } from './context.ts';

export const SCALE_PAINT_NAME = '9b heatmap draw, 8 GiB / ~1M runs: paint (Chromium)';
export const SCALE_APP_NAME = '9b heatmap draw, 8 GiB / ~1M runs: app (Chromium)';
export const SCALE_BUDGET_MS = 8;
export const LONG_TASK_BUDGET_MS = 50;

const GOAL = infoGoal(`< ${SCALE_BUDGET_MS} ms median (absolute)`);
const APP_GOAL = infoGoal(
  `< ${SCALE_BUDGET_MS} ms median, no long task > ${LONG_TASK_BUDGET_MS} ms (absolute)`,
);
const MACHINE = 'absolute times depend on the machine and its load';

const ms = (x: number) => (x >= 1 ? x.toFixed(1) : x.toFixed(2));

export async function heatmapScaleCases(ctx: BenchContext): Promise<CaseResult[]> {
  const missing = chromiumMissing();
  if (missing) {
    const reason = missing.replace(/^skipped: /, '');
    return [
      skippedCase(SCALE_PAINT_NAME, GOAL, reason),
      skippedCase(SCALE_APP_NAME, APP_GOAL, reason),
    ];
  }
  const { measureScalePaint } = await import('../../e2e/frame-bench.ts');
  const runs = ctx.quick ? 30 : 100;
  ctx.log(`  Chromium: ${runs} heatmap paints x 2 views on the 8 GiB layout`);
  const p = await measureScalePaint(runs);
  const worse = p.all.ours.median >= p.zoomed.ours.median ? p.all : p.zoomed;
  const paint = budgetCase(
    SCALE_PAINT_NAME,
    worse.ours.median,
    worse.reference.median,
    SCALE_BUDGET_MS,
    GOAL.text,
    {
      total_pages: p.totalPages,
      vmas: p.vmas,
      buckets: p.buckets,
      all_ms: round(p.all.ours.median),
      all_min_ms: round(p.all.ours.min),
      all_reference_ms: round(p.all.reference.median),
      zoomed_ms: round(p.zoomed.ours.median),
      zoomed_min_ms: round(p.zoomed.ours.min),
      zoomed_reference_ms: round(p.zoomed.reference.median),
      chromium: p.chromium,
      note:
        `the slower view's median of ${runs} paints (${p.width}x${p.height} px): whole process ` +
        `${ms(p.all.ours.median)} vs ${ms(p.all.reference.median)} ms (min ${ms(p.all.ours.min)}), ` +
        `one page per cell ${ms(p.zoomed.ours.median)} vs ${ms(p.zoomed.reference.median)} ms; ` +
        `reference = copy the same cells + putImageData/drawImage; ${MACHINE}`,
    },
  );
  if (ctx.quick) {
    return [paint, skippedCase(SCALE_APP_NAME, APP_GOAL, 'not in --quick runs (minutes)')];
  }
  const { measureHeatmapAtScale } = await import('../../e2e/heatmap-scale-bench.ts');
  ctx.log('  Chromium: the app on a python3 target with 8 GiB mapped, every other page present');
  const a = await measureHeatmapAtScale(40);
  const slow = a.all.median >= a.zoomed.median ? a.all : a.zoomed;
  const longest = Math.max(a.all.longestDrawTask, a.zoomed.longestDrawTask);
  const longestInPage = Math.max(a.all.longestTask, a.zoomed.longestTask);
  const app = budgetCase(
    SCALE_APP_NAME,
    slow.median,
    // No in-app reference: the paint case's floor for the same picture stands in.
    worse.reference.median,
    SCALE_BUDGET_MS,
    APP_GOAL.text,
    {
      present_pages: a.presentPages,
      total_pages: a.totalPages,
      vmas: a.vmas,
      all: a.all,
      zoomed: a.zoomed,
      longest_draw_task_ms: round(longest),
      longest_task_ms: round(longestInPage),
      cpu: a.cpu,
      chromium: a.chromium,
      note:
        `draw medians: whole process ${ms(a.all.median)} ms (p10 ${ms(a.all.p10)}), one page ` +
        `per cell ${ms(a.zoomed.median)} ms (p10 ${ms(a.zoomed.p10)}); longest task holding a ` +
        `draw ${ms(longest)} ms, longest task in the page ${ms(longestInPage)} ms ` +
        `(${a.all.longTasks + a.zoomed.longTasks} long tasks); main-thread CPU time (Chrome ` +
        `trace, ${a.cpu.tasks} tasks): longest ${ms(a.cpu.longestCpu)} ms, ${a.cpu.over50Cpu} ` +
        `over 50 ms; the longest by wall time took ${ms(a.cpu.longestWall)} ms wall, ` +
        `${ms(a.cpu.longestWallCpu)} ms CPU; reference = the paint case's floor; ${MACHINE}`,
    },
  );
  // The goal: no long task over the budget anywhere in the page, not only those holding a draw.
  app.pass = slow.median < SCALE_BUDGET_MS && longestInPage <= LONG_TASK_BUDGET_MS;
  return [paint, app];
}
