/**
 * axe-core in the page under test: the engine is injected from node_modules with Playwright's
 * addScriptTag and run on the whole document with the WCAG 2 A/AA and best-practice rules. The
 * result is reduced to one line per violation (rule, impact, how many nodes, a few selectors) so
 * a failing test says what to fix.
 */
import path from 'node:path';
import type { Page } from 'playwright-core';
import { ROOT } from './helpers.ts';

export const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'];

export interface AxeViolation {
  id: string;
  impact: string | null;
  nodes: number;
  targets: string[];
  help: string;
}

/** Run axe on the page (injecting it once per document); the violations, summarized. */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  // The e2e code has no DOM types: what runs in the page is passed as source text.
  const loaded = await page.evaluate('typeof window.axe === "object"');
  if (!loaded)
    await page.addScriptTag({ path: path.join(ROOT, 'node_modules', 'axe-core', 'axe.min.js') });
  // Colours are measured as drawn: wait until no CSS transition or animation is running.
  await page.waitForFunction('document.getAnimations().length === 0');
  return page.evaluate(`(async () => {
    const res = await window.axe.run(document, {
      runOnly: { type: 'tag', values: ${JSON.stringify(AXE_TAGS)} },
      resultTypes: ['violations'],
    });
    return res.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      nodes: v.nodes.length,
      targets: v.nodes.slice(0, 3).map((n) => n.target.map(String).join(' ')),
      help: v.help,
    }));
  })()`);
}

export function describeViolations(vs: AxeViolation[]): string {
  return vs
    .map((v) => `${v.id} (${v.impact}, ${v.nodes} nodes: ${v.targets.join(' | ')}): ${v.help}`)
    .join('\n');
}
