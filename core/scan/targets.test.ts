/**
 * The scanner on processes nobody wrote for pagescope: a `python3 -c` and a `node -e` child.
 * Each target is stopped (SIGSTOP) while it is compared, so its memory holds still, and then
 * continued: the target is never harmed. Every scanned page is cross-checked against the
 * kernel's own /proc/PID/pagemap entry for the same page.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { KernelError, userMessage } from '../kernel/errors.ts';
import { Category } from '../kernel/pagemap-abi.ts';
import {
  readPagemapHigh,
  spawnNodeTarget,
  spawnPythonTarget,
  type Target,
} from '../../testing/targets.ts';
import type { BackendName } from './backend.ts';
import { categoriesFromPagemapHigh, PAGEMAP_READ_CATEGORIES } from './pagemap-read-backend.ts';
import { Scanner } from './scanner.ts';

const { PRESENT, SWAPPED, WRITTEN } = Category;
const targets: Target[] = [];

afterEach(() => {
  for (const t of targets.splice(0)) {
    try {
      process.kill(t.pid, 'SIGCONT');
    } catch {
      // already gone
    }
    t.kill();
  }
});
afterAll(() => {
  for (const t of targets) t.kill();
});

async function start(kind: 'python3' | 'node'): Promise<Target> {
  const t = kind === 'node' ? await spawnNodeTarget() : await spawnPythonTarget();
  targets.push(t);
  return t;
}

const comparable = (c: number): number =>
  c & (PRESENT | SWAPPED) ? c & PAGEMAP_READ_CATEGORIES : c & PAGEMAP_READ_CATEGORIES & ~WRITTEN;

/**
 * Scans the whole process with `backend` while it is stopped and compares every page with its
 * pagemap entry. Returns per-VMA-kind counts of pages PAGEMAP_SCAN did not report (it skips
 * VM_PFNMAP mappings such as [vvar]).
 */
function crossCheck(pid: number, backend: BackendName) {
  const scanner = new Scanner(pid, { backend });
  process.kill(pid, 'SIGSTOP');
  try {
    const res = scanner.scan();
    const regions = res.regions;
    let present = 0;
    let kernelPresent = 0;
    const unreported: Record<string, number> = {};
    const mismatches: string[] = [];
    let r = 0;
    for (const [vmaIndex, pages] of res.scannedPages) {
      const vma = res.vmas[vmaIndex];
      const words = readPagemapHigh(pid, vma.startPage, vma.startPage + pages);
      for (let i = 0; i < pages; i++) {
        const page = vma.startPage + i;
        while (r < regions.length && regions.endPage[r] <= page) r++;
        const want = categoriesFromPagemapHigh(words[i]);
        if (want & PRESENT) kernelPresent++;
        if (r >= regions.length || regions.startPage[r] > page) {
          unreported[vma.path || vma.kind] = (unreported[vma.path || vma.kind] ?? 0) + 1;
          continue;
        }
        const got = regions.categories[r];
        if (got & PRESENT) present++;
        if (comparable(got) !== comparable(want) && mismatches.length < 5)
          mismatches.push(`${vma.path || vma.kind} page ${page.toString(16)}: ${got} vs ${want}`);
      }
    }
    let summed = 0;
    for (const s of res.summaries) summed += s.present;
    return { res, present, kernelPresent, summed, unreported, mismatches };
  } finally {
    process.kill(pid, 'SIGCONT');
    scanner.close();
  }
}

describe.each(['python3', 'node'] as const)('a %s process nobody wrote for the test', (kind) => {
  it.each(['scan', 'pagemap'] as const)(
    '%s backend: every page agrees with /proc/PID/pagemap',
    async (backend) => {
      const t = await start(kind);
      const c = crossCheck(t.pid, backend);
      expect(c.mismatches).toEqual([]);
      expect(c.present).toBeGreaterThan(1000);
      expect(c.summed).toBe(c.present);
      // Pages the kernel shows as present but PAGEMAP_SCAN does not walk: only special
      // mappings ([vvar], VM_PFNMAP). The reader walks them all.
      const unreportedNames = Object.keys(c.unreported);
      if (backend === 'pagemap') expect(unreportedNames).toEqual([]);
      else for (const n of unreportedNames) expect(n).toMatch(/^\[vvar/);
      expect(c.kernelPresent - c.present).toBeLessThanOrEqual(
        Object.values(c.unreported).reduce((a, b) => a + b, 0),
      );
    },
  );
});

it('a process that exits between scans gives a KernelError that says it does not exist', async () => {
  const t = await start('python3');
  const scanner = new Scanner(t.pid, { backend: 'scan' });
  try {
    expect(scanner.scan().regions.length).toBeGreaterThan(0);
    const gone = new Promise((resolve) => t.child.once('exit', resolve));
    t.kill();
    await gone;
    let err: unknown = null;
    try {
      scanner.scan();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KernelError);
    expect(userMessage(err)).toMatch(new RegExp(`Process ${t.pid} does not exist`));
  } finally {
    scanner.close();
  }
});
