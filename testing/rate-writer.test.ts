/**
 * testing/rate-writer.c dirties the rate it is asked for, also one that is not a multiple of 100
 * a second (250 was written as 2 pages a 10 ms step: 200 pages/s, which made an exporter run's
 * estimate look 21% low). Counted exactly by the watcher (fraction 1) over a few seconds.
 */
import fs from 'node:fs';
import { afterAll, expect, it } from 'vitest';
import { probeCapabilities } from '../core/kernel/capabilities.ts';
import { RegionList } from '../core/scan/region-list.ts';
import { WriteWatcher } from '../core/watch/watcher.ts';
import { buildWriter, startWriter, tempDir } from './exporter-support.ts';
import { until } from './wait.ts';

const dir = tempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

it('writes RATE distinct pages a second, RATE 250 too', async (ctx) => {
  const caps = probeCapabilities();
  if (!caps.uffdWpAsync) ctx.skip(`no userfaultfd async write-protect: ${caps.uffdProblem}`);
  const RATE = 250;
  const w = await startWriter(buildWriter(dir), RATE, 32768, 60);
  try {
    const ranges = fs
      .readFileSync(`/proc/${w.pid}/maps`, 'latin1')
      .split('\n')
      .filter((l) => / rw.p /.test(l))
      .map((l) => {
        const [a, b] = l
          .split(' ')[0]
          .split('-')
          .map((h) => parseInt(h, 16) / 4096);
        return { startPage: a, endPage: b };
      });
    const watcher = WriteWatcher.attach(w.pid);
    try {
      watcher.arm(ranges);
      const out = new RegionList();
      watcher.tick(out);
      const t0 = performance.now();
      let pages = 0;
      // At least 2 s of writes: the writer keeps an absolute clock, so the count is off by at
      // most a 3-page step at each end (1.2% of 500), and 200 pages/s (the old bug) is 20% off.
      const ms = await until(
        '2 s of writes',
        () => {
          const t = watcher.tick(out);
          expect(t.exact).toBe(true);
          pages += t.writtenPages;
          const el = performance.now() - t0;
          return el >= 2000 ? el : null;
        },
        20_000,
        250,
      );
      const rate = (pages * 1000) / ms;
      expect(Math.abs(rate - RATE) / RATE, `${rate.toFixed(1)} pages/s`).toBeLessThan(0.05);
    } finally {
      watcher.close();
    }
  } finally {
    w.kill();
  }
});
