/**
 * "Who writes" in real Chromium through the real web host (issue 23): attach to the C fixture
 * (two threads writing two ranges from fill_alpha and fill_beta), watch both ranges, turn on
 * "Who writes" in the Writers panel, and both functions and both threads are listed with their
 * pages; the keyboard cursor on a written VMA names its writers in the tooltip and the live
 * region; picking fill_alpha lights the heatmap cells of range A and none of range B (the "by
 * writer" colour mode), Escape clears it; axe reports nothing.
 */
import fs from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWhoWriter, PAGES, WhoWriter } from '../testing/who-target.ts';
import { axeViolations, describeViolations } from './axe.ts';
import { chromiumMissing, screenshot, sessionPid, until, type Host } from './helpers.ts';
import { appRig } from './app-rig.ts';

const missing = chromiumMissing();
if (missing !== null) it('who writes in the UI', (ctx) => ctx.skip(missing));

describe.skipIf(missing !== null)('who writes in the UI', () => {
  let host: Host;
  let page: Page;
  let build: ReturnType<typeof buildWhoWriter>;
  let w: WhoWriter;
  const rig = appRig();

  beforeAll(async () => {
    build = buildWhoWriter();
    w = await WhoWriter.start(build.exe);
    // axe is injected: the page's CSP (script-src 'self') would refuse it.
    ({ host, page } = await rig.start([], { colorScheme: 'dark', bypassCSP: true }));
  });

  afterAll(() => {
    w?.kill();
    if (build) fs.rmSync(build.dir, { recursive: true, force: true });
  });

  it('lists both writing functions and threads with their pages, axe clean', async (ctx) => {
    await page.goto(host.url);
    await page.getByLabel('Find process').fill(String(w.pid));
    await until('the process in the list', async () => {
      await page.getByRole('button', { name: 'Refresh the process list' }).click();
      return (await page.locator('.proc-row', { hasText: String(w.pid) }).count()) > 0;
    });
    await page
      .locator('.proc-row', { hasText: String(w.pid) })
      .first()
      .click();
    await until('the session', async () => (await sessionPid(page)) === w.pid);
    // Watch both ranges (the panel names the writers of watched pages).
    const hex = (n: number) => `0x${n.toString(16)}`;
    const ranges = [w.rangeA, w.rangeB].map((s) => ({ start: hex(s), end: hex(s + PAGES * 4096) }));
    await page.evaluate(
      `(async () => {
        const s = window.__pagescope.useApp.getState();
        await s.bridge.request('watch', { sessionId: s.session.sessionId, ranges: ${JSON.stringify(ranges)} });
      })()`,
    );
    const panel = page.getByRole('region', { name: 'Writers' });
    const toggle = panel.getByRole('button', { name: 'Who writes' });
    expect(await toggle.getAttribute('aria-pressed')).toBe('false');
    await toggle.click();
    await until('the toggle to settle', async () => {
      if (await panel.getByTestId('who-refused').count()) return true;
      return (await toggle.getAttribute('aria-pressed')) === 'true';
    });
    const refused = panel.getByTestId('who-refused');
    if (await refused.count()) ctx.skip(`perf refused here: ${await refused.textContent()}`);

    const functions = panel.getByTestId('writers-functions');
    const threads = panel.getByTestId('writers-threads');
    await until(
      'both functions and both threads in the panel',
      async () => {
        await w.run('go');
        const f = (await functions.count()) ? await functions.textContent() : '';
        const t = (await threads.count()) ? await threads.textContent() : '';
        return (
          /fill_alpha/.test(f ?? '') &&
          /fill_beta/.test(f ?? '') &&
          /writer-a/.test(t ?? '') &&
          /writer-b/.test(t ?? '')
        );
      },
      60_000,
    );
    // Each function's row, read as a screen reader does: its row header and its cells.
    const alpha = functions.getByRole('row', { name: /fill_alpha/ });
    const cells = await alpha.getByRole('cell').allTextContents();
    expect(Number(cells[2].replace(/,/g, ''))).toBeGreaterThanOrEqual(PAGES * 0.95);

    // The keyboard cursor on range A's VMA: its tooltip (and its sentence) names the writers of
    // that VMA in the latest tick that wrote there (renderer/src/who/store.ts vmaWritersText).
    // The kernel may merge the two ranges' mappings into one VMA (seen under load, either way
    // round); then both functions write in it and the latest tick's samples may hold either or
    // both (seen: "fill_alpha in writer-a 100%" where B's pages came first), so either is right.
    const vma = (await page.evaluate(`(() => {
      const s = window.__pagescope.useApp.getState();
      const v = s.vmas.find((x) => x.startPage * 4096 <= ${w.rangeA} && ${w.rangeA} < x.endPage * 4096);
      return v ? { start: v.start, first: v.startPage * 4096, end: v.endPage * 4096 } : null;
    })()`)) as { start: string; first: number; end: number } | null;
    expect(vma).not.toBeNull();
    const start = vma!.start;
    const holdsB = vma!.first <= w.rangeB && w.rangeB + PAGES * 4096 <= vma!.end;
    const writer = holdsB
      ? '(fill_alpha in writer-a|fill_beta in writer-b)'
      : 'fill_alpha in writer-a';
    const fn = holdsB ? '(fill_alpha|fill_beta)' : 'fill_alpha';
    await page
      .locator(`.vma-row[title^="${String(start)}"]`)
      .first()
      .click();
    await page.locator('.heatmap').focus();
    const tip = page.getByTestId('heatmap-tip');
    // Right then left, again and again: the cursor stays on the VMA's first cells (walking right
    // on every poll would leave a small VMA behind on a slow machine) and the tip is redrawn.
    let tipText = '';
    let moves = 0;
    await until(
      () => `the tooltip to name the writer (it said: ${JSON.stringify(tipText)})`,
      async () => {
        await page.keyboard.press(moves++ % 2 === 0 ? 'ArrowRight' : 'ArrowLeft');
        tipText = (await tip.textContent()) ?? '';
        return new RegExp(`Latest writers: .*${writer}`).test(tipText);
      },
    );
    await until('the live region to say it', async () =>
      new RegExp(fn).test((await page.getByTestId('heatmap-live').textContent()) ?? ''),
    );

    // By writer: pick fill_alpha; the lit cells are range A's pages, not range B's.
    const pickAlpha = functions.getByRole('button', { name: /fill_alpha/ });
    await pickAlpha.click();
    expect(await pickAlpha.getAttribute('aria-pressed')).toBe('true');
    const canvas = page.getByTestId('heatmap');
    const hostOf = (addr: number): Promise<unknown> =>
      page.evaluate(`(() => {
        const s = window.__pagescope.useApp.getState();
        const p = Math.floor(${addr} / 4096);
        const v = s.vmas.find((x) => x.startPage <= p && p < x.endPage);
        return v ? v.offset + p - v.startPage : null;
      })()`);
    let lit = { cells: 0, span: '', ppc: 0, byVma: '' };
    await until(
      'fill_alpha pages lit on the heatmap',
      async () => {
        await w.run('go');
        // One read of one draw's attributes (the next tick redraws them).
        lit = (await page.evaluate(`(() => {
          const d = document.querySelector('[data-testid="heatmap"]').dataset;
          return {
            cells: Number(d.writerCells ?? 0),
            span: d.writerHostSpan ?? '',
            ppc: Number(d.pagesPerCell),
            byVma: d.writerCellsByVma ?? '{}',
          };
        })()`)) as typeof lit;
        return lit.cells >= (0.95 * PAGES) / lit.ppc;
      },
      60_000,
    );
    const hostA = Number(await hostOf(w.rangeA));
    const hostB = Number(await hostOf(w.rangeB));
    const [first, end] = lit.span.split(',').map(Number);
    // A cell of several pages may hold a page next to the range: one cell's slack each side.
    const slack = lit.ppc - 1;
    expect(first).toBeGreaterThanOrEqual(hostA - slack);
    expect(end).toBeLessThanOrEqual(hostA + PAGES + slack);
    expect(lit.cells).toBeLessThanOrEqual(Math.ceil(PAGES / lit.ppc) + 1);
    // Range B's pages lie outside the lit span (beyond a shared boundary cell).
    expect(hostB + PAGES <= first + slack || hostB >= end - slack).toBe(true);
    const perVma = Object.values(JSON.parse(lit.byVma) as Record<string, number>);
    expect(perVma.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(lit.cells);
    expect(await canvas.getAttribute('aria-label')).toMatch(
      /cells highlighted with pages .*fill_alpha/,
    );
    await until('the legend to key the highlight', async () =>
      /written\s+by fill_alpha/.test((await page.getByTestId('writer-key').textContent()) ?? ''),
    );

    await screenshot(page, 'who-writers-panel');
    let report = '';
    for (const scheme of ['dark', 'light'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      const vs = await axeViolations(page);
      if (vs.length) report += `${scheme}:\n${describeViolations(vs)}\n`;
    }
    expect(report).toBe('');

    // Escape in the panel clears the pick and the highlight.
    await pickAlpha.focus();
    await page.keyboard.press('Escape');
    expect(await pickAlpha.getAttribute('aria-pressed')).toBe('false');
    await until('the highlight to clear', async () => {
      await w.run('go');
      return (await canvas.getAttribute('data-writer-cells')) === null;
    });
    // Picked again, it lights again; Escape on the heatmap clears it too.
    await pickAlpha.click();
    await until('the highlight again', async () => {
      await w.run('go');
      return Number((await canvas.getAttribute('data-writer-cells')) ?? 0) > 0;
    });
    await page.locator('.heatmap').focus();
    await page.keyboard.press('Escape');
    await until('the heatmap Escape to clear it', async () => {
      await w.run('go');
      return (
        (await canvas.getAttribute('data-writer-cells')) === null &&
        (await pickAlpha.getAttribute('aria-pressed')) === 'false'
      );
    });
  });
});
