/**
 * The set-up the e2e files share, once per file: the renderer built when stale, one
 * `pagescope serve`, one Chromium (a launch costs about a second of CPU; a page in a fresh context
 * of its own costs a fraction of that), and optionally a first page; all closed after the file's
 * tests. Each test that needs a clean slate opens its own page (openPage), not its own browser.
 *
 * One Chromium for the whole run (a browser server from the global setup, each file connecting)
 * was tried and reverted (commit eb1a952): on a machine at load 19-25 the eight e2e files cost
 * 118-257 s of CPU with it against 103-115 s without, and ran up to twice as long (one browser's UI
 * and compositor threads serving every file's pages, one more hop for every call). Measuring
 * the e2e files' CPU: Chromium's zygotes outlive the browser's close, so they and their children
 * (the renderers, the GPU process) are reaped by init, not by the test worker, and the CPU
 * testing/file-cpu.ts and `time` report for a file leaves them out (one launch, a page drawing 600
 * canvas frames: its process tree had used 2.53 s, the launching process reaped 0.52 s). Each file alone in a cpuacct cgroup of its own cost 2-2.5 times what `time`
 * said (web 25.0 s against 12.4 s, recording 22.5 s against 11.3 s, a11y 15.9 s against 6.2 s),
 * where a file without Chromium differed by 1.4-1.9 s (the run's esbuild service, not reaped
 * either).
 */
import type { Browser, BrowserContextOptions, Page } from 'playwright-core';
import { afterAll } from 'vitest';
import { ensureRendererBuilt, launchBrowser, startHost, type Host } from './helpers.ts';

/** The window most e2e tests look at the app in. */
export const APP_VIEWPORT = { width: 1400, height: 1000 };

/** A page in a context of its own (APP_VIEWPORT unless told), logging the page's errors. */
export async function openPage(
  browser: Browser,
  options: BrowserContextOptions = {},
): Promise<Page> {
  const page = await browser.newPage({ viewport: APP_VIEWPORT, ...options });
  page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
  return page;
}

export interface App {
  host: Host;
  browser: Browser;
  /** The first page, when start() was given page options. */
  page: Page;
}

/**
 * Registers, in the suite being collected, an afterAll that closes whatever start() opened.
 * start(), called in a beforeAll once what the host's arguments name exists, starts the host with
 * `hostArgs`, launches Chromium and, given page options, opens a first page.
 */
export function appRig(): {
  start(hostArgs?: string[], page?: BrowserContextOptions): Promise<App>;
} {
  let host: Host | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  afterAll(async () => {
    await page?.close();
    await browser?.close();
    await host?.stop();
  });
  return {
    async start(hostArgs = [], pageOptions) {
      ensureRendererBuilt();
      host = await startHost(hostArgs);
      browser = await launchBrowser();
      if (pageOptions) page = await openPage(browser, pageOptions);
      return { host, browser, page: page as Page };
    },
  };
}
