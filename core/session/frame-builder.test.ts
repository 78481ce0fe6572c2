import { describe, expect, it } from 'vitest';
import { RegionList } from '../scan/region-list.ts';
import type { Aggregate } from './aggregate.ts';
import { buildFrame, writtenPagePairs } from './frame-builder.ts';

function agg(withWindow: boolean): Aggregate {
  return {
    buckets: 2,
    pagesPerBucket: 8,
    histogram: new Uint32Array([1, 2, 3, 4]),
    window: withWindow ? { startIndex: 0, endIndex: 2, bits: new Uint16Array([1, 0]) } : null,
    written: new Float64Array([3, 5]),
    present: 12,
    swapped: 1,
    watched: 16,
    writtenPages: 2,
    vmaCounts: new Uint32Array([12, 1, 2]),
  };
}

describe('buildFrame', () => {
  it('puts counters, lateness and the aggregate where the protocol says, rounding the times', () => {
    const a = agg(false);
    const { frame, transfer } = buildFrame({
      sessionId: 4,
      tick: 9,
      vmaVersion: 2,
      totalPages: 16,
      tMs: 1234.56,
      scanMs: 1.23456,
      lagMs: 230.004,
      skipped: 2,
      intervalMs: 100,
      agg: a,
      watch: null,
    });
    expect(frame.counters).toEqual({
      tick: 9,
      t: 1235,
      present: 12,
      swapped: 1,
      written: 2,
      watched: 16,
      scanMs: 1.23,
      lagMs: 230,
      skipped: 2,
      estOverheadPct: 0,
      estOverheadLowPct: 0,
      estOverheadHighPct: 0,
      sampleFraction: 1,
      writtenEst: 2,
      writtenErr: 0,
      intervalMs: 100,
    });
    expect(frame).toMatchObject({ sessionId: 4, tick: 9, vmaVersion: 2, totalPages: 16 });
    expect(frame.overview).toEqual({ buckets: 2, pagesPerBucket: 8, histogram: a.histogram });
    expect(frame.written).toBe(a.written);
    expect(frame.window).toBeNull();
    expect(transfer).toEqual([a.histogram.buffer, a.written.buffer, a.vmaCounts.buffer]);
  });

  it('transfers the window bits too when there is a window, and carries the watch figures', () => {
    const a = agg(true);
    const { frame, transfer } = buildFrame({
      sessionId: 1,
      tick: 1,
      vmaVersion: 1,
      totalPages: 16,
      tMs: 0,
      scanMs: 0,
      lagMs: 0,
      skipped: 0,
      intervalMs: 800,
      agg: a,
      watch: {
        estOverheadPct: 4.567,
        estOwnPct: 0,
        ownCpuMs: 0,
        estOverheadLowPct: 2.9686,
        estOverheadHighPct: 7.0789,
        targetCpuMs: 40,
        estLowConfidence: false,
        sampleFraction: 0.25,
        writtenEst: 40,
        writtenErr: 12,
        intervalMs: 800,
      },
    });
    expect(frame.window).toBe(a.window);
    expect(frame.counters).toMatchObject({
      written: 2,
      estOverheadPct: 4.57,
      estOverheadLowPct: 2.97,
      estOverheadHighPct: 7.08,
      sampleFraction: 0.25,
      writtenEst: 40,
      writtenErr: 12,
      intervalMs: 800,
    });
    expect(transfer).toHaveLength(4);
    expect(transfer[3]).toBe(a.window!.bits.buffer);
  });
});

describe('writtenPagePairs', () => {
  it('merges adjacent regions and keeps gaps, reusing the scratch buffer when it is big enough', () => {
    const out = new RegionList(8);
    out.push(10, 12, 1, 0);
    out.push(12, 13, 1, 1); // adjacent (the next VMA): merged
    out.push(20, 21, 1, 1);
    const scratch = new Float64Array(16);
    const r = writtenPagePairs(out, scratch);
    expect(r.scratch).toBe(scratch);
    expect([...r.pairs]).toEqual([10, 13, 20, 21]);
  });

  it('grows the scratch buffer when the regions do not fit, and gives nothing for none', () => {
    const out = new RegionList(8);
    for (let i = 0; i < 10; i++) out.push(i * 2, i * 2 + 1, 1, 0);
    const r = writtenPagePairs(out, new Float64Array(4));
    expect(r.pairs.length).toBe(20);
    expect(r.scratch.length).toBeGreaterThanOrEqual(20);
    out.clear();
    expect(writtenPagePairs(out, r.scratch).pairs.length).toBe(0);
  });
});
