/**
 * The web host's token in a real Chromium against a real `pagescope serve`: it travels only in
 * the URL fragment and the WebSocket handshake, leaves the address bar on load, is in no request
 * URL, Referer or cookie; the 0600 redirect file the server hands the desktop's browser lands on
 * the app; a page without the token gets the UI but no data; and a host started with
 * --allow-remote shows "Launch command…" disabled, with the reason. Beside the app, Chromium opens
 * none of its own UI pages (e2e/helpers.ts turns off the omnibox popups: a renderer each).
 */
import type { Browser, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeOpenFile } from '../core/cli/commands/serve.ts';
import { chromiumMissing, browserUiPages, startHost, until, type Host } from './helpers.ts';
import { appRig } from './app-rig.ts';
import { limit } from '../testing/wait.ts';

const missing = chromiumMissing();
if (missing !== null) it('the access token in Chromium', (ctx) => ctx.skip(missing));

describe.skipIf(missing !== null)('the access token in Chromium', () => {
  let host: Host;
  let browser: Browser;
  let token: string;
  let origin: string;
  const rig = appRig();

  beforeAll(async () => {
    ({ host, browser } = await rig.start());
    const m = /^(http:\/\/127\.0\.0\.1:\d+)\/#token=([A-Za-z0-9_-]{40,})$/.exec(host.url);
    expect(m, host.url).not.toBeNull();
    origin = m![1];
    token = m![2];
  });

  /** Process rows (not the header row): only a connected page has any. */
  const processRows = (page: Page) => page.locator('.proc-row:not(.proc-head)').count();
  const processListShown = (page: Page) =>
    until('the process list', async () => (await processRows(page)) > 0);

  it("a new page opens none of Chromium's own UI pages beside it (each a renderer using CPU)", async () => {
    const page = await browser.newPage();
    try {
      await page.goto(host.url);
      await processListShown(page);
      expect(await browserUiPages(browser)).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('leaves the address bar on load, is in no request, Referer or cookie, and survives a reload', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const seen: string[] = [];
    page.on('request', (r) => {
      seen.push(r.url());
      seen.push(r.headers()['referer'] ?? '');
    });
    await page.goto(host.url);
    await processListShown(page);
    expect(page.url()).toBe(`${origin}/`);
    expect(await page.evaluate('location.hash')).toBe('');
    expect(seen.length).toBeGreaterThan(1); // the page and its assets
    expect(seen.filter((s) => s.includes(token))).toEqual([]);
    expect(await context.cookies()).toEqual([]);
    expect(await page.evaluate('document.cookie')).toBe('');
    // A reload of the same tab still connects (sessionStorage, per tab and per port).
    await page.reload();
    await processListShown(page);
    expect(await page.getByRole('alert').count()).toBe(0);
    await context.close();
  });

  it('the redirect file for the desktop browser lands on the app, token stripped', async () => {
    const open = writeOpenFile(host.url);
    const page = await browser.newPage();
    try {
      await page.goto(`file://${open.file}`);
      await until('the redirect', () => page.url().startsWith(origin));
      await processListShown(page);
      expect(page.url()).toBe(`${origin}/`);
    } finally {
      await page.close();
      open.remove();
    }
  });

  it('without the token: the page loads, no data does, and it says what to do', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${origin}/`);
      const alert = page.getByRole('alert').first();
      await alert.waitFor({ timeout: limit(20_000) });
      expect(await alert.textContent()).toMatch(/#token=/);
      expect(await processRows(page)).toBe(0);
      const wrong = await browser.newPage();
      await wrong.goto(`${origin}/#token=${'A'.repeat(43)}`);
      await wrong
        .getByRole('alert')
        .first()
        .waitFor({ timeout: limit(20_000) });
      expect(await processRows(wrong)).toBe(0);
      await wrong.close();
    } finally {
      await page.close();
    }
  });

  it('with --allow-remote, "Launch command…" is disabled and the UI says why', async () => {
    const remote = await startHost(['--allow-remote']);
    const page = await browser.newPage();
    try {
      await page.goto(remote.url);
      await processListShown(page);
      const button = page.getByRole('button', { name: 'Launch command…' });
      await until('the button to be disabled', () => button.isDisabled());
      const reason = await page.locator('#launch-disabled').textContent();
      expect(reason).toMatch(/--allow-remote.*--allow-launch/);
      expect(await button.getAttribute('aria-describedby')).toBe('launch-disabled');
      expect(await page.getByRole('button', { name: 'Launch demo' }).isEnabled()).toBe(true);
    } finally {
      await page.close();
      await remote.stop();
    }
  });
});
