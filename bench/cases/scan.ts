/**
 * Cases 1 and 2: the scanner against C, and PAGEMAP_SCAN against reading /proc/PID/pagemap.
 *
 * Both sides walk the same mapping of the same target process. Ours is timed in-process around
 * PagemapScanBackend.scanRange (or PagemapReadBackend.scanRange) with performance.now; the C
 * reference (bench/c/scanref.c) times each walk with clock_gettime and prints the median. Runs
 * are interleaved round by round (C first on even rounds, ours first on odd ones) so a noisy
 * neighbour hurts both sides alike; the figures are medians over all rounds.
 *
 * Case 1c is the whole-process scan at scale: an 8 GiB reservation with every other page of its
 * first half present (~1M regions). Ours is Scanner.scan() with no range (read the maps, walk
 * every VMA, store the regions, per-VMA summaries), on a Scanner kept across scans as a session
 * keeps it; C walks [0, TASK_SIZE) in one chain and stores every region. The first scan of a new
 * Scanner (its region arrays grown from nothing, every new page of them faulted in) is reported
 * in the note.
 */
import { probeCapabilities } from '../../core/kernel/capabilities.ts';
import type { ScanBackend } from '../../core/scan/backend.ts';
import { PagemapReadBackend } from '../../core/scan/pagemap-read-backend.ts';
import { PagemapScanBackend } from '../../core/scan/pagemap-scan-backend.ts';
import { RegionList } from '../../core/scan/region-list.ts';
import { Scanner } from '../../core/scan/scanner.ts';
import { runOnce, startTarget, type Target } from '../lib/native.ts';
import {
  goalAtMost,
  infoGoal,
  makeCase,
  median,
  skippedCase,
  type CaseResult,
} from '../lib/stats.ts';
import { timeMs, type BenchContext } from './context.ts';

const VEC_LEN = 4096; // the scan backend's default vector: both sides use the same
const READ_CHUNK = 65536; // the read backend's default chunk

interface Layout {
  key: 'a' | 'b';
  label: string;
  args: string[];
}

function layouts(quick: boolean): Layout[] {
  const holesPages = quick ? 131072 : 524288;
  return [
    { key: 'a', label: '64 GiB reservation, 4096 pages touched', args: ['sparse', '64', '4096'] },
    {
      key: 'b',
      label: `${holesPages / 262144} GiB, every 3rd page dropped`,
      args: ['holes', String(holesPages)],
    },
  ];
}

/** K walks with one of our backends; returns the per-walk times and what the last walk found. */
function walkOurs(backend: ScanBackend, t: Target, iterations: number, out: RegionList) {
  const times: number[] = [];
  let pages = 0;
  for (let i = 0; i < iterations; i++) {
    times.push(
      timeMs(() => {
        out.clear();
        pages = backend.scanRange(t.startPage, t.endPage, 0, {}, out).pages;
      }),
    );
  }
  return { times, pages, regions: out.length };
}

async function walkC(
  scanref: string,
  mode: 'scan' | 'read',
  t: Target,
  iterations: number,
  returnMask: number,
) {
  const param = mode === 'scan' ? VEC_LEN : READ_CHUNK;
  const f = await runOnce(scanref, [
    mode,
    String(t.pid),
    t.startHex,
    t.endHex,
    String(iterations),
    String(param),
    returnMask.toString(16),
  ]);
  return { ms: f.median_ns / 1e6, regions: f.regions, pages: f.pages };
}

/** The top of the x86_64 user address space (TASK_SIZE), hex: C's whole-process walk ends here. */
const TASK_SIZE_HEX = '7ffffffff000';

export const SCALE_NAME =
  '1c scanner vs C: whole process, 8 GiB with every other page of its first half present';

/** Case 1c (see the top comment). */
export async function scaleScanCase(ctx: BenchContext): Promise<CaseResult[]> {
  const gib = ctx.quick ? 2 : 8;
  const name = ctx.quick ? SCALE_NAME.replace('8 GiB', `${gib} GiB`) : SCALE_NAME;
  const goal = goalAtMost(1.25, 'ours <= 1.25x C');
  const caps = probeCapabilities();
  const built = ctx.built;
  if (!built.ok || !caps.pagemapScan) {
    const reason = !built.ok ? built.reason : `kernel ${caps.kernel} has no PAGEMAP_SCAN (6.7+)`;
    return [skippedCase(name, goal, reason)];
  }
  const rounds = ctx.quick ? 3 : 9;
  const iters = ctx.quick ? 2 : 4;
  const returnMask = caps.supportedCategories;
  const t = await startTarget(built.bin.target, ['halves', String(gib)]);
  try {
    let t0 = performance.now();
    const scanner = new Scanner(t.pid);
    let regions = scanner.scan().regions.length;
    const coldMs = performance.now() - t0;
    try {
      const ours: number[] = [];
      const c: number[] = [];
      let cRegions = 0;
      for (let r = 0; r < rounds; r++) {
        ctx.log(`  1c round ${r + 1}/${rounds}`);
        const runC = async () => {
          const f = await runOnce(built.bin.scanref, [
            'scan',
            String(t.pid),
            '0',
            TASK_SIZE_HEX,
            String(iters),
            String(VEC_LEN),
            returnMask.toString(16),
          ]);
          c.push(f.median_ns / 1e6);
          cRegions = f.regions;
        };
        if (r % 2 === 0) await runC();
        for (let i = 0; i < iters; i++) {
          t0 = performance.now();
          regions = scanner.scan().regions.length;
          ours.push(performance.now() - t0);
        }
        if (r % 2 === 1) await runC();
      }
      return [
        makeCase(name, median(ours), median(c), goal, {
          note: `Scanner.scan() of the whole process (maps + walk + store + summaries) vs scanref.c walking [0, TASK_SIZE); ${regions} regions (C: ${cRegions}); a new Scanner's first scan: ${coldMs.toFixed(0)} ms`,
          iterations: rounds * iters,
          regions,
          regions_reference: cRegions,
          cold_first_scan_ms: Number(coldMs.toPrecision(4)),
        }),
      ];
    } finally {
      scanner.close();
    }
  } finally {
    await t.proc.stop();
  }
}

export async function scanCases(ctx: BenchContext): Promise<CaseResult[]> {
  const out: CaseResult[] = [];
  const name1 = (l: Layout) => `1${l.key} scanner vs C: ${l.label}`;
  const name2 = (l: Layout) => `2${l.key} PAGEMAP_SCAN vs pagemap read: ${l.label}`;
  const goal1 = goalAtMost(1.25, 'ours <= 1.25x C');
  const goal2 = (l: Layout) =>
    l.key === 'a'
      ? goalAtMost(1, 'scan < read (C here: 5.3x faster)')
      : infoGoal('info (C here: read 0.8x of scan)');
  const caps = probeCapabilities();
  const built = ctx.built;
  if (!built.ok || !caps.pagemapScan) {
    const reason = !built.ok ? built.reason : `kernel ${caps.kernel} has no PAGEMAP_SCAN (6.7+)`;
    for (const l of layouts(ctx.quick)) {
      out.push(skippedCase(name1(l), goal1, reason), skippedCase(name2(l), goal2(l), reason));
    }
    return out;
  }
  const rounds = ctx.quick ? 3 : 7;
  const iters = ctx.quick ? 4 : 10;
  const readRounds = ctx.quick ? 2 : 3;
  const readIters = ctx.quick ? 2 : 4;
  const returnMask = caps.supportedCategories;
  for (const l of layouts(ctx.quick)) {
    ctx.log(`target: ${l.label}`);
    const t = await startTarget(built.bin.target, l.args);
    const regions = new RegionList(1 << 16);
    const scan = new PagemapScanBackend(t.pid, {
      vecLen: VEC_LEN,
      supportedCategories: returnMask,
    });
    const read = new PagemapReadBackend(t.pid, { chunkPages: READ_CHUNK });
    try {
      walkOurs(scan, t, 2, regions); // warm-up: JIT, buffers grown to size
      const ours: number[] = [];
      const c: number[] = [];
      let oursFound = { pages: 0, regions: 0 };
      let cFound = { pages: 0, regions: 0 };
      for (let r = 0; r < rounds; r++) {
        ctx.log(`  1${l.key} round ${r + 1}/${rounds}`);
        const runC = async () => {
          const res = await walkC(built.bin.scanref, 'scan', t, iters, returnMask);
          c.push(res.ms);
          cFound = res;
        };
        if (r % 2 === 0) await runC();
        const o = walkOurs(scan, t, iters, regions);
        ours.push(...o.times);
        oursFound = o;
        if (r % 2 === 1) await runC();
      }
      out.push(
        makeCase(name1(l), median(ours), median(c), goal1, {
          note: `PagemapScanBackend.scanRange vs scanref.c, ${oursFound.regions} regions / ${oursFound.pages} pages (C: ${cFound.regions} / ${cFound.pages})`,
          iterations: rounds * iters,
          regions: oursFound.regions,
          regions_reference: cFound.regions,
        }),
      );

      walkOurs(read, t, 1, regions);
      const oursScan: number[] = [];
      const oursRead: number[] = [];
      const cScan: number[] = [];
      const cRead: number[] = [];
      for (let r = 0; r < readRounds; r++) {
        ctx.log(`  2${l.key} round ${r + 1}/${readRounds}`);
        oursScan.push(...walkOurs(scan, t, readIters, regions).times);
        oursRead.push(...walkOurs(read, t, readIters, regions).times);
        cScan.push((await walkC(built.bin.scanref, 'scan', t, readIters, returnMask)).ms);
        cRead.push((await walkC(built.bin.scanref, 'read', t, readIters, returnMask)).ms);
      }
      const cRatio = median(cScan) / median(cRead);
      out.push(
        makeCase(name2(l), median(oursScan), median(oursRead), goal2(l), {
          note: `ours: PagemapScanBackend vs PagemapReadBackend; same in C: ${median(cScan).toFixed(1)} vs ${median(cRead).toFixed(1)} ms (${cRatio.toFixed(2)}x)`,
          reference_c_scan_ms: Number(median(cScan).toPrecision(4)),
          reference_c_read_ms: Number(median(cRead).toPrecision(4)),
          reference_c_ratio: Number(cRatio.toPrecision(4)),
        }),
      );
    } finally {
      scan.close();
      read.close();
      await t.proc.stop();
    }
  }
  return out;
}
