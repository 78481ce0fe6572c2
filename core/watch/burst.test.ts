/**
 * A burst right after arming under --max-overhead, on a real writer (testing/rate-writer.c
 * rewriting 1 GiB about twice a second): every page of the first sample faults at the writer's
 * first write to it, whatever the interval, so what the arm protects is what the burst pays.
 * The faults are counted by the kernel (/proc/PID/stat minflt: the region is touched before the
 * watch, so a write-protect fault is the only minor fault left), over the first 0.6 s after the
 * arm, against the bound's pages at the least CPU share the controller assumes (a quarter of a
 * CPU), with a 4x margin. Before (2 MiB blocks, 1/64 at the least): ~8 blocks, ~4,000 faults
 * in the first half second; now a few dozen pages per tick.
 */
import fs from 'node:fs';
import { afterAll, expect, it } from 'vitest';
import { probeCapabilities } from '../kernel/capabilities.ts';
import { isWritableMapping } from '../cli/vma-choice.ts';
import { buildWriter, startWriter, tempDir } from '../../testing/exporter-support.ts';
import { WatchDriver } from './driver.ts';
import { faultCost } from './overhead.ts';
import { WriteWatcher } from './watcher.ts';

const dir = tempDir('pgs-burst-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Minor faults of the whole process so far. */
function minorFaults(pid: number): number {
  const s = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[7]);
}

it('--max-overhead 5 bounds a burst of writes right after the arm (a few dozen pages protected, not whole 2 MiB blocks)', async (ctx) => {
  const caps = probeCapabilities();
  if (!caps.uffdWpAsync || !caps.pagemapScan)
    ctx.skip(`write watching unavailable: ${caps.uffdProblem ?? 'no PAGEMAP_SCAN'}`);
  const REGION = 262_144; // 1 GiB
  const w = await startWriter(buildWriter(dir), 600_000, REGION, 60);
  let driver: WatchDriver | null = null;
  try {
    const us = faultCost().usPerFault; // calibrated before the arm, as the driver does
    driver = new WatchDriver({
      pid: w.pid,
      intervalMs: 100,
      watcher: WriteWatcher.attach(w.pid),
      select: (vmas) =>
        vmas.filter(isWritableMapping).map((v) => ({ startPage: v.startPage, endPage: v.endPage })),
      follow: true,
      maxOverheadPct: 5,
    });
    const f0 = minorFaults(w.pid);
    const t0 = performance.now();
    driver.arm();
    const d = driver;
    d.start(() => d.collect(), d.gridIntervalMs);
    // A measurement window (the writer goes round its region in 0.44 s), not a wait for a state.
    await new Promise((r) => setTimeout(r, 600));
    const faults = minorFaults(w.pid) - f0;
    const windowMs = performance.now() - t0;
    const first = d.watcher!.sampleFraction;
    // 5% of a quarter of a CPU over the window, in faults at the calibrated cost; x4.
    const bound = (4 * 0.05 * 0.25 * windowMs * 1000) / us;
    console.log(
      `burst: ${faults} faults in ${windowMs.toFixed(0)} ms (bound ${bound.toFixed(0)} at ${us.toFixed(1)} us), sample 1/${1 / first}`,
    );
    expect(faults).toBeLessThanOrEqual(bound);
  } finally {
    driver?.close();
    w.kill();
  }
});
