/**
 * Picking a whole tree as a group, in real Chromium through the real web host, by keyboard: a
 * python3 tree sharing a memfd (testing/group-tree.py) whose parent and first child wrote
 * overlapping pages. The group view lists every member, shows the memfd once with each member's
 * pages and proportional share, follows new writes as it refreshes, and axe-core finds nothing;
 * Escape closes it and puts focus back in the process list.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGroupTree, type GroupTree } from '../testing/group-tree.ts';
import { axeViolations, describeViolations } from './axe.ts';
import {
  chromiumMissing,
  ensureRendererBuilt,
  launchBrowser,
  screenshot,
  startHost,
  until,
  type Host,
} from './helpers.ts';

const missing = chromiumMissing();
if (missing !== null) it('the UI takes a group', (ctx) => ctx.skip(missing));

describe.skipIf(missing !== null)('the UI takes a group', () => {
  let host: Host;
  let browser: Browser;
  let page: Page;
  let tree: GroupTree;

  beforeAll(async () => {
    ensureRendererBuilt();
    tree = await startGroupTree(2, 32);
    await tree.send(`write ${tree.info.pid} memfd 0 16`);
    await tree.send(`write ${tree.info.children[0]} memfd 8 16`); // pages 8..15 in both
    host = await startHost();
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 }, bypassCSP: true });
  });

  afterAll(async () => {
    await page?.close();
    await browser?.close();
    await host?.stop();
    tree?.close();
  });

  it('a tree picked from the list shows the memfd once with each member’s share', async () => {
    const { pid, children, grandchild } = tree.info;
    await page.goto(host.url);
    const rows = page.locator('.proc-list[aria-label^="Processes"] [role="option"]');
    await until('the process list', async () => (await rows.count()) > 1);
    // By keyboard: find the parent, tick "Pick whole trees", Enter on its row.
    await page.getByRole('searchbox', { name: 'Find process' }).fill(String(pid));
    await page.getByTestId('pick-tree').focus();
    await page.keyboard.press('Space');
    expect(await page.getByTestId('pick-tree').isChecked()).toBe(true);
    const row = rows.filter({ hasText: new RegExp(`^${pid}\\D`) });
    await until('the parent in the list', async () => (await row.count()) === 1);
    await row.focus();
    await page.keyboard.press('Enter');

    const view = page.getByTestId('group-view');
    await view.waitFor();
    // The heading takes focus, so a screen reader hears which group opened.
    await until('focus on the group heading', () =>
      page.evaluate('document.activeElement && document.activeElement.id === "group-title"'),
    );
    expect(await page.locator('#group-title').textContent()).toBe(`Tree of pid ${pid}`);

    const members = page.locator('[data-testid="group-members"] tbody th[scope="row"]');
    const all = [pid, ...children, grandchild].map(String).sort();
    await until('every member listed', async () =>
      JSON.stringify((await members.allTextContents()).sort()) === JSON.stringify(all) ? 1 : 0,
    );

    const memfd = page.locator(
      '[data-testid="group-objects"] tr[data-object="memfd:pagescope-group"]',
    );
    await until('the memfd in the objects', async () => (await memfd.count()) > 0);
    expect(await memfd.count()).toBe(1); // one row, whatever number of members map it
    const share = (p: number) => memfd.locator(`li[data-pid="${p}"]`).textContent();
    // Pages 0..15 by the parent, 8..23 by child 0: 8 pages each alone, 8 together (1/2 each).
    expect(await share(pid)).toContain('16 present, share 12');
    expect(await share(children[0])).toContain('16 present, share 12');
    // Members mapping it with no page present: in one line.
    const zero = (await memfd.locator('li[data-zero]').getAttribute('data-zero'))?.split(' ');
    expect(zero?.map(Number).sort()).toEqual([children[1], grandchild].sort());
    const cells = await memfd.locator('td').allTextContents();
    expect(cells[1]).toContain('24 pages (96 KiB) in page tables');
    expect(cells[2]).toMatch(/ pages \(\d+ KiB\) from (the object|smaps)$/);
    // Each of the three objects once, labelled for what it is.
    const labels = await page
      .locator('[data-testid="group-objects"] tbody tr[data-object]')
      .evaluateAll((trs) => trs.map((t) => t.getAttribute('data-object')));
    expect(labels.filter((l) => l === 'shared anonymous')).toHaveLength(1);
    expect(labels.filter((l) => l?.startsWith('SysV shm'))).toHaveLength(1);

    // While open it refreshes: child 1 writes 8 pages of its own, and its share shows them.
    await tree.send(`write ${children[1]} memfd 24 8`);
    await until(
      'the refreshed share of child 1',
      async () => (await share(children[1]))?.includes('8 present, share 8'),
      30_000,
    );
    await screenshot(page, 'group-view');

    const vs = await axeViolations(page);
    expect(describeViolations(vs)).toBe('');

    // Escape closes the view and focus goes back to the process list.
    await page.locator('#group-title').focus();
    await page.keyboard.press('Escape');
    await view.waitFor({ state: 'detached' });
    await until('focus back in the process list', () =>
      page.evaluate('!!document.activeElement && !!document.activeElement.closest(".picker")'),
    );
  });

  it('the Cgroups list opens by keyboard, and Enter on a cgroup shows it as a group', async () => {
    const cgroups = page.getByTestId('cgroups');
    await page.locator('.cgroups summary').focus();
    await page.keyboard.press('Enter');
    await until('the cgroups open', () => cgroups.evaluate((d) => (d as { open?: boolean }).open));
    const options = page.locator('.cgroup-list [role="option"].cgroup-row');
    await until('a cgroup listed', async () => (await options.count()) > 0);
    const vs = await axeViolations(page);
    expect(describeViolations(vs)).toBe('');
    await options.first().focus();
    const dir = await options.first().getAttribute('title');
    await page.keyboard.press('Enter');
    await page.getByTestId('group-view').waitFor();
    expect(await page.locator('#group-title').textContent()).toBe(`Cgroup ${dir}`);
    expect(await options.first().getAttribute('aria-selected')).toBe('true');
    await page.locator('#group-title').focus();
    await page.keyboard.press('Escape');
    await page.getByTestId('group-view').waitFor({ state: 'detached' });
  });
});
