/**
 * End-to-end helpers: a real `pagescope serve` child, a real Chromium (Debian's, through
 * playwright-core), the renderer built when its sources are newer than dist/renderer, and checks
 * that a target holds no trace of us.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { startServe, type ServeProcess } from '../testing/serve.ts';
import { limit, until as untilCondition } from '../testing/wait.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const SCREENSHOTS = path.join(ROOT, 'test-results', 'screenshots');
export const CHROMIUM = process.env.PAGESCOPE_CHROMIUM ?? '/usr/bin/chromium';
/**
 * Playwright's own --disable-features list (playwright-core's chromiumSwitches.ts, 1.65), which
 * ours must repeat: Chromium keeps only the last --disable-features switch, so ours replaces it.
 */
export const PLAYWRIGHT_DISABLED_FEATURES = [
  'AvoidUnnecessaryBeforeUnloadCheckSync',
  'DestroyProfileOnBrowserClose',
  'HttpsUpgrades',
  'HttpsFirstBalancedModeAutoEnable',
  'LensOverlay',
  'MediaRouter',
  'PaintHolding',
  'ThirdPartyStoragePartitioning',
  'AvoidCorsURLLoaderRestartOnRedirect',
  'TcpPortRandomizationWin',
  'OptimizationHints',
  'NetworkTimeServiceQuerying',
  'AimEnabled',
  'PreconnectToSearch',
  'msForceBrowserSignIn',
  'msEdgeUpdateLaunchServicesPreferredVersion',
];
/**
 * The address bar's WebUI popups: headless Chromium (156) builds them for every new window, so
 * for every browser.newPage(), in a renderer of their own. Measured per new page: the popups'
 * renderer used 1.2-1.4 s of CPU while /proc was sampled; the browser's whole reaped CPU fell by
 * 0.3-0.4 s a page without them (launch and 3 pages of 5 s: 3.3-3.5 s, then 2.1-2.5 s). A test
 * never opens them.
 */
export const OMNIBOX_WEBUI_FEATURES = [
  'WebUIOmniboxPopup',
  'WebUIOmniboxAimPopup',
  'WebUIOmniboxFullPopup',
];
/**
 * Measured and left out: --disable-gpu-compositing used ~11% less CPU over Chromium's tree for a
 * page with the demo ticking (8.2 s to 7.3 s, 3 pairs), but the eight e2e files cost more with it
 * (cpuacct cgroup, interleaved: 90.8, 96.3, 91.4 s against 86.6, 89.7 s).
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  `--disable-features=${[...PLAYWRIGHT_DISABLED_FEATURES, ...OMNIBOX_WEBUI_FEATURES].join(',')}`,
];

/** Why the browser tests cannot run here, or null when they can. */
export function chromiumMissing(): string | null {
  return fs.existsSync(CHROMIUM)
    ? null
    : `skipped: no Chromium at ${CHROMIUM} (install Debian's "chromium" or set PAGESCOPE_CHROMIUM)`;
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (!entry.name.endsWith('.test.ts')) newest = Math.max(newest, fs.statSync(p).mtimeMs);
  }
  return newest;
}

/** Build dist/renderer when it is missing or older than its sources (vite, ~10 s). */
export function ensureRendererBuilt(): void {
  const index = path.join(ROOT, 'dist', 'renderer', 'index.html');
  const built = fs.existsSync(index) ? fs.statSync(index).mtimeMs : 0;
  const sources = Math.max(
    newestMtime(path.join(ROOT, 'renderer')),
    newestMtime(path.join(ROOT, 'core', 'protocol')),
    newestMtime(path.join(ROOT, 'assets')),
  );
  if (built > sources) return;
  // The project's build (a production build even under vitest, which sets NODE_ENV=test).
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs'), '--renderer'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
}

/** A running `pagescope serve` (testing/serve.ts): its URL carries the token in the fragment. */
export type Host = ServeProcess;

/** Start `pagescope serve --no-open --port 0 ...args`. */
export function startHost(args: string[] = []): Promise<Host> {
  return startServe(args);
}

/** Playwright's own default for an action or a locator's wait, on a quiet machine. */
export const PLAYWRIGHT_QUIET_TIMEOUT_MS = 30_000;

/**
 * Chromium, whose every new context (and so every browser.newPage()) waits for actions and
 * locators as long as Playwright's default scaled by the machine's slowness (testing/wait.ts).
 */
export async function launchBrowser(): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    timeout: limit(PLAYWRIGHT_QUIET_TIMEOUT_MS),
  });
  const newContext = browser.newContext.bind(browser);
  browser.newContext = async (options) => {
    const context = await newContext(options);
    context.setDefaultTimeout(limit(PLAYWRIGHT_QUIET_TIMEOUT_MS));
    return context;
  };
  return browser;
}

/**
 * The browser's own UI pages (type browser_ui, such as chrome://omnibox-popup.top-chrome/): each
 * is a renderer process that costs CPU and that no test uses. [] when there is none.
 */
export async function browserUiPages(browser: Browser): Promise<string[]> {
  const cdp = await browser.newBrowserCDPSession();
  try {
    const { targetInfos } = await cdp.send('Target.getTargets');
    return targetInfos.filter((t) => t.type === 'browser_ui').map((t) => t.url);
  } finally {
    await cdp.detach();
  }
}

export async function screenshot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`) });
}

/** Every trace pagescope could leave in a target (testing/traces.ts); [] when clean. */
export { tracesLeft } from '../testing/traces.ts';

/** The pid the app shows in its header for the current session. */
export async function sessionPid(page: Page): Promise<number> {
  const text = await page.locator('.session').textContent();
  const m = /pid (\d+)/.exec(text ?? '');
  if (!m) throw new Error(`No pid in the header: ${text}`);
  return Number(m[1]);
}

/**
 * testing/wait.ts's until() (its limit scaled by the machine's slowness), polling every 100 ms:
 * a page evaluate per poll is not free on a loaded machine.
 */
export function until<T>(
  what: string | (() => string),
  fn: () => T | Promise<T>,
  timeoutMs = 20_000,
): Promise<NonNullable<T>> {
  return untilCondition(what, fn, timeoutMs, 100);
}

/** Parse "1,234 written pages" from the status line; null when it says something else. */
export function writtenFromStatus(text: string | null): number | null {
  const m = /^([\d,]+) written pages/.exec(text ?? '');
  return m ? Number(m[1].replace(/,/g, '')) : null;
}

/** alive: true while a process exists and is not a zombie; ProcRef: a process, not a pid. */
export { alive, procRef, sameProcess, signalIfSame, type ProcRef } from '../testing/proc-facts.ts';

/** Distinct colours on the heatmap canvas (sampled), read in the page. */
export async function heatmapColours(page: Page): Promise<number> {
  return page.evaluate(`(() => {
    const c = document.querySelector('canvas[data-testid="heatmap"]');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const seen = new Set();
    for (let i = 0; i < d.length; i += 4 * 97) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    return seen.size;
  })()`);
}

export async function statusText(page: Page): Promise<string> {
  return (await page.getByRole('status').textContent()) ?? '';
}

/**
 * The distinct bounding boxes an element had over `frames` animation frames, read in the page
 * (what Playwright's "stable" check compares: one box means it held still). As "x,y,w,h".
 */
export async function boxesOverFrames(locator: Locator, frames = 30): Promise<string[]> {
  return locator.evaluate(
    (el, n) =>
      new Promise<string[]>((resolve) => {
        // The page's requestAnimationFrame (this file is compiled without the DOM's types).
        const g = globalThis as unknown as { requestAnimationFrame: (f: () => void) => void };
        const raf = (f: () => void) => g.requestAnimationFrame(f);
        const seen = new Set<string>();
        let left = n;
        const step = () => {
          const r = el.getBoundingClientRect();
          seen.add([r.x, r.y, r.width, r.height].map((v) => Math.round(v * 10) / 10).join(','));
          if (--left > 0) raf(step);
          else resolve([...seen]);
        };
        raf(step);
      }),
    frames,
  );
}

/**
 * The controls (buttons, inputs, selects) whose bounding box changed over `frames` animation
 * frames, read in the page in one pass, each as "name: box | box ...": [] when nothing moved.
 */
export async function movingControls(page: Page, frames = 60): Promise<string[]> {
  return page.evaluate(`new Promise((resolve) => {
    const seen = new Map();
    let left = ${frames};
    const step = () => {
      document.querySelectorAll('button, input, select').forEach((el, i) => {
        if (el.closest('[inert], [aria-hidden="true"]')) return;
        const r = el.getBoundingClientRect();
        if (r.width === 0 && r.height === 0) return;
        const name = (el.getAttribute('aria-label') || el.textContent || el.tagName).trim();
        const key = name.slice(0, 40) + ' #' + i;
        const box = [r.x, r.y, r.width, r.height].map((v) => Math.round(v * 10) / 10).join(',');
        if (!seen.has(key)) seen.set(key, new Set());
        seen.get(key).add(box);
      });
      if (--left > 0) requestAnimationFrame(step);
      else resolve([...seen].filter(([, s]) => s.size > 1).map(([k, s]) => k + ': ' + [...s].join(' | ')));
    };
    requestAnimationFrame(step);
  })`);
}
