/**
 * Case 9 (session tick part): one session tick at ~1M regions against the C scan of the same
 * process. The target is case 1c's (8 GiB, every other page of its first half present); the
 * session (core/session, its worker thread) ticks at 10 Hz, unwatched. Ours is the worker's own
 * tick time (maps + scan of every VMA + aggregation, counters.scanMs) plus encodeFrame of the
 * frame (timed here); the reference is scanref.c walking [0, TASK_SIZE) in one chain. Rounds
 * alternate: frames for a while, then the session paused while C measures. The heatmap-draw
 * part of case 9 is another case.
 */
import { probeCapabilities } from '../../core/kernel/capabilities.ts';
import { encodeFrame } from '../../core/protocol/wire.ts';
import { Session } from '../../core/session/session.ts';
import { runOnce, startTarget } from '../lib/native.ts';
import { goalAtMost, makeCase, median, skippedCase, type CaseResult } from '../lib/stats.ts';
import type { BenchContext } from './context.ts';

export const SESSION_SCALE_NAME =
  '9 session tick at ~1M regions vs C scan: 8 GiB, every other page of its first half present';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function sessionScaleCases(ctx: BenchContext): Promise<CaseResult[]> {
  const gib = ctx.quick ? 2 : 8;
  const name = ctx.quick ? SESSION_SCALE_NAME.replace('8 GiB', `${gib} GiB`) : SESSION_SCALE_NAME;
  const goal = goalAtMost(2, 'ours <= 2x C scan');
  const caps = probeCapabilities();
  const built = ctx.built;
  if (!built.ok || !caps.pagemapScan) {
    const reason = !built.ok ? built.reason : `kernel ${caps.kernel} has no PAGEMAP_SCAN (6.7+)`;
    return [skippedCase(name, goal, reason)];
  }
  const t = await startTarget(built.bin.target, ['halves', String(gib)], { grandchild: true });
  let session: Session | null = null;
  try {
    session = await Session.attach(t.pid, { sessionId: 1, intervalMs: 100 });
    const ours: number[] = [];
    const worker: number[] = [];
    const encode: number[] = [];
    let collecting = false;
    session.onFrame((f) => {
      if (!collecting) return;
      const t0 = performance.now();
      encodeFrame(f);
      const enc = performance.now() - t0;
      encode.push(enc);
      worker.push(f.counters.scanMs);
      ours.push(f.counters.scanMs + enc);
    });
    const rounds = ctx.quick ? 2 : 4;
    const frames = ctx.quick ? 4 : 8;
    const c: number[] = [];
    // The first ticks grow the worker's region arrays: not what a running session pays.
    let warm = 0;
    session.onFrame(() => void warm++);
    while (warm < 3) await sleep(50);
    for (let r = 0; r < rounds; r++) {
      ctx.log(`  9 session round ${r + 1}/${rounds}`);
      collecting = true;
      const want = ours.length + frames;
      while (ours.length < want) await sleep(50);
      collecting = false;
      session.pause();
      const f = await runOnce(built.bin.scanref, [
        'scan',
        String(t.pid),
        '0',
        '7ffffffff000',
        ctx.quick ? '2' : '4',
        '4096',
        caps.supportedCategories.toString(16),
      ]);
      c.push(f.median_ns / 1e6);
      session.resume();
    }
    return [
      makeCase(name, median(ours), median(c), goal, {
        note: `worker tick (maps + scan + aggregate) ${median(worker).toFixed(1)} ms + encodeFrame ${median(encode).toFixed(2)} ms vs scanref.c scan of [0, TASK_SIZE); skipped ticks ${session.skippedTicks}`,
        frames: ours.length,
        worker_tick_ms: Number(median(worker).toPrecision(4)),
        encode_ms: Number(median(encode).toPrecision(4)),
      }),
    ];
  } finally {
    await session?.close();
    await t.proc.stop();
  }
}
