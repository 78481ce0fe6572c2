/**
 * Accessibility of the main states, in real Chromium through the real web host: axe-core (WCAG 2
 * A/AA + best practices) must report no violation on the first screen, attached to the demo, and
 * watching its writes, each in the dark and the light theme (prefers-color-scheme emulated).
 */
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { axeViolations, describeViolations, type AxeViolation } from './axe.ts';
import {
  alive,
  chromiumMissing,
  sessionPid,
  statusText,
  until,
  writtenFromStatus,
  type Host,
} from './helpers.ts';
import { appRig } from './app-rig.ts';
import { limit } from '../testing/wait.ts';

const missing = chromiumMissing();
if (missing !== null) it('accessibility (axe-core) of the main states', (ctx) => ctx.skip(missing));

describe.skipIf(missing !== null)('accessibility (axe-core) of the main states', () => {
  let host: Host;
  let page: Page;
  const rig = appRig();

  beforeAll(async () => {
    // bypassCSP: the page's Content-Security-Policy (script-src 'self') would refuse the injected
    // axe script; the app's own scripts are unaffected.
    ({ host, page } = await rig.start([], {
      viewport: { width: 1400, height: 860 },
      colorScheme: 'dark',
      bypassCSP: true,
    }));
  });

  /** axe in both themes; the violations per theme (empty when clean). */
  async function bothThemes(state: string): Promise<Record<string, AxeViolation[]>> {
    const out: Record<string, AxeViolation[]> = {};
    for (const scheme of ['dark', 'light'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      const vs = await axeViolations(page);
      if (vs.length) out[`${state}, ${scheme}`] = vs;
    }
    await page.emulateMedia({ colorScheme: 'dark' });
    return out;
  }

  /** Fails with every violation of a state in both themes, one line each. */
  function expectClean(found: Record<string, AxeViolation[]>) {
    const report = Object.entries(found)
      .map(([state, vs]) => `${state}: ${vs.length} kinds\n${describeViolations(vs)}`)
      .join('\n\n');
    expect(report).toBe('');
  }

  // The states follow each other in one page: first screen -> attached -> watching.
  let pid = 0;

  it('first screen', async () => {
    await page.goto(host.url);
    await until('the process list', async () => (await page.locator('.proc-row').count()) > 1);
    expectClean(await bothThemes('first screen'));
    // prefers-reduced-motion: no transitions.
    const transition = `getComputedStyle(document.querySelector('.picker-actions button')).transitionDuration`;
    expect(await page.evaluate(transition)).not.toBe('0s');
    await page.emulateMedia({ reducedMotion: 'reduce' });
    expect(await page.evaluate(transition)).toBe('0s');
    await page.emulateMedia({ reducedMotion: 'no-preference' });
  });

  it('attached to the demo', async () => {
    await page.getByRole('button', { name: 'Launch demo' }).click();
    const heatmap = page.locator('canvas[data-testid="heatmap"]');
    await until('the heatmap to draw', async () =>
      /pages shown/.test((await heatmap.getAttribute('aria-label')) ?? ''),
    );
    pid = await sessionPid(page);
    await page.locator('.demo-guide').getByRole('button', { name: 'sweep' }).waitFor();
    // Nothing picked yet: "Watch writes" is disabled and does not look like a primary button.
    const watch = page.getByRole('button', { name: 'Watch writes' });
    expect(await watch.isDisabled()).toBe(true);
    expect(
      await page.evaluate(
        `getComputedStyle([...document.querySelectorAll('button.primary')].find((b) => b.textContent === 'Watch writes')).backgroundColor`,
      ),
    ).toBe('rgba(0, 0, 0, 0)');
    expectClean(await bothThemes('attached'));
  });

  it('watching writes, then the help overlay', async (ctx) => {
    if (!pid) ctx.skip('the demo did not start in the test before');
    await page.locator('.demo-guide').getByRole('button', { name: 'sweep' }).click();
    await page.getByRole('button', { name: 'Watch writes' }).click();
    await until(
      'written pages counted',
      async () => {
        const n = writtenFromStatus(await statusText(page));
        return n !== null && n > 0;
      },
      60_000, // registering the watch takes seconds on a loaded machine
    ).catch(async (err: Error) => {
      const state = await page.evaluate(`(() => {
        const s = window.__pagescope.useApp.getState();
        return JSON.stringify({ watching: s.watching, focused: s.focusedVma, busy: s.busy,
          notices: s.notices.map((n) => n.text), lost: s.lost });
      })()`);
      throw new Error(`${err.message}; status "${await statusText(page)}"; ${state}`);
    });
    const found = await bothThemes('watching');
    await page.getByRole('button', { name: /^Keyboard/ }).click();
    await page.getByRole('dialog', { name: 'Keyboard' }).waitFor();
    Object.assign(found, await bothThemes('help overlay'));
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: /detach/i }).click();
    await until('the demo to end', () => !alive(pid), 10_000);
    expectClean(found);
  });

  it('the host gone (the lost-connection banner)', async () => {
    await page.goto(host.url);
    await until('the process list', async () => (await page.locator('.proc-row').count()) > 1);
    await host.stop();
    await page.getByTestId('connection-lost').waitFor({ timeout: limit(20_000) });
    expectClean(await bothThemes('host gone'));
  });
});
