import { describe, expect, it } from 'vitest';
import { OVERHEAD_MEANING, rateText, statusText } from './StatusLine.tsx';

const base = {
  tick: 12,
  present: 1000,
  swapped: 2,
  written: 300,
  watched: 4096,
  scanMs: 1.25,
  estOverheadPct: 0.42,
  estOverheadLowPct: 0.27,
  estOverheadHighPct: 0.65,
  sampleFraction: 1,
  writtenEst: 300,
  writtenErr: 0,
};

describe('statusText', () => {
  it('says an exact count as a count, and the overhead as an estimate with its range', () => {
    expect(statusText(base, true)).toBe(
      '300 written pages in tick 12 · est. overhead 0.4% (0.3-0.7%) · 4,096 watched · scan 1.3 ms',
    );
    // What it is a share of, said on hover.
    expect(OVERHEAD_MEANING).toMatch(/share of the target's CPU time spent on write faults/);
    expect(OVERHEAD_MEANING).toMatch(/range it may be in/);
    // A recording made before the range was kept: the figure alone.
    expect(statusText({ ...base, estOverheadLowPct: -1, estOverheadHighPct: -1 }, true)).toContain(
      'est. overhead 0.4% ·',
    );
  });

  it('says a sampled count is an estimate, with its error and the sample', () => {
    const s = {
      ...base,
      sampleFraction: 0.125,
      writtenEst: 2412.6,
      writtenErr: 310,
      estOverheadPct: 12.3,
      estOverheadLowPct: 8,
      estOverheadHighPct: 19.07,
    };
    expect(statusText(s, true)).toMatch(
      /^≈ 2,413 ± 310 written pages \(est\., 12\.5% sample\) in tick 12 · est\. overhead 12% \(8\.0-19%\) ·/,
    );
    expect(statusText({ ...s, writtenErr: -1 }, true)).toMatch(/^≈ 2,413 written pages \(est\./);
  });

  it('gives the totals when nothing is watched', () => {
    expect(statusText(base, false)).toBe('Tick 12 · 1,000 present · 2 swapped · scan 1.3 ms');
  });
});

describe('rateText', () => {
  const ticks = (gapMs: number, n = 10, scanMs = 1, intervalMs = 100) =>
    Array.from({ length: n }, (_, i) => ({ t: i * gapMs, scanMs, intervalMs }));

  it('says the set rate while ticks keep it', () => {
    expect(rateText(ticks(100), 100)).toEqual({ text: 'every 100 ms', warning: null });
    expect(rateText(ticks(140), 100).warning).toBeNull();
    expect(rateText(ticks(5000, 2), 100).warning).toBeNull(); // too few ticks to tell
  });

  it('says the actual rate and why when ticks come slower', () => {
    const busy = rateText(ticks(1200), 100);
    expect(busy.text).toBe('every 100 ms · running at 1.2 s');
    expect(busy.warning).toMatch(/host is busy/);
    const slowScan = rateText(ticks(900, 10, 700), 100);
    expect(slowScan.warning).toMatch(/scan takes 700 ms.*longer interval/);
  });

  it('says when Max overhead lengthened the interval, and that is not lateness', () => {
    expect(rateText(ticks(800, 10, 1, 800), 100)).toEqual({
      text: 'every 100 ms · lengthened to 800 ms by Max overhead',
      warning: null,
    });
    const late = rateText(ticks(2000, 10, 1, 800), 100);
    expect(late.text).toBe('every 100 ms · lengthened to 800 ms by Max overhead · running at 2 s');
    expect(late.warning).toMatch(/host is busy/);
  });
});
