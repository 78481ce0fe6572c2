/**
 * The write watcher against real processes: exactness against a target's own log of what it
 * wrote, GetWriteWatch semantics, processes nobody wrote for pagescope (python3 with an mmap, a
 * multi-threaded node), and "no trace afterwards" after every watch.
 */
import { spawn } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { describe, expect, it, vi } from 'vitest';
import { readMaps } from '../proc/maps.ts';
import { RegionList } from '../scan/region-list.ts';
import {
  cleanupAfterEach,
  expectTargetRunsOn,
  LineProcess,
  pagesOf,
  prng,
  startPyTarget,
  targetRange,
  TargetModel,
  tickedPages,
} from '../../testing/watch-support.ts';
import { tracesLeft, uwVmas } from '../../testing/traces.ts';
import { normalizeRanges, subtractRanges, WriteWatcher } from './watcher.ts';

const { defer, track } = cleanupAfterEach();

function watch(pid: number): WriteWatcher {
  const w = WriteWatcher.attach(pid);
  defer(() => w.close());
  return w;
}

describe('range helpers', () => {
  it('normalizes and subtracts page ranges', () => {
    expect(
      normalizeRanges([
        { startPage: 5, endPage: 9 },
        { startPage: 1, endPage: 3 },
        { startPage: 3, endPage: 6 },
      ]),
    ).toEqual([{ startPage: 1, endPage: 9 }]);
    expect(subtractRanges([{ startPage: 0, endPage: 10 }], [{ startPage: 3, endPage: 5 }])).toEqual(
      [
        { startPage: 0, endPage: 3 },
        { startPage: 5, endPage: 10 },
      ],
    );
  });
});

describe('WriteWatcher on a python3 target', () => {
  it('reports exactly the pages written in each of 100 ticks, and the target runs on untouched', async () => {
    const t = track(await startPyTarget(256));
    // The target is blocked in read(stdin) while we attach: it must resume that read normally.
    const w = watch(t.pid);
    expect(w.granularityPages).toBe(1);
    const states = w.arm([targetRange(t)]);
    expect(states).toEqual([expect.objectContaining({ status: 'watched' })]);
    expect(uwVmas(t.pid).length).toBeGreaterThan(0);

    const model = new TargetModel(256);
    const rand = prng(20260101);
    const out = new RegionList();
    let totalWritten = 0;
    for (let tick = 0; tick < 100; tick++) {
      const written = new Set<number>();
      const n = Math.floor(rand() * 24);
      for (let i = 0; i < n; i++) written.add(Math.floor(rand() * 256));
      const ws = [...written];
      await expectTargetRunsOn(t, ws, model);
      // Reads of other pages (including never-touched ones) must not count as writes.
      const reads = Array.from({ length: 6 }, () => Math.floor(rand() * 256));
      expect(await t.send(`r ${reads.join(' ')}`)).toBe(`ok ${model.checksum()}`);
      const res = w.tick(out);
      const got = pagesOf(out, t.startPage).sort((a, b) => a - b);
      expect(got, `tick ${tick}`).toEqual(ws.sort((a, b) => a - b));
      expect(res.writtenPages).toBe(ws.length);
      expect(res.ended).toBeUndefined();
      totalWritten += ws.length;
    }
    expect(totalWritten).toBeGreaterThan(500);
    w.close();
    expect(tracesLeft(t.pid)).toEqual([]);
    await expectTargetRunsOn(t, [0, 255], model);
  });

  it('has GetWriteWatch semantics: get without reset, a page limit, reset of a sub-range', async () => {
    const t = track(await startPyTarget(64));
    const w = watch(t.pid);
    w.arm([targetRange(t)]);
    const out = new RegionList();
    await t.send('w 1 2 3 10 40');
    const all = targetRange(t);
    expect(w.getWritten(all, { reset: false }, out)).toBe(5);
    expect(pagesOf(out, t.startPage)).toEqual([1, 2, 3, 10, 40]);
    // Without reset nothing changed.
    expect(w.getWritten(all, { reset: false }, out)).toBe(5);
    // A limit: the first two are returned and reset, the rest stay marked.
    expect(w.getWritten(all, { reset: true, maxPages: 2 }, out)).toBe(2);
    expect(pagesOf(out, t.startPage)).toEqual([1, 2]);
    expect(w.getWritten(all, { reset: false }, out)).toBe(3);
    expect(pagesOf(out, t.startPage)).toEqual([3, 10, 40]);
    // A sub-range query and a sub-range reset.
    expect(w.getWritten(targetRange(t, 0, 16), { reset: false }, out)).toBe(2);
    w.reset(targetRange(t, 0, 8));
    expect(w.getWritten(all, { reset: false }, out)).toBe(2);
    expect(pagesOf(out, t.startPage)).toEqual([10, 40]);
    w.reset();
    expect(w.getWritten(all, { reset: false }, out)).toBe(0);
    await t.send('w 7');
    expect(tickedPages(w, t.startPage)).toEqual([7]);
    w.close();
    expect(tracesLeft(t.pid)).toEqual([]);
  });

  it('disarms a sub-range: writes there are no longer reported, the rest still is', async () => {
    const t = track(await startPyTarget(64));
    const w = watch(t.pid);
    w.arm([targetRange(t)]);
    w.disarm([targetRange(t, 0, 32)]);
    expect(w.watchedRanges()).toEqual([targetRange(t, 32, 64)]);
    await t.send('w 5 40');
    expect(tickedPages(w, t.startPage)).toEqual([40]);
    w.disarm();
    expect(uwVmas(t.pid)).toEqual([]);
    w.close();
    w.close(); // idempotent
    expect(tracesLeft(t.pid)).toEqual([]);
  });

  it('follows a mapping that appears inside a watched range and one that disappears', async () => {
    const t = track(await startPyTarget(8));
    const w = watch(t.pid);
    const base = 0x200000000000 / 4096;
    // Nothing is mapped there yet: arming keeps the range and watches what appears in it.
    expect(w.arm([{ startPage: base, endPage: base + 256 }])).toEqual([]);
    const out = new RegionList();
    expect(w.tick(out).appeared).toEqual([]);
    expect(await t.send('m')).toBe('ok');
    const appeared = w.tick(out);
    expect(appeared.appeared).toEqual([
      expect.objectContaining({ startPage: base, endPage: base + 16, status: 'watched' }),
    ]);
    await t.send('W 3 9');
    w.tick(out);
    expect(pagesOf(out, base)).toEqual([3, 9]);
    expect(await t.send('u')).toBe('ok');
    const gone = w.tick(out);
    expect(gone.disappeared).toEqual([
      expect.objectContaining({ startPage: base, endPage: base + 16 }),
    ]);
    expect(gone.writtenPages).toBe(0);
    w.close();
    expect(tracesLeft(t.pid)).toEqual([]);
  });

  it('a tick over unchanged maps reuses the last pieces; one that appears is still registered at its tick', async () => {
    const t = track(await startPyTarget(8));
    const w = watch(t.pid);
    const base = 0x200000000000 / 4096;
    w.arm([targetRange(t), { startPage: base, endPage: base + 256 }]);
    const out = new RegionList();
    w.tick(out);
    // The target sits in read(stdin): its maps do not change, so no tick cuts them again, not
    // even the first (arm left them settled) ...
    const cuts = w.mapsCuts;
    expect(cuts).toBe(0);
    await t.send('w 2 5');
    expect(w.tick(out).appeared).toEqual([]);
    expect(pagesOf(out, t.startPage)).toEqual([2, 5]);
    expect(w.mapsCuts).toBe(cuts);
    // ... until they do: the new mapping is registered at that tick, its writes counted after.
    expect(await t.send('m')).toBe('ok');
    const appeared = w.tick(out);
    expect(appeared.appeared).toEqual([
      expect.objectContaining({ startPage: base, endPage: base + 16, status: 'watched' }),
    ]);
    expect(w.mapsCuts).toBe(cuts + 1);
    await t.send('W 3 9');
    await t.send('w 7');
    w.tick(out);
    expect(pagesOf(out, base).filter((p) => p >= 0 && p < 16)).toEqual([3, 9]);
    expect(pagesOf(out, t.startPage).filter((p) => p >= 0 && p < t.pages)).toEqual([7]);
    expect(w.mapsCuts).toBe(cuts + 1);
    expect(await t.send('u')).toBe('ok');
    const gone = w.tick(out);
    expect(gone.disappeared).toEqual([
      expect.objectContaining({ startPage: base, endPage: base + 16 }),
    ]);
    expect(w.mapsCuts).toBe(cuts + 2);
    w.close();
    expect(tracesLeft(t.pid)).toEqual([]);
  });

  it('a watched VMA split by mprotect is still the same memory: nothing appears or disappears', async () => {
    const t = track(await startPyTarget(32));
    const w = watch(t.pid);
    w.arm([targetRange(t)]);
    expect(await t.send('p 8 16')).toBe('ok');
    const out = new RegionList();
    const res = w.tick(out);
    expect(res.appeared).toEqual([]);
    expect(res.disappeared).toEqual([]);
    expect(
      w.watchedPieces().map((p) => [p.startPage - t.startPage, p.endPage - t.startPage]),
    ).toEqual([
      [0, 8],
      [8, 16],
      [16, 32],
    ]);
    await t.send('w 2 20');
    expect(tickedPages(w, t.startPage)).toEqual([2, 20]);
    w.close();
    expect(tracesLeft(t.pid)).toEqual([]);
  });

  it('a watched VMA that grows in place keeps its recorded writes, whether re-armed or ticked', async () => {
    const t = track(await startPyTarget(8));
    const w = watch(t.pid);
    const base = 0x200000000000 / 4096;
    expect(await t.send('m')).toBe('ok');
    expect(w.arm([{ startPage: base, endPage: base + 16 }])).toHaveLength(1);
    await t.send('W 3');
    expect(await t.send('g')).toBe('ok'); // now 32 pages, same start
    // Arming the grown VMA (what a --writable selection does each tick) must not reset page 3.
    const states = w.arm([{ startPage: base, endPage: base + 32 }]);
    expect(states).toEqual([expect.objectContaining({ startPage: base, endPage: base + 32 })]);
    const out = new RegionList();
    expect(w.getWritten({ startPage: base, endPage: base + 32 }, { reset: false }, out)).toBe(1);
    await t.send('W 20');
    const res = w.tick(out);
    expect(pagesOf(out, base)).toEqual([3, 20]);
    expect(res.disappeared).toEqual([]);
    expect(await t.send('u')).toBe('ok');
    w.close();
    expect(tracesLeft(t.pid)).toEqual([]);
  });

  it('ends cleanly when the target replaces itself with exec', async () => {
    const t = track(await startPyTarget(16));
    const w = watch(t.pid);
    w.arm([targetRange(t)]);
    const out = new RegionList();
    t.child.stdin!.write('x\n');
    const res = await vi.waitFor(() => {
      const r = w.tick(out);
      expect(r.ended).toMatch(/executed a new program/);
      return r;
    });
    expect(res.endedBy).toBe('exec');
    expect(() => w.arm([targetRange(t)])).toThrow(/ended/);
    w.close();
    expect(tracesLeft(t.pid)).toEqual([]);
  });
});

describe('processes nobody wrote for pagescope', () => {
  it('watches python3 writing into an mmap while it sleeps in nanosleep; it keeps its pace', async () => {
    const script = [
      'import mmap, sys, time',
      'm = mmap.mmap(-1, 32 * 4096)',
      'import ctypes',
      'print(hex(ctypes.addressof(ctypes.c_char.from_buffer(m))), flush=True)',
      'i = 0',
      'while True:',
      '    m[(i % 32) * 4096] = i % 200 + 1',
      '    i += 1',
      '    if i % 10 == 0: print(i, flush=True)',
      '    time.sleep(0.01)',
    ].join('\n');
    const p = track(
      new LineProcess(spawn('python3', ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'] })),
    );
    const start = Number(BigInt(await p.next()) >> 12n);
    await p.next();
    const w = watch(p.pid);
    w.arm([{ startPage: start, endPage: start + 32 }]);
    const out = new RegionList();
    let seen = 0;
    // A write every 10 ms, cycling through 32 pages: ticks add up to more than 10 pages, and
    // every page they report is one of the 32.
    await vi.waitFor(
      () => {
        const r = w.tick(out);
        for (const pg of pagesOf(out, start)) expect(pg >= 0 && pg < 32).toBe(true);
        seen += r.writtenPages;
        expect(seen).toBeGreaterThan(10);
      },
      { timeout: 10_000, interval: 100 },
    );
    w.close();
    expect(tracesLeft(p.pid)).toEqual([]);
    // Progress goes on at its own pace (lines every 10 iterations).
    const a = Number(await p.next());
    const b = Number(await p.next());
    expect(b - a).toBe(10);
  });

  it('watches a multi-threaded node process (a worker writing a SharedArrayBuffer)', async () => {
    const script = `
      const { Worker } = require('node:worker_threads');
      const sab = new SharedArrayBuffer(8 << 20);
      const w = new Worker(\`
        const { workerData } = require('node:worker_threads');
        const a = new Int32Array(workerData); const s = new Int32Array(new SharedArrayBuffer(4));
        let i = 0;
        for (;;) { a[((i * 1024) % a.length)] = i; i++; if (i % 64 === 0) Atomics.wait(s, 0, 0, 2); }
      \`, { eval: true, workerData: sab });
      let n = 0;
      setInterval(() => { n++; console.log(n); }, 50);
    `;
    const p = track(
      new LineProcess(
        spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] }),
      ),
    );
    await p.next();
    const w = watch(p.pid);
    const writable = readMaps(p.pid)
      .filter((v) => v.perms[1] === 'w')
      .map((v) => ({ startPage: v.startPage, endPage: v.endPage }));
    const states = w.arm(writable);
    expect(states.filter((s) => s.status === 'watched').length).toBeGreaterThan(5);
    const out = new RegionList();
    let big = 0;
    await vi.waitFor(
      () => {
        const r = w.tick(out);
        expect(r.ended).toBeUndefined();
        // Pages in mappings of at least 8 MiB: the SharedArrayBuffer's.
        const vmas = readMaps(p.pid);
        for (let k = 0; k < out.length; k++) {
          const v = vmas.find((x) => x.index === out.vmaIndex[k]);
          if (v && v.endPage - v.startPage >= 2048) big += out.endPage[k] - out.startPage[k];
        }
        expect(big).toBeGreaterThan(100);
      },
      { timeout: 10_000, interval: 100 },
    );
    w.close();
    expect(tracesLeft(p.pid)).toEqual([]);
    const a = Number(await p.next());
    const b = Number(await p.next());
    expect(b).toBe(a + 1);
  });
});

describe('from a worker thread (as a session runs it)', () => {
  it('attaches, ticks and closes with every ptrace call on the worker thread', async () => {
    // Not our child: see startPyTarget. (A child of the main thread attached from a worker is
    // handled too, but libuv then takes a ptrace stop for an exit and closes the child's stdin.)
    const t = track(await startPyTarget(32, [], { grandchild: true }));
    expect(t.pid).not.toBe(t.child.pid);
    const worker = new Worker(new URL('../../testing/watcher-worker.mjs', import.meta.url), {
      workerData: { pid: t.pid, startPage: t.startPage, pages: 32 },
    });
    defer(() => void worker.terminate());
    const messages: Array<Record<string, unknown>> = [];
    let wake: (() => void) | null = null;
    worker.on('message', (m: Record<string, unknown>) => {
      messages.push(m);
      wake?.();
    });
    const next = async (): Promise<Record<string, unknown>> => {
      while (messages.length === 0) await new Promise<void>((r) => (wake = r));
      return messages.shift()!;
    };
    expect(await next()).toEqual({ armed: ['watched'] });
    await t.send('w 3 17 31');
    worker.postMessage({ op: 'tick' });
    expect(await next()).toEqual({ pages: [3, 17, 31] });
    worker.postMessage({ op: 'tick' });
    expect(await next()).toEqual({ pages: [] });
    worker.postMessage({ op: 'close' });
    expect(await next()).toEqual({ closed: true });
    expect(tracesLeft(t.pid)).toEqual([]);
  });
});
