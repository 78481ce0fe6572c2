/**
 * The watch driver against real processes: arm, collect, refusals as codes, unwatch, following
 * a selection, and the tick grid it runs the owner's ticks on.
 */
import { describe, expect, it, vi } from 'vitest';
import { readMaps } from '../proc/maps.ts';
import { WatchDriver, type WatchStep } from './driver.ts';
import { tracesLeft, userfaultfdCount } from '../../testing/traces.ts';
import { cleanupAfterEach, startPyTarget, targetRange } from '../../testing/watch-support.ts';
import type { TickTiming } from './ticker.ts';

const { defer, track } = cleanupAfterEach();

const watching = (s: WatchStep): Extract<WatchStep, { kind: 'watching' }> => {
  if (s.kind !== 'watching') throw new Error(`expected a watching step, got ${s.kind}`);
  return s;
};

const NEW_VMA_PAGE = 0x200000000; // where watch-target.py's `m` maps its 16 pages

describe('WatchDriver', () => {
  it('attaches at the first arm, collects exactly the pages written, keeps refusals as codes, and unwatches', async () => {
    const t = track(await startPyTarget(16));
    const d = new WatchDriver({ pid: t.pid, intervalMs: 100 });
    defer(() => d.close());
    expect(d.collect()).toEqual({ kind: 'idle' });
    expect(d.watcher).toBeNull();
    const vdso = readMaps(t.pid).find((v) => v.kind === 'vdso')!;
    const states = d.arm([targetRange(t), { startPage: vdso.startPage, endPage: vdso.endPage }]);
    expect(states.filter((s) => s.status === 'watched')).toHaveLength(1);
    expect(d.refusalAt(vdso.startPage, vdso.endPage)).toEqual({
      code: 'special-mapping',
      detail: '[vdso]',
    });
    expect(d.watchedRanges()).toEqual([targetRange(t)]);
    expect(await t.send('w 2 3 9')).toMatch(/^ok/);
    const step = watching(d.collect());
    expect(step.writtenPages).toBe(3);
    expect(step.refused).toEqual([]);
    expect(watching(d.collect()).writtenPages).toBe(0);
    d.unwatch();
    expect(d.watcher).toBeNull();
    expect(d.refusalAt(vdso.startPage, vdso.endPage)).toBeUndefined();
    expect(d.collect()).toEqual({ kind: 'idle' });
    expect(tracesLeft(t.pid)).toEqual([]);
  });

  it('a following selection watches matching VMAs that appear later', async () => {
    const t = track(await startPyTarget(8));
    const d = new WatchDriver({
      pid: t.pid,
      intervalMs: 100,
      // The new VMA whole, and of the target's buffer only its own pages: its VMA may be merged
      // with a neighbour the interpreter writes (Debian's python3 3.11.2 maps one there).
      select: (vmas) =>
        vmas.flatMap((v) =>
          v.startPage === NEW_VMA_PAGE
            ? [{ startPage: v.startPage, endPage: v.endPage }]
            : v.startPage <= t.startPage && t.startPage < v.endPage
              ? [targetRange(t)]
              : [],
        ),
      follow: true,
    });
    defer(() => d.close());
    expect(d.arm().map((s) => s.startPage)).toEqual([t.startPage]);
    expect(await t.send('m')).toBe('ok');
    watching(d.collect()); // arms the new VMA
    expect(d.watchedRanges()).toContainEqual({
      startPage: NEW_VMA_PAGE,
      endPage: NEW_VMA_PAGE + 16,
    });
    expect(await t.send('W 1 2')).toBe('ok');
    const step = watching(d.collect());
    expect(step.writtenPages).toBe(2);
    expect(step.vmas?.some((v) => v.startPage === NEW_VMA_PAGE)).toBe(true);
    // A selection that is all watched is not armed again at every tick (the tick itself follows
    // what changes inside the watched ranges): a tick's CPU time is the target's on a full
    // machine. Still counted exactly.
    const armedAt = d.watcher!.armedAtMs;
    expect(await t.send('W 3 4 5')).toBe('ok');
    expect(watching(d.collect()).writtenPages).toBe(3);
    expect(d.watcher!.armedAtMs, 'a tick re-armed a selection that was all watched').toBe(armedAt);
  });

  it('ends the watch with a reason when the process exits, leaving no watcher', async () => {
    const t = track(await startPyTarget(8));
    const d = new WatchDriver({ pid: t.pid, intervalMs: 100 });
    defer(() => d.close());
    d.arm([targetRange(t)]);
    expect(userfaultfdCount(t.pid)).toBe(0); // ours lives in pagescope only
    t.kill();
    await vi.waitFor(() => {
      const s = d.collect();
      expect(s).toMatchObject({ kind: 'ended', endedBy: 'exit' });
    });
    expect(d.watcher).toBeNull();
  });

  it('runs the owner ticks on its grid with their timing; pause stops them, resume restarts', async () => {
    const t = track(await startPyTarget(8));
    const d = new WatchDriver({ pid: t.pid, intervalMs: 20 });
    defer(() => d.close());
    const seen: TickTiming[] = [];
    d.start((timing) => seen.push(timing), 0);
    await vi.waitFor(() => expect(seen.length).toBeGreaterThanOrEqual(3));
    d.pause();
    expect(d.paused).toBe(true);
    const n = seen.length;
    for (const s of seen) {
      expect(s.lagMs).toBeGreaterThanOrEqual(0);
      expect(s.skipped).toBe(Math.floor(s.lagMs / 20));
    }
    expect(seen.map((s) => s.n)).toEqual(seen.map((_, i) => i + 1));
    d.resume();
    await vi.waitFor(() => expect(seen.length).toBeGreaterThan(n));
    d.close();
  });
});
