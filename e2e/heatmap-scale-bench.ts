/**
 * The heatmap at scale in the real app, for `npm run bench` (case 9b, bench/cases/heatmap-scale.ts)
 * and by hand:
 *   npx tsx e2e/heatmap-scale-bench.ts
 * A python3 target maps 8 GiB (private, anonymous) and writes every other page of its first half:
 * 524,288 present pages alternating with absent ones, about a million runs of alike pages — the
 * layout of issue 11. `pagescope serve` runs as a child, Chromium loads the built renderer, the
 * page attaches to the target through the process picker, and then:
 * - "all": the whole process in view (the overview path), redrawn by the frames and by the
 *   colour modes switched in turn;
 * - "zoomed": zoomed in on the first half until a cell is one page (the page-exact window path),
 *   panned with Page Down / Page Up.
 * Every draw is the app's own performance.measure('pagescope:heatmap-draw'); long tasks come from
 * a 'longtask' PerformanceObserver installed before the app loads. Reported: median, p90 and max
 * draw, and the longest task in the page (and the longest one holding a heatmap draw).
 * A long task is wall time: on a loaded machine it includes time the page's thread waited for a
 * core. So the views are also measured under a Chrome trace ('toplevel' only, cheap): the CPU
 * time the page's main thread spent in its longest task and in its longest task by wall time
 * (cpu, below), which says how much of a long task was ours.
 * Absolute times depend on the machine and its load. Not a test: no assertions.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import {
  CHROMIUM,
  chromiumMissing,
  launchBrowser,
  ROOT,
  sessionPid,
  startHost,
  until,
} from './helpers.ts';

export const TARGET_GIB = 8;

const TARGET = `
import mmap, sys, time
size = ${TARGET_GIB} << 30
flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | getattr(mmap, 'MAP_NORESERVE', 0)
m = mmap.mmap(-1, size, flags=flags)
for i in range(0, size // 2, 8192):
    m[i] = 1
print("ready", flush=True)
time.sleep(3600)
`;

export interface DrawStats {
  draws: number;
  /** The tenth percentile: close to the draw's cost when nothing else wants the CPU. */
  p10: number;
  median: number;
  p90: number;
  max: number;
  /** Longest long task (> 50 ms) in the page while the view was measured, 0 when none. */
  longestTask: number;
  /** Longest long task that holds a heatmap draw, 0 when none. */
  longestDrawTask: number;
  longTasks: number;
}

/** The page's main-thread tasks over both views (and the zooming in between), from a Chrome trace. */
export interface TaskCpu {
  tasks: number;
  /** The most CPU time (thread time) one task took, ms. */
  longestCpu: number;
  /** The longest task by wall time: its wall and CPU time, ms. */
  longestWall: number;
  longestWallCpu: number;
  /** Tasks over 50 ms of wall time, and over 50 ms of CPU time. */
  over50Wall: number;
  over50Cpu: number;
}

export interface HeatmapScaleResult {
  targetGib: number;
  presentPages: number;
  totalPages: number;
  vmas: number;
  all: DrawStats;
  zoomed: DrawStats;
  cpu: TaskCpu;
  chromium: string;
}

/** Installed before the app: keep every heatmap draw and long task with its time. */
const OBSERVE = `(() => {
  const log = (window.__benchLog = { draws: [], tasks: [] });
  new PerformanceObserver((l) => {
    for (const e of l.getEntries())
      if (e.name === 'pagescope:heatmap-draw') log.draws.push([e.startTime, e.duration]);
  }).observe({ type: 'measure', buffered: true });
  try {
    new PerformanceObserver((l) => {
      for (const e of l.getEntries()) log.tasks.push([e.startTime, e.duration]);
    }).observe({ type: 'longtask', buffered: true });
  } catch {}
})()`;

type Span = [number, number];

function stats(draws: Span[], tasks: Span[]): DrawStats {
  const d = draws.map(([, x]) => x).sort((a, b) => a - b);
  const at = (q: number) => (d.length ? d[Math.min(d.length - 1, Math.floor(d.length * q))] : 0);
  const holds = (t: Span) => draws.some(([s, x]) => s >= t[0] && s + x <= t[0] + t[1] + 0.5);
  return {
    draws: d.length,
    p10: at(0.1),
    median: at(0.5),
    p90: at(0.9),
    max: d.length ? d[d.length - 1] : 0,
    longestTask: Math.max(0, ...tasks.map(([, x]) => x)),
    longestDrawTask: Math.max(0, ...tasks.filter(holds).map(([, x]) => x)),
    longTasks: tasks.length,
  };
}

async function logSince(page: Page, t0: number): Promise<DrawStats> {
  const log = (await page.evaluate('window.__benchLog')) as { draws: Span[]; tasks: Span[] };
  return stats(
    log.draws.filter(([s]) => s >= t0),
    log.tasks.filter(([s]) => s >= t0),
  );
}

const now = (page: Page) => page.evaluate('performance.now()') as Promise<number>;
const draws = async (page: Page) =>
  Number(await page.locator('canvas[data-testid="heatmap"]').getAttribute('data-draws'));

/**
 * By hand (PAGESCOPE_PROFILE=1): a CPU profile of the page over both views; prints the functions
 * with the most self time (unminified names need a renderer built with --minify false).
 */
async function startProfile(page: Page): Promise<() => Promise<void>> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
  await cdp.send('Profiler.start');
  return async () => {
    const { profile } = await cdp.send('Profiler.stop');
    const dt = (profile.endTime - profile.startTime) / 1000 / (profile.samples?.length || 1);
    const self = new Map<string, number>();
    const hits = new Map<number, number>();
    for (const id of profile.samples ?? []) hits.set(id, (hits.get(id) ?? 0) + 1);
    for (const n of profile.nodes) {
      const f = n.callFrame;
      const key = `${f.functionName || '(anon)'} ${path.basename(f.url)}:${f.lineNumber + 1}`;
      self.set(key, (self.get(key) ?? 0) + (hits.get(n.id) ?? 0) * dt);
    }
    const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, 30);
    for (const [k, ms] of top) process.stderr.write(`${ms.toFixed(0).padStart(7)} ms  ${k}\n`);
  };
}

interface TraceEvent {
  ph: string;
  name: string;
  pid: number;
  tid: number;
  ts: number;
  dur?: number;
  tdur?: number;
  args?: { name?: string };
}

/** Wall and CPU time of the renderer main thread's outermost tasks in a Chrome trace. */
export function taskCpu(trace: { traceEvents: TraceEvent[] }): TaskCpu {
  const ev = trace.traceEvents;
  const main = ev.find(
    (e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain',
  );
  const tasks = ev
    .filter(
      (e) =>
        main &&
        e.ph === 'X' &&
        e.pid === main.pid &&
        e.tid === main.tid &&
        e.name === 'ThreadControllerImpl::RunTask',
    )
    .sort((a, b) => a.ts - b.ts);
  // Outermost only: a nested run loop's tasks are inside another's span.
  const outer: TraceEvent[] = [];
  let end = -Infinity;
  for (const t of tasks) {
    if (t.ts < end) continue;
    outer.push(t);
    end = t.ts + (t.dur ?? 0);
  }
  const wall = (t: TraceEvent) => (t.dur ?? 0) / 1000;
  const cpu = (t: TraceEvent) => (t.tdur ?? 0) / 1000;
  const longest = outer.reduce<TraceEvent | null>(
    (m, t) => (!m || wall(t) > wall(m) ? t : m),
    null,
  );
  return {
    tasks: outer.length,
    longestCpu: Math.max(0, ...outer.map(cpu)),
    longestWall: longest ? wall(longest) : 0,
    longestWallCpu: longest ? cpu(longest) : 0,
    over50Wall: outer.filter((t) => wall(t) > 50).length,
    over50Cpu: outer.filter((t) => cpu(t) > 50).length,
  };
}

/**
 * Build dist/renderer when it is older than its sources, as e2e/helpers.ts's
 * ensureRendererBuilt does, but with the build's output on stderr (bench --json keeps stdout
 * to one object).
 */
function buildRendererIfStale(): void {
  const newest = (dir: string): number =>
    fs
      .readdirSync(dir, { withFileTypes: true })
      .reduce(
        (m, e) =>
          Math.max(
            m,
            e.isDirectory()
              ? newest(path.join(dir, e.name))
              : fs.statSync(path.join(dir, e.name)).mtimeMs,
          ),
        0,
      );
  const index = path.join(ROOT, 'dist', 'renderer', 'index.html');
  const built = fs.existsSync(index) ? fs.statSync(index).mtimeMs : 0;
  const sources = Math.max(
    ...['renderer', 'core/protocol', 'assets'].map((d) => newest(path.join(ROOT, d))),
  );
  if (built > sources) return;
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs'), '--renderer'], {
    cwd: ROOT,
    stdio: ['ignore', 2, 2],
  });
}

function startTarget(): Promise<ChildProcess> {
  const child = spawn('python3', ['-c', TARGET], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the target exited early (${code})`)));
    child.stdout!.once('data', () => resolve(child));
  });
}

/**
 * Attach to the 8 GiB target in a fresh Chromium page and measure `drawsPerView` heatmap draws
 * in each view.
 */
export async function measureHeatmapAtScale(drawsPerView = 40): Promise<HeatmapScaleResult> {
  const missing = chromiumMissing();
  if (missing) throw new Error(missing);
  buildRendererIfStale();
  const target = await startTarget();
  const host = await startHost();
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
    await page.addInitScript(OBSERVE);
    await page.goto(host.url);
    const pid = target.pid!;
    await page.getByLabel('Find process').fill(String(pid));
    await until('the target in the process list', async () => {
      await page.getByRole('button', { name: 'Refresh the process list' }).click();
      return (await page.locator('.proc-row', { hasText: String(pid) }).count()) > 0;
    });
    await page
      .locator('.proc-row', { hasText: String(pid) })
      .first()
      .click();
    await until('the session', async () => (await sessionPid(page)) === pid, 60_000);
    const canvas = page.locator('canvas[data-testid="heatmap"]');
    await until(
      'the heatmap to draw',
      async () => /pages shown/.test((await canvas.getAttribute('aria-label')) ?? ''),
      60_000,
    );
    // A few frames first: the first ones carry the VMA table and warm the JIT up.
    const first = await draws(page);
    await until('warm-up draws', async () => (await draws(page)) >= first + 5, 60_000);

    const profiler = process.env.PAGESCOPE_PROFILE ? await startProfile(page) : null;
    await browser.startTracing(page, { categories: ['toplevel'] });
    // The whole process: frames redraw it; switching colour modes redraws it too.
    let t0 = await now(page);
    let start = await draws(page);
    const modes = ['Type', 'Writes', 'Residency'];
    for (let i = 0; (await draws(page)) < start + drawsPerView; i++) {
      await page.getByRole('radio', { name: modes[i % modes.length] }).click();
      const before = await draws(page);
      await until('a redraw', async () => (await draws(page)) > before, 30_000);
    }
    const all = await logSince(page, t0);

    // Zoomed in on the written half until a cell is one page, then panned.
    await page.locator('.heatmap').focus();
    for (let i = 0; i < 40 && (await canvas.getAttribute('data-pages-per-cell')) !== '1'; i++) {
      const before = await draws(page);
      await page.keyboard.press('+');
      await until('a redraw', async () => (await draws(page)) > before, 30_000);
    }
    await until('a full-resolution window from the host', () =>
      page.evaluate(`(() => {
        const f = window.__pagescope.frameHub.latest;
        const c = document.querySelector('canvas[data-testid="heatmap"]');
        return !!f && !!f.window && f.window.startIndex <= Number(c.dataset.firstIndex) &&
          f.window.endIndex >= Number(c.dataset.endIndex);
      })()`),
    );
    t0 = await now(page);
    start = await draws(page);
    for (let i = 0; (await draws(page)) < start + drawsPerView; i++) {
      const before = await draws(page);
      await page.keyboard.press(i % 8 < 4 ? 'PageDown' : 'PageUp');
      await until('a redraw', async () => (await draws(page)) > before, 30_000);
    }
    const zoomed = await logSince(page, t0);
    const cpu = taskCpu(JSON.parse((await browser.stopTracing()).toString()));
    if (profiler) await profiler();
    const facts = (await page.evaluate(`(() => {
      const s = window.__pagescope.useApp.getState();
      const f = window.__pagescope.frameHub.latest;
      return { present: f.counters.present, total: f.totalPages, vmas: s.vmas.length };
    })()`)) as { present: number; total: number; vmas: number };
    return {
      targetGib: TARGET_GIB,
      presentPages: facts.present,
      totalPages: facts.total,
      vmas: facts.vmas,
      all,
      zoomed,
      cpu,
      chromium: `${CHROMIUM} ${browser.version()}`,
    };
  } finally {
    await browser.close();
    await host.stop();
    target.kill('SIGKILL');
  }
}

if (import.meta.url === pathToFileURL(path.resolve(process.argv[1] ?? '')).href) {
  const r = await measureHeatmapAtScale(Number(process.argv[2] ?? 40));
  console.log(JSON.stringify(r, null, 2));
}
