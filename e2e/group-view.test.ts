/**
 * Picking a whole tree as a group, in real Chromium through the real web host, by keyboard: a
 * python3 tree sharing a memfd (testing/group-tree.py) whose parent and first child wrote
 * overlapping pages. The group view lists every member, shows the memfd once with each member's
 * pages and proportional share, follows new writes as it refreshes, and axe-core finds nothing;
 * Escape closes it and puts focus back in the process list. "Watch writes" (by keyboard) shows the
 * memfd's written pages with each writer's pages and share, and Stop and closing the view leave
 * every member as it was (testing/traces.ts).
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGroupTree, type GroupTree } from '../testing/group-tree.ts';
import { tracesLeft } from '../testing/traces.ts';
import { axeViolations, describeViolations } from './axe.ts';
import { chromiumMissing, screenshot, until, type Host } from './helpers.ts';
import { appRig } from './app-rig.ts';

const missing = chromiumMissing();
if (missing !== null) it('the UI takes a group', (ctx) => ctx.skip(missing));

describe.skipIf(missing !== null)('the UI takes a group', () => {
  let host: Host;
  let page: Page;
  let tree: GroupTree;
  let lastSummary: string | null = null;
  const rig = appRig();

  beforeAll(async () => {
    tree = await startGroupTree(2, 32);
    await tree.send(`write ${tree.info.pid} memfd 0 16`);
    await tree.send(`write ${tree.info.children[0]} memfd 8 16`); // pages 8..15 in both
    ({ host, page } = await rig.start([], {
      viewport: { width: 1400, height: 900 },
      bypassCSP: true,
    }));
  });

  afterAll(() => {
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
    expect(await share(pid)).toMatch(new RegExp(`\\(pid ${pid}\\): 16 present, share 12$`));
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

  it('Watch writes shows the memfd’s written pages with each writer’s share; Stop and closing release the tree', async () => {
    const { pid, children, grandchild } = tree.info;
    const everyMember = [pid, ...children, grandchild];
    const traces = () => everyMember.flatMap((p) => tracesLeft(p).map((t) => `${p}: ${t}`));
    expect(traces()).toEqual([]);
    // The tree again, by keyboard ("Pick whole trees" is still ticked).
    const rows = page.locator('.proc-list[aria-label^="Processes"] [role="option"]');
    await page.getByRole('searchbox', { name: 'Find process' }).fill(String(pid));
    const row = rows.filter({ hasText: new RegExp(`^${pid}\\D`) });
    await until('the parent in the list', async () => (await row.count()) === 1);
    await row.focus();
    await page.keyboard.press('Enter');
    const view = page.getByTestId('group-view');
    await view.waitFor();
    const memfd = page.locator(
      '[data-testid="group-objects"] tr[data-object="memfd:pagescope-group"]',
    );
    await until('the memfd in the objects', async () => (await memfd.count()) === 1);

    const button = page.getByRole('button', { name: 'Watch writes' });
    await button.focus();
    await page.keyboard.press('Enter');
    const summary = page.getByTestId('group-watch-summary');
    await until(
      () => `the first tick (summary: ${String(lastSummary)})`,
      async () => {
        lastSummary = await summary.textContent().catch(() => null);
        return /Tick \d/.test(lastSummary ?? '');
      },
      60_000,
    );
    // The same button, now Stop, keeps the focus.
    expect(
      await page.evaluate('document.activeElement && document.activeElement.textContent'),
    ).toBe('Stop watching writes');
    expect(traces().length).toBeGreaterThan(0); // the members carry the watch now

    // Pages 0..15 by the parent, 8..23 by child 0: 24 distinct pages, each writer 16.
    await tree.send(`write ${pid} memfd 0 16`);
    await tree.send(`write ${children[0]} memfd 8 16`);
    const soFar = memfd.getByTestId('object-written-so-far');
    let shown: string | null = null;
    await until(
      () => `the memfd’s 24 distinct pages (shown: ${String(shown)})`,
      async () => (shown = await soFar.textContent()) === '24 pages (96 KiB)',
    );
    const writer = (p: number) =>
      memfd.locator(`[data-testid="object-writers-so-far"] li[data-pid="${p}"]`).textContent();
    // Share 12 each when both wrote in one tick (8 pages alone, 8 halved), 16 in two ticks.
    const parentShare = await writer(pid);
    expect(parentShare).toMatch(new RegExp(`\\(pid ${pid}\\): wrote 16 pages, share (12|16)$`));
    expect((await writer(children[0]))?.replace(/^.*share /, '')).toBe(
      parentShare?.replace(/^.*share /, ''),
    );
    expect(await memfd.locator('[data-testid="object-writers-so-far"] li').count()).toBe(2);
    const parentRow = page.locator(`[data-testid="group-members"] tr[data-pid="${pid}"]`);
    expect(await parentRow.locator('td').last().textContent()).toMatch(/^[\d,]+ pages? \(/);
    await screenshot(page, 'group-watch');
    const vs = await axeViolations(page);
    expect(describeViolations(vs)).toBe('');

    // Stop, by keyboard: the host answers once every member is released.
    await page.keyboard.press('Enter');
    const ended = page.getByTestId('group-watch-ended');
    await until('the stop answered', async () =>
      (await ended.textContent().catch(() => ''))?.includes('every member was released'),
    );
    expect(traces()).toEqual([]);
    expect(describeViolations(await axeViolations(page))).toBe('');

    // Watching again, then closing the view (Escape) stops it too.
    await page.getByRole('button', { name: 'Watch writes' }).focus();
    await page.keyboard.press('Enter');
    await until('the second watch’s first tick', async () =>
      /Tick \d/.test((await summary.textContent().catch(() => '')) ?? ''),
    );
    expect(traces().length).toBeGreaterThan(0);
    await page.keyboard.press('Escape');
    await view.waitFor({ state: 'detached' });
    await until(
      () => `the tree released after closing (left: ${traces().join('; ')})`,
      () => traces().length === 0,
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
