/**
 * Renderer frame times in real Chromium, for `npm run bench` (case 6, bench/cases/renderer.ts)
 * and by hand:
 *   npx tsx e2e/frame-bench.ts
 * Bundles the renderer's own drawing code (rasterizer, colour tables, heat, timeline) from its
 * sources with esbuild (so the code measured is never stale), loads it into a blank Chromium page
 * and measures, with performance.measure, the same pipeline the heatmap runs per frame
 * ('pagescope:heatmap-draw'): rasterize 1,048,576 pages at one page per cell into an ImageData,
 * put it on an offscreen canvas, scale it onto the visible canvas; and the timeline drawing 600
 * ticks ('pagescope:timeline-draw').
 *
 * Each has a reference measured in the same page, interleaved with ours (the side that goes
 * first alternates), the same number of times:
 * - heatmap: copying the same 1M precomputed pixels (a Uint32Array) into the ImageData, then the
 *   same putImageData + drawImage: the floor any canvas rasterizer pays for that picture;
 * - timeline: the same canvas 2D calls (bars, two polylines, baseline, labels, cursor) with
 *   precomputed coordinates and strings, i.e. the picture without our scales and bookkeeping.
 * Timeline draws are timed in batches (`timelineBatch` draws per sample, the figure is per draw)
 * because Chromium's performance.now() has a 0.1 ms resolution in a page that is not
 * cross-origin isolated. Warm-up runs are not counted. Medians, p90 and minimum in ms.
 * Canvas 2D in Chromium records draw calls and rasterizes them later (at paint time, or when
 * something needs the pixels), so each heatmap draw, ours and the reference, ends by reading one
 * pixel back: that rasterizes what the draw recorded, inside the measure, as a frame's paint
 * would. Without it, back-to-back draws measured an artifact no frame pays: putImageData on an
 * offscreen canvas that a still-pending drawImage refers to copies the whole canvas first
 * (Chromium 156: 15-23 ms per draw at 1M pixels, 0.4 ms once flushed).
 * Not a test: no assertions.
 */
import { build } from 'esbuild';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CHROMIUM, chromiumMissing, launchBrowser, ROOT } from './helpers.ts';

export interface FrameStats {
  median: number;
  p90: number;
  min: number;
}

export interface FrameBenchResult {
  pages: number;
  runs: number;
  heatmap: FrameStats;
  heatmapReference: FrameStats;
  heatmapWrites: FrameStats;
  heatmapWritesReference: FrameStats;
  timeline: FrameStats;
  timelineReference: FrameStats;
  timelineTicks: number;
  timelineBatch: number;
  chromium: string;
}

const WARMUP = 10;

const ENTRY = `
import { PageBit } from './core/protocol/page-bits.ts';
import { buildLuts, PALETTE } from './renderer/src/heatmap/colour.ts';
import { HeatStore } from './renderer/src/heatmap/heat.ts';
import { rasterize } from './renderer/src/heatmap/raster.ts';
import { computeLayout } from './renderer/src/heatmap/viewport.ts';
import { HISTOGRAM_WIDTH } from './core/protocol/page-bits.ts';
import { buildDisplaySpace } from './renderer/src/heatmap/display-space.ts';
import { HeatmapPainter } from './renderer/src/heatmap/painter.ts';
import { drawTimeline, PAD, VISIBLE_TICKS } from './renderer/src/timeline/draw.ts';

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[s.length >> 1], p90: s[Math.floor(s.length * 0.9)], min: s[0] };
}

// Case 9b: the painter on the layout of issue 11 (an 8 GiB mapping with every other page of its
// first half present, among ~110 small VMAs): the whole process (overview histogram, one bucket
// per base cell as the host sends it) and zoomed to one page per cell (the page-exact window).
// Each paint is what the app's draw does: display space, layout, raster, blit and overlays.
globalThis.runScaleBench = (runs, warmup, width, height) => {
  const vmas = [];
  let offset = 0;
  const add = (pages) => {
    const startPage = 0x10000 + offset * 2;
    vmas.push({ index: vmas.length, start: '0x' + (startPage * 4096).toString(16),
      end: '0x' + ((startPage + pages) * 4096).toString(16), startPage, endPage: startPage + pages,
      offset, perms: 'rw-p', path: '', kind: 'anon', watched: 'no' });
    offset += pages;
  };
  for (let i = 0; i < 20; i++) add(500);
  const bigStart = offset;
  const big = 2 * 1024 * 1024;
  add(big);
  for (let i = 0; i < 90; i++) add(40);
  const total = offset;
  const present = (p) => (p < 10000) || (p >= bigStart && p < bigStart + big / 2 && (p - bigStart) % 2 === 0) || p >= bigStart + big;
  const base = computeLayout(total, width, height, { k: 1, y: 0 });
  const buckets = Math.min(1000000, base.cols * base.rows, total);
  const ppb = Math.ceil(total / buckets);
  const nb = Math.ceil(total / ppb);
  const histogram = new Uint32Array(nb * HISTOGRAM_WIDTH);
  const bits = new Uint16Array(total);
  for (let p = 0; p < total; p++) {
    const row = Math.floor(p / ppb) * HISTOGRAM_WIDTH;
    if (p < bigStart + big / 2 || p >= bigStart + big) histogram[row + 8]++, bits[p] |= PageBit.MAPPED;
    if (present(p)) histogram[row]++, bits[p] |= PageBit.PRESENT;
  }
  const overview = { buckets: nb, pagesPerBucket: ppb, histogram };
  const win = { startIndex: 0, endIndex: total, bits };
  const canvas = document.createElement('canvas');
  canvas.width = width; canvas.height = height;
  canvas.style.width = width + 'px'; canvas.style.height = height + 'px';
  document.body.appendChild(canvas);
  const painter = new HeatmapPainter(canvas);
  const theme = PALETTE.dark;
  const luts = buildLuts(theme, 'residency');
  const ctx = canvas.getContext('2d');
  const off = document.createElement('canvas');
  const offCtx = off.getContext('2d');
  const measure = (zoomed) => {
    const paint = () => {
      const space = buildDisplaySpace(total, overview, vmas);
      const total_ = space.totalDisplay;
      // Zoomed: one page per cell, the top at the middle of the present half.
      const k = zoomed ? (total_ / (base.cols * base.rows)) * 1.01 : 1;
      const top = zoomed ? space.toDisplay(bigStart + big / 4) : 0;
      const layout = computeLayout(total_, width, height, { k, y: -(top / total_) * k * height });
      return painter.paint({ width, layout, space, theme, luts, overview, window: zoomed ? win : null,
        heat: null, tick: 1, vmas, selection: null, focusedVma: null, cursor: null });
    };
    paint();
    // The reference: the same picture's pixels copied in, then the same putImageData + drawImage.
    const l = painter.lastLayout;
    off.width = l.cols; off.height = l.rows;
    const image = new ImageData(l.cols, l.rows);
    const px = new Uint32Array(image.data.buffer);
    const pre = painter.lastPixels.slice();
    const ours = [];
    const ref = [];
    const runOurs = (keep) => {
      performance.mark('s0');
      paint();
      ctx.getImageData(0, 0, 1, 1);
      const d = performance.measure('pagescope:heatmap-draw', 's0').duration;
      if (keep) ours.push(d);
    };
    const runRef = (keep) => {
      performance.mark('sr0');
      px.set(pre);
      offCtx.putImageData(image, 0, 0);
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(off, 0, 0, l.cols * l.cellPx, l.rows * l.cellPx);
      ctx.getImageData(0, 0, 1, 1);
      const d = performance.measure('pagescope:heatmap-draw-reference', 'sr0').duration;
      if (keep) ref.push(d);
    };
    for (let i = 0; i < runs + warmup; i++) {
      const keep = i >= warmup;
      if (i % 2) { runOurs(keep); runRef(keep); } else { runRef(keep); runOurs(keep); }
    }
    return { ours: stats(ours), reference: stats(ref), pagesPerCell: l.pagesPerCell, cells: l.cols * l.rows };
  };
  const all = measure(false);
  const zoomed = measure(true);
  return { totalPages: total, vmas: vmas.length, buckets: nb, all, zoomed };
};

globalThis.runFrameBench = (runs, warmup, batch) => {
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
  const blit = () => {
    offCtx.putImageData(image, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(off, 0, 0, canvas.width, canvas.height);
    ctx.getImageData(0, 0, 1, 1); // rasterize what was recorded (top comment)
  };
  const measure = (mode) => {
    const luts = buildLuts(PALETTE.dark, mode);
    const input = { layout, luts, overview: null, window: win, heat, tick: 20 };
    rasterize(px, input);
    const pre = px.slice(); // the same picture, precomputed, for the reference
    const ours = [];
    const ref = [];
    const runOurs = (keep) => {
      performance.mark('b0');
      rasterize(px, input);
      blit();
      const d = performance.measure('pagescope:heatmap-draw', 'b0').duration;
      if (keep) ours.push(d);
    };
    const runRef = (keep) => {
      performance.mark('r0');
      px.set(pre);
      blit();
      const d = performance.measure('pagescope:heatmap-draw-reference', 'r0').duration;
      if (keep) ref.push(d);
    };
    for (let i = 0; i < runs + warmup; i++) {
      const keep = i >= warmup; // the first runs warm the JIT up
      if (i % 2) { runOurs(keep); runRef(keep); } else { runRef(keep); runOurs(keep); }
    }
    return [stats(ours), stats(ref)];
  };
  const [heatmap, heatmapReference] = measure('type');
  const [heatmapWrites, heatmapWritesReference] = measure('writes');

  const W = 1200, H = 100, CURSOR = 550;
  const tl = document.createElement('canvas');
  tl.width = W; tl.height = H;
  document.body.appendChild(tl);
  const tctx = tl.getContext('2d');
  const theme = PALETTE.dark;
  const ticks = Array.from({ length: 600 }, (_, i) => ({ tick: i, t: i * 100, present: 30000 + i, swapped: i % 50, written: (i * 37) % 400, watched: 4096, scanMs: 5, lagMs: 0, skipped: 0 }));
  // The reference's precomputed picture: the same primitives drawTimeline makes for these ticks.
  const vis = ticks.slice(-VISIBLE_TICKS);
  const first = vis[0].tick, last = vis[vis.length - 1].tick;
  const plotBottom = H - PAD.bottom;
  const xOf = (t) => PAD.left + ((t - first) / (last - first)) * (W - PAD.left - PAD.right);
  let maxW = 1, maxP = 1;
  for (const t of vis) { maxW = Math.max(maxW, t.written); maxP = Math.max(maxP, t.present, t.swapped); }
  const yOf = (v, max) => plotBottom - (v / max) * (plotBottom - PAD.top);
  const barW = Math.max(1, (W - PAD.left - PAD.right) / VISIBLE_TICKS - 1);
  const bars = [];
  for (const t of vis) if (t.written > 0) { const y = yOf(t.written, maxW); bars.push(xOf(t.tick) - barW / 2, y, barW, plotBottom - y); }
  const xs = Float64Array.from(vis, (t) => xOf(t.tick));
  const yPresent = Float64Array.from(vis, (t) => yOf(t.present, maxP));
  const ySwapped = Float64Array.from(vis, (t) => yOf(t.swapped, maxP));
  const labels = ['tick ' + first, 'tick ' + last, 'max ' + maxW + ' written / tick', 'lines: 0–' + maxP.toLocaleString('en-US') + ' pages'];
  const cursorX = Math.round(xOf(CURSOR)) + 0.5;
  const poly = (ys, colour) => {
    tctx.beginPath();
    tctx.moveTo(xs[0], ys[0]);
    for (let i = 1; i < xs.length; i++) tctx.lineTo(xs[i], ys[i]);
    tctx.lineWidth = 1.5; tctx.strokeStyle = colour; tctx.stroke();
  };
  const drawReference = () => {
    tctx.clearRect(0, 0, W, H);
    tctx.fillStyle = theme.heat[theme.heat.length - 2];
    for (let i = 0; i < bars.length; i += 4) tctx.fillRect(bars[i], bars[i + 1], bars[i + 2], bars[i + 3]);
    poly(yPresent, theme.present);
    poly(ySwapped, theme.swapped);
    tctx.strokeStyle = theme.notPresent; tctx.lineWidth = 1;
    tctx.beginPath(); tctx.moveTo(PAD.left, plotBottom + 0.5); tctx.lineTo(W - PAD.right, plotBottom + 0.5); tctx.stroke();
    tctx.font = '10px ui-sans-serif, system-ui, sans-serif';
    tctx.fillStyle = theme.label; tctx.globalAlpha = 0.7; tctx.textBaseline = 'top';
    tctx.fillText(labels[0], PAD.left, plotBottom + 2);
    tctx.fillText(labels[1], W - PAD.right - tctx.measureText(labels[1]).width, plotBottom + 2);
    tctx.textBaseline = 'alphabetic';
    tctx.fillText(labels[2], PAD.left, PAD.top - 5);
    tctx.fillText(labels[3], W - PAD.right - tctx.measureText(labels[3]).width, PAD.top - 5);
    tctx.globalAlpha = 1;
    tctx.strokeStyle = theme.selection; tctx.lineWidth = 1;
    tctx.beginPath(); tctx.moveTo(cursorX, PAD.top - 4); tctx.lineTo(cursorX, plotBottom); tctx.stroke();
  };
  const tOurs = [];
  const tRef = [];
  const runOursT = (keep) => {
    performance.mark('t0');
    for (let b = 0; b < batch; b++) drawTimeline(tctx, ticks, W, H, theme, CURSOR);
    const d = performance.measure('pagescope:timeline-draw', 't0').duration / batch;
    if (keep) tOurs.push(d);
  };
  const runRefT = (keep) => {
    performance.mark('tr0');
    for (let b = 0; b < batch; b++) drawReference();
    const d = performance.measure('pagescope:timeline-draw-reference', 'tr0').duration / batch;
    if (keep) tRef.push(d);
  };
  for (let i = 0; i < runs + warmup; i++) {
    const keep = i >= warmup;
    if (i % 2) { runOursT(keep); runRefT(keep); } else { runRefT(keep); runOursT(keep); }
  }
  return {
    pages: layout.endIndex - layout.firstIndex, runs, heatmap, heatmapReference, heatmapWrites,
    heatmapWritesReference, timeline: stats(tOurs), timelineReference: stats(tRef),
    timelineTicks: ticks.length, timelineBatch: batch,
  };
};
`;

/** The drawing code, bundled from the renderer's sources (never a stale build). */
async function bundleEntry(): Promise<string> {
  const bundle = await build({
    stdin: { contents: ENTRY, resolveDir: ROOT, loader: 'ts', sourcefile: 'frame-bench-entry.ts' },
    bundle: true,
    write: false,
    format: 'iife',
    target: 'es2022',
    logLevel: 'silent',
  });
  return bundle.outputFiles[0].text;
}

/** Runs both cases `runs` times each (plus warm-up) in one fresh Chromium page. */
export async function measureFrameTimes(runs = 40, timelineBatch = 10): Promise<FrameBenchResult> {
  const missing = chromiumMissing();
  if (missing) throw new Error(missing);
  const bundle = await bundleEntry();
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    await page.setContent('<!doctype html><body></body>');
    await page.addScriptTag({ content: bundle });
    const result = (await page.evaluate(
      `runFrameBench(${runs}, ${WARMUP}, ${timelineBatch})`,
    )) as Omit<FrameBenchResult, 'chromium'>;
    return { ...result, chromium: `${CHROMIUM} ${browser.version()}` };
  } finally {
    await browser.close();
  }
}

export interface ScaleView {
  ours: FrameStats;
  reference: FrameStats;
  pagesPerCell: number;
  cells: number;
}

export interface ScaleBenchResult {
  totalPages: number;
  vmas: number;
  buckets: number;
  /** The whole process in view (overview path). */
  all: ScaleView;
  /** Zoomed to one page per cell (window path). */
  zoomed: ScaleView;
  width: number;
  height: number;
  chromium: string;
}

/** Case 9b's in-page part: the painter on issue 11's layout, `runs` paints per view. */
export async function measureScalePaint(
  runs = 40,
  width = 1000,
  height = 600,
): Promise<ScaleBenchResult> {
  const missing = chromiumMissing();
  if (missing) throw new Error(missing);
  const bundle = await bundleEntry();
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    await page.setContent('<!doctype html><body></body>');
    await page.addScriptTag({ content: bundle });
    const r = (await page.evaluate(
      `runScaleBench(${runs}, ${WARMUP}, ${width}, ${height})`,
    )) as Omit<ScaleBenchResult, 'chromium' | 'width' | 'height'>;
    return { ...r, width, height, chromium: `${CHROMIUM} ${browser.version()}` };
  } finally {
    await browser.close();
  }
}

if (import.meta.url === pathToFileURL(path.resolve(process.argv[1] ?? '')).href) {
  const r = process.argv[2] === 'scale' ? await measureScalePaint() : await measureFrameTimes();
  console.log(JSON.stringify(r, null, 2));
}
