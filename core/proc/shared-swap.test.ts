/**
 * Swapped shared memory is counted from the object: a real tree (testing/group-tree.py) pages
 * out part of each shared object (MADV_PAGEOUT, on zram swap made for the test). The page tables
 * then say "not present" and 0 swapped; the object says how many pages are swapped, smaps' per-VMA
 * Swap agrees, and `pagescope scan` shows it with its source.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGroupTree, type GroupTree } from '../../testing/group-tree.ts';
import { until } from '../../testing/wait.ts';
import { ensureSwap, type SwapResult } from '../../testing/zram.ts';
import { Scanner } from '../scan/scanner.ts';
import { readMaps, type Vma } from './maps.ts';
import { objectPagesFromObject, objectPagesFromSmaps, sharedObjectPages } from './shared-swap.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/pagescope.mjs');
const REGIONS = ['shared_anon', 'memfd', 'sysv'] as const;
const OUT = 24; // pages the parent writes and pages out, per region
const CHILD = 8; // pages a child writes (they stay in memory: mapped by the child only)

let swap: SwapResult | null = null;
let t: GroupTree | null = null;
let why = '';
const vmaOf: Record<string, Vma> = {};

beforeAll(async () => {
  swap = ensureSwap(64);
  if (!swap.ok) {
    why = swap.reason;
    return;
  }
  t = await startGroupTree(1, 64);
  for (const r of REGIONS) {
    await t.send(`write ${t.info.pid} ${r} 0 ${OUT}`);
    await t.send(`write ${t.info.children[0]} ${r} ${OUT} ${CHILD}`);
  }
  const vmas = readMaps(t.info.pid);
  for (const r of REGIONS) {
    const start = BigInt(t.info.regions[r]);
    vmaOf[r] = vmas.find((v) => BigInt(v.startPage) << 12n === start)!;
    expect(vmaOf[r], r).toBeDefined();
    const answer = await t.send(`pageout ${r} 0 ${OUT}`);
    expect(answer.ok, JSON.stringify(answer)).toBe(true);
  }
  // Reclaim may take a moment (and a busy machine may leave a page in the swap cache).
  await until('the paged-out shared pages to be on swap', () =>
    REGIONS.every((r) => objectPagesFromObject(t!.info.pid, vmaOf[r])?.swapped === OUT),
  );
});

afterAll(() => {
  t?.close();
  if (swap?.ok) swap.release();
});

describe('swapped shared memory', () => {
  it('the object counts it, smaps agrees, and the page tables show nothing', (ctx) => {
    if (!t) return ctx.skip(why);
    const pid = t.info.pid;
    const smaps = objectPagesFromSmaps(pid, Object.values(vmaOf));
    const scanner = new Scanner(pid);
    try {
      const result = scanner.scan([]);
      for (const r of REGIONS) {
        const v = vmaOf[r];
        const o = objectPagesFromObject(pid, v)!;
        // Allocated: the parent's pages and the child's; in memory: only the child's.
        expect(o, r).toEqual({
          swapped: OUT,
          resident: CHILD,
          allocated: OUT + CHILD,
          source: 'object',
        });
        expect(smaps.get(v.index), r).toEqual({
          swapped: OUT,
          resident: null,
          allocated: null,
          source: 'smaps',
        });
        // What issue 24 found: no swap entry in the page tables.
        expect(result.summaries[v.index].swapped, r).toBe(0);
        expect(result.summaries[v.index].present, r).toBe(0);
      }
      expect(
        [...sharedObjectPages(pid, readMaps(pid)).values()].every((o) => o.source === 'object'),
      ).toBe(true);
    } finally {
      scanner.close();
    }
  });

  it('pagescope scan shows it per VMA with its source, and in the summary', (ctx) => {
    if (!t) return ctx.skip(why);
    const pid = String(t.info.pid);
    const json = spawnSync(process.execPath, [BIN, 'scan', '--pid', pid, '--json'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(json.status, json.stderr).toBe(0);
    const parsed = JSON.parse(json.stdout) as {
      vmas: Array<{ start: string; sharedObject?: { swapped: number; source: string } }>;
      sharedSwapped: { pages: number; vmasBySource: Record<string, number> };
    };
    for (const r of REGIONS) {
      const v = parsed.vmas.find((x) => BigInt(x.start) === BigInt(t!.info.regions[r]))!;
      expect(v.sharedObject, r).toMatchObject({ swapped: OUT, source: 'object' });
    }
    expect(parsed.sharedSwapped.pages).toBe(3 * OUT);

    const text = spawnSync(process.execPath, [BIN, 'scan', '--pid', pid], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^RANGE\s+NAME\s+ALLOCATED\s+RESIDENT\s+SWAPPED\s+SOURCE$/m);
    // Per VMA: allocated (parent's and child's pages), resident (the child's), swapped, source.
    const perVma = new RegExp(`\\s${OUT + CHILD}\\s+${CHILD}\\s+${OUT}\\s+object$`, 'gm');
    expect(text.stdout.match(perVma)).toHaveLength(3);
    expect(text.stdout).toMatch(
      /and swapped in shared objects 288 KiB \(\d+ VMAs from the object itself/,
    );
  });
});
