/**
 * Case 10: recording the demo workload at 10 Hz (core/record), its writable demo regions watched.
 *
 * Ours: the recorder's cost per tick on the main thread (coding the frame's page states against
 * the previous tick, the written ranges and VMA changes, and the one write() of the record).
 * Reference: the session's own tick in its worker (scan + get+reset + aggregation, the frame's
 * counters.scanMs) for the same ticks: the ratio says what recording adds to watching. The row
 * also reports the file size per minute of recording, the figure the README quotes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { probeCapabilities } from '../../core/kernel/capabilities.ts';
import { SessionRecorder } from '../../core/record/recorder.ts';
import { Session } from '../../core/session/session.ts';
import { infoGoal, makeCase, median, skippedCase, type CaseResult } from '../lib/stats.ts';
import type { BenchContext } from './context.ts';

export const RECORD_NAME = '10 recording the demo at 10 Hz';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function recordCases(ctx: BenchContext): Promise<CaseResult[]> {
  const goal = infoGoal('info: recording cost per tick vs the session tick; file size per minute');
  const caps = probeCapabilities();
  if (!caps.pagemapScan || !caps.uffdWpAsync)
    return [
      skippedCase(
        RECORD_NAME,
        goal,
        `needs PAGEMAP_SCAN and userfaultfd async write-protect: ${caps.uffdProblem ?? 'no PAGEMAP_SCAN'}`,
      ),
    ];
  const seconds = ctx.quick ? 15 : 60;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagescope-bench-record-'));
  const file = path.join(dir, 'demo.pgsrec');
  const session = await Session.launchDemo({ sessionId: 1, intervalMs: 100 });
  try {
    const deadline = performance.now() + 20_000;
    while (!session.vmas.some((v) => v.label?.startsWith('demo:'))) {
      if (performance.now() > deadline) throw new Error('the demo never showed its regions');
      await sleep(50);
    }
    await session.watch(
      session.vmas
        .filter((v) => v.label?.startsWith('demo:') && v.perms[1] === 'w')
        .map((v) => ({ start: v.start, end: v.end })),
      [],
    );
    const costs: number[] = [];
    const ticks: number[] = [];
    let firstT = -1;
    let lastT = 0;
    const recorder = new SessionRecorder(session, {
      path: file,
      watching: 'the demo regions',
      intervalMs: 100,
      version: 'bench',
      onTick: (f, cost) => {
        costs.push(cost);
        ticks.push(f.counters.scanMs);
        if (firstT < 0) firstT = f.counters.t;
        lastT = f.counters.t;
      },
    });
    ctx.log(`recording the demo for ${seconds} s`);
    await sleep(seconds * 1000);
    recorder.stop('bench done');
    const bytes = fs.statSync(file).size;
    const minutes = (lastT - firstT + 100) / 60_000;
    const perMinute = bytes / minutes;
    return [
      makeCase(RECORD_NAME, median(costs), median(ticks), goal, {
        note:
          `ours: median ms per tick to code and write a record (p max ${Math.max(...costs).toFixed(2)}); ` +
          `reference: median session tick (worker); ${costs.length} ticks over ${(minutes * 60).toFixed(1)} s, ` +
          `file ${(bytes / 1024).toFixed(0)} KiB = ${(perMinute / 1024).toFixed(0)} KiB per minute`,
        ticks: costs.length,
        file_bytes: bytes,
        bytes_per_minute: Math.round(perMinute),
      }),
    ];
  } finally {
    await session.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
