/**
 * EBUSY pieces (another userfaultfd registered on the range) are retried by the ticks
 * (registration.ts busyDue): a pagescope that was still exiting lets go and the range is watched
 * from then on, exactly (also through a group watch and the session); the schedule, with
 * injected times. A process that keeps its own userfaultfd is never retried: safety.test.ts.
 * Real kernel, real python3 targets (testing/watch-target.py).
 */
import { describe, expect, it } from 'vitest';
import type { VmaWatchState } from './watch-types.ts';
import {
  cleanupOf,
  expectTargetRunsOn,
  pagesOf,
  startPyTarget,
  targetRange,
  TargetModel,
} from '../../testing/watch-support.ts';
import { tracesLeft } from '../../testing/traces.ts';
import { until } from '../../testing/wait.ts';
import { WatchDriver } from './driver.ts';
import { GroupWatch } from './group-watch.ts';
import { Session } from '../session/session.ts';
import type { VmaInfo } from '../protocol/shapes.ts';
import type { Frame } from '../protocol/frame.ts';
import {
  BUSY_EVERY_TICK_MS,
  BUSY_FIRST_GAP_MS,
  BUSY_MAX_GAP_MS,
  Registration,
} from './registration.ts';
import { WriteWatcher } from './watcher.ts';
import { RegionList } from '../scan/region-list.ts';

const BUSY_SENTENCE = /another process’s userfaultfd \(a pagescope still exiting\?\).*retrying/;

describe('EBUSY pieces are retried', () => {
  it('a watch armed while another pagescope still holds the ranges watches every range once it lets go, and counts exactly', async (ctx) => {
    const { defer, track } = cleanupOf(ctx);
    const t = track(await startPyTarget(64));
    // Two ranges, two VMA pieces (pages 16..32 are made read-only: a VMA of their own between).
    expect(await t.send('p 16 32')).toBe('ok');
    const ranges = [targetRange(t, 0, 16), targetRange(t, 32, 64)];
    // The "pagescope still exiting": a watcher of its own whose userfaultfd holds both ranges
    // until it is closed (a SIGKILLed pagescope's goes when its process has finished exiting).
    const old = WriteWatcher.attach(t.pid);
    defer(() => old.close());
    expect(old.arm(ranges).map((s) => s.status)).toEqual(['watched', 'watched']);
    const driver = new WatchDriver({
      pid: t.pid,
      intervalMs: 100,
      watcher: WriteWatcher.attach(t.pid),
    });
    defer(() => driver.close());
    const armed = driver.arm(ranges);
    expect(armed).toEqual([
      expect.objectContaining({ status: 'refused', reason: expect.stringMatching(BUSY_SENTENCE) }),
      expect.objectContaining({ status: 'refused', reason: expect.stringMatching(BUSY_SENTENCE) }),
    ]);
    for (const s of armed)
      expect(driver.refusalAt(s.startPage, s.endPage)).toEqual({ code: 'other-userfaultfd' });
    // Retried while the other one holds them: still refused, nothing new to say.
    const held = driver.collect();
    expect(held.kind).toBe('watching');
    if (held.kind !== 'watching') return;
    expect(held.appeared).toEqual([]);
    expect(driver.watchedRanges()).toEqual([]);

    old.close();
    // The next tick registers both (a retry is due at every tick in the first seconds).
    const appeared: string[] = [];
    await until(
      'both ranges watched after the other userfaultfd went',
      () => {
        const step = driver.collect();
        if (step.kind === 'watching')
          for (const s of step.appeared)
            if (s.status === 'watched') appeared.push(`${s.startPage - t.startPage}`);
        return driver.watchedRanges().length === 2;
      },
      10_000,
      50,
    );
    expect(appeared.sort()).toEqual(['0', '32']);
    for (const s of armed) expect(driver.refusalAt(s.startPage, s.endPage)).toBeUndefined();
    expect(driver.watchedRanges()).toEqual(ranges);

    // Counted exactly from then on, in both ranges (and nothing from the read-only middle).
    const model = new TargetModel(t.pages);
    await expectTargetRunsOn(t, [1, 15, 33, 40, 63], model);
    let step = driver.collect();
    if (step.kind !== 'watching') throw new Error(`tick: ${step.kind}`);
    expect(pagesOf(step.written, t.startPage)).toEqual([1, 15, 33, 40, 63]);
    expect(step.writtenPages).toBe(5);
    await expectTargetRunsOn(t, [40, 2], model);
    step = driver.collect();
    if (step.kind !== 'watching') throw new Error(`tick: ${step.kind}`);
    expect(pagesOf(step.written, t.startPage)).toEqual([2, 40]);
    driver.close();
    expect(tracesLeft(t.pid)).toEqual([]);
  });

  it('a group watch (one driver per member) retries the same way', async (ctx) => {
    const { defer, track } = cleanupOf(ctx);
    const t = track(await startPyTarget(64));
    const old = WriteWatcher.attach(t.pid);
    defer(() => old.close());
    expect(old.arm([targetRange(t)]).map((s) => s.status)).toEqual(['watched']);
    const armed: VmaWatchState[] = [];
    const appeared: VmaWatchState[] = [];
    const gw = new GroupWatch({
      spec: { kind: 'pids', pids: [t.pid] },
      select: () => [targetRange(t)],
      intervalMs: 100,
      onArmed: (_m, states) => armed.push(...states),
      onAppeared: (_m, states) => appeared.push(...states),
    });
    defer(() => gw.close());
    gw.start();
    expect(armed).toEqual([
      expect.objectContaining({ status: 'refused', reason: expect.stringMatching(BUSY_SENTENCE) }),
    ]);
    expect(gw.members().map((m) => m.watchedPages)).toEqual([0]);
    old.close();
    await until(
      'the member watched after the other userfaultfd went',
      () => {
        gw.tick();
        return gw.members()[0]?.watchedPages === 64;
      },
      10_000,
      50,
    );
    // What the CLI's "now watching" line is said from.
    expect(appeared).toEqual([expect.objectContaining({ ...targetRange(t), status: 'watched' })]);
    await expectTargetRunsOn(t, [7, 8, 50]);
    const tick = gw.tick();
    expect(tick.members.map((m) => [m.pid, m.writtenPages])).toEqual([[t.pid, 3]]);
    gw.close();
    expect(tracesLeft(t.pid)).toEqual([]);
  });

  it('the session (what the UI shows) marks the range refused with the sentence, then watched without it', async (ctx) => {
    const { defer, track } = cleanupOf(ctx);
    // Not our child: the session's worker thread attaches (see session.test.ts).
    const t = track(await startPyTarget(64, [], { grandchild: true }));
    const old = WriteWatcher.attach(t.pid);
    defer(() => old.close());
    expect(old.arm([targetRange(t)]).map((s) => s.status)).toEqual(['watched']);
    const s = await Session.attach(t.pid, { sessionId: 41, intervalMs: 100 });
    defer(() => void s.close());
    let vmas: VmaInfo[] = [];
    const frames: Frame[] = [];
    s.onEvent((e) => {
      if (e.event === 'vmas') vmas = e.vmas;
    });
    s.onFrame((f) => frames.push(f));
    const row = (list: VmaInfo[]) => list.find((v) => v.startPage === t.startPage);
    const hexOf = (page: number) => '0x' + (page * 4096).toString(16);
    const armed = await s.watch(
      [{ start: hexOf(t.startPage), end: hexOf(t.startPage + t.pages) }],
      [],
    );
    expect(row(armed.vmas)).toMatchObject({
      watched: 'refused',
      watchNote: expect.stringMatching(BUSY_SENTENCE),
    });
    old.close();
    await until(
      () => `the row watched without its note (now: ${JSON.stringify(row(vmas))})`,
      () => row(vmas)?.watched === 'yes' && row(vmas)?.watchNote === undefined,
      10_000,
    );
    await until('a frame with the range watched', () => frames.at(-1)?.counters.watched === 64);
    const from = frames.length;
    await expectTargetRunsOn(t, [4, 5, 6]);
    await until(
      'the 3 written pages in the frames',
      () => frames.slice(from).reduce((n, f) => n + f.counters.written, 0) >= 3,
    );
    expect(frames.slice(from).reduce((n, f) => n + f.counters.written, 0)).toBe(3);
    await s.close();
    expect(tracesLeft(t.pid)).toEqual([]);
  });
});

describe('a range under another process’s userfaultfd whose VMA grows', () => {
  // Pieces are keyed by their bounds: the grown VMA is a piece of new bounds. Its pages were
  // there before, unwatched only because another userfaultfd held them: registered, they count
  // from then on (as a retried piece does), not all present pages as written at once.
  for (const order of ['let go, then grown', 'grown while held, then let go'] as const)
    it(`is counted from its registration, not as new memory (${order})`, async (ctx) => {
      const { defer, track } = cleanupOf(ctx);
      const t = track(await startPyTarget(8));
      const base = 0x200000000000 / 4096;
      expect(await t.send('m')).toBe('ok'); // 16 pages at base
      expect(await t.send('W 1 2 3 9')).toBe('ok');
      const range = { startPage: base, endPage: base + 32 };
      const old = WriteWatcher.attach(t.pid);
      defer(() => old.close());
      expect(old.arm([range]).map((s) => s.status)).toEqual(['watched']);
      const w = WriteWatcher.attach(t.pid);
      defer(() => w.close());
      expect(w.arm([range])).toEqual([
        expect.objectContaining({
          startPage: base,
          endPage: base + 16,
          status: 'refused',
          refusal: { code: 'other-userfaultfd' },
        }),
      ]);
      const out = new RegionList();
      if (order === 'grown while held, then let go') {
        expect(await t.send('g')).toBe('ok'); // 32 pages, still the other one's
        const held = w.tick(out);
        expect(held.writtenPages).toBe(0);
        expect(held.appeared).toEqual([
          expect.objectContaining({ startPage: base, endPage: base + 32, status: 'refused' }),
        ]);
        old.close();
      } else {
        old.close();
        expect(await t.send('g')).toBe('ok'); // 32 pages, same start
      }
      const res = w.tick(out);
      expect(res.appeared).toEqual([
        expect.objectContaining({ startPage: base, endPage: base + 32, status: 'watched' }),
      ]);
      // Pages 1, 2, 3 and 9 were written before the watch: not this tick's writes.
      expect(res.writtenPages).toBe(0);
      expect(pagesOf(out, base)).toEqual([]);
      expect(await t.send('W 2 20')).toBe('ok');
      const next = w.tick(out);
      expect(pagesOf(out, base)).toEqual([2, 20]);
      expect(next.writtenPages).toBe(2);
      expect(await t.send('u')).toBe('ok');
      w.close();
      expect(tracesLeft(t.pid)).toEqual([]);
    });
});

describe('the retry schedule of a range under another process’s userfaultfd', () => {
  // Registration's schedule alone (refuse, busyDue): no ioctl is made by these calls.
  const reg = new Registration(0, -1, null as never);
  const other = { status: 'refused', refusal: { code: 'other-userfaultfd' } } as VmaWatchState;
  const own = { status: 'refused', refusal: { code: 'own-userfaultfd' } } as VmaWatchState;

  it('retries at every tick for BUSY_EVERY_TICK_MS, then with gaps doubling to BUSY_MAX_GAP_MS, for as long as it is refused', () => {
    const due: number[] = [];
    reg.refuse('a', other, 0);
    // Ticks every 100 ms for 60 s; each due retry finds EBUSY again (refused again then).
    for (let t = 100; t <= 60_000; t += 100)
      if (reg.busyDue('a', t)) {
        due.push(t);
        reg.refuse('a', other, t);
      }
    const window = due.filter((t) => t < BUSY_EVERY_TICK_MS);
    expect(window.length).toBe(BUSY_EVERY_TICK_MS / 100 - 1); // every tick
    const gaps = due
      .filter((t) => t >= BUSY_EVERY_TICK_MS)
      .map((t, i, a) => (i ? t - a[i - 1] : 0))
      .slice(1);
    expect(gaps.slice(0, 4)).toEqual([
      BUSY_FIRST_GAP_MS,
      2 * BUSY_FIRST_GAP_MS,
      4 * BUSY_FIRST_GAP_MS,
      8 * BUSY_FIRST_GAP_MS,
    ]);
    // It never stops: retries go on every BUSY_MAX_GAP_MS to the end.
    expect(gaps.slice(4).every((g) => g === BUSY_MAX_GAP_MS)).toBe(true);
    expect(due.at(-1)).toBeGreaterThan(60_000 - BUSY_MAX_GAP_MS - 100);
  });

  it('never retries the process’s own, nor what was watched or went', () => {
    reg.refuse('b', own, 0);
    reg.refuse('c', other, 0);
    reg.unrefuse('c');
    for (let t = 0; t <= 20_000; t += 100) {
      expect(reg.busyDue('b', t)).toBe(false);
      expect(reg.busyDue('c', t)).toBe(false);
    }
  });
});
