/**
 * The e2e Chromium's --disable-features (e2e/helpers.ts) keeps Playwright's own list: Chromium
 * honours only the last --disable-features switch, so ours replaces Playwright's, and a name
 * Playwright adds in a later version would be dropped silently. Reads playwright-core's bundle.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { expect, it } from 'vitest';
import { CHROMIUM_ARGS, OMNIBOX_WEBUI_FEATURES } from './helpers.ts';

const require = createRequire(import.meta.url);

/** The names in playwright-core's `disabledFeatures = [...]`, or null when it is not found. */
function playwrightDisabledFeatures(): string[] | null {
  const dir = path.dirname(require.resolve('playwright-core/package.json'));
  for (const rel of ['lib/coreBundle.js', 'lib/server/chromium/chromiumSwitches.js']) {
    const file = path.join(dir, rel);
    if (!fs.existsSync(file)) continue;
    const m = /disabledFeatures = \[([^\]]*)\]/.exec(fs.readFileSync(file, 'utf8'));
    if (m) return [...m[1].matchAll(/^\s*"([A-Za-z0-9]+)"/gm)].map((x) => x[1]);
  }
  return null;
}

it("one --disable-features, holding Playwright's list and the omnibox popups", () => {
  const switches = CHROMIUM_ARGS.filter((a) => a.startsWith('--disable-features='));
  expect(switches).toHaveLength(1);
  const ours = new Set(switches[0].slice('--disable-features='.length).split(','));
  const theirs = playwrightDisabledFeatures();
  expect(theirs, "playwright-core's disabledFeatures list, not found in its bundle").not.toBeNull();
  expect(theirs!.length).toBeGreaterThan(5);
  expect(
    theirs!.filter((f) => !ours.has(f)),
    "Playwright's names missing from ours",
  ).toEqual([]);
  expect(OMNIBOX_WEBUI_FEATURES.filter((f) => !ours.has(f))).toEqual([]);
});
