/**
 * The demo workload against the real kernel: spawned as a child, scanned with the real Scanner,
 * watched changing over time, and stopped the three ways it can be (stdin closing, SIGTERM, a
 * parent that gives up waiting).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { MAP_ANONYMOUS, MAP_PRIVATE, mmap, munmap, nameAnonVma, PROT_RW } from '../kernel/mm.ts';
import { PAGE_SIZE } from '../kernel/pagemap-abi.ts';
import { readMaps, type Vma } from '../proc/maps.ts';
import { Scanner } from '../scan/scanner.ts';
import { addCounts, emptyCounts, type PageCounts } from '../scan/summary.ts';
import { needZeroPage, zeroPageOnRead } from '../../testing/zero-page.ts';
import { activeSwapAreas, ensureSwap } from '../../testing/zram.ts';
import { spawnDemo, stopDemo, type DemoProcess } from './launch.ts';
import { DEMO_NAME_PREFIX, DEMO_REGIONS } from './regions.ts';
import { alive } from '../../testing/proc-facts.ts';

const page = (hex: string): number => Number(BigInt(hex) / BigInt(PAGE_SIZE));

async function waitExit(
  demo: DemoProcess,
): Promise<{ code: number | null; signal: string | null }> {
  const c = demo.child;
  if (c.exitCode !== null || c.signalCode !== null)
    return { code: c.exitCode, signal: c.signalCode };
  return new Promise((resolve) => c.once('exit', (code, signal) => resolve({ code, signal })));
}

/** Page counts over one demo region (all the VMAs inside it). */
function countsIn(scanner: Scanner, demo: DemoProcess, name: string): PageCounts {
  const r = demo.regions[name];
  const res = scanner.scan([{ startPage: page(r.start), endPage: page(r.end) }]);
  const total = emptyCounts();
  for (const [index] of res.scannedPages) addCounts(total, res.summaries[index]);
  return total;
}

/** The present pages of a region as a string of page ranges, to compare two moments. */
function presentRanges(scanner: Scanner, demo: DemoProcess, name: string): string {
  const r = demo.regions[name];
  const res = scanner.scan([{ startPage: page(r.start), endPage: page(r.end) }]);
  const out: string[] = [];
  for (let i = 0; i < res.regions.length; i++) {
    if (res.regions.categories[i] & 8)
      out.push(`${res.regions.startPage[i]}-${res.regions.endPage[i]}`);
  }
  return out.join(',');
}

function vmasWithin(vmas: Vma[], demo: DemoProcess, name: string): Vma[] {
  const r = demo.regions[name];
  return vmas.filter((v) => v.startPage >= page(r.start) && v.endPage <= page(r.end));
}

/** Can this kernel name anonymous VMAs? Asked of our own process, to check the demo's claim. */
function kernelNamesAnonVmas(): boolean {
  const addr = mmap(0, PAGE_SIZE, PROT_RW, MAP_PRIVATE | MAP_ANONYMOUS);
  const ok = nameAnonVma(addr, PAGE_SIZE, 'pagescope-test') === 0;
  munmap(addr, PAGE_SIZE);
  return ok;
}

function thpMode(): string {
  try {
    return /\[(\w+)\]/.exec(
      fs.readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'),
    )![1];
  } catch {
    return 'none';
  }
}

const spawned: DemoProcess[] = [];
async function launch(): Promise<DemoProcess> {
  const d = await spawnDemo();
  spawned.push(d);
  return d;
}
afterAll(async () => {
  for (const d of spawned) {
    if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
  }
});

describe('demo workload, running', () => {
  let demo: DemoProcess;
  let scanner: Scanner;
  let swapAtLaunch: boolean;

  beforeAll(async () => {
    swapAtLaunch = activeSwapAreas().length > 0;
    demo = await launch();
    scanner = new Scanner(demo.pid);
  });
  afterAll(() => scanner?.close());

  it('is a live child process with every region as its own VMA(s) in maps', () => {
    expect(demo.child.pid).toBe(demo.pid);
    expect(alive(demo.pid)).toBe(true);
    expect(fs.readFileSync(`/proc/${demo.pid}/comm`, 'utf8').trim()).toBe('pagescope-demo');
    expect(Object.keys(demo.regions).sort()).toEqual(DEMO_REGIONS.map((r) => r.name).sort());
    const vmas = readMaps(demo.pid);
    for (const spec of DEMO_REGIONS) {
      const r = demo.regions[spec.name];
      expect(page(r.end) - page(r.start), spec.name).toBe(spec.pages);
      const [s, e] = [page(r.start), page(r.end)];
      const overlapping = vmas.filter((v) => v.endPage > s && v.startPage < e);
      // The region starts a VMA of its own (nothing merged into it from below)...
      expect(overlapping[0]?.startHex, spec.name).toBe(r.start.slice(2));
      // ...and is mapped end to end. Only growth's PROT_NONE reserve may merge with the
      // PROT_NONE separator after it (when VMAs are unnamed); every other region ends a VMA.
      const covered = overlapping.reduce(
        (n, v) => n + Math.min(e, v.endPage) - Math.max(s, v.startPage),
        0,
      );
      expect(covered, spec.name).toBe(spec.pages);
      if (spec.name !== 'growth')
        expect(overlapping.at(-1)!.endHex, spec.name).toBe(r.end.slice(2));
    }
    expect(vmasWithin(vmas, demo, 'file')[0].path).toBe(demo.file);
  });

  it('names its VMAs exactly when the kernel can (CONFIG_ANON_VMA_NAME)', () => {
    const can = kernelNamesAnonVmas();
    expect(demo.features.named).toBe(can);
    const vmas = readMaps(demo.pid);
    const named = vmas.filter((v) => v.path.startsWith(`[anon:${DEMO_NAME_PREFIX}`));
    if (can) {
      for (const spec of DEMO_REGIONS.filter((s) => s.name !== 'file')) {
        expect(vmasWithin(vmas, demo, spec.name)[0].path).toBe(
          `[anon:${DEMO_NAME_PREFIX}${spec.name}]`,
        );
      }
    } else {
      console.log('note: this kernel has no CONFIG_ANON_VMA_NAME; checked the unnamed fallback');
      expect(named).toEqual([]);
    }
  });

  it('shows present, file, huge and guard pages where they belong', () => {
    const sweep = countsIn(scanner, demo, 'sweep');
    expect(sweep.present).toBeGreaterThanOrEqual(1000);
    expect(sweep.present).toBeLessThan(sweep.pages);

    const file = countsIn(scanner, demo, 'file');
    expect(file.file).toBeGreaterThan(0);
    expect(file.present).toBeGreaterThan(file.pages / 2);

    // The zero region is only read: mapped either way (the zero page, or private pages on a
    // kernel without it, which then show no zero page at all).
    const zero = countsIn(scanner, demo, 'zero');
    expect(zero.present).toBeGreaterThan(zero.pages / 2);
    if (!zeroPageOnRead()) expect(zero.zero).toBe(0);

    expect(demo.features.thp).toBe(thpMode() !== 'never' && thpMode() !== 'none');

    const guard = countsIn(scanner, demo, 'guard');
    expect(demo.features.guard).toBe(true);
    expect(guard.guard).toBe(64);
    expect(guard.present).toBe(guard.pages - 64);
    expect(guard.swapped).toBe(0);

    const growth = countsIn(scanner, demo, 'growth');
    expect(growth.present).toBeGreaterThanOrEqual(256);
  });

  it('backs its THP region with a huge page', (ctx) => {
    if (!demo.features.thp) ctx.skip(`THP is ${thpMode()} here: no huge page to show`);
    expect(countsIn(scanner, demo, 'thp').huge).toBeGreaterThanOrEqual(512);
  });

  it('shows the pages it only read as zero pages', (ctx) => {
    needZeroPage(ctx);
    const zero = countsIn(scanner, demo, 'zero');
    expect(zero.zero).toBeGreaterThan(zero.pages / 2);
  });

  it('reports whether swap exists', () => {
    expect(demo.features.swap).toBe(swapAtLaunch);
  });

  it('pages nothing out when there is no swap', (ctx) => {
    if (swapAtLaunch) ctx.skip('swap was already active: no no-swap path to check here');
    expect(countsIn(scanner, demo, 'swap').swapped).toBe(0);
  });

  it('changes over time: the sweep band moves and the growth region changes size', async () => {
    const rwPages = (): number =>
      vmasWithin(readMaps(demo.pid), demo, 'growth')
        .filter((v) => v.perms.startsWith('rw'))
        .reduce((n, v) => n + v.endPage - v.startPage, 0);
    const sweep1 = presentRanges(scanner, demo, 'sweep');
    const growth1 = rwPages();
    const file1 = countsIn(scanner, demo, 'file').file;
    await vi.waitFor(
      () => {
        expect(presentRanges(scanner, demo, 'sweep')).not.toBe(sweep1);
        expect(rwPages()).not.toBe(growth1);
        // Written private file pages become anonymous copies (and a reset brings them all back).
        expect(countsIn(scanner, demo, 'file').file).not.toBe(file1);
      },
      { timeout: 10_000 },
    );
    expect(alive(demo.pid)).toBe(true);
  });

  // Not a speed measurement: a bound five times above the ~1-2% it uses, to catch a demo that
  // spins (a busy loop, a stdin read that never blocks) or leaks mapped memory.
  it('does not spin or balloon: CPU well under a core and RSS under 300 MiB', async () => {
    const ticks = (): number => {
      const f = fs.readFileSync(`/proc/${demo.pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return Number(f[11]) + Number(f[12]); // utime + stime
    };
    const hz = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    // The demo's main thread sleeps between its 25 ms steps: the window is its own work, until
    // it has gone to sleep 40 more times (about a second; a demo that spins never sleeps and
    // fails here). The share is over the time that really passed.
    const sleeps = (): number =>
      Number(
        /^voluntary_ctxt_switches:\s+(\d+)/m.exec(
          fs.readFileSync(`/proc/${demo.pid}/status`, 'utf8'),
        )![1],
      );
    const s0 = sleeps();
    const t0 = ticks();
    const since = performance.now();
    await vi.waitFor(() => expect(sleeps() - s0).toBeGreaterThanOrEqual(40), {
      timeout: 10_000,
      interval: 20,
    });
    const windowS = (performance.now() - since) / 1000;
    const cpu = (ticks() - t0) / hz / windowS;
    const rssKiB = Number(
      /^VmRSS:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${demo.pid}/status`, 'utf8'))![1],
    );
    console.log(
      `demo footprint: ${(cpu * 100).toFixed(1)}% CPU over ${windowS.toFixed(1)} s, RSS ${(rssKiB / 1024).toFixed(0)} MiB`,
    );
    expect(cpu).toBeLessThan(0.5);
    expect(rssKiB).toBeLessThan(300 * 1024);
  });
});

describe('demo workload, with swap', () => {
  it('pages its swap region out when swap exists', async (ctx) => {
    const swap = ensureSwap(64);
    if (!swap.ok) return ctx.skip(swap.reason);
    let scanner: Scanner | undefined;
    try {
      const demo = await launch();
      expect(demo.features.swap).toBe(true);
      scanner = new Scanner(demo.pid);
      const counts = countsIn(scanner, demo, 'swap');
      // All 2048 pages go out at start; a busy machine may have faulted a few back already.
      expect(counts.swapped).toBeGreaterThan(counts.pages / 2);
      expect(countsIn(scanner, demo, 'sweep').swapped).toBe(0);
      await stopDemo(demo.child);
    } finally {
      scanner?.close();
      swap.release();
    }
  });
});

describe('demo workload, ending', () => {
  afterEach(async () => {
    for (const d of spawned) {
      if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
    }
  });

  it('exits cleanly and removes its temp file when its stdin closes', async () => {
    const demo = await launch();
    expect(fs.existsSync(demo.file)).toBe(true);
    demo.child.stdin!.end();
    expect(await waitExit(demo)).toEqual({ code: 0, signal: null });
    expect(fs.existsSync(demo.file)).toBe(false);
    expect(alive(demo.pid)).toBe(false);
  });

  it('exits cleanly and removes its temp file on SIGTERM', async () => {
    const demo = await launch();
    demo.child.kill('SIGTERM');
    expect(await waitExit(demo)).toEqual({ code: 0, signal: null });
    expect(fs.existsSync(demo.file)).toBe(false);
  });

  it('removes the temp file a SIGKILLed demo left behind when the next one starts', async () => {
    const first = await launch();
    first.child.kill('SIGKILL');
    expect((await waitExit(first)).signal).toBe('SIGKILL');
    expect(fs.existsSync(first.file)).toBe(true);
    const second = await launch();
    expect(fs.existsSync(first.file)).toBe(false);
    expect(fs.existsSync(second.file)).toBe(true);
    await stopDemo(second.child);
    expect(fs.existsSync(second.file)).toBe(false);
  });

  it('rejects with a clear error and leaves no process when the ready line does not come in time', async () => {
    const before = new Set(fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n)));
    await expect(spawnDemo({ timeoutMs: 1 })).rejects.toThrow(
      /did not report ready within 1 ms; it was stopped/,
    );
    const leftovers = (): string[] =>
      fs
        .readdirSync('/proc')
        .filter((n) => /^\d+$/.test(n) && !before.has(n))
        .filter((n) => {
          try {
            return (
              fs.readFileSync(`/proc/${n}/cmdline`, 'utf8').includes('demo/workload') &&
              alive(Number(n))
            );
          } catch {
            return false;
          }
        });
    await vi.waitFor(() => expect(leftovers()).toEqual([]));
  });
});
