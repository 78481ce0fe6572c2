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
  procRef,
  sameProcess,
  signalIfSame,
  type ProcRef,
  boxesOverFrames,
  chromiumMissing,
  heatmapColours,
  movingControls,
  screenshot,
  sessionPid,
  until,
  type Host,
} from './helpers.ts';
import { appRig, openPage } from './app-rig.ts';
import {
  FIXTURE_TICKS,
  IRREGULAR,
  irregularTimes,
  NUMBERED_FIRST_TICK,
  numberedPresent,
  numberedWrites,
  writeFixtureRecording,
  writeIrregularRecording,
  writeNumberedFixture,
} from './recording-fixture.ts';

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
import { limit } from '../testing/wait.ts';

const missing = chromiumMissing();
if (missing) console.log(`e2e/recording.test.ts: ${missing}`);

/** The tick the replay bar says it shows ("tick 9 of 1–40"). */
async function position(page: Page): Promise<number> {
  const t = (await page.getByTestId('replay-position').textContent()) ?? '';
  const m = /^tick (\d+) of (\d+)–(\d+)$/.exec(t.replace(/\s+/g, ' ').trim());
  if (!m) throw new Error(`no tick in "${t}"`);
  return Number(m[1]);
}

/** A count in a text such as "1,024 wr", or NaN. */
const countOf = (text: string, unit: string): number =>
  Number(new RegExp(`([\\d,]+) ${unit}`).exec(text)?.[1].replace(/,/g, '') ?? NaN);

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
  const rig = appRig();

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagescope-e2e-rec-'));
    file = path.join(dir, 'made-up.pgsrec');
    writeFixtureRecording(file);
    // bypassCSP: axe is injected as a script tag (as in a11y.test.ts).
    ({ host, browser, page } = await rig.start([file, '--recordings', path.join(dir, 'made')], {
      colorScheme: 'dark',
      bypassCSP: true,
    }));
    await page.goto(host.url);
  });

  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('opens the served recording, scrubs it, plays it, compares two ticks, exports PNG and CSV', async () => {
    // Opened at once, attached to nothing, clearly a recording.
    const banner = page.getByTestId('recording-banner');
    await banner.waitFor({ timeout: limit(30_000) });
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
    await until('the first tick shown', async () => (await position(page).catch(() => 0)) === 1);
    await screenshot(page, 'recording-opened');

    // Scrub with the pointer: the middle of the timeline is about the middle tick.
    const box = (await timeline.boundingBox())!;
    await page.mouse.click(box.x + box.width * 0.5, box.y + box.height / 2);
    await until('the replay to follow the timeline', async () => {
      const p = await position(page);
      return p > 10 && p < 30;
    });
    // The status line shows the tick looked at.
    const at = await position(page);
    await until('the status of that tick', async () =>
      (await page.getByRole('status').textContent())?.startsWith(
        `40 written pages in tick ${at} ·`,
      ),
    );
    // Scrub with the keyboard: the position slider steps one tick per arrow.
    const slider = page.getByRole('slider', { name: 'Tick shown' });
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

    // Compare ticks 5 and 30 (typed as the tick numbers they are): 25 stripes of 40 pages became
    // present and were written in ticks 6 to 30.
    await page.getByLabel(/^Tick A/).fill('5');
    await page.getByLabel(/^Tick B/).fill('30');
    await page.getByRole('button', { name: 'Compare', exact: true }).click();
    const summary = page.getByTestId('compare-summary');
    await summary.waitFor();
    expect(await summary.textContent()).toMatch(
      /From tick 5 to tick 30: 1,000 pages became present, 0 swapped, 0 not present; 1,000 written in ticks 6–30/,
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
  });

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
  });

  it('the analytics of a recording whose ticks came late show the real rate and the gaps', async () => {
    await page.getByRole('button', { name: 'Close recording' }).click();
    const input = page.getByLabel('Recording file');
    await input.waitFor();
    const late = path.join(dir, 'late.pgsrec');
    writeIrregularRecording(late);
    await input.setInputFiles(late);
    await page.getByTestId('recording-banner').filter({ hasText: 'late.pgsrec' }).waitFor();
    await page.getByRole('button', { name: 'Compute analytics' }).click();
    const timing = page.getByTestId('analytics-timing');
    await timing.waitFor();
    const times = irregularTimes();
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    const mean = (times[times.length - 1] - times[0]) / gaps.length;
    const text = ((await timing.textContent()) ?? '').replace(/\s+/g, ' ');
    expect(text).toContain(`${times.length} ticks, asked every ${IRREGULAR.intervalMs} ms`);
    expect(text).toContain(`came every ${mean.toFixed(0)} ms (mean; median`);
    const over = gaps.filter((g) => g > 2 * IRREGULAR.intervalMs).length;
    expect(text).toContain(
      `${over} gaps over 2x the interval, the longest 5.0 s (before tick ${IRREGULAR.gapTick}).`,
    );
    // The 60 s window is longer than the ~20 s run: n/a; the 1 s peak spans the 5 s gap: marked.
    const table = page.getByRole('table', { name: 'Distinct pages written per window' });
    const row = async (name: string): Promise<string> =>
      (
        (await table
          .locator('tr', { has: page.getByRole('rowheader', { name, exact: true }) })
          .textContent()) ?? ''
      ).trim();
    expect(await row('60 s')).toMatch(/^60 sn\/an\/an\/an\/a \(longer than the run\)/);
    expect(await row('1 s')).toMatch(/\*\d+ of \d+$/);
    // The dirty rate is the log's bytes per second: 500 pages/s, 1.95 MiB/s.
    expect(await page.getByTestId('analytics-summary').textContent()).toMatch(
      /Dirty rate \(bytes written per second of wall time\): mean 1\.95 MiB\/s/,
    );
    await screenshot(page, 'recording-late-analytics');
  });

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
  });
  it('every view names the same tick, however the replay moves; compare and per-VMA wr agree with the file', async () => {
    // A recording made from tick 101 on (a tick's number is not its position), writing 0, 8,
    // 16, 24, 0, ... heap pages per tick: a view off by one tick shows another count.
    const p = await openPage(browser);
    const first = NUMBERED_FIRST_TICK;
    const last = NUMBERED_FIRST_TICK + FIXTURE_TICKS - 1;
    try {
      await p.goto(host.url);
      await p.getByTestId('recording-banner').waitFor({ timeout: limit(30_000) });
      await p.getByRole('button', { name: 'Close recording' }).click();
      const numbered = path.join(dir, 'numbered.pgsrec');
      writeNumberedFixture(numbered);
      await p.getByLabel('Recording file').setInputFiles(numbered);
      await until('the numbered recording', async () =>
        /numbered\.pgsrec/.test((await p.getByTestId('recording-banner').textContent()) ?? ''),
      );
      // The header offers what fits a recording: closing it, not detaching from a process.
      expect(await p.getByRole('button', { name: /detach/i }).count()).toBe(0);
      expect(
        await p.getByRole('banner').getByRole('button', { name: 'Close recording' }).count(),
      ).toBe(1);

      const slider = p.getByRole('slider', { name: 'Tick shown' });
      const heapRow = p.locator('.vma-row', { hasText: 'made-up heap' });
      const timelineHead = p.locator('.timeline-head .scrub');
      /** What each view says, as one line (for the failure message). */
      let seen = '';
      const views = async () => {
        const [now, text, min, max, readout, status, timeline, row, mapTick] = await Promise.all([
          slider.inputValue(),
          slider.getAttribute('aria-valuetext'),
          slider.getAttribute('min'),
          slider.getAttribute('max'),
          position(p).catch(() => NaN),
          p.getByTestId('status').textContent(),
          timelineHead.textContent(),
          heapRow.locator('[data-counts]').textContent(),
          p.getByTestId('memory-map').getAttribute('data-counts-tick'),
        ]);
        seen = `slider ${now} (${text}, ${min}–${max}); bar tick ${readout}; status "${status}"; timeline "${timeline}"; heap row "${row}" at tick ${mapTick}`;
        return { now, text, min, max, readout, status, timeline, row: row ?? '', mapTick };
      };
      /** Every view shows tick `tick`, with the file's counts for it. */
      const agreeAt = (tick: number) =>
        until(
          () => `every view at tick ${tick} (seen: ${seen})`,
          async () => {
            const v = await views();
            return (
              v.now === String(tick) &&
              v.text === `tick ${tick} of ${first} to ${last}` &&
              v.min === String(first) &&
              v.max === String(last) &&
              v.readout === tick &&
              v.status?.startsWith(`${numberedWrites(tick)} written pages in tick ${tick} ·`) &&
              v.timeline?.replace(/\s+/g, ' ').startsWith(`Tick ${tick} ·`) &&
              v.mapTick === String(tick) &&
              countOf(v.row, 'res') === numberedPresent(tick) &&
              countOf(v.row, 'wr') === numberedWrites(tick)
            );
          },
        );
      await agreeAt(first);

      // Typed: "Go to tick 110" shows tick 110.
      const goTo = p.getByLabel('Go to tick');
      await goTo.fill('110');
      await goTo.press('Enter');
      await agreeAt(110);
      // A number that is not one of the recording's ticks: one sentence, and nothing moves.
      await goTo.fill('10');
      await goTo.press('Enter');
      const alert = p.getByRole('alert').filter({ hasText: 'no tick 10:' });
      await alert.waitFor();
      expect(await alert.textContent()).toContain(
        `The recording has no tick 10: its ticks are numbered ${first} to ${last}.`,
      );
      await alert.getByRole('button', { name: 'Dismiss' }).click();
      await agreeAt(110);

      // Keyboard, on the slider: one tick per arrow, Home and End to the ends.
      await slider.focus();
      await p.keyboard.press('ArrowRight');
      await agreeAt(111);
      await p.keyboard.press('ArrowLeft');
      await p.keyboard.press('ArrowLeft');
      await agreeAt(109);
      await p.keyboard.press('End');
      await agreeAt(last);
      await p.keyboard.press('Home');
      await agreeAt(first);

      // Pointer, on the slider: a quarter of the way along is about a quarter of the ticks.
      const box = (await slider.boundingBox())!;
      await p.mouse.click(box.x + box.width * 0.25, box.y + box.height / 2);
      const at = await until('the slider to move', async () => {
        const n = Number(await slider.inputValue());
        return n > first + 3 && n < last - 3 ? n : 0;
      });
      await agreeAt(at);

      // Compare the tick before with this one, typed as tick numbers: the writes counted are
      // this tick's, as the memory map's wr says, and the comparison shows tick B.
      await p.getByLabel(/^Tick A/).fill(String(at - 1));
      await p.getByLabel(/^Tick B/).fill(String(at));
      await p.getByRole('button', { name: 'Compare', exact: true }).click();
      const summary = p.getByTestId('compare-summary');
      const w = numberedWrites(at);
      await until('the comparison', async () =>
        ((await summary.textContent()) ?? '').startsWith(
          `From tick ${at - 1} to tick ${at}: 40 pages became present, 0 swapped, 0 not present; ${w} written in tick ${at}`,
        ),
      );
      const table = p.getByRole('table', { name: 'Per-VMA changes' });
      expect(await table.getByRole('columnheader', { name: `Written in tick ${at}` }).count()).toBe(
        1,
      );
      const heapChange = table.getByRole('row', { name: /made-up heap/ });
      if (w > 0) expect(await heapChange.locator('td').last().textContent()).toBe(String(w));
      await agreeAt(at);

      // Over several ticks: from tick 101 to tick 110, the writes of ticks 102 to 110.
      await p.getByLabel(/^Tick A/).fill(String(first));
      await p.getByLabel(/^Tick B/).fill('110');
      await p.getByRole('button', { name: 'Compare', exact: true }).click();
      let sum = 0;
      for (let t = first + 1; t <= 110; t++) sum += numberedWrites(t);
      await until('the longer comparison', async () =>
        ((await summary.textContent()) ?? '').startsWith(
          `From tick ${first} to tick 110: 360 pages became present, 0 swapped, 0 not present; ${sum} written in ticks ${first + 1}–110`,
        ),
      );
      await agreeAt(110);

      // Playing: the tick changes every frame, and no control moves for it.
      await p.getByRole('combobox', { name: 'Playback speed' }).selectOption('0.5');
      await p.getByRole('button', { name: 'Play' }).click();
      await until('playing', async () => (await position(p).catch(() => 0)) > 111);
      expect(await movingControls(p)).toEqual([]);
      // (It may have reached the end, and stopped, on a slow machine.)
      await p
        .getByRole('button', { name: 'Pause' })
        .click({ timeout: limit(5_000) })
        .catch(() => undefined);
      const stopped = await until('paused', async () =>
        (await p.getByRole('button', { name: 'Play' }).count()) ? await position(p) : 0,
      );
      await agreeAt(stopped);
      expect(await p.getByRole('alert').count()).toBe(0);
    } finally {
      await p.close();
    }
  });

  it('the recording controls hold still while a live session ticks fast: each click lands the first time', async (ctx) => {
    // A fresh page: the served recording opens at once; close it and launch the demo.
    const live = await openPage(browser);
    // No force: Playwright's checks (visible, stable, enabled) must pass. A control that never
    // holds still fails whatever the time allowed; the time is far shorter than the test's, and
    // generous for a loaded machine (a click took up to 8 s at load 17 on 2 cores, 0.1 s idle).
    const CLICK = { timeout: limit(15_000) };
    let pid = 0;
    let demo: ProcRef | null = null;
    const t0 = Date.now();
    const step = (what: string) =>
      console.log(`[controls] ${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`);
    try {
      await live.goto(host.url);
      await live.getByRole('button', { name: 'Close recording' }).click(CLICK);
      await live.getByRole('button', { name: 'Launch demo' }).click();
      const heatmap = live.locator('canvas[data-testid="heatmap"]');
      await until('the heatmap to draw', async () =>
        /pages shown/.test((await heatmap.getAttribute('aria-label')) ?? ''),
      );
      pid = await sessionPid(live);
      demo = procRef(pid);
      await live.getByLabel('Interval').selectOption('100');
      const tick = async () =>
        Number(await live.evaluate('window.__pagescope.frameHub.latest?.tick ?? 0'));
      const tick0 = await tick();
      await until('five ticks at 100 ms', async () => (await tick()) >= tick0 + 5);
      step('ticking at 100 ms');
      if (!(await live.getByTestId('rate').textContent())?.startsWith('every 100 ms'))
        ctx.skip('the interval did not change to 100 ms');

      const exportPng = live.getByRole('button', { name: 'Export PNG' });
      const record = live.getByRole('button', { name: 'Record', exact: true });
      const snapshot = live.getByRole('button', { name: 'Take snapshot' });
      // Nothing a user can click moves over 60 frames (6 ticks) while the ticks come: the bars'
      // buttons, the legend's toggles (their counts change every tick), the controls.
      expect(await movingControls(live)).toEqual([]);
      const before = [
        await boxesOverFrames(record, 2),
        await boxesOverFrames(snapshot, 2),
        await boxesOverFrames(exportPng, 2),
      ];
      step('still before recording');

      await record.click(CLICK);
      const status = live.getByTestId('live-recording');
      await until('the recording line', async () =>
        /^Recording \d+ ticks/.test((await status.textContent()) ?? ''),
      );
      // The recording line appeared: nothing moved, and nothing moves while it records.
      const stop = live.getByRole('button', { name: 'Stop recording' });
      expect(await movingControls(live)).toEqual([]);
      // Record became Stop recording in the same box; Take snapshot and Export PNG stayed put.
      expect([
        await boxesOverFrames(stop, 2),
        await boxesOverFrames(snapshot, 2),
        await boxesOverFrames(exportPng, 2),
      ]).toEqual(before);
      step('still while recording');

      await snapshot.click(CLICK);
      step('snapshot clicked');
      await until('the snapshot', async () =>
        /· 1 snapshot/.test((await status.textContent()) ?? ''),
      );
      step('snapshot taken');
      const png = await download(live, () => exportPng.click(CLICK), dir);
      step('png downloaded');
      expect(path.extname(png)).toBe('.png');
      await stop.click(CLICK);
      step('stop clicked');
      await until('the recording stopped', async () =>
        /^Recorded \d+ ticks/.test((await status.textContent()) ?? ''),
      );
      const downloadButton = live.getByRole('button', { name: 'Download recording' });
      expect(await boxesOverFrames(downloadButton), 'Download recording moved').toHaveLength(1);
      const saved = await download(live, () => downloadButton.click(CLICK), dir);
      expect(fs.readFileSync(saved).subarray(0, 8).toString('latin1')).toBe('\x89PGSREC\n');
      expect(await live.getByRole('alert').count()).toBe(0);
      step('every click landed');
    } finally {
      if (pid) {
        await live
          .getByRole('button', { name: /detach/i })
          .click(CLICK)
          .catch(() => undefined);
        await until('the demo to end', () => !sameProcess(demo), 10_000).catch(() =>
          signalIfSame(demo),
        );
      }
      await live.close();
    }
  });
});
