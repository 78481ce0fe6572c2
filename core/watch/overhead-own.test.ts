/**
 * pagescope's own CPU time in the estimate, end to end (overhead.ts competingOwnMs): a real
 * CPU-bound C writer (testing/cpu-writer.c) and the watching thread pinned to the same CPU, so
 * each ms the tick runs is a ms the writer waits for it; every tick runs a known 5 ms of CPU on
 * top (a collect hook). The figures must count the writer's share of that time (estOwnPct, and
 * in estOverheadPct), and must not where the target did not compete with it: the same watch of
 * a sleeping target charges nothing of ours.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isWritableMapping } from '../cli/vma-choice.ts';
import { libc } from '../kernel/libc.ts';
import type { Vma } from '../proc/maps.ts';
import { buildC } from '../../testing/c-build.ts';
import { REPO, startPyTarget, cleanupAfterEach } from '../../testing/watch-support.ts';
import { until } from '../../testing/wait.ts';
import { WatchDriver, type WatchFigures } from './driver.ts';
import { threadCpuUs } from '../kernel/libc.ts';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});
const { defer, track } = cleanupAfterEach();

const sched = {
  get: libc.func('int sched_getaffinity(int pid, size_t len, _Out_ uint8_t *mask)'),
  set: libc.func('int sched_setaffinity(int pid, size_t len, const uint8_t *mask)'),
};
const MASK_BYTES = 128;

/** Runs `fn` with this thread pinned to CPU 0 (restored after); null when it cannot pin. */
async function onCpu0<T>(fn: () => Promise<T>): Promise<T | null> {
  const old = Buffer.alloc(MASK_BYTES);
  if (sched.get(0, MASK_BYTES, old) !== 0 || !(old[0] & 1)) return null;
  const cpu0 = Buffer.alloc(MASK_BYTES);
  cpu0[0] = 1;
  if (sched.set(0, MASK_BYTES, cpu0) !== 0) return null;
  try {
    return await fn();
  } finally {
    sched.set(0, MASK_BYTES, old);
  }
}

/** Spins this thread for `us` of its CPU time. */
function burn(us: number): void {
  const end = threadCpuUs() + us;
  let x = 1;
  while (threadCpuUs() < end) for (let i = 0; i < 1000; i++) x = (x * 48271) % 2147483647;
  if (x === 0) throw new Error('unreachable');
}

const BURN_US = 5000;

/** The machine's busy CPU time so far, all CPUs, ms (/proc/stat: user nice system irq softirq). */
function machineBusyMs(): number {
  const f = fs.readFileSync('/proc/stat', 'latin1').split('\n')[0].trim().split(/\s+/).map(Number);
  return (f[1] + f[2] + f[3] + f[6] + f[7]) * 10;
}
const median = (v: number[]): number => [...v].sort((a, b) => a - b)[v.length >> 1];

/**
 * Watches `pid`'s writable mappings at 100 ms, burning BURN_US a tick, until `enough` says so
 * of the ticks so far (a loaded machine gives the target less CPU a tick: more ticks).
 */
async function watchBurning(
  pid: number,
  enough: (figures: WatchFigures[]) => boolean,
): Promise<WatchFigures[]> {
  const d = new WatchDriver({
    pid,
    intervalMs: 100,
    select: (vmas: Vma[]) =>
      vmas.filter(isWritableMapping).map((v) => ({ startPage: v.startPage, endPage: v.endPage })),
    follow: true,
  });
  defer(() => d.close());
  d.onCollect(() => burn(BURN_US));
  d.arm();
  const figures: WatchFigures[] = [];
  d.start(() => {
    const s = d.collect();
    if (s.kind === 'watching') figures.push(s.figures);
  }, d.gridIntervalMs);
  await until('enough ticks', () => enough(figures), 60_000);
  d.close();
  return figures;
}

describe('the estimate counts pagescope’s own CPU time where it competed with the target (real kernel, real processes)', () => {
  it('a CPU-bound target on our CPU: our tick’s CPU time is in the estimate; a sleeping target: none of it', async (ctx) => {
    let exe = '';
    try {
      exe = buildC(path.join(REPO, 'testing/cpu-writer.c'));
    } catch (err) {
      ctx.skip(`no C compiler: ${(err as Error).message}`);
    }
    const writer = spawn(exe, [], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(writer);
    let out = '';
    writer.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await until('the writer to be ready', () => out.includes('ready'), 10_000);
    if (spawnSync('taskset', ['-p', '-c', '0', String(writer.pid)]).status !== 0)
      ctx.skip('taskset cannot pin here');
    // The first tick counts from the arm; the rest from the tick before. Ticks in which the
    // writer ran under 5 ms (the floor: a starved target is charged nothing) are left out.
    const running = (figures: WatchFigures[]) => figures.slice(1).filter((f) => f.targetCpuMs >= 5);
    const machine0 = machineBusyMs();
    const busy = await onCpu0(() => watchBurning(writer.pid!, (f) => running(f).length >= 6));
    const machineMs = machineBusyMs() - machine0;
    if (busy === null) return ctx.skip('cannot pin this thread to CPU 0');
    const ticks = running(busy);
    // Our CPU time per tick: at least the burn (and what the tick itself ran).
    expect(median(ticks.map((f) => f.ownCpuMs))).toBeGreaterThanOrEqual((BURN_US / 1000) * 0.9);
    // What the burn took from the writer, as a share of its CPU time: the scheduler takes it
    // from all that runs (overhead.ts competingOwnMs), so every busy task, the writer too, lost
    // our time over the machine's (read here from /proc/stat over the whole watch, per tick).
    // Pinned to our CPU, the writer really lost more (all of it): this is the floor.
    const busyPerTick = machineMs / busy.length;
    const burnPct = (100 * BURN_US) / 1000 / busyPerTick;
    const own = median(ticks.map((f) => f.estOwnPct));
    console.log(
      `writer CPU per tick ${median(ticks.map((f) => f.targetCpuMs)).toFixed(1)} ms, ours ` +
        `${median(ticks.map((f) => f.ownCpuMs)).toFixed(1)} ms, the machine's ${busyPerTick.toFixed(0)} ms; ` +
        `burn ${burnPct.toFixed(1)}% of the machine's, charged ${own.toFixed(1)}%, estimate ` +
        `${median(ticks.map((f) => f.estOverheadPct)).toFixed(1)}%`,
    );
    expect(own).toBeGreaterThanOrEqual(burnPct * 0.5);
    // Not more than all of our CPU time over its CPU time (nothing invented).
    for (const f of ticks) {
      expect(f.estOwnPct).toBeLessThanOrEqual((100 * f.ownCpuMs) / f.targetCpuMs + 1e-6);
      expect(f.estOverheadPct).toBeGreaterThanOrEqual(Math.min(100, f.estOwnPct) - 1e-6);
    }
    writer.kill('SIGKILL');

    // A sleeping target: the same ticks, the same burn, and nothing of it taken from the target.
    const sleeper = track(await startPyTarget(16));
    const idle = await onCpu0(() => watchBurning(sleeper.pid, (f) => f.length >= 5));
    if (idle === null) return ctx.skip('cannot pin this thread to CPU 0');
    expect(median(idle.map((f) => f.ownCpuMs))).toBeGreaterThanOrEqual((BURN_US / 1000) * 0.9);
    expect(idle.map((f) => f.estOwnPct)).toEqual(idle.map(() => 0));
  });
});
