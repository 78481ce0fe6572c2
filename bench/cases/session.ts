/**
 * Cases 5 and 7: a whole session (core/session) on layout (b), watching the mapping while the
 * target writes.
 *
 * 5. One tick end to end: the worker's own tick time (scan of every VMA + the watcher's get+reset
 *    + aggregation, reported per frame as counters.scanMs) plus encoding the frame for the wire
 *    (encodeFrame, timed here). The reference is the kernel work of the same tick done in C:
 *    one PAGEMAP_SCAN walk of the mapping (scanref scan) plus one get+reset of it (scanref
 *    tick). The session also scans the target's other VMAs (libc, stack...), a few dozen pages:
 *    noise next to the 2 GiB mapping. Rounds alternate: session frames for a while, then the
 *    session paused while C measures.
 * 7. Host memory: the RSS of this process (the session's worker lives in it) after running at
 *    10 Hz, against the history ring's budget.
 * The target writes every 6th page (pages that were never dropped, so the layout stays the
 *    ~350k-region one) about every 100 ms.
 */
import { probeCapabilities } from '../../core/kernel/capabilities.ts';
import type { Frame } from '../../core/protocol/frame.ts';
import { encodeFrame } from '../../core/protocol/wire.ts';
import { Session } from '../../core/session/session.ts';
import { LineProcess, runOnce, startTarget, type Target } from '../lib/native.ts';
import { infoGoal, makeCase, median, skippedCase, type CaseResult } from '../lib/stats.ts';
import type { BenchContext } from './context.ts';

const VEC_LEN = 4096;
const MiB = 2 ** 20;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Keeps the target writing every 6th page every ~100 ms until stopped. */
function writer(t: Target): { stop: () => Promise<void> } {
  let running = true;
  const loop = (async () => {
    while (running) {
      t.proc.send('w 6');
      await t.proc.line();
      await sleep(100);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

export async function sessionCases(ctx: BenchContext): Promise<CaseResult[]> {
  const pages = ctx.quick ? 131072 : 524288;
  const label = `${pages / 262144} GiB, every 3rd page dropped, watched`;
  const name5 = `5 session tick end to end: ${label}`;
  const goal5 = infoGoal('info: ours vs the kernel work in C');
  const seconds = ctx.quick ? 5 : 60;
  const name7 = `7 host memory: session at 10 Hz for ${seconds} s`;
  const goal7 = infoGoal('RSS growth within the history budget');
  const caps = probeCapabilities();
  const built = ctx.built;
  const reason = !built.ok
    ? built.reason
    : !caps.pagemapScan || !caps.uffdWpAsync
      ? `needs PAGEMAP_SCAN and userfaultfd async write-protect: ${caps.uffdProblem ?? 'no PAGEMAP_SCAN'}`
      : null;
  if (reason !== null || !built.ok)
    return [skippedCase(name5, goal5, reason ?? ''), skippedCase(name7, goal7, reason ?? '')];

  const t = await startTarget(built.bin.target, ['holes', String(pages)], {
    grandchild: true,
  });
  const rssStart = process.memoryUsage().rss;
  let session: Session | null = null;
  let w: { stop: () => Promise<void> } | null = null;
  let tick: LineProcess | null = null;
  try {
    session = await Session.attach(t.pid, { sessionId: 1, intervalMs: 100 });
    await session.watch([{ start: `0x${t.startHex}`, end: `0x${t.endHex}` }], []);
    const ours: number[] = [];
    const encodeMs: number[] = [];
    const workerMs: number[] = [];
    let collecting = false;
    let lastFrame: Frame | null = null;
    session.onFrame((f) => {
      lastFrame = f;
      if (!collecting) return;
      const t0 = performance.now();
      encodeFrame(f);
      const enc = performance.now() - t0;
      encodeMs.push(enc);
      workerMs.push(f.counters.scanMs);
      ours.push(f.counters.scanMs + enc);
    });
    tick = new LineProcess(built.bin.scanref, [
      'tick',
      String(t.pid),
      t.startHex,
      t.endHex,
      String(VEC_LEN),
    ]);
    const rounds = ctx.quick ? 2 : 4;
    const framesPerRound = ctx.quick ? 12 : 25;
    const cIters = ctx.quick ? 4 : 8;
    const refScan: number[] = [];
    const refTick: number[] = [];
    w = writer(t);
    await sleep(300); // first ticks: registration and the first protect pass
    for (let r = 0; r < rounds; r++) {
      ctx.log(`  5 round ${r + 1}/${rounds}`);
      collecting = true;
      const want = ours.length + framesPerRound;
      while (ours.length < want) await sleep(50);
      collecting = false;
      session.pause();
      await w.stop();
      for (let i = 0; i < cIters; i++) {
        t.proc.send('w 6');
        await t.proc.line();
        tick.send('t');
        refTick.push((await tick.fields()).ns / 1e6);
      }
      const s = await runOnce(built.bin.scanref, [
        'scan',
        String(t.pid),
        t.startHex,
        t.endHex,
        String(cIters),
        String(VEC_LEN),
        caps.supportedCategories.toString(16),
      ]);
      refScan.push(s.median_ns / 1e6);
      w = writer(t);
      session.resume();
    }
    const frame = lastFrame as Frame | null;
    const out = [
      makeCase(name5, median(ours), median(refScan) + median(refTick), goal5, {
        note: `worker tick (scan+get/reset+aggregate) ${median(workerMs).toFixed(1)} ms + encodeFrame ${median(encodeMs).toFixed(2)} ms; C: scan ${median(refScan).toFixed(1)} ms + get/reset ${median(refTick).toFixed(1)} ms; ${frame?.counters.written ?? '?'} pages written in the last tick`,
        frames: ours.length,
        worker_tick_ms: Number(median(workerMs).toPrecision(4)),
        encode_ms: Number(median(encodeMs).toPrecision(4)),
        reference_scan_ms: Number(median(refScan).toPrecision(4)),
        reference_get_reset_ms: Number(median(refTick).toPrecision(4)),
        skipped_ticks: session.skippedTicks,
      }),
    ];

    // 7: keep the session running, sample RSS once a second.
    ctx.log(`  7 running ${seconds} s at 10 Hz`);
    const rss: number[] = [];
    const deadline = performance.now() + seconds * 1000;
    while (performance.now() < deadline) {
      await sleep(1000);
      rss.push(process.memoryUsage().rss);
    }
    const h = session.getHistory();
    const growth = rss[rss.length - 1] - rssStart;
    const half = rss[rss.length - 1] - rss[Math.floor(rss.length / 2)];
    out.push({
      name: name7,
      ours_ms: null,
      reference_ms: null,
      ratio: null,
      goal: goal7.text,
      pass: h.usedBytes <= h.budgetBytes && growth <= h.budgetBytes + 64 * MiB,
      note: `RSS ${(rssStart / MiB).toFixed(0)} -> ${(rss[rss.length - 1] / MiB).toFixed(0)} MiB (+${(half / MiB).toFixed(1)} MiB over the last half); history ${(h.usedBytes / MiB).toFixed(2)} of ${(h.budgetBytes / MiB).toFixed(0)} MiB budget, ${h.ticks.length} ticks`,
      rss_start_mib: Number((rssStart / MiB).toFixed(1)),
      rss_end_mib: Number((rss[rss.length - 1] / MiB).toFixed(1)),
      rss_growth_last_half_mib: Number((half / MiB).toFixed(1)),
      history_used_bytes: h.usedBytes,
      history_budget_bytes: h.budgetBytes,
      ticks: h.ticks.length,
      seconds,
    });
    return out;
  } finally {
    await w?.stop();
    await tick?.stop();
    await session?.close();
    await t.proc.stop();
  }
}
