/**
 * The exporter's pure parts: the write windows (working sets, rates, top VMAs), collapsed to
 * absolute pages, target specs and --listen. No process, no machine-wide state.
 */
import { describe, expect, it } from 'vitest';
import type { VmaInfo } from '../protocol/messages.ts';
import { isLoopback, parseListen } from './http.ts';
import { parseTarget } from './targets.ts';
import { toAbsolute, unionPages, vmaLabel, WriteWindow, type WriteTick } from './window.ts';

const tick = (t: number, written: number[], over: Partial<WriteTick> = {}): WriteTick => {
  let n = 0;
  for (let i = 0; i < written.length; i += 2) n += written[i + 1] - written[i];
  return {
    t,
    coverMs: 500,
    written: Float64Array.from(written),
    writtenEst: n,
    fraction: 1,
    byVma: new Map([['[heap]', n]]),
    ...over,
  };
};

describe('WriteWindow', () => {
  it('counts distinct pages over trailing windows and rates over the time the ticks cover', () => {
    const w = new WriteWindow();
    // 500 ms ticks; each writes pages [100 + t/500 * 10, +10) and pages [0, 5) again.
    for (let t = 500; t <= 20_000; t += 500) {
      const s = 100 + (t / 500) * 10;
      w.push(tick(t, [0, 5, s, s + 10]));
    }
    // 1 s: the last two ticks; 10 s: the last 20.
    expect(w.workingSet(1000)).toEqual({ pages: 5 + 20, exact: true });
    expect(w.workingSet(10_000)).toEqual({ pages: 5 + 200, exact: true });
    // 15 pages per 500 ms tick = 30 pages/s, whatever the window.
    expect(w.dirtyRate(10_000)).toBeCloseTo(30, 9);
    expect(w.totalWrittenPages).toBe(40 * 15);
  });

  it('weights rates by the time a tick covers (a late tick is not one interval)', () => {
    const w = new WriteWindow();
    w.push(tick(500, [0, 10]));
    w.push(tick(3500, [0, 60], { coverMs: 3000 }));
    // 70 pages over 3.5 s, not 35 pages per 500 ms tick.
    expect(w.dirtyRate(10_000)).toBeCloseTo(20, 9);
  });

  it('estimates a sampled window from the smallest sample in it, by the ratio in its blocks', () => {
    // Blocks of 10 pages; even blocks are sampled at 0.5, block 0 alone at 0.25 (nested).
    const model = {
      blockPages: 10,
      inSample: (b: number, f: number) => (f >= 1 ? true : f >= 0.5 ? b % 2 === 0 : b === 0),
      pages: (...fs: number[]) => ({ watched: 100, sampled: Math.min(...fs) >= 0.5 ? 50 : 10 }),
    };
    const w = new WriteWindow();
    // At 0.5: pages 0-4 (block 0) and 20-24 (block 2) seen; then at 0.25: 5-9 (block 0).
    w.push(tick(500, [0, 5, 20, 25], { fraction: 0.5, writtenEst: 20 }));
    w.push(tick(1000, [5, 10], { fraction: 0.25, writtenEst: 50 }));
    // Over both ticks the smallest sample (block 0) counts: 10 of its 10 pages, x 100 / 10.
    expect(w.workingSet(1000, model)).toEqual({ pages: 100, exact: false });
    // The last tick alone: 5 of 10, x 10.
    expect(w.workingSet(400, model)).toEqual({ pages: 50, exact: false });
    expect(w.dirtyRate(1000)).toBeCloseTo(70, 9);
  });

  it('estimates a window over samples that are not nested from their intersection', () => {
    // As below 1/32 and at 1/32 (sampling.ts): at 0.5 blocks 0 and 1 are sampled, at 0.25
    // blocks 1 and 2. Only block 1 was sampled in both ticks.
    const model = {
      blockPages: 10,
      inSample: (b: number, f: number) => (f >= 0.5 ? b === 0 || b === 1 : b === 1 || b === 2),
      pages: (...fs: number[]) => ({ watched: 100, sampled: fs.length > 1 ? 10 : 20 }),
    };
    const w = new WriteWindow();
    // Block 0 written whole at 0.5 (not sampled at 0.25: left out), 5 pages of block 1 at 0.25.
    w.push(tick(500, [0, 10], { fraction: 0.5, writtenEst: 50 }));
    w.push(tick(1000, [10, 15, 20, 30], { fraction: 0.25, writtenEst: 75 }));
    // 5 of block 1's 10 pages, x 100 / 10 (before: the 0.25 sample alone, 15 of 20 pages).
    expect(w.workingSet(1000, model)).toEqual({ pages: 50, exact: false });
  });

  it("states the rate error from the ticks' errors (root of the sum of squares), none when a tick had none", () => {
    const w = new WriteWindow();
    w.push(tick(1000, [0, 10], { coverMs: 1000, fraction: 0.5, writtenEst: 20, errPages: 3 }));
    w.push(tick(2000, [0, 10], { coverMs: 1000, fraction: 0.5, writtenEst: 20, errPages: 4 }));
    expect(w.dirtyRateError(2000)).toBeCloseTo(3.5, 9); // (3 + 4) / 2 s: the same blocks each tick
    w.push(tick(3000, [0, 10], { coverMs: 1000 }));
    expect(w.dirtyRateError(500)).toBe(0); // the last tick alone: exact
    w.push(tick(4000, [0, 10], { coverMs: 1000, fraction: 0.5, errPages: -1 }));
    expect(w.dirtyRateError(5000)).toBe(null);
  });

  it('keeps the top N VMA names and sums the rest under one', () => {
    const w = new WriteWindow();
    const byVma = new Map([
      ['a', 10],
      ['b', 40],
      ['c', 5],
      ['d', 1],
    ]);
    w.push(tick(1000, [0, 56], { coverMs: 1000, byVma }));
    expect(w.vmaRates(10_000, 2, '(other)')).toEqual([
      ['b', 40],
      ['a', 10],
      ['(other)', 6],
    ]);
    expect(w.vmaRates(10_000, 4, '(other)')).toHaveLength(4);
  });

  it('drops ticks older than a minute', () => {
    const w = new WriteWindow();
    for (let t = 1000; t <= 200_000; t += 1000) w.push(tick(t, [0, 1], { coverMs: 1000 }));
    expect(w.length).toBeLessThanOrEqual(66);
    expect(w.totalWrittenPages).toBe(200);
  });
});

describe('toAbsolute and unionPages', () => {
  const vma = (offset: number, startPage: number, endPage: number): VmaInfo =>
    ({ offset, startPage, endPage }) as VmaInfo;
  it('maps collapsed indices to absolute pages, splitting across VMAs', () => {
    const vmas = [vma(0, 1000, 1010), vma(10, 5000, 5020)];
    expect([...toAbsolute(Float64Array.from([2, 4, 8, 14]), vmas)]).toEqual([
      1002, 1004, 1008, 1010, 5000, 5004,
    ]);
  });
  it('counts the union of overlapping lists once', () => {
    expect(unionPages([Float64Array.from([0, 10, 20, 30]), Float64Array.from([5, 25])])).toBe(30);
    expect(unionPages([])).toBe(0);
  });
  it('names anonymous memory by kind', () => {
    expect(vmaLabel({ path: '', kind: 'anon' })).toBe('[anon]');
    expect(vmaLabel({ path: '/usr/lib/libc.so.6', kind: 'file' })).toBe('libc.so.6');
  });
});

describe('target specs and --listen', () => {
  it('parses the three kinds and refuses anything else in one sentence', () => {
    expect(parseTarget('pid:42')).toMatchObject({ kind: 'pid', pid: 42, text: 'pid:42' });
    const c = parseTarget('comm:redis-.*');
    expect(c.kind === 'comm' && c.pattern.test('redis-server')).toBe(true);
    expect(c.kind === 'comm' && c.pattern.test('xredis-server')).toBe(false);
    const root = '/sys/fs/cgroup';
    expect(parseTarget('cgroup:/system.slice/x.service', root)).toMatchObject({
      dir: '/sys/fs/cgroup/system.slice/x.service',
      text: 'cgroup:/system.slice/x.service',
    });
    expect(parseTarget('cgroup:/sys/fs/cgroup/a', root)).toMatchObject({ text: 'cgroup:/a' });
    expect(() => parseTarget('cgroup:../../etc', root)).toThrow(/outside/);
    expect(() => parseTarget('redis')).toThrow(/is not a target/);
    expect(() => parseTarget('comm:(')).toThrow(/not a regular expression/);
    expect(() => parseTarget('pid:0')).toThrow(/process id/);
  });
  it('binds loopback unless told otherwise', () => {
    expect(parseListen('9725')).toEqual({ host: '127.0.0.1', port: 9725 });
    expect(parseListen(':9725')).toEqual({ host: '0.0.0.0', port: 9725 });
    expect(parseListen('[::1]:80')).toEqual({ host: '::1', port: 80 });
    expect(() => parseListen('example.com:80')).toThrow(/IP address/);
    expect(() => parseListen('99999')).toThrow(/0 to 65535/);
    expect(isLoopback('127.0.0.1')).toBe(true);
    expect(isLoopback('::1')).toBe(true);
    expect(isLoopback('0.0.0.0')).toBe(false);
    expect(isLoopback('10.0.0.1')).toBe(false);
  });
});
