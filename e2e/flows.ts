/**
 * The newcomer path, shared by the web (Chromium) and Electron suites: launch the demo, see the
 * heatmap fill, watch writes on a VMA, see the status count and the timeline rise, reset, stop
 * watching, and check the target holds no trace of us.
 */
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import {
  alive,
  heatmapColours,
  screenshot,
  sessionPid,
  statusText,
  tracesLeft,
  until,
  writtenFromStatus,
} from './helpers.ts';

/**
 * In the page: at least three demo regions are in the heatmap's view and they take at least a
 * tenth of it (in display cells) — true for the demo's own view, false for the whole process.
 * Read from what the last draw showed (the canvas's data attributes): the host range in view and
 * the number of display cells. Demo regions are far too small to be squeezed (display-space.ts),
 * so their host pages in view are display cells.
 */
export const DEMO_IN_VIEW = `(() => {
  const c = document.querySelector('canvas[data-testid="heatmap"]');
  const s = window.__pagescope.useApp.getState();
  if (!c || !c.dataset.shownIndices) return false;
  const first = Number(c.dataset.firstIndex), end = Number(c.dataset.endIndex);
  let regions = 0, cells = 0;
  for (const v of s.vmas) {
    if (!(v.label || '').startsWith('demo: ')) continue;
    const a = Math.max(v.offset, first);
    const b = Math.min(v.offset + v.endPage - v.startPage, end);
    if (b > a) { regions++; cells += b - a; }
  }
  return regions >= 3 && cells >= 0.1 * Number(c.dataset.shownIndices);
})()`;

export async function newcomerPath(page: Page, label: string): Promise<void> {
  const t0 = Date.now();
  const step = (what: string) =>
    console.log(`[${label}] ${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`);
  const shot = (name: string) => screenshot(page, label === 'web' ? name : `${label}-${name}`);
  await shot('picker');
  await page.getByRole('button', { name: 'Launch demo' }).click();
  const heatmap = page.locator('canvas[data-testid="heatmap"]');
  await until('the heatmap to draw', async () =>
    /pages shown/.test((await heatmap.getAttribute('aria-label')) ?? ''),
  );
  expect(await page.getByRole('alert').count()).toBe(0);
  const pid = await sessionPid(page);
  expect(alive(pid)).toBe(true);
  // The heatmap fills: several colours on the canvas, present pages counted.
  await until('colours on the heatmap', async () => (await heatmapColours(page)) >= 3);
  expect(await statusText(page)).toMatch(/^Tick \d+ · [\d,]+ present/);
  step('heatmap drawn');
  // The first view shows the demo, not the whole process (mostly the runtime's reservations).
  await until('the demo regions to fill the first view', () => page.evaluate(DEMO_IN_VIEW), 30_000);
  await shot('demo-residency');
  const typeMode = page.getByRole('radio', { name: 'Type' });
  await typeMode.click();
  await until(
    'the Type colour mode',
    async () => (await typeMode.getAttribute('aria-checked')) === 'true',
  );
  await shot('demo-type');

  // Watch writes on the demo's sweep the way a newcomer would: the host labels the demo's
  // regions ("demo: sweep") even where the kernel cannot name anonymous mappings, and the demo
  // guide's region names focus them.
  const rows = page.locator('.vma-row');
  const sweepRows = rows.filter({ hasText: 'demo: sweep' });
  await until(
    'the demo regions labelled in the memory map',
    async () => (await sweepRows.count()) > 0,
  );
  await page.locator('.demo-guide').getByRole('button', { name: 'sweep' }).click();
  const targetRange = await sweepRows.first().locator('code').textContent();
  const target = rows.filter({ hasText: targetRange ?? '' }).first();
  await until(
    'the sweep focused',
    async () => (await target.getAttribute('aria-selected')) === 'true',
  );
  // The memory map scrolls the picked row into its view.
  await until('the picked row visible in the memory map', async () => {
    const list = await page.getByTestId('memory-map').boundingBox();
    const row = await target.boundingBox();
    return !!list && !!row && row.y >= list.y - 1 && row.y + row.height <= list.y + list.height + 1;
  });
  await page.getByRole('button', { name: 'Watch writes' }).click();
  await until('the watched badge', async () =>
    (await target.locator('.badge').allTextContents()).includes('watched'),
  );
  // The heatmap shows the focused VMA (and keeps showing it while the address space changes).
  const inView = `(() => {
    const s = window.__pagescope.useApp.getState();
    const v = s.vmas.find((x) => x.start === s.focusedVma);
    const c = document.querySelector('canvas[data-testid="heatmap"]');
    if (!v) return false;
    const a = v.offset, b = v.offset + v.endPage - v.startPage;
    const lo = Math.max(a, Number(c.dataset.firstIndex)), hi = Math.min(b, Number(c.dataset.endIndex));
    return hi - lo >= (b - a) * 0.9;
  })()`;
  // Waits (up to `ms`) for the focused VMA in view; a failure says what the view and VMA were.
  const focusedInView = (what: string, ms?: number) =>
    until(what, () => page.evaluate(inView), ms).catch(async (err) => {
      const state = await page.evaluate(`(() => {
        const s = window.__pagescope.useApp.getState();
        const v = s.vmas.find((x) => x.start === s.focusedVma);
        const c = document.querySelector('canvas[data-testid="heatmap"]');
        return JSON.stringify({ zoom: s.zoom, v: v && [v.offset, v.endPage - v.startPage], view: [c.dataset.firstIndex, c.dataset.endIndex, c.dataset.squeezed] });
      })()`);
      throw new Error(`${(err as Error).message}: ${state}`);
    });
  await focusedInView('the focused VMA in view');
  const written = await until('written pages in the status line', async () => {
    const n = writtenFromStatus(await statusText(page));
    return n !== null && n > 0 ? n : 0;
  });
  expect(written).toBeGreaterThan(0);
  const timeline = page.locator('canvas[data-testid="timeline"]');
  await until(
    'the timeline to rise',
    async () => Number(await timeline.getAttribute('data-max-written')) > 0,
  );
  step('written pages counted');
  // The cost of being watched is on screen, said as an estimate, and can be bounded.
  expect(await statusText(page)).toMatch(
    / · est\. overhead \d+(\.\d)?%( \(\d+(\.\d)?-\d+(\.\d)?%\))? · /,
  );
  await page.getByLabel('Max overhead').selectOption('1');
  await until('the bound in the store', () =>
    page.evaluate('window.__pagescope.useApp.getState().maxOverheadPct === 1'),
  );
  expect(await page.getByTestId('rate').textContent()).toMatch(/^every \d+ ms/);
  // And unbounded again (under a 1% bound the interval may be lengthened up to 64x, 6.4 s).
  await page.getByLabel('Max overhead').selectOption('');
  await until('no bound in the store', () =>
    page.evaluate('window.__pagescope.useApp.getState().maxOverheadPct === null'),
  );
  const tickNow = async (): Promise<number> =>
    Number(await page.evaluate('window.__pagescope.frameHub.latest?.tick ?? 0'));
  // Still in view ten ticks later, while the demo's address space keeps changing. Awaited: the
  // canvas says what the last draw showed and the store may already hold a newer VMA table, whose
  // first frame is drawn a moment later. A view left behind (the heatmap once anchored through a
  // draw of the new table with the old frame: view-anchor.ts's followSpace) stays behind.
  const tickThen = await tickNow();
  await until('ten more ticks', async () => (await tickNow()) >= tickThen + 10);
  await focusedInView('the focused VMA still in view ten ticks later', 5000);
  step(
    `focused VMA in view ten ticks later; draws that kept the drawn VMA table for a newer one's ` +
      `first frame so far: ${await heatmap.getAttribute('data-table-waits')} (measured, not asserted)`,
  );
  await shot('demo-writes');

  // Look at a past tick on the timeline, then go back to live.
  const box = (await timeline.boundingBox())!;
  await page.mouse.click(box.x + box.width * 0.5, box.y + box.height / 2);
  await page.getByText(/Looking at tick \d+/).waitFor();
  await page.getByRole('button', { name: 'Live' }).click();

  step('looked back');
  // Reset written: the write heat restarts. Every heat slot afterwards was last written after
  // the click (or never) and counts at most the ticks since; heat kept from before the reset
  // has slots written at or before that tick, with counts from many ticks. The store is marked
  // so that a new one (a VMA table of another size starts one) cannot pass for a reset.
  const heatSince = (tick: number): Promise<string> =>
    page.evaluate(`(() => {
      const hub = window.__pagescope.frameHub;
      const h = hub.heat, now = hub.latest.tick;
      if (!h.marked) return 'a new heat store (the VMA table changed size)';
      let written = 0, stale = 0;
      for (let s = 0; s < h.lastTick.length; s++) {
        if (h.lastTick[s] < 0) continue;
        written++;
        if (h.lastTick[s] <= ${tick} || h.count[s] > now - ${tick}) stale++;
      }
      return written + ' written, ' + stale + ' from before';
    })()`);
  // The demo grows a region now and then: a VMA table of another size starts a new heat store,
  // which cannot tell a reset from a fresh start, so then the store is marked and reset again.
  let clickTick = 0;
  const markAndReset = async (): Promise<void> => {
    await page.evaluate('window.__pagescope.frameHub.heat.marked = true');
    clickTick = await tickNow();
    await until('heat from before the reset', async () =>
      /^[1-9]\d* written, [1-9]\d* from before$|^a new heat store/.test(await heatSince(clickTick)),
    );
    await page.getByRole('button', { name: 'Reset written' }).click();
  };
  await markAndReset();
  let seen = '';
  await until(
    () => `the write heat to restart (heat: ${seen})`,
    async () => {
      seen = await heatSince(clickTick);
      if (seen.startsWith('a new heat store')) await markAndReset();
      return / 0 from before$/.test(seen);
    },
    40_000,
  );
  step('reset written');
  await page.getByRole('button', { name: 'Stop watching' }).click();
  await until('the status line to stop counting writes', async () =>
    /^Tick \d+/.test(await statusText(page)),
  );
  expect(await page.getByRole('alert').count()).toBe(0);

  // The target keeps running and holds no trace of the watch.
  expect(alive(pid)).toBe(true);
  const traces = await until(
    'the target to be clean',
    () => (tracesLeft(pid).length === 0 ? 'clean' : ''),
    10_000,
  ).catch(() => tracesLeft(pid).join('; '));
  expect(traces).toBe('clean');

  step('stopped watching, target clean');
  const draws = await page.evaluate(() =>
    performance.getEntriesByName('pagescope:heatmap-draw').map((e) => e.duration),
  );
  const sorted = [...draws].sort((a, b) => a - b);
  console.log(
    `heatmap draws: ${draws.length}, median ${sorted[sorted.length >> 1]?.toFixed(2)} ms (measured, not asserted)`,
  );
  await page.getByRole('button', { name: /detach/i }).click();
  await until('the demo to end', () => !alive(pid), 10_000);
}

/**
 * The README's first minute with the keyboard alone — launch the demo, pick the sweep, watch
 * its writes, stop — counting every key press. Waits are for conditions, never for time.
 */
export async function keyboardFirstMinute(
  page: Page,
): Promise<{ presses: number; keys: string[] }> {
  const keys: string[] = [];
  const press = async (key: string) => {
    keys.push(key);
    await page.keyboard.press(key);
  };
  const focused = (): Promise<string> =>
    page.evaluate(`(() => {
      const e = document.activeElement;
      if (!e || e === document.body) return '';
      return (e.textContent || '').trim().slice(0, 40) + ' | ' + (e.getAttribute('role') || e.tagName);
    })()`);

  // Tab to "Launch demo" (past the header's help button and any notes), Enter.
  for (let i = 0; i < 8 && !/^Launch demo/.test(await focused()); i++) await press('Tab');
  expect(await focused()).toMatch(/^Launch demo/);
  await press('Enter');
  // Focus moves to the demo guide's regions, "sweep" first.
  await until('focus on the demo regions', async () => /^sweep \|/.test(await focused()), 60_000);
  await screenshot(page, 'keyboard-demo-regions');
  await press('Enter');
  const row = page.getByTestId('memory-map').getByRole('option', { selected: true });
  await until('the sweep picked', async () => /demo: sweep/.test((await row.textContent()) ?? ''));
  await press('w');
  await until(
    'written pages counted',
    async () => (writtenFromStatus(await statusText(page)) ?? 0) > 0,
    60_000,
  );
  // Frames can count writes a moment before the watch's answer arrives: "s" acts once the UI
  // knows it is watching (as the enabled "Stop watching" button shows).
  await until('"Stop watching" enabled', () =>
    page.getByRole('button', { name: 'Stop watching' }).isEnabled(),
  );
  await screenshot(page, 'keyboard-watching');
  await press('s');
  await until(
    'the status line to stop counting writes',
    async () => /^Tick \d+/.test(await statusText(page)),
    60_000,
  );
  return { presses: keys.length, keys };
}
