/**
 * The set-up the e2e files share, once per file: the renderer built when stale, one
 * `pagescope serve`, one Chromium (a launch costs about a second of CPU; a page in a fresh context
 * of its own costs a fraction of that), and optionally a first page; all closed after the file's
 * tests. Each test that needs a clean slate opens its own page (openPage), not its own browser.
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
