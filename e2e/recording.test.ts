/**
 * Recordings in the UI end to end: real Chromium, the real web host (`pagescope serve FILE`). The
 * served recording opens at once, attached to nothing, under its banner; the timeline holds all
 * of it; scrubbing (pointer on the timeline, arrows on the position slider) and playing move
 * through its ticks; two ticks are compared (the diff colour mode, the counts known from the
 * file's construction); the heatmap exports as a PNG and the tables as CSV; the analytics panel
 * fills; an uploaded garbage file gives one clear error and a cut-short file opens marked so;
 * and axe finds nothing in the replay view.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { axeViolations, describeViolations } from './axe.ts';
import {
  alive,
  chromiumMissing,
  ensureRendererBuilt,
  heatmapColours,
  launchBrowser,
  screenshot,
  sessionPid,
  startHost,
  until,
  type Host,
} from './helpers.ts';
import { FIXTURE_TICKS, writeFixtureRecording } from './recording-fixture.ts';

/** A python3 that owns 8 MiB and touches one more page of it every 10 ms. */
const PYTHON_WRITER = `
import time
buf = bytearray(8 * 1024 * 1024)
print('ready', flush=True)
i = 0
while True:
    buf[(i * 4096) % len(buf)] = 1
    i += 1
    time.sleep(0.01)
`;

const missing = chromiumMissing();
if (missing) console.log(`e2e/recording.test.ts: ${missing}`);

async function position(page: Page): Promise<number> {
  const t = (await page.getByTestId('replay-position').textContent()) ?? '';
  const m = /^(\d+) \/ (\d+)/.exec(t);
  if (!m) throw new Error(`no position in "${t}"`);
  return Number(m[1]);
}

async function download(page: Page, click: () => Promise<void>, dir: string): Promise<string> {
  const [d] = await Promise.all([page.waitForEvent('download'), click()]);
  const file = path.join(dir, d.suggestedFilename());
  await d.saveAs(file);
  return file;
}

describe.skipIf(missing !== null)('recordings in Chromium through the web host', () => {
  let dir: string;
  let file: string;
  let host: Host;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    ensureRendererBuilt();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagescope-e2e-rec-'));
    file = path.join(dir, 'made-up.pgsrec');
    writeFixtureRecording(file);
    host = await startHost([file, '--recordings', path.join(dir, 'made')]);
    browser = await launchBrowser();
    // bypassCSP: axe is injected as a script tag (as in a11y.test.ts).
    page = await browser.newPage({
      viewport: { width: 1400, height: 1000 },
      colorScheme: 'dark',
      bypassCSP: true,
    });
    page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
    await page.goto(host.url);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await host?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('opens the served recording, scrubs it, plays it, compares two ticks, exports PNG and CSV', async () => {
    // Opened at once, attached to nothing, clearly a recording.
    const banner = page.getByTestId('recording-banner');
    await banner.waitFor({ timeout: 30_000 });
    expect(await banner.textContent()).toMatch(
      /Recording made-up\.pgsrec — recorded .* from pid 4242 \(made-up\) · 40 ticks/,
    );
    const heatmap = page.locator('canvas[data-testid="heatmap"]');
    await until('the heatmap to draw', async () =>
      /pages shown/.test((await heatmap.getAttribute('aria-label')) ?? ''),
    );
    await until('colours on the heatmap', async () => (await heatmapColours(page)) >= 2);
    // The timeline holds the whole recording.
    const timeline = page.locator('canvas[data-testid="timeline"]');
    await until(
      'the whole recording on the timeline',
      async () => Number(await timeline.getAttribute('data-ticks')) === FIXTURE_TICKS,
    );
    expect(await position(page)).toBe(1);
    await screenshot(page, 'recording-opened');

    // Scrub with the pointer: the middle of the timeline is about the middle tick.
    const box = (await timeline.boundingBox())!;
    await page.mouse.click(box.x + box.width * 0.5, box.y + box.height / 2);
    await until('the replay to follow the timeline', async () => {
      const p = await position(page);
      return p > 10 && p < 30;
    });
    // The status line shows the tick looked at (position p is tick p in this file).
    const at = await position(page);
    await until('the status of that tick', async () =>
      (await page.getByRole('status').textContent())?.startsWith(
        `40 written pages in tick ${at} ·`,
      ),
    );
    // Scrub with the keyboard: the position slider steps one tick per arrow.
    const slider = page.getByRole('slider', { name: 'Position in the recording' });
    await slider.focus();
    await page.keyboard.press('ArrowRight');
    await until('one tick on', async () => (await position(page)) === at + 1);
    // The memory map's counts are those of the tick shown, not of a frame before it.
    await until('the memory map to show that tick', () =>
      page.evaluate(
        `document.querySelector('[data-counts-tick]')?.dataset.countsTick === String(window.__pagescope.frameHub.latest?.tick)`,
      ),
    );

    // Play at 16x to the end; it stops there.
    await page.getByRole('combobox', { name: 'Playback speed' }).selectOption('16');
    await page.getByRole('button', { name: 'Play' }).click();
    await until(
      'the end of the recording',
      async () => (await position(page)) === FIXTURE_TICKS,
      30_000,
    );
    await page.getByRole('button', { name: 'Play' }).waitFor();

    // Compare tick positions 4 and 29 (ticks 5 and 30): 25 stripes of 40 pages became present
    // and were written in between.
    await page.getByLabel(/^Tick A/).fill('4');
    await page.getByLabel(/^Tick B/).fill('29');
    await page.getByRole('button', { name: 'Compare', exact: true }).click();
    const summary = page.getByTestId('compare-summary');
    await summary.waitFor();
    expect(await summary.textContent()).toMatch(
      /From tick 5 to tick 30: 1,000 pages became present, 0 swapped, 0 not present; 1,000 written in between/,
    );
    expect(await page.getByRole('radio', { name: 'Compare' }).getAttribute('aria-checked')).toBe(
      'true',
    );
    expect(await page.getByRole('button', { name: /Became present/ }).count()).toBe(1);
    await until('the diff on the heatmap', async () =>
      /in diff mode/.test((await heatmap.getAttribute('aria-label')) ?? ''),
    );
    await screenshot(page, 'recording-compare');

    // Exports: the heatmap as PNG, the per-VMA changes as CSV.
    const png = await download(
      page,
      () => page.getByRole('button', { name: 'Export PNG' }).click(),
      dir,
    );
    const pngBytes = fs.readFileSync(png);
    expect(
      pngBytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])),
    ).toBe(true);
    expect(pngBytes.length).toBeGreaterThan(1000);
    const compareSection = page.getByRole('region', { name: 'Compare two ticks' });
    const csv = await download(
      page,
      () => compareSection.getByRole('button', { name: 'Export CSV' }).click(),
      dir,
    );
    const lines = fs.readFileSync(csv, 'utf8').trim().split('\n');
    expect(lines[0]).toBe(
      'vma,start,end,path,label,present_a,present_b,swapped_a,swapped_b,written_between',
    );
    expect(lines).toContain('1,0x7f0000000000,0x7f0000640000,,made-up heap,200,1200,0,0,1000');

    // Analytics of the recording, and its table as CSV.
    await page.getByRole('button', { name: 'Compute analytics' }).click();
    const analytics = page.getByTestId('analytics-summary');
    await analytics.waitFor();
    expect(await analytics.textContent()).toMatch(/Pre-copy estimate .* \(an estimate/);
    const vmaCsv = await download(
      page,
      () =>
        page
          .getByRole('region', { name: 'Write working set' })
          .getByRole('button', { name: 'Export CSV' })
          .click(),
      dir,
    );
    const vmaLines = fs.readFileSync(vmaCsv, 'utf8').trim().split('\n');
    expect(vmaLines[0]).toMatch(/^start,end,path,label,page_writes,distinct_pages/);
    // 40 ticks x 40 pages written, 1600 distinct pages, all in the heap.
    expect(vmaLines[1]).toMatch(/^0x7f0000000000,0x7f0000640000,,made-up heap,1600,1600,/);

    // Nothing for axe to find in the replay view.
    const violations = await axeViolations(page);
    expect(violations, describeViolations(violations)).toEqual([]);
  }, 180_000);

  it('an uploaded garbage file gets one clear error; a cut-short one opens marked so', async () => {
    await page.getByRole('button', { name: 'Close recording' }).click();
    const input = page.getByLabel('Recording file');
    await input.waitFor();
    const junk = path.join(dir, 'junk.pgsrec');
    fs.writeFileSync(junk, 'this is not a recording');
    await input.setInputFiles(junk);
    const alert = page.getByRole('alert').filter({ hasText: 'junk.pgsrec' });
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/junk\.pgsrec is not a pagescope recording/);
    expect(await page.getByTestId('recording-banner').count()).toBe(0);
    const cut = path.join(dir, 'cut.pgsrec');
    const bytes = fs.readFileSync(file);
    fs.writeFileSync(cut, bytes.subarray(0, bytes.length - 100));
    await input.setInputFiles(cut);
    const banner = page.getByTestId('recording-banner');
    await banner.waitFor();
    expect(await banner.textContent()).toMatch(/cut\.pgsrec .* · cut short/);
  }, 60_000);

  it('records a live process from the UI, takes two snapshots, compares them, downloads the file', async () => {
    await page.getByRole('button', { name: 'Close recording' }).click();
    const py = spawn('python3', ['-c', PYTHON_WRITER], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise((resolve) => py.stdout!.once('data', resolve));
      const pid = py.pid!;
      await page.getByLabel('Find process').fill(String(pid));
      await until('the refreshed list', async () => {
        await page.getByRole('button', { name: 'Refresh the process list' }).click();
        return (await page.locator('.proc-row', { hasText: String(pid) }).count()) > 0;
      });
      await page
        .locator('.proc-row', { hasText: String(pid) })
        .first()
        .click();
      await until('the session', async () => (await sessionPid(page)) === pid);
      await page.getByRole('button', { name: 'Record', exact: true }).click();
      const status = page.getByTestId('live-recording');
      await status.waitFor();
      expect(await status.textContent()).toContain(path.join(dir, 'made'));
      const snapshot = page.getByRole('button', { name: 'Take snapshot' });
      await until('a first snapshot', async () => {
        await snapshot.click();
        return /1 snapshot/.test((await status.textContent()) ?? '');
      });
      const recorded = async () =>
        Number(/Recording (\d+) ticks/.exec((await status.textContent()) ?? '')?.[1] ?? 0);
      const n0 = await recorded();
      await until('five more ticks recorded', async () => {
        await snapshot.click(); // refreshes the count; the last one is the second snapshot
        return (await recorded()) >= n0 + 5;
      });
      await page.getByRole('button', { name: 'Compare', exact: true }).click();
      const summary = page.getByTestId('compare-summary');
      await summary.waitFor();
      expect(await summary.textContent()).toMatch(
        /^From tick \d+ to tick \d+: [\d,]+ pages became present/,
      );
      await page.getByRole('button', { name: 'Stop recording' }).click();
      const saved = await download(
        page,
        () => page.getByRole('button', { name: 'Download recording' }).click(),
        dir,
      );
      const made = fs.readdirSync(path.join(dir, 'made'));
      expect(made).toHaveLength(1);
      expect(fs.readFileSync(saved).equals(fs.readFileSync(path.join(dir, 'made', made[0])))).toBe(
        true,
      );
      expect(fs.readFileSync(saved).subarray(0, 8).toString('latin1')).toBe('\x89PGSREC\n');
      expect(alive(pid)).toBe(true);
    } finally {
      py.kill('SIGKILL');
    }
  }, 120_000);
});
