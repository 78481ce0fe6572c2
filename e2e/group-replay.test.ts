/**
 * A group recording replayed in real Chromium through the real web host: `pagescope record
 * --tree` of a python3 tree around shared memory (testing/group-tree.py) whose parent and first
 * child write overlapping pages of a MAP_SHARED anonymous region, then `pagescope serve FILE`.
 * The recording opens at once in the group view; stepping by keyboard to the last tick that wrote
 * the region shows it once, its pages written up to then counted once (24: 0..15 and 8..23) and
 * each member's pages and share as the file holds them; axe-core finds nothing; an uploaded
 * damaged group recording gets one clear sentence.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readGroupRecording } from '../core/record/group-recording.ts';
import { startGroupTree, type GroupTree } from '../testing/group-tree.ts';
import { startCli, type LineProcess } from '../testing/watch-support.ts';
import { axeViolations, describeViolations } from './axe.ts';
import { chromiumMissing, screenshot, until, type Host } from './helpers.ts';
import { appRig } from './app-rig.ts';

const missing = chromiumMissing();
if (missing !== null) it('a group recording replays in the UI', (ctx) => ctx.skip(missing));

const ticksIn = (file: string): number => {
  try {
    return readGroupRecording(file).ticks.length;
  } catch {
    return 0; // not written yet
  }
};

describe.skipIf(missing !== null)('a group recording replays in the UI', () => {
  let dir: string;
  let file: string;
  let tree: GroupTree | undefined;
  let recorder: LineProcess | undefined;
  let host: Host;
  let page: Page;
  const rig = appRig();

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagescope-e2e-group-rec-'));
    file = path.join(dir, 'tree.pgsrec');
    tree = await startGroupTree(2, 32);
    const { pid, children } = tree.info;
    recorder = startCli(
      ['record', '--tree', String(pid), '--shared', '--interval', '200', '-o', file],
      'pipe',
    );
    await until('the recording to tick', () => ticksIn(file) > 0, 60_000);
    await tree.send(`write ${pid} shared_anon 0 16`);
    await tree.send(`write ${children[0]} shared_anon 8 16`); // pages 8..15 by both
    const n = ticksIn(file);
    await until('two ticks after the writes', () => ticksIn(file) > n + 1, 60_000);
    recorder.child.kill('SIGINT');
    await until('the recorder to exit', () => recorder!.child.exitCode !== null, 30_000);
    tree.close();
    tree = undefined;
    ({ host, page } = await rig.start([file], { bypassCSP: true }));
  });

  afterAll(() => {
    if (recorder && recorder.child.exitCode === null) recorder.child.kill('SIGKILL');
    tree?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('opens in the group view and steps to the shared region written once, with shares', async () => {
    const rec = readGroupRecording(file);
    const last = rec.ticks.findLastIndex((t) =>
      t.objects.some((o) => o.kind === 'shared anonymous'),
    );
    expect(last).toBeGreaterThanOrEqual(0);
    const obj = rec.ticks[last].objects.find((o) => o.kind === 'shared anonymous')!;

    await page.goto(host.url);
    const view = page.getByTestId('group-view');
    await view.waitFor();
    expect(await page.locator('#group-title').textContent()).toBe('Group recording: tree.pgsrec');
    await until('focus on the heading', () =>
      page.evaluate('document.activeElement && document.activeElement.id === "group-title"'),
    );
    const position = page.getByTestId('group-replay-position');
    expect(await position.textContent()).toMatch(new RegExp(`^tick 1 of ${rec.ticks.length},`));

    // By keyboard: Home on the slider, then one ArrowRight per tick.
    const slider = page.getByTestId('group-replay-slider');
    await slider.focus();
    await page.keyboard.press('Home');
    for (let i = 0; i < last; i++) await page.keyboard.press('ArrowRight');
    await until('the tick stepped to', async () =>
      (await position.textContent())?.startsWith(`tick ${last + 1} of `),
    );

    const row = page.locator('[data-testid="group-objects"] tr[data-object="shared anonymous"]');
    expect(await row.count()).toBe(1); // once, whoever wrote it
    const cells = await row.locator('td').allTextContents();
    // 0..15 by the parent and 8..23 by the child: 24 pages once over the recording so far.
    expect(cells[1]).toBe('24 pages (96 KiB)');
    let sum = 0;
    for (const s of obj.shares) {
      const li = await row.locator(`li[data-pid="${s.pid}"]`).textContent();
      expect(li).toContain(`wrote ${s.pages} pages, share `);
      sum += s.share;
    }
    const written = obj.ranges.reduce((n, [a, b]) => n + b - a, 0);
    expect(cells[0]).toBe(`${written} ${written === 1 ? 'page' : 'pages'} (${written * 4} KiB)`);
    expect(sum).toBeCloseTo(written, 6); // the shares add up to the object's written pages
    // Every member of the tree is listed in the tick.
    const members = await page
      .locator('[data-testid="group-members"] tbody th[scope="row"]')
      .allTextContents();
    expect(members.map(Number).sort()).toEqual(rec.ticks[last].members.map((m) => m.pid).sort());
    expect(members.length).toBe(4);
    await screenshot(page, 'group-replay');

    const vs = await axeViolations(page);
    expect(describeViolations(vs)).toBe('');
  });

  it('an uploaded damaged group recording gets one clear sentence', async () => {
    const b = fs.readFileSync(file);
    b[20] ^= 0x20; // inside the header: its checksum fails
    const bad = path.join(dir, 'damaged.pgsrec');
    fs.writeFileSync(bad, b);
    // Escape closes the replay (as it closes a live group view); the welcome page opens files.
    await page.locator('#group-title').focus();
    await page.keyboard.press('Escape');
    await page.getByTestId('group-view').waitFor({ state: 'detached' });
    await page.getByLabel('Recording file').setInputFiles(bad);
    const alert = page.getByRole('alert').filter({ hasText: 'damaged.pgsrec' });
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/damaged\.pgsrec is damaged: its header fails/);
    expect(await page.getByTestId('group-view').count()).toBe(0);
    // The good file uploaded opens in the group view again.
    await page.getByLabel('Recording file').setInputFiles(file);
    await page.getByTestId('group-view').waitFor();
    expect(await page.locator('#group-title').textContent()).toBe('Group recording: tree.pgsrec');
  });
});
