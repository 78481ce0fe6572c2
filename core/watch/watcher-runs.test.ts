/**
 * The watcher's tick over several adjacent watched VMAs: one PAGEMAP_SCAN walk per run of
 * contiguous registered pieces (not one per piece), regions split back at the VMA ends with
 * their own VMA index, and the per-piece fallback when a VMA of the run changed under us.
 *
 * The target is python3 running a few lines of ctypes (a process nobody wrote for pagescope's
 * internals): 48 pages between two PROT_NONE guard pages, the middle 16 made rwx so the range is
 * three writable VMAs.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import readline from 'node:readline';
import { afterEach, expect, it } from 'vitest';
import { readMaps, type Vma } from '../proc/maps.ts';
import { RegionList } from '../scan/region-list.ts';
import { readSmaps } from '../proc/smaps.ts';
import { needZeroPage, zeroPageOnRead } from '../../testing/zero-page.ts';
import { NO_ACCESS_REASON, WriteWatcher } from './watcher.ts';

const SCRIPT = String.raw`
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
P = 4096
outer = libc.mmap(None, 50 * P, 0, 0x22, -1, 0)
base = outer + P
assert libc.mprotect(base, 48 * P, 3) == 0
assert libc.mprotect(base + 16 * P, 16 * P, 7) == 0
print(hex(base), flush=True)
for line in sys.stdin:
    cmd, *args = line.split()
    if cmd == 'w':
        for p in args:
            ctypes.memset(base + int(p) * P, 1, 1)
        print('ok', flush=True)
    elif cmd == 'r':
        for p in args:
            ctypes.string_at(base + int(p) * P, 1)
        print('ok', flush=True)
    elif cmd == 'u':
        libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        a, b = int(args[0]), int(args[1])
        print('ok' if libc.munmap(base + a * P, (b - a) * P) == 0 else 'err', flush=True)
    elif cmd == 'm':
        a, b, prot = int(args[0]), int(args[1]), int(args[2])
        print('ok' if libc.mprotect(base + a * P, (b - a) * P, prot) == 0 else 'err', flush=True)
    elif cmd == 'f':
        r = libc.mmap(base + 16 * P, 16 * P, 3, 0x32, -1, 0)
        print('ok' if r == base + 16 * P else 'err', flush=True)
`;

interface Target {
  pid: number;
  start: number;
  send(line: string): Promise<string>;
  proc: ChildProcessWithoutNullStreams;
}

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

async function startTarget(): Promise<Target> {
  const proc = spawn('python3', ['-c', SCRIPT]);
  cleanups.push(() => proc.kill('SIGKILL'));
  const lines = readline.createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<string> => {
    const r = await lines.next();
    if (r.done) throw new Error('the python3 target ended early');
    return r.value;
  };
  const start = Number(BigInt(await next()) >> 12n);
  return {
    pid: proc.pid!,
    start,
    proc,
    send: async (line) => {
      proc.stdin.write(`${line}\n`);
      return next();
    },
  };
}

function watch(t: Target): WriteWatcher {
  const w = WriteWatcher.attach(t.pid);
  cleanups.unshift(() => w.close());
  w.arm([{ startPage: t.start, endPage: t.start + 48 }]);
  return w;
}

/** Counts the backend calls of the watcher's ticks (the backend is private: reached for here). */
function countCalls(w: WriteWatcher): { pieces: number; ranges: number } {
  const backend = (w as unknown as { backend: Record<string, (...a: unknown[]) => unknown> })
    .backend;
  const counts = { pieces: 0, ranges: 0 };
  for (const [name, field] of [
    ['scanPieces', 'pieces'],
    ['scanRange', 'ranges'],
  ] as const) {
    const orig = backend[name].bind(backend);
    backend[name] = (...a: unknown[]) => {
      counts[field]++;
      return orig(...a);
    };
  }
  return counts;
}

const rows = (out: RegionList, start: number): number[][] =>
  Array.from({ length: out.length }, (_, i) => [
    out.startPage[i] - start,
    out.endPage[i] - start,
    out.vmaIndex[i],
  ]);

const ours = (vmas: Vma[], t: Target): Vma[] =>
  vmas.filter((v) => v.startPage >= t.start && v.endPage <= t.start + 48);

const uffdLeft = (pid: number): string[] =>
  fs
    .readdirSync(`/proc/${pid}/fd`)
    .map((f) => {
      try {
        return fs.readlinkSync(`/proc/${pid}/fd/${f}`);
      } catch {
        return '';
      }
    })
    .filter((l) => l.includes('userfaultfd'));

it('reads and resets three adjacent watched VMAs in one walk; each region keeps its VMA', async () => {
  const t = await startTarget();
  const w = watch(t);
  const vmas = readMaps(t.pid);
  const three = ours(vmas, t);
  expect(three.map((v) => [v.startPage - t.start, v.endPage - t.start])).toEqual([
    [0, 16],
    [16, 32],
    [32, 48],
  ]);
  const [a, b, c] = three.map((v) => v.index);
  const calls = countCalls(w);
  expect(await t.send('w 14 15 16 17 31 32 40')).toBe('ok');
  const out = new RegionList();
  const res = w.tick(out, vmas);
  expect(res.writtenPages).toBe(7);
  expect(rows(out, t.start)).toEqual([
    [14, 16, a],
    [16, 18, b],
    [31, 32, b],
    [32, 33, c],
    [40, 41, c],
  ]);
  expect(calls).toEqual({ pieces: 1, ranges: 0 });
  // Reset by that walk: the next tick sees only the new write.
  expect(await t.send('w 20')).toBe('ok');
  w.tick(out, readMaps(t.pid));
  expect(rows(out, t.start)).toEqual([[20, 21, b]]);
  w.close();
  expect(uffdLeft(t.pid)).toEqual([]);
});

it('falls back to one call per piece when a VMA of the run was replaced after the maps were read', async () => {
  const t = await startTarget();
  const w = watch(t);
  const stale = readMaps(t.pid);
  const calls = countCalls(w);
  // MAP_FIXED over the middle VMA: a new, unregistered VMA where the stale maps show a watched one.
  expect(await t.send('f')).toBe('ok');
  expect(await t.send('w 33 47')).toBe('ok');
  const out = new RegionList();
  const res = w.tick(out, stale);
  expect(res.ended).toBeUndefined();
  expect(calls.pieces).toBe(1); // the merged walk, refused by the kernel (EPERM)
  expect(calls.ranges).toBeGreaterThanOrEqual(2); // then piece by piece
  expect(rows(out, t.start).map(([s, e]) => [s, e])).toEqual([
    [33, 34],
    [47, 48],
  ]);
  expect(w.watchedPieces().map((p) => [p.startPage - t.start, p.endPage - t.start])).toEqual([
    [0, 16],
    [32, 48],
  ]);
  // With fresh maps the new VMA is watched from now on.
  const fresh = w.tick(out, readMaps(t.pid));
  expect(fresh.appeared.map((p) => [p.startPage - t.start, p.endPage - t.start, p.status])).toEqual(
    [[16, 32, 'watched']],
  );
  expect(await t.send('w 5 20')).toBe('ok');
  w.tick(out, readMaps(t.pid));
  expect(rows(out, t.start).map(([s, e]) => [s, e])).toEqual([
    [5, 6],
    [20, 21],
  ]);
  w.close();
  expect(uffdLeft(t.pid)).toEqual([]);
});

/**
 * A VMA appears mid-watch (MAP_FIXED over the middle piece), the process reads pages 16 and 17
 * of it before pagescope registers it, then reads 18-19 and writes 21 once it is watched.
 * Returns the rows of the first tick that watches it and of the two ticks after the writes.
 */
async function readBeforeAndAfterRegistering(
  t: Target,
): Promise<{ firstTick: number[][]; after: number[][][] }> {
  const w = watch(t);
  expect(await t.send('f')).toBe('ok'); // a new VMA over pages 16..32, not registered
  expect(await t.send('r 16 17')).toBe('ok'); // read before we register it
  const out = new RegionList();
  const drop = w.tick(out, readMaps(t.pid)); // the old piece's registration is gone: dropped
  expect(drop.ended).toBeUndefined();
  const appear = w.tick(out, readMaps(t.pid));
  expect(appear.appeared.map((p) => [p.startPage - t.start, p.endPage - t.start])).toEqual([
    [16, 32],
  ]);
  const firstTick = rows(out, t.start).map(([s, e]) => [s, e]);
  expect(await t.send('r 18 20')).toBe('ok');
  expect(await t.send('w 21')).toBe('ok');
  const after: number[][][] = [];
  for (let i = 0; i < 2; i++) {
    w.tick(out, readMaps(t.pid));
    after.push(rows(out, t.start).map(([s, e]) => [s, e]));
  }
  w.close();
  expect(uffdLeft(t.pid)).toEqual([]);
  return { firstTick, after };
}

it('pages of a VMA that appears mid-watch and were only read never count as written', async (ctx) => {
  // The steady-state tick asks the kernel for WRITTEN only (its fast path), which would count an
  // unprotected zero-page mapping as written; a fresh piece gets its zero pages protected.
  // Without the shared zero page a page read before we register the VMA is a private page,
  // indistinguishable from a written one: the next case covers that kernel.
  needZeroPage(ctx);
  const t = await startTarget();
  const { firstTick, after } = await readBeforeAndAfterRegistering(t);
  expect(firstTick.some(([s, e]) => s < 18 && e > 16)).toBe(false);
  expect(after).toEqual([[[21, 22]], []]);
});

it('without the shared zero page, pages read before a mid-watch VMA is watched count as written once, pages read after never', async (ctx) => {
  if (zeroPageOnRead())
    ctx.skip('this kernel maps the shared zero page on read: the case above covers it');
  const t = await startTarget();
  const { firstTick, after } = await readBeforeAndAfterRegistering(t);
  // The read faults took private pages (WRITTEN|PRESENT, no PFNZERO): the first tick counts them
  // as data written before the VMA was watched, exactly those two and nothing else.
  expect(firstTick).toEqual([[16, 18]]);
  // Once watched, a read fault takes a write-protected page: only the write counts.
  expect(after).toEqual([[[21, 22]], []]);
});

it('walks watched VMAs separated only by unmapped space in one call too', async () => {
  const t = await startTarget();
  const w = watch(t);
  expect(await t.send('u 20 24')).toBe('ok'); // a hole inside the rwx VMA: it splits in two
  const out = new RegionList();
  w.tick(out, readMaps(t.pid));
  const vmas = readMaps(t.pid);
  const four = ours(vmas, t);
  expect(four.map((v) => [v.startPage - t.start, v.endPage - t.start])).toEqual([
    [0, 16],
    [16, 20],
    [24, 32],
    [32, 48],
  ]);
  const calls = countCalls(w);
  expect(await t.send('w 15 19 24 40')).toBe('ok');
  expect(w.tick(out, vmas).writtenPages).toBe(4);
  expect(rows(out, t.start)).toEqual([
    [15, 16, four[0].index],
    [19, 20, four[1].index],
    [24, 25, four[2].index],
    [40, 41, four[3].index],
  ]);
  expect(calls).toEqual({ pieces: 1, ranges: 0 });
  w.close();
  expect(uffdLeft(t.pid)).toEqual([]);
});

it('leaves PROT_NONE VMAs unregistered (no page tables built for them) and watches them once made writable', async () => {
  const t = await startTarget();
  expect(await t.send('m 0 16 0')).toBe('ok'); // pages 0-15 become a no-access VMA
  const w = WriteWatcher.attach(t.pid);
  cleanups.unshift(() => w.close());
  const states = w.arm([{ startPage: t.start, endPage: t.start + 48 }]);
  const none = states.find((s) => s.startPage === t.start);
  expect(none).toMatchObject({
    endPage: t.start + 16,
    status: 'refused',
    reason: NO_ACCESS_REASON,
  });
  expect(states.filter((s) => s.status === 'watched').length).toBe(2);
  const flagsAt = (page: number): string[] =>
    readSmaps(t.pid).find((e) => parseInt(e.startHex, 16) === page * 4096)?.vmFlags ?? [];
  expect(flagsAt(t.start)).not.toContain('uw');
  expect(flagsAt(t.start + 16)).toContain('uw');
  // The process makes it writable in place and writes: watched from the next tick on.
  expect(await t.send('m 0 16 3')).toBe('ok');
  const out = new RegionList();
  w.tick(out, readMaps(t.pid));
  expect(await t.send('w 2 3 20')).toBe('ok');
  const res = w.tick(out, readMaps(t.pid));
  const pages = rows(out, t.start).flatMap(([s, e]) =>
    Array.from({ length: e - s }, (_, i) => s + i),
  );
  expect(pages).toEqual([2, 3, 20]);
  expect(res.writtenPages).toBe(3);
  w.close();
  expect(uffdLeft(t.pid)).toEqual([]);
});
