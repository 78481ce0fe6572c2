/**
 * A tick's figures (tick-figures.ts), the one place the watch driver and bench 8/8b make them:
 * the flushes follow the tick's written list and sample units, the estimate is estimateOverhead's
 * at the readings, and the controller is told the sample's extrapolation, not its pages seen.
 */
import { describe, expect, it } from 'vitest';
import { RegionList } from '../scan/region-list.ts';
import { costRange, estimateOverhead } from './overhead.ts';
import { tickEstimate, tickFlushes, tickLoad, type TickReadings } from './tick-figures.ts';
import type { WatchTick } from './watch-types.ts';

const BLOCK = 512; // pages in 2 MiB
const cost = { usPerFault: 0.7, q1Us: 0.6, q3Us: 0.9 };
const readings: TickReadings = {
  coveredMs: 100,
  cpuMs: 40,
  waitMs: 20,
  ownMs: 2,
  ownMeasured: true,
  busyMs: 180,
};

function tickOf(faultedPages: number, sample?: WatchTick['sample']): WatchTick {
  return {
    writtenPages: 6,
    exact: sample === undefined,
    faultedPages,
    sample,
    appeared: [],
    disappeared: [],
    pending: [],
  };
}

/** Two written pages at the start of each of three blocks. */
function written(): RegionList {
  const out = new RegionList(8);
  for (let b = 0; b < 3; b++) out.push(b * BLOCK, b * BLOCK + 2, 0, 0);
  return out;
}

describe('tick figures', () => {
  it('flushes one block per 2 MiB block written, whole from its first page to its end; none without faults', () => {
    expect(tickFlushes(tickOf(6), written())).toEqual({ blocks: 3, wholeTlb: 3 });
    expect(tickFlushes(tickOf(0), written())).toEqual({ blocks: 0, wholeTlb: 0 });
  });

  it("a sample's flush ends with its unit: 16-page units at 1/64 flush no whole TLB", () => {
    const sample = {
      fraction: 1 / 64,
      watchedPages: 64 * BLOCK,
      sampledPages: BLOCK,
      observedPages: 6,
      estimatedPages: 384,
      errorPages: null,
    };
    expect(tickFlushes(tickOf(6, sample), written())).toEqual({ blocks: 3, wholeTlb: 0 });
    const load = tickLoad(
      tickOf(6, sample),
      { blocks: 3, wholeTlb: 0 },
      tickEstimate(tickOf(6, sample), { blocks: 3, wholeTlb: 0 }, cost, readings),
      readings,
      () => 7,
    );
    expect(load.writtenPagesAtFull).toBe(384);
    expect(load.sampledPages).toBe(BLOCK);
    expect(load.widerPages?.()).toBe(7);
  });

  it("the estimate is estimateOverhead's at the readings, and the controller is told it", () => {
    const tick = tickOf(6);
    const flushes = tickFlushes(tick, written());
    const est = tickEstimate(tick, flushes, cost, readings);
    expect(est).toEqual(
      estimateOverhead({
        faultedPages: 6,
        usPerFault: 0.7,
        intervalMs: 100,
        targetCpuMs: 40,
        range: costRange(cost),
        targetWaitMs: 20,
        flushedBlocks: 3,
        ownCpuMs: 2,
        machineBusyMs: 180,
        wholeTlbFlushes: 3,
      }),
    );
    const load = tickLoad(tick, flushes, est, { ...readings, ownMeasured: false }, () => 0);
    expect(load).toMatchObject({
      writtenPagesAtFull: 6,
      faultedPages: 6,
      flushedBlocks: 3,
      wholeTlbFlushes: 3,
      elapsedMs: 100,
      targetCpuMs: 40,
      highPct: est.highPct,
      ownMeasured: false,
    });
    expect(load.sampledPages).toBeUndefined();
    expect(load.waitShare).toBeCloseTo(20 / 60, 9);
  });
});
