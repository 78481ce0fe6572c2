/**
 * Renderer frame times in real Chromium, for `npm run bench` (case 6) and by hand:
 *   npx tsx e2e/frame-bench.ts
 * Bundles the renderer's own drawing code (rasterizer, colour tables, heat, timeline) with
 * esbuild, loads it into a blank Chromium page and measures, with performance.measure, the same
 * pipeline the heatmap runs per frame: rasterize 1,048,576 pages at one page per cell into an
 * ImageData, put it on an offscreen canvas, scale it onto the visible canvas; and the timeline
 * drawing 600 ticks. Ten warm-up runs per case are not counted. Returns medians and percentiles in milliseconds. Not a test: no assertions.
 */
import { build } from 'esbuild';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CHROMIUM, chromiumMissing, launchBrowser, ROOT } from './helpers.ts';

export interface FrameBenchResult {
  pages: number;
  runs: number;
  heatmap: { median: number; p90: number; min: number };
  heatmapWrites: { median: number; p90: number; min: number };
  timeline: { median: number; p90: number; min: number };
  chromium: string;
}

const ENTRY = `
import { PageBit } from './core/protocol/page-bits.ts';
import { buildLuts, PALETTE } from './renderer/src/heatmap/colour.ts';
import { HeatStore } from './renderer/src/heatmap/heat.ts';
import { rasterize } from './renderer/src/heatmap/raster.ts';
import { computeLayout } from './renderer/src/heatmap/viewport.ts';
import { drawTimeline } from './renderer/src/timeline/draw.ts';

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[s.length >> 1], p90: s[Math.floor(s.length * 0.9)], min: s[0] };
}

globalThis.runFrameBench = (runs) => {
  const total = 1 << 20;
  const bits = new Uint16Array(total);
  for (let i = 0; i < total; i++) {
    const r = (i * 2654435761) >>> 0;
    bits[i] = PageBit.MAPPED | (r % 7 < 4 ? PageBit.PRESENT : 0) | (r % 11 === 0 ? PageBit.FILE : 0) |
      (r % 13 === 0 ? PageBit.ZERO : 0) | (i < total / 2 ? PageBit.WATCHED : 0);
  }
  const win = { startIndex: 0, endIndex: total, bits };
  const layout = computeLayout(total, 1024 * 3, 1024 * 3, { k: 1, y: 0 });
  const canvas = document.createElement('canvas');
  canvas.width = 1024; canvas.height = 1024;
  document.body.appendChild(canvas);
  const ctx = canvas.getContext('2d');
  const off = document.createElement('canvas');
  off.width = layout.cols; off.height = layout.rows;
  const offCtx = off.getContext('2d');
  const image = new ImageData(layout.cols, layout.rows);
  const px = new Uint32Array(image.data.buffer);
  const heat = new HeatStore(total);
  for (let t = 1; t <= 20; t++) heat.add(t, [t * 1000, t * 1000 + 4096, 300000, 300064]);
  const measure = (mode) => {
    const luts = buildLuts(PALETTE.dark, mode);
    const out = [];
    for (let i = 0; i < runs + 10; i++) {
      performance.mark('b0');
      rasterize(px, { layout, luts, overview: null, window: win, heat, tick: 20 });
      offCtx.putImageData(image, 0, 0);
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(off, 0, 0, canvas.width, canvas.height);
      const d = performance.measure('pagescope:heatmap-draw', 'b0').duration;
      if (i >= 10) out.push(d); // the first runs warm the JIT up
    }
    return stats(out);
  };
  const heatmap = measure('type');
  const heatmapWrites = measure('writes');
  const tl = document.createElement('canvas');
  tl.width = 1200; tl.height = 100;
  const tctx = tl.getContext('2d');
  const ticks = Array.from({ length: 600 }, (_, i) => ({ tick: i, t: i * 100, present: 30000 + i, swapped: i % 50, written: (i * 37) % 400, watched: 4096, scanMs: 5 }));
  const tout = [];
  for (let i = 0; i < runs; i++) {
    performance.mark('t0');
    drawTimeline(tctx, ticks, 1200, 100, PALETTE.dark, 300);
    tout.push(performance.measure('pagescope:timeline-draw', 't0').duration);
  }
  return { pages: layout.endIndex - layout.firstIndex, runs, heatmap, heatmapWrites, timeline: stats(tout) };
};
`;

export async function measureFrameTimes(runs = 40): Promise<FrameBenchResult> {
  const missing = chromiumMissing();
  if (missing) throw new Error(missing);
  const bundle = await build({
    stdin: { contents: ENTRY, resolveDir: ROOT, loader: 'ts', sourcefile: 'frame-bench-entry.ts' },
    bundle: true,
    write: false,
    format: 'iife',
    target: 'es2022',
    logLevel: 'silent',
  });
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    await page.setContent('<!doctype html><body></body>');
    await page.addScriptTag({ content: bundle.outputFiles[0].text });
    const result = (await page.evaluate(`runFrameBench(${runs})`)) as Omit<
      FrameBenchResult,
      'chromium'
    >;
    return { ...result, chromium: `${CHROMIUM} ${browser.version()}` };
  } finally {
    await browser.close();
  }
}

if (import.meta.url === pathToFileURL(path.resolve(process.argv[1] ?? '')).href) {
  const r = await measureFrameTimes();
  console.log(JSON.stringify(r, null, 2));
}
