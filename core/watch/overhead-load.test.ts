/**
 * The overhead estimate under a CPU hog, end to end: a real CPU-bound C writer (testing/cpu-writer.c)
 * watched exactly by the real CLI while four busy loops of our own compete for the 2 CPUs.
 *
 * On a busy machine the target gets only part of a CPU; the share of ITS time its faults take
 * is the faults' time over its CPU time, not over the wall interval (KERNEL-NOTES "Where the
 * cost goes"). The test reads the writer's CPU time over the watch from /proc/PID/stat (the
 * whole process, clock ticks: a different source from the per-thread schedstat the estimate
 * divides by) and checks that the per-tick estimate is within 2x of the wall-interval model
 * divided by that CPU share. Dividing by the wall interval (the figure before) fails it: the
 * writer has well under half a CPU here, so that figure is under half of what it should be.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildC } from '../../testing/c-build.ts';
import { CLI, REPO } from '../../testing/watch-support.ts';
import { limit, until } from '../../testing/wait.ts';
import { CONTENTION_COST } from './overhead.ts';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

function start(exe: string, args: string[] = []): ChildProcess {
  const c = spawn(exe, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(c);
  return c;
}

/** utime + stime of the whole process, seconds (USER_HZ = 100). */
function cpuSeconds(pid: number): number {
  const s = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** The pages the writer writes (testing/cpu-writer.c's PAGES). */
const WRITER_PAGES = 16384;

const median = (v: number[]): number => [...v].sort((a, b) => a - b)[v.length >> 1];

interface Run {
  /** The writer's share of a CPU over the watch (/proc/PID/stat, whole process). */
  share: number;
  faultCostUs: number;
  ticks: Array<Record<string, number>>;
}

/** Starts the writer (and `hogs` busy loops), watches it for `ticks` ticks at 100 ms. */
async function watchWriter(
  ctx: { skip(reason: string): never },
  hogs: number,
  ticks: number,
  more: string[] = [],
): Promise<Run> {
  let exe = '';
  try {
    exe = buildC(path.join(REPO, 'testing/cpu-writer.c'));
  } catch (err) {
    ctx.skip(`no C compiler: ${(err as Error).message}`);
  }
  const writer = start(exe);
  let out = '';
  writer.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await until('the writer to be ready', () => out.includes('ready'), 10_000);
  // Busy loops (each ends by itself after 60 s; killed after the test).
  for (let i = 0; i < hogs; i++) start(exe, ['hog']);
  const pid = writer.pid!;
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  const r = spawnSync(
    process.execPath,
    [
      CLI,
      'watch',
      '--pid',
      String(pid),
      '--writable',
      '--interval',
      '100',
      '--ticks',
      String(ticks),
      '--json',
      ...more,
    ],
    { encoding: 'utf8', timeout: limit(60_000) },
  );
  const share = (cpuSeconds(pid) - cpu0) / ((performance.now() - t0) / 1000);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, number>);
  // The ticks: the lines with a "tick" key (not the start line, not the done line).
  return {
    share,
    faultCostUs: lines.at(-1)!.faultCostUs,
    ticks: lines.filter((l) => l.tick !== undefined),
  };
}

describe('estOverheadPct under a CPU hog (real kernel, real processes)', () => {
  it('is the share of the target’s CPU time, not of the wall time: not understated when the target gets part of a CPU', async (ctx) => {
    const { share, faultCostUs: c, ticks } = await watchWriter(ctx, 4, 25);
    // The hog works: the writer had well under a CPU (else this case would tell nothing).
    expect(share).toBeLessThan(0.6);
    // The calibration, timed by the CPU clock, is not thrown by the hog (quiet: 15-31 us;
    // wall-timed single calibrations read 359-1,456 us on a busy machine).
    expect(c).toBeLessThan(100);
    // Per tick (the first has no previous tick to time from): the wall-interval model, and the
    // estimate pagescope gave.
    const wall: number[] = [];
    const est: number[] = [];
    for (let i = 1; i < ticks.length; i++) {
      const dt = ticks[i].t - ticks[i - 1].t;
      if (!(dt > 0) || ticks[i].targetCpuMs < 0) continue;
      wall.push((ticks[i].writtenPages * c) / (dt * 10));
      est.push(ticks[i].estOverheadPct);
    }
    expect(est.length).toBeGreaterThan(10);
    const expected = Math.min(100, median(wall) / share);
    const got = median(est);
    console.log(
      `cpu share ${share.toFixed(2)}, fault cost ${c} us; median wall-based ${median(wall).toFixed(1)}%, ` +
        `scaled by the share ${expected.toFixed(1)}%, estimate ${got.toFixed(1)}%`,
    );
    expect(got).toBeGreaterThan(expected / 2);
    // Above it by the contention term at most (a target waiting for a CPU pays up to
    // 1 + CONTENTION_COST times the calibrated cost per fault, overhead.ts), then 2x: at a share
    // of 0.13-0.2 beside other load the estimate read 1.85-2.02x this model (a wall-based one
    // reads 1/share under it, which the line above catches).
    expect(got).toBeLessThan(expected * 2 * (1 + CONTENTION_COST));
  });

  it('--max-overhead 5 holds from the first tick, judged by the target’s CPU time, under the hog', async (ctx) => {
    const { share, faultCostUs: c, ticks } = await watchWriter(ctx, 4, 20, ['--max-overhead', '5']);
    expect(share).toBeLessThan(0.6);
    // Slow start: the first tick is a sample (exact, the writer's 16384 pages at ~20 us a fault
    // would cost over 3x the interval), no bigger than one interval's budget of a whole CPU would
    // allow if every page of it faulted (x2: the calibration the start used may differ from the
    // one printed at the end; the sample the start picks follows that cost, so no fixed fraction:
    // 1/64 at 20 us, 1/32 where faults are cheaper), and already within the bound.
    expect(ticks[0].sampleFraction).toBeLessThan(1);
    expect(ticks[0].sampleFraction * WRITER_PAGES * c).toBeLessThanOrEqual(2 * 100_000 * 0.05);
    expect(ticks[0].estOverheadPct).toBeLessThanOrEqual(5);
    // Every tick's faults over the writer's CPU share of the tick (independent of the per-thread
    // figure the controller used): within the bound, with room for one step over and noise.
    const paid: number[] = [];
    for (let i = 1; i < ticks.length; i++) {
      const dt = ticks[i].t - ticks[i - 1].t;
      if (dt > 0) paid.push((ticks[i].writtenPages * c) / (dt * 10 * share));
    }
    console.log(
      `cpu share ${share.toFixed(2)}; fractions ${ticks.map((t) => t.sampleFraction).join(' ')}; ` +
        `estimates ${ticks.map((t) => t.estOverheadPct).join(' ')}; median paid ${median(paid).toFixed(1)}%`,
    );
    expect(median(paid)).toBeLessThanOrEqual(5);
    expect(median(ticks.map((t) => t.estOverheadPct))).toBeLessThanOrEqual(5);
  });
});
