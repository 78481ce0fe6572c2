/**
 * The app end to end: real Chromium, the real web host (`pagescope serve`), real processes (the
 * built-in demo, python3). Screenshots of the main views go to test-results/screenshots/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Browser, Page } from 'playwright-core';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { keyboardFirstMinute, newcomerPath } from './flows.ts';
import {
  alive,
  chromiumMissing,
  statusText,
  screenshot,
  sessionPid,
  startHost,
  tracesLeft,
  until,
  writtenFromStatus,
  type Host,
} from './helpers.ts';
import { appRig, openPage } from './app-rig.ts';

const missing = chromiumMissing();
if (missing !== null) it('pagescope in Chromium through the web host', (ctx) => ctx.skip(missing));

/** A python3 that owns 16 MiB and writes one page of it every 20 ms. */
const PYTHON_TARGET = `
import sys, time
buf = bytearray(16 * 1024 * 1024)
print('ready', flush=True)
i = 0
while True:
    buf[(i * 4096) % len(buf)] = i & 255
    i += 1
    time.sleep(0.02)
`;
import { limit } from '../testing/wait.ts';

function startPython(): Promise<ChildProcess> {
  const child = spawn('python3', ['-c', PYTHON_TARGET], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.stdout!.once('data', () => resolve(child));
  });
}

describe.skipIf(missing !== null)('pagescope in Chromium through the web host', () => {
  let host: Host;
  let browser: Browser;
  let page: Page;
  const children: ChildProcess[] = [];

  const rig = appRig();

  beforeAll(async () => {
    ({ host, browser } = await rig.start());
  });

  beforeEach(async () => {
    page = await openPage(browser, { viewport: { width: 1400, height: 860 }, colorScheme: 'dark' });
    await page.goto(host.url);
    await page.getByLabel('Find process').waitFor();
    await until('the process list', async () => (await page.locator('.proc-row').count()) > 1);
  });

  afterEach(async () => {
    await page?.close();
    for (const c of children.splice(0))
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });

  it('newcomer path: demo, heatmap, watch writes, reset, stop, no trace left', async () => {
    await newcomerPath(page, 'web');
  });

  it('the first minute with the keyboard alone, in at most 15 key presses', async () => {
    const { presses, keys } = await keyboardFirstMinute(page);
    console.log(`keyboard first minute: ${presses} key presses (${keys.join(' ')})`);
    expect(presses).toBeLessThanOrEqual(15);
    const pid = await sessionPid(page);
    await page.getByRole('button', { name: /detach/i }).click();
    await until('the demo to end', () => !alive(pid), 10_000);
    // A session's capability warning leaves with it: at most one "no swap" text remains (the
    // machine's notes), not the session's notice beside it.
    await page.getByRole('button', { name: 'Launch demo' }).waitFor();
    expect(await page.getByText('No swap is configured').count()).toBeLessThanOrEqual(1);
  });

  it('the heatmap by keyboard: a cell cursor, described once per move; shortcuts and help', async () => {
    const py = await startPython();
    children.push(py);
    await page.getByRole('button', { name: 'Refresh the process list' }).click();
    await page.getByLabel('Find process').fill(String(py.pid));
    await page
      .locator('.proc-row', { hasText: String(py.pid) })
      .first()
      .click();
    const heatmap = page.locator('canvas[data-testid="heatmap"]');
    await until('the heatmap to draw', async () =>
      /pages shown/.test((await heatmap.getAttribute('aria-label')) ?? ''),
    );
    await page.keyboard.press('h');
    expect(await page.evaluate('document.activeElement.className')).toBe('heatmap');
    const live = page.getByTestId('heatmap-live');
    const tip = page.getByTestId('heatmap-tip');
    // The live region says what the tooltip shows for the cursor's cell (its address first).
    const announced = async () => {
      const said = (await live.textContent()) ?? '';
      const shown = (await tip.locator('.tip-addr').textContent()) ?? '';
      return /^0x[0-9a-f]+/.test(said) && said.startsWith(shown + '.') ? said : '';
    };
    await page.keyboard.press('ArrowRight');
    const first = await until('the cursor cell announced', announced);
    expect(await tip.isVisible()).toBe(true);
    // Not every tick: the announcement stays while ticks go by.
    const tickOf = async () => Number(/Tick (\d+)/.exec(await statusText(page))?.[1] ?? NaN);
    const t0 = await tickOf();
    await until('three more ticks', async () => (await tickOf()) >= t0 + 3);
    expect(await live.textContent()).toBe(first);
    // A move is announced anew.
    await page.keyboard.press('ArrowDown');
    await until('the next cell announced', async () => {
      const said = await announced();
      return said !== '' && said !== first;
    });
    // Enter picks the region under the cursor; the memory map selects it.
    await page.keyboard.press('Enter');
    await page.getByTestId('memory-map').getByRole('option', { selected: true }).waitFor();
    // Mode by number key; help by "?", closed by Escape, focus back on the heatmap.
    await page.keyboard.press('3');
    expect(await page.getByRole('radio', { name: 'Writes' }).getAttribute('aria-checked')).toBe(
      'true',
    );
    await page.keyboard.press('?');
    const help = page.getByRole('dialog', { name: 'Keyboard' });
    await help.waitFor();
    expect(await help.textContent()).toContain('Watch writes on the picked region or selection');
    await screenshot(page, 'keyboard-help');
    await page.keyboard.press('Escape');
    await help.waitFor({ state: 'hidden' });
    expect(await page.evaluate('document.activeElement.className')).toBe('heatmap');
    await page.getByRole('button', { name: 'Detach' }).click();
    await page.getByLabel('Find process').waitFor();
  });

  it('the host goes away: a banner says so and what to do, nothing claims to be live', async () => {
    // A host of its own: this one is stopped.
    const own = await startHost();
    const p = await browser.newPage({ viewport: { width: 1400, height: 860 } });
    try {
      await p.goto(own.url);
      await p.getByRole('button', { name: 'Launch demo' }).click();
      await until('the heatmap to draw', async () =>
        /pages shown/.test(
          (await p.locator('canvas[data-testid="heatmap"]').getAttribute('aria-label')) ?? '',
        ),
      );
      await p.getByText(/^Live/).waitFor();
      const banner = p.getByTestId('connection-lost');
      expect(await banner.count()).toBe(0);
      await own.stop();
      await banner.waitFor({ timeout: limit(20_000) });
      expect(await banner.getAttribute('role')).toBe('alert');
      expect(await banner.textContent()).toMatch(
        /Connection to the pagescope host lost\..*start it again and open the address it prints/,
      );
      await until('the next attempt announced', async () =>
        /Trying again in \d+ s|Reconnecting/.test((await banner.textContent()) ?? ''),
      );
      expect(await p.getByText(/^Live/).count()).toBe(0);
      expect(await statusText(p)).toBe('Disconnected from the host.');
      expect(await p.getByRole('button', { name: 'Launch demo' }).isDisabled()).toBe(true);
      await screenshot(p, 'connection-lost');
    } finally {
      await p.close();
      await own.stop();
    }
  });

  it('attaches to a python3 found by its pid, and leaves it untouched after detach', async () => {
    const py = await startPython();
    children.push(py);
    const pid = py.pid!;
    await page.getByLabel('Find process').fill(String(pid));
    await until('the refreshed list', async () => {
      await page.getByRole('button', { name: 'Refresh the process list' }).click();
      return (await page.locator('.proc-row', { hasText: String(pid) }).count()) > 0;
    });
    const row = page.locator('.proc-row', { hasText: String(pid) }).first();
    await expect(row.textContent()).resolves.toContain('python');
    await row.click();
    await until('the session', async () => (await sessionPid(page)) === pid);
    await until('the heatmap to draw', async () =>
      /pages shown/.test(
        (await page.locator('canvas[data-testid="heatmap"]').getAttribute('aria-label')) ?? '',
      ),
    );
    await until('VMAs listed', async () => (await page.locator('.vma-row').count()) > 3);
    const canvas = page.locator('canvas[data-testid="heatmap"]');
    // Zoomed in, the host sends a full-resolution window and each cell is one page.
    await page.locator('.heatmap').focus();
    const before =
      Number(await canvas.getAttribute('data-end-index')) -
      Number(await canvas.getAttribute('data-first-index'));
    for (let i = 0; i < 3; i++) await page.keyboard.press('+');
    await until('the zoomed view', async () => {
      const shown =
        Number(await canvas.getAttribute('data-end-index')) -
        Number(await canvas.getAttribute('data-first-index'));
      return shown < before && (await canvas.getAttribute('data-pages-per-cell')) === '1';
    });
    await until('a full-resolution window from the host', () =>
      page.evaluate(`(() => {
        const f = window.__pagescope.frameHub.latest;
        const c = document.querySelector('canvas[data-testid="heatmap"]');
        return !!f && !!f.window && f.window.startIndex <= Number(c.dataset.firstIndex) &&
          f.window.endIndex >= Number(c.dataset.endIndex);
      })()`),
    );
    await page.keyboard.press('Home');
    // The legend toggles categories.
    const present = page.getByRole('button', { name: /^Present/ });
    await present.click();
    expect(await present.getAttribute('aria-pressed')).toBe('false');
    await present.click();
    expect(await present.getAttribute('aria-pressed')).toBe('true');
    // Shift-drag selects a range (d3-brush); "Watch writes" then watches the selection.
    const box = (await canvas.boundingBox())!;
    await page.keyboard.down('Shift');
    await page.mouse.move(box.x + 10, box.y + 10);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 3, { steps: 5 });
    await page.mouse.up();
    await page.keyboard.up('Shift');
    await page.getByText(/on selection \([\d,]+ pages\)/).waitFor();
    await page.getByRole('button', { name: 'Watch writes' }).click();
    await until('a watched VMA', async () => (await page.locator('.vma-row .badge').count()) > 0);
    await until(
      'a tick while watching',
      async () => writtenFromStatus(await statusText(page)) !== null,
    );
    await screenshot(page, 'python');
    expect(await page.getByRole('alert').count()).toBe(0);
    await page.getByRole('button', { name: 'Detach' }).click();
    await page.getByLabel('Find process').waitFor();
    expect(alive(pid)).toBe(true);
    const traces = await until(
      'python to be clean',
      () => (tracesLeft(pid).length === 0 ? 'clean' : ''),
      10_000,
    ).catch(() => tracesLeft(pid).join('; '));
    expect(traces).toBe('clean');
  });

  it('a process that exits mid-session: the error shows and the app stays usable', async () => {
    const py = await startPython();
    children.push(py);
    const pid = py.pid!;
    await page.getByRole('button', { name: 'Refresh the process list' }).click();
    await page.getByLabel('Find process').fill(String(pid));
    await page
      .locator('.proc-row', { hasText: String(pid) })
      .first()
      .click();
    await until('the heatmap to draw', async () =>
      /pages shown/.test(
        (await page.locator('canvas[data-testid="heatmap"]').getAttribute('aria-label')) ?? '',
      ),
    );
    py.kill('SIGKILL');
    const alert = page.getByRole('alert');
    await alert.first().waitFor({ timeout: limit(15_000) });
    const text = (await alert.first().textContent()) ?? '';
    expect(text).toContain(String(pid));
    expect(text).toMatch(/exit|ended|gone|killed/i);
    await screenshot(page, 'exited');
    // Still usable: the picker is back, search works, the demo can be launched.
    await page.getByLabel('Find process').fill('python');
    await until('search results', async () => (await page.locator('.proc-row').count()) > 1);
    const next = await startPython();
    children.push(next);
    await page.getByRole('button', { name: 'Refresh the process list' }).click();
    await page.getByLabel('Find process').fill(String(next.pid));
    await page
      .locator('.proc-row', { hasText: String(next.pid) })
      .first()
      .click();
    await until('a new session', async () => (await sessionPid(page)) === next.pid);
    await until('the heatmap to draw again', async () =>
      /pages shown/.test(
        (await page.locator('canvas[data-testid="heatmap"]').getAttribute('aria-label')) ?? '',
      ),
    );
    await page.getByRole('button', { name: 'Detach' }).click();
    await page.getByLabel('Find process').waitFor();
    expect(alive(next.pid!)).toBe(true);
  });
});
