/**
 * The process picker shows the process tree, in real Chromium through the real web host: a
 * python3 tree (testing/group-tree.py) appears with its children right under it, indented, each
 * saying its parent to a screen reader; axe-core finds nothing in that state.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGroupTree, type GroupTree } from '../testing/group-tree.ts';
import { axeViolations, describeViolations } from './axe.ts';
import { chromiumMissing, until, type Host } from './helpers.ts';
import { appRig } from './app-rig.ts';

const missing = chromiumMissing();
if (missing !== null) it('the picker shows the process tree', (ctx) => ctx.skip(missing));

describe.skipIf(missing !== null)('the picker shows the process tree', () => {
  let host: Host;
  let page: Page;
  let tree: GroupTree;
  const rig = appRig();

  beforeAll(async () => {
    tree = await startGroupTree(2, 4);
    ({ host, page } = await rig.start([], {
      viewport: { width: 1400, height: 860 },
      bypassCSP: true,
    }));
  });

  afterAll(() => {
    tree?.close();
  });

  it('children sit under their parent, indented, and say whose child they are', async (ctx) => {
    await page.goto(host.url);
    const rows = page.locator('.proc-list [role="option"]');
    const { pid, children, grandchild } = tree.info;
    // Our tree, or a list long enough to be cut before it (the placeholder rows, "No processes
    // listed yet" and the cgroups list's, are options too: a count alone says nothing).
    let texts: string[] = [];
    await until(`process ${pid} in the process list`, async () => {
      texts = await rows.allTextContents();
      return texts.length >= 200 || texts.some((t) => t.startsWith(`${pid}`));
    });
    if (texts.length >= 200 && !texts.some((t) => t.startsWith(`${pid}`)))
      return ctx.skip('over 200 processes: the tree may be cut before ours');
    const at = (p: number): number => texts.findIndex((t) => t.startsWith(`${p}`));
    const parentRow = at(pid);
    expect(parentRow, texts.join('\n')).toBeGreaterThanOrEqual(0);
    // Depth first, siblings by pid: child 0, its grandchild, child 1.
    expect([at(children[0]), at(grandchild), at(children[1])]).toEqual([
      parentRow + 1,
      parentRow + 2,
      parentRow + 3,
    ]);
    expect(texts[parentRow + 1]).toContain(`child of ${pid}`);
    expect(texts[parentRow + 2]).toContain(`child of ${children[0]}`);
    const depth = async (i: number): Promise<number> =>
      Number(await rows.nth(i).locator('.name').getAttribute('data-depth'));
    const indent = async (i: number): Promise<number> =>
      parseFloat(
        /padding-inline-start:\s*([\d.]+)px/.exec(
          (await rows.nth(i).locator('.name').getAttribute('style')) ?? '',
        )?.[1] ?? '0',
      );
    const d = await depth(parentRow);
    expect([await depth(parentRow + 1), await depth(parentRow + 2)]).toEqual([d + 1, d + 2]);
    // Drawn indented (up to 16 levels deep, where the indent stops growing).
    if (d + 2 <= 16) {
      expect(await indent(parentRow + 2)).toBeGreaterThan(await indent(parentRow + 1));
      expect(await indent(parentRow + 1)).toBeGreaterThan(await indent(parentRow));
    }
    const vs = await axeViolations(page);
    expect(describeViolations(vs)).toBe('');
  });
});
