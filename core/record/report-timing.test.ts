/**
 * Late ticks are never hidden (issue 22): a crafted recording whose ticks came at 80-120 ms,
 * every 20th 450 ms late and one after a 5 s gap, of a process with a known write log (one fresh
 * page every 2 ms). The report gives the real tick rate and its gaps, marks the working-set
 * windows spanning a gap, says n/a for a window longer than the run, and its dirty rate is the
 * log's bytes per second (time-weighted), with the pre-copy estimate from it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  IRREGULAR,
  irregularTimes,
  loggedBy,
  writeIrregularRecording,
} from '../../testing/irregular-recording.ts';
import { readRecording } from './reader.ts';
import { buildReport } from './report.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagescope-lag-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('a recording whose ticks came late', () => {
  const file = path.join(dir, 'late.pgsrec');
  writeIrregularRecording(file);
  const times = irregularTimes();
  const r = buildReport(readRecording(file), 125e6);
  const gaps = times.slice(1).map((t, i) => t - times[i]);

  it('reports the real tick rate, the skipped ticks and the gaps', () => {
    expect(r.ticks).toBe(times.length);
    const sorted = [...gaps].sort((a, b) => a - b);
    const m = sorted.length;
    expect(r.timing.askedIntervalMs).toBe(100);
    expect(r.timing.meanIntervalMs).toBeCloseTo((times[times.length - 1] - times[0]) / m, 9);
    expect(r.timing.medianIntervalMs).toBe(
      m % 2 ? sorted[m >> 1] : (sorted[m / 2 - 1] + sorted[m / 2]) / 2,
    );
    // 450 ms late every 20th tick, and the 5 s gap: all over 2 x 100 ms; 80-120 ms is not.
    const late = gaps.filter((g) => g > 200);
    expect(late.length).toBe(times.filter((_, i) => (i + 1) % 20 === 0).length + 1);
    expect(r.timing.gaps.count).toBe(late.length);
    expect(r.timing.gaps.longestMs).toBe(IRREGULAR.gapMs);
    const longest = r.timing.gaps.list.find((g) => g.ms === IRREGULAR.gapMs);
    expect(longest).toMatchObject({
      tick: IRREGULAR.gapTick,
      index: IRREGULAR.gapTick - 1,
      toMs: times[IRREGULAR.gapTick - 1],
    });
    expect(r.timing.skipped).toBe(
      gaps.reduce((a, g) => a + Math.max(0, Math.round(g / 100) - 1), 0),
    );
  });

  it('marks windows that span a gap, and a window longer than the run is n/a', () => {
    const [s1, s10, s60, whole] = r.workingSet;
    expect(r.durationMs).toBeLessThan(60_000);
    expect(s60).toMatchObject({ window: '60 s', last: null, mean: null, peak: null, positions: 0 });
    // 1 s windows by hand: the log's pages are fresh, so a window's distinct pages are what
    // the log wrote since the tick before its first; it spans a gap if a tick in it came late.
    const runStart = times[0] - 100;
    const want = { positions: 0, spanningGap: 0, peak: 0, sum: 0 };
    times.forEach((t, i) => {
      if (t - runStart < 1000) return;
      const lo = times.findIndex((u) => u > t - 1000);
      const d = loggedBy(t) - (lo > 0 ? loggedBy(times[lo - 1]) : 0);
      want.positions++;
      want.sum += d;
      want.peak = Math.max(want.peak, d);
      if (gaps.slice(Math.max(0, lo - 1), i).some((g) => g > 200)) want.spanningGap++;
    });
    expect(s1).toMatchObject({
      positions: want.positions,
      spanningGap: want.spanningGap,
      peak: want.peak,
      mean: Math.round((want.sum / want.positions) * 10) / 10,
      peakSpansGap: true,
    });
    expect(s1.spanningGap).toBeGreaterThan(0);
    expect(s1.spanningGap).toBeLessThan(s1.positions);
    // The peak holds the 5 s gap's 2,500 pages.
    expect(s1.peak).toBeGreaterThan(2500);
    expect(s10.peak).not.toBeNull();
    expect(whole).toMatchObject({ last: loggedBy(times[times.length - 1]), positions: 1 });
    expect(whole.lastSpansGap).toBe(true);
  });

  it("the dirty rate is the log's bytes per second of wall time, within 1%", () => {
    expect(r.dirtyRate.meanBytesPerSecond / IRREGULAR.bytesPerSecond).toBeGreaterThan(0.99);
    expect(r.dirtyRate.meanBytesPerSecond / IRREGULAR.bytesPerSecond).toBeLessThan(1.01);
    expect(r.dirtyRate.meanMiBps).toBeCloseTo(r.dirtyRate.meanBytesPerSecond / 2 ** 20, 9);
  });

  it('the pre-copy estimate dirties what the log writes in a round', () => {
    // 12,000 pages at 125 MB/s: one round of ~393 ms, then what was written meanwhile.
    const p = r.precopy;
    expect(p.memoryPages).toBe(IRREGULAR.heapPages);
    const pagesIn = (ms: number): number => (IRREGULAR.bytesPerSecond / 4096) * (ms / 1000);
    const want = pagesIn(p.rounds[0].ms);
    expect(p.finalDirtyPages / want).toBeGreaterThan(0.95);
    expect(p.finalDirtyPages / want).toBeLessThan(1.05);
  });
});
