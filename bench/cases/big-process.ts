/**
 * Cases 1d and 10b: a big process (~1M regions) scanned cold and recorded, issue 22 item 4.
 *
 * The target is case 1c's: an 8 GiB reservation with every other page of its first half present
 * (~1M regions; 2 GiB with --quick).
 *
 * 1d, cold scan: what a user pays for `pagescope scan --pid P`. Each of ours is a new process
 * (the built CLI, bin/pagescope.mjs), whose own figure ("scanned with PAGEMAP_SCAN in X ms":
 * maps + walk + store + per-VMA summaries, after Node's start-up) is taken; each of C's is a new
 * scanref.c process doing one walk of [0, TASK_SIZE) (regions stored in realloc'd arrays). Cold
 * on both sides: every page of the region arrays is touched for the first time, which on these
 * VMs is most of the cost (a fault costs tens of microseconds). Runs alternate which side goes
 * first; the figures are medians.
 *
 * 10b, recording: SessionRecorder on a session attached to the target (page states only, no
 * write watching) at 10 Hz, with a keyframe every 3 ticks instead of every 100 so that one run
 * sees many. Ours: the recorder's cost for a keyframe tick (every page's state coded against
 * zeros: ~1M runs, encoded and written with one write()), the costly tick of a recording; the
 * ticks between keyframes and the recording's first tick are in the note. Reference: the
 * session's own scan per tick (counters.scanMs: maps + scan + aggregation) of the same ticks.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { probeCapabilities } from '../../core/kernel/capabilities.ts';
import { parseRecording } from '../../core/record/reader.ts';
import { SessionRecorder } from '../../core/record/recorder.ts';
import { TickFlag } from '../../core/record/tick-codec.ts';
import { Session } from '../../core/session/session.ts';
import { parseScanLine } from '../lib/cli-output.ts';
import { runOnce, startTarget, type Target } from '../lib/native.ts';
import { goalAtMost, makeCase, median, skippedCase, type CaseResult } from '../lib/stats.ts';
import type { BenchContext } from './context.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/pagescope.mjs');
const TASK_SIZE_HEX = '7ffffffff000';
/** Keyframes this often in 10b, so a run measures many of them (they are the costly ticks). */
const KEYFRAME_EVERY = 3;

export const COLD_SCAN_NAME =
  '1d cold scan at ~1M regions: a new `pagescope scan` vs a new C walk, 8 GiB target';
export const BIG_RECORD_NAME = '10b recording at ~1M regions: a keyframe tick vs the scan per tick';

/** One cold `pagescope scan` of `pid` in a new process: its own scan time and the wall time. */
function coldScanOurs(pid: number): { regions: number; ms: number; wallMs: number } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [BIN, 'scan', '--pid', String(pid)], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  const wallMs = performance.now() - t0;
  if (r.status !== 0) throw new Error(`pagescope scan exited ${r.status}: ${r.stderr}`);
  return { ...parseScanLine(r.stdout), wallMs };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function unavailable(ctx: BenchContext): string | null {
  const caps = probeCapabilities();
  if (!ctx.built.ok) return ctx.built.reason;
  if (!caps.pagemapScan) return `kernel ${caps.kernel} has no PAGEMAP_SCAN (6.7+)`;
  return null;
}

async function coldScanCase(ctx: BenchContext, t: Target, name: string): Promise<CaseResult> {
  const goal = goalAtMost(1.25, 'ours <= 1.25x C, cold each side');
  if (!ctx.built.ok) return skippedCase(name, goal, ctx.built.reason);
  const scanref = ctx.built.bin.scanref;
  ctx.log('  building the CLI (scripts/build.mjs --node)');
  const b = spawnSync(process.execPath, [path.join(ROOT, 'scripts/build.mjs'), '--node'], {
    encoding: 'utf8',
  });
  if (b.status !== 0) throw new Error(`the build failed: ${b.stderr}`);
  const mask = probeCapabilities().supportedCategories.toString(16);
  const rounds = ctx.quick ? 3 : 7;
  const ours: number[] = [];
  const wall: number[] = [];
  const c: number[] = [];
  let regions = 0;
  let cRegions = 0;
  for (let r = 0; r < rounds; r++) {
    ctx.log(`  1d round ${r + 1}/${rounds}`);
    const runC = async () => {
      const f = await runOnce(scanref, [
        'scan',
        String(t.pid),
        '0',
        TASK_SIZE_HEX,
        '1',
        '4096',
        mask,
      ]);
      c.push(f.median_ns / 1e6);
      cRegions = f.regions;
    };
    if (r % 2 === 0) await runC();
    const o = coldScanOurs(t.pid);
    ours.push(o.ms);
    wall.push(o.wallMs);
    regions = o.regions;
    if (r % 2 === 1) await runC();
  }
  // Each round's pair ran back to back, under the same neighbours: their ratio is steadier
  // than the ratio of the two medians when the machine's load swings (given in the note).
  const paired = median(ours.map((o, i) => o / c[i]));
  return makeCase(name, median(ours), median(c), goal, {
    note: `median of ${rounds} (median of the rounds' own ratios ${paired.toFixed(2)}x): a new \`pagescope scan\` process's own scan time (maps + walk + store + summaries; its wall time with Node's start-up ${median(wall).toFixed(0)} ms) vs a new scanref.c process's one walk of [0, TASK_SIZE); ${regions} regions (C: ${cRegions}); ours ${ours.map((x) => x.toFixed(0)).join('/')} ms, C ${c.map((x) => x.toFixed(0)).join('/')} ms`,
    iterations: rounds,
    regions,
    regions_reference: cRegions,
    wall_ms: Number(median(wall).toPrecision(4)),
    paired_ratio: Number(paired.toPrecision(4)),
  });
}

async function recordCase(ctx: BenchContext, pid: number, name: string): Promise<CaseResult> {
  const goal = goalAtMost(2, 'ours <= 2x the scan per tick');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagescope-bench-bigrec-'));
  const file = path.join(dir, 'big.pgsrec');
  const session = await Session.attach(pid, { sessionId: 1, intervalMs: 100 });
  let recorder: SessionRecorder | null = null;
  try {
    const costs: number[] = [];
    const scans: number[] = [];
    const ticks = ctx.quick ? 16 : 46;
    recorder = new SessionRecorder(session, {
      path: file,
      watching: 'nothing (page states only)',
      intervalMs: 100,
      version: 'bench',
      keyframeEvery: KEYFRAME_EVERY,
      onTick: (f, cost) => {
        costs.push(cost);
        scans.push(f.counters.scanMs);
      },
    });
    const deadline = performance.now() + 180_000;
    while (costs.length < ticks) {
      if (performance.now() > deadline) throw new Error('the session stopped sending frames');
      await sleep(50);
    }
    recorder.stop('bench done');
    // Which ticks were keyframes, from the file itself (the first frame may come before the
    // recorder's full view took effect: an overview-only tick, and the keyframe after it).
    const rec = parseRecording(fs.readFileSync(file), file);
    if (rec.ticks.length !== costs.length)
      throw new Error(`the file holds ${rec.ticks.length} ticks, the recorder saw ${costs.length}`);
    const key: number[] = [];
    const delta: number[] = [];
    let firstKey = -1;
    rec.ticks.forEach((t, i) => {
      if (!(t.flags & TickFlag.KEYFRAME)) delta.push(costs[i]);
      else if (firstKey < 0) firstKey = costs[i];
      else key.push(costs[i]);
    });
    const bytes = fs.statSync(file).size;
    return makeCase(name, median(key), median(scans), goal, {
      note: `ours: encode + write() of a keyframe tick (every page's state against zeros), median of ${key.length} (a keyframe every ${KEYFRAME_EVERY} ticks here, every 100 by default); the recording's first keyframe (into new buffers) ${firstKey.toFixed(0)} ms; ticks between keyframes ${median(delta).toFixed(2)} ms (median of ${delta.length}); reference: the session's scan per tick (counters.scanMs), median of ${scans.length}; file ${(bytes / 1048576).toFixed(1)} MiB for ${rec.ticks.length} ticks; skipped ticks ${session.skippedTicks}`,
      keyframe_ms: Number(median(key).toPrecision(4)),
      first_keyframe_ms: Number(firstKey.toPrecision(4)),
      delta_tick_ms: Number(median(delta).toPrecision(4)),
      scan_tick_ms: Number(median(scans).toPrecision(4)),
    });
  } finally {
    recorder?.stop('bench done');
    await session.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Cases 1d and 10b (see the top comment). */
export async function bigProcessCases(ctx: BenchContext): Promise<CaseResult[]> {
  const gib = ctx.quick ? 2 : 8;
  const scanName = ctx.quick ? COLD_SCAN_NAME.replace('8 GiB', `${gib} GiB`) : COLD_SCAN_NAME;
  const recName = BIG_RECORD_NAME;
  const why = unavailable(ctx);
  if (why || !ctx.built.ok)
    return [
      skippedCase(scanName, goalAtMost(1.25), why ?? 'no C programs'),
      skippedCase(recName, goalAtMost(2), why ?? 'no C programs'),
    ];
  const t = await startTarget(ctx.built.bin.target, ['halves', String(gib)], { grandchild: true });
  try {
    const out: CaseResult[] = [];
    out.push(await coldScanCase(ctx, t, scanName));
    const caps = probeCapabilities();
    out.push(
      caps.pagemapScan
        ? await recordCase(ctx, t.pid, recName)
        : skippedCase(recName, goalAtMost(2), 'no PAGEMAP_SCAN'),
    );
    return out;
  } finally {
    await t.proc.stop();
  }
}
