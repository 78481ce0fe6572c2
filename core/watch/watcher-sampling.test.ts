/**
 * Sampling (WriteWatcher.setSampleFraction) on a real python3 target writing known pages: exact
 * counts at fraction 1, an extrapolated count within its stated error at 0.25, the pages seen
 * being exactly the written pages of the sampled blocks, and fewer write-protect faults in the
 * target (its own minor-fault counter, /proc/PID/stat field 10).
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { probeCapabilities } from '../kernel/capabilities.ts';
import { RegionList } from '../scan/region-list.ts';
import { tracesLeft } from '../../testing/traces.ts';
import {
  cleanupAfterEach,
  pagesOf,
  prng,
  startPyTarget,
  targetRange,
  type PyTarget,
} from '../../testing/watch-support.ts';
import { blockSampled, ratioEstimate, SAMPLE_BLOCK_PAGES, WriteWatcher } from './watcher.ts';
import { pageSampled } from './sampling.ts';

const { defer, track } = cleanupAfterEach();

const PAGES = 65536; // 256 MiB: 128 blocks of 512 pages

function minorFaults(pid: number): number {
  const st = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  return Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[7]);
}

/** Writes `pages` (relative) in the target; returns the target's minor faults meanwhile. */
async function write(t: PyTarget, pages: number[]): Promise<number> {
  const before = minorFaults(t.pid);
  const answer = await t.send(`w ${pages.join(' ')}`);
  expect(answer).toMatch(/^ok /);
  return minorFaults(t.pid) - before;
}

/** Whether each of `n` pages from `page` is write-protected (/proc/PID/pagemap bit 57: a uffd-wp pte or marker). */
function wpBits(pid: number, page: number, n: number): boolean[] {
  const fd = fs.openSync(`/proc/${pid}/pagemap`, 'r');
  try {
    const b = Buffer.alloc(8 * n);
    fs.readSync(fd, b, 0, b.length, page * 8);
    return Array.from({ length: n }, (_, i) => ((b.readBigUInt64LE(i * 8) >> 57n) & 1n) === 1n);
  } finally {
    fs.closeSync(fd);
  }
}

function randomPages(rand: () => number, share: number): number[] {
  const out: number[] = [];
  for (let p = 0; p < PAGES; p++) if (rand() < share) out.push(p);
  return out;
}

const sampledIn = (t: PyTarget, f: number) => (p: number) =>
  blockSampled(Math.floor((t.startPage + p) / SAMPLE_BLOCK_PAGES), f);

describe('ratioEstimate', () => {
  it('is exact for a full sample; blocks written alike still leave the unsampled ones open', () => {
    expect(ratioEstimate([5, 7], [10, 10], 2, 2, 20)).toEqual({ estimate: 12, error: 0 });
    const e = ratioEstimate([128, 128, 128], [512, 512, 512], 3, 12, 6144);
    expect(e.estimate).toBe(1536);
    // Writes placed at random at 1/4: 96 a block's variance, 12^2 x 3/4 x 96 / 3 = 3456.
    expect(e.error).toBeCloseTo(2 * Math.sqrt(3456), 6);
    // Nothing written: the rate may still be up to ~3 in the 1,536 pages sampled (the rule of
    // three), unseen: a rate of 2.25 / 1,536 placed at random, not "0 +/- 0".
    const none = ratioEstimate([0, 0, 0], [512, 512, 512], 3, 12, 6144);
    const rr = 2.25 / 1536;
    expect(none.estimate).toBe(0);
    expect(none.error).toBeCloseTo(2 * Math.sqrt((144 * 0.75 * 512 * rr * (1 - rr)) / 3), 6);
  });

  it('states a wider error for blocks that differ, and says so when nothing was sampled', () => {
    const e = ratioEstimate([0, 512, 0, 512], [512, 512, 512, 512], 4, 16, 8192);
    expect(e.estimate).toBe(4096);
    expect(e.error).toBeGreaterThan(2000);
    expect(ratioEstimate([], [], 0, 16, 8192)).toEqual({ estimate: 0, error: 8192 });
  });
});

describe('blockSampled', () => {
  it('samples about the fraction asked, and a smaller fraction samples a subset', () => {
    let quarter = 0;
    let notSubset = 0;
    let notAll = 0;
    for (let b = 0; b < 100_000; b++) {
      const q = blockSampled(b + 0x3000000, 0.25);
      if (q) quarter++;
      if (blockSampled(b + 0x3000000, 0.1) && !q) notSubset++;
      if (!blockSampled(b, 1)) notAll++;
    }
    expect(notSubset).toBe(0);
    expect(notAll).toBe(0);
    expect(quarter / 100_000).toBeGreaterThan(0.24);
    expect(quarter / 100_000).toBeLessThan(0.26);
  });
});

describe('WriteWatcher sampling on a python3 target', () => {
  it('counts exactly at fraction 1, estimates within the stated error at 0.25 with fewer faults, and is exact again after', async (ctx) => {
    const caps = probeCapabilities();
    if (!caps.uffdWpAsync) ctx.skip(`no userfaultfd async write-protect: ${caps.uffdProblem}`);
    const t = track(await startPyTarget(PAGES));
    const w = WriteWatcher.attach(t.pid);
    defer(() => w.close());
    const all = Array.from({ length: PAGES }, (_, i) => i);
    await write(t, all); // populate every page before the watch
    w.arm([targetRange(t)]);
    const out = new RegionList();
    const rand = prng(20261129);

    // Exact: every written page, each one fault.
    const s1 = randomPages(rand, 0.3);
    const faults1 = await write(t, s1);
    const t1 = w.tick(out);
    expect(t1.exact).toBe(true);
    expect(t1.sample).toBeUndefined();
    expect(t1.writtenPages).toBe(s1.length);
    expect(t1.faultedPages).toBe(s1.length);
    expect(pagesOf(out, t.startPage)).toEqual(s1);
    expect(faults1).toBeGreaterThanOrEqual(s1.length);

    w.setSampleFraction(0.25);
    expect(w.sampleFraction).toBe(0.25);
    const inSample = sampledIn(t, 0.25);
    const check = (tick: ReturnType<WriteWatcher['tick']>, written: number[]) => {
      expect(tick.exact).toBe(false);
      const s = tick.sample!;
      expect(s.fraction).toBe(0.25);
      expect(s.watchedPages).toBe(PAGES);
      expect(s.sampledPages).toBe(all.filter(inSample).length);
      // What is listed is exactly what was written in the sampled blocks.
      expect(pagesOf(out, t.startPage)).toEqual(written.filter(inSample));
      expect(tick.writtenPages).toBe(written.filter(inSample).length);
      expect(s.observedPages).toBe(tick.writtenPages);
      expect(s.errorPages).not.toBeNull();
      // errorPages is 2 standard errors; 1.5x that (3 sigma) fails by chance about 1 run in 400.
      expect(Math.abs(s.estimatedPages - written.length)).toBeLessThanOrEqual(
        1.5 * s.errorPages! + 1,
      );
      expect(s.errorPages!).toBeLessThan(0.25 * written.length);
      return s;
    };

    // First sampled tick: every page still protected, the sampled ones are read.
    const s2 = randomPages(rand, 0.3);
    await write(t, s2);
    check(w.tick(out), s2);
    // All pages: the pages outside the sample fault one last time and stay writable.
    await write(t, all);
    const sAll = check(w.tick(out), all);
    expect(sAll.estimatedPages).toBeGreaterThan(0.9 * PAGES);

    // Steady state: only the sampled blocks fault.
    const s3 = randomPages(rand, 0.3);
    const faults3 = await write(t, s3);
    const t3 = w.tick(out);
    check(t3, s3);
    expect(t3.faultedPages).toBe(s3.filter(inSample).length);
    expect(faults3).toBeLessThan(0.6 * faults1);
    console.log(
      `sampling 0.25: ${faults1} faults exact, ${faults3} sampled; estimate ${t3.sample!.estimatedPages} +/- ${t3.sample!.errorPages} of ${s3.length}`,
    );

    // Back to exact: the next tick cannot state an error, the one after is exact.
    w.setSampleFraction(1);
    await write(t, randomPages(rand, 0.1));
    const back = w.tick(out);
    expect(back.exact).toBe(false);
    expect(back.sample?.errorPages).toBeNull();
    const s4 = randomPages(rand, 0.3);
    const faults4 = await write(t, s4);
    const t4 = w.tick(out);
    expect(t4.exact).toBe(true);
    expect(pagesOf(out, t.startPage)).toEqual(s4);
    expect(faults4).toBeGreaterThanOrEqual(s4.length);

    expect(() => w.setSampleFraction(0)).toThrow(/more than 0/);
    w.close();
    expect(tracesLeft(t.pid)).toEqual([]);
  });

  it('below 1/32 reads 64 KiB units, and leaves a VMA that appears while sampling unprotected outside them', async (ctx) => {
    const caps = probeCapabilities();
    if (!caps.uffdWpAsync) ctx.skip(`no userfaultfd async write-protect: ${caps.uffdProblem}`);
    const t = track(await startPyTarget(PAGES));
    const w = WriteWatcher.attach(t.pid);
    defer(() => w.close());
    const all = Array.from({ length: PAGES }, (_, i) => i);
    await write(t, all);
    const f = 1 / 64;
    w.setSampleFraction(f); // armed sampling: only the sampled units are protected
    const NEW = 0x200000000; // watch-target.py 'm' maps 16 pages there, later
    w.arm([targetRange(t), { startPage: NEW, endPage: NEW + 32 }]);
    const out = new RegionList();
    const rand = prng(20261205);
    const inSample = (p: number) => pageSampled(t.startPage + p, f);
    const s1 = randomPages(rand, 0.3);
    const faults = await write(t, s1);
    const t1 = w.tick(out);
    // Exactly the written pages of the sampled 64 KiB units, each one fault.
    expect(pagesOf(out, t.startPage)).toEqual(s1.filter(inSample));
    expect(t1.faultedPages).toBe(s1.filter(inSample).length);
    expect(t1.sample!.sampledPages).toBe(all.filter(inSample).length);
    // Its faults: those, and python's own for the command (hundreds), not the ~20,000 written.
    expect(faults).toBeLessThan(0.1 * s1.length);
    expect(Math.abs(t1.sample!.estimatedPages - s1.length)).toBeLessThanOrEqual(
      1.5 * t1.sample!.errorPages! + 1,
    );
    // A new VMA in the watched range, outside the sample at 1/64: registered and read whole
    // once (its present pages), then unprotected; before, it stayed write-protected.
    expect(pageSampled(NEW, f)).toBe(false);
    expect(await t.send('m')).toBe('ok');
    const t2 = w.tick(out);
    expect(t2.appeared.some((a) => a.startPage === NEW)).toBe(true);
    expect(wpBits(t.pid, NEW, 16).filter(Boolean)).toEqual([]);
    // Pages of the old mapping in the sample are protected again; outside it, none.
    const bits = wpBits(t.pid, t.startPage, PAGES);
    expect(all.filter((p) => bits[p] !== inSample(p))).toEqual([]);
  });
});
