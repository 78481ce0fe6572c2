/**
 * Case 4: one watch tick, get+reset of the pages written since the last tick (64k of them,
 * every 4th page of 1 GiB), ours against C, on the same target and the same registration.
 *
 * Each iteration the target writes its 65,536 pages (not timed), then one side does a tick
 * (timed), then the target writes again and the other side ticks; the side that goes first
 * alternates. Ours is the WriteWatcher (core/watch/watcher.ts) when it is present and attaches;
 * otherwise the target registers its own memory with userfaultfd and ours is the tick's kernel
 * work through our PagemapScanBackend (PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC), and the
 * case says so in its note.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { probeCapabilities } from '../../core/kernel/capabilities.ts';
import {
  Category,
  PM_SCAN_CHECK_WPASYNC,
  PM_SCAN_WP_MATCHING,
} from '../../core/kernel/pagemap-abi.ts';
import { readMaps, type Vma } from '../../core/proc/maps.ts';
import type { PageRange } from '../../core/scan/scanner.ts';
import { PagemapScanBackend } from '../../core/scan/pagemap-scan-backend.ts';
import { RegionList } from '../../core/scan/region-list.ts';
import { LineProcess, startTarget, type Target } from '../lib/native.ts';
import { goalAtMost, makeCase, median, skippedCase, type CaseResult } from '../lib/stats.ts';
import type { BenchContext } from './context.ts';

const PAGES = 262144; // 1 GiB
const STRIDE = 4; // 65,536 written pages per tick
const VEC_LEN = 4096;

/** The part of the WriteWatcher API this case uses (typed here: it may not exist yet). */
interface WatcherLike {
  arm(ranges: PageRange[]): unknown;
  tick(out: RegionList, vmas?: Vma[]): unknown;
  close(): unknown;
}

const WATCHER = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'core',
  'watch',
  'watcher.ts',
);

async function tryWatcher(pid: number, range: PageRange): Promise<WatcherLike | string> {
  if (!fs.existsSync(WATCHER)) return 'core/watch/watcher.ts has not landed';
  try {
    const mod = (await import(WATCHER)) as {
      WriteWatcher?: { attach(pid: number): WatcherLike | Promise<WatcherLike> };
    };
    if (!mod.WriteWatcher?.attach) return 'core/watch/watcher.ts has no WriteWatcher.attach';
    const w = await mod.WriteWatcher.attach(pid);
    await w.arm([range]);
    return w;
  } catch (e) {
    return `WriteWatcher failed: ${(e as Error).message}`;
  }
}

async function write(t: Target): Promise<void> {
  t.proc.send(`w ${STRIDE}`);
  await t.proc.line();
}

export async function watchCases(ctx: BenchContext): Promise<CaseResult[]> {
  const name = '4 watch tick: get+reset of 65,536 written pages in 1 GiB';
  const goal = goalAtMost(1.25, 'ours <= 1.25x C');
  const caps = probeCapabilities();
  const built = ctx.built;
  if (!built.ok) return [skippedCase(name, goal, built.reason)];
  if (!caps.uffdWpAsync || !caps.pagemapScan) {
    return [
      skippedCase(
        name,
        goal,
        `write watching unavailable: ${caps.uffdProblem ?? 'no PAGEMAP_SCAN'}`,
      ),
    ];
  }
  const iterations = ctx.quick ? 8 : 30;
  let t = await startTarget(built.bin.target, ['watch', String(PAGES)]);
  const range = { startPage: t.startPage, endPage: t.endPage };
  const watcher = await tryWatcher(t.pid, range);
  let why = '';
  let backend: PagemapScanBackend | null = null;
  if (typeof watcher === 'string') {
    why = watcher;
    ctx.log(`  4: ${why}; using the target's own registration + PagemapScanBackend`);
    await t.proc.stop();
    t = await startTarget(built.bin.target, ['watch', String(PAGES), 'self']);
    backend = new PagemapScanBackend(t.pid, { vecLen: VEC_LEN });
  }
  const out = new RegionList(1 << 17);
  const opts = {
    flags: PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
    categoryMask: Category.WRITTEN,
    returnMask: Category.WRITTEN,
  };
  const oursTick = async () => {
    out.clear();
    // As in a session tick: the maps were read for the tick's scan and are handed to the
    // watcher, so reading them is not part of the watch tick (the CLI's tick reads its own).
    const vmas = backend ? [] : readMaps(t.pid);
    const t0 = performance.now();
    if (backend) backend.scanRange(t.startPage, t.endPage, 0, opts, out);
    else await (watcher as WatcherLike).tick(out, vmas);
    return { ms: performance.now() - t0, pages: out.pageCount() };
  };
  const c = new LineProcess(built.bin.scanref, [
    'tick',
    String(t.pid),
    t.startHex,
    t.endHex,
    String(VEC_LEN),
  ]);
  const cTick = async () => {
    c.send('t');
    const f = await c.fields();
    return { ms: f.ns / 1e6, pages: f.pages };
  };
  try {
    await oursTick(); // warm-up: protects everything written before
    await cTick();
    const ours: number[] = [];
    const ref: number[] = [];
    let oursPages = 0;
    let cPages = 0;
    for (let i = 0; i < iterations; i++) {
      if (i % 10 === 0) ctx.log(`  4 tick ${i + 1}/${iterations}`);
      for (const side of i % 2 ? ['c', 'ours'] : ['ours', 'c']) {
        await write(t);
        const r = side === 'ours' ? await oursTick() : await cTick();
        (side === 'ours' ? ours : ref).push(r.ms);
        if (side === 'ours') oursPages = r.pages;
        else cPages = r.pages;
      }
    }
    const what = backend
      ? `PagemapScanBackend get+reset (WriteWatcher not used: ${why})`
      : 'WriteWatcher.tick (given the maps, as the session does)';
    return [
      makeCase(name, median(ours), median(ref), goal, {
        note: `${what} vs scanref.c tick; pages per tick: ours ${oursPages}, C ${cPages}`,
        ours_impl: backend ? 'PagemapScanBackend' : 'WriteWatcher',
        pages_per_tick: oursPages,
        pages_per_tick_reference: cPages,
        iterations,
      }),
    ];
  } finally {
    await c.stop();
    backend?.close();
    if (typeof watcher !== 'string') await watcher.close();
    await t.proc.stop();
  }
}
