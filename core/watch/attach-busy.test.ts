/**
 * Attaching to a busy process whose mappings change under the registration (issue 24): what
 * changed while it was being registered is pending (retried at the next tick), never refused as
 * if the kernel could not watch it, and never stuck; the rest is registered and ticks at once.
 *
 * - watch-target.py's mapping at 0x200000000000, unmapped between the maps read and the
 *   registration (the maps are handed over stale, so the race is made every time), then mapped
 *   again at the same place: pending, then watched, its writes counted.
 * - A registration with no time at all: one piece a pass, the rest pending, then registered by
 *   the next ticks (how the first tick stays near the attach for a process with many VMAs).
 * - testing/churn-writer.c (maps and unmaps small VMAs as fast as it can and writes a stable
 *   region) under `stress-ng --cpu 2`: the CLI's first tick within the stated time, the stable
 *   region's writes in it, and no anonymous mapping called one the kernel cannot write-protect.
 * - A postgres backend under pgbench -c 4 (testing/postgres.ts): the CLI's first tick within the
 *   stated time.
 * The times are for a quiet machine, scaled by wait.ts's limit() (the load here, stress-ng's
 * included); each run prints what it measured.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type * as mapsModule from '../proc/maps.ts';
import { readMaps, type Vma } from '../proc/maps.ts';
import { RegionList } from '../scan/region-list.ts';
import { cannotRunPostgres, postgresBin, startPostgres } from '../../testing/postgres.ts';
import { tracesLeft } from '../../testing/traces.ts';
import { limit, measureCpuShare, slowness, until } from '../../testing/wait.ts';
import {
  cleanupAfterEach,
  CLI,
  pagesOf,
  REPO,
  startPyTarget,
  targetRange,
  tickedPages,
} from '../../testing/watch-support.ts';
import { WriteWatcher } from './watcher.ts';
import { prestartHelper, takePrestartedHelper } from './remote-attach.ts';
import { Session } from '../session/session.ts';
import { hex } from '../../testing/watch-support.ts';

// readMaps as is, its calls counted (how often a registration reads the maps).
vi.mock('../proc/maps.ts', async (importOriginal) => {
  const real = await importOriginal<typeof mapsModule>();
  return { ...real, readMaps: vi.fn(real.readMaps) };
});

const { defer, track } = cleanupAfterEach();

/**
 * The first tick of `pagescope watch --pid` on a busy target, from the command's start, on a
 * quiet machine (README, "Attaching to a busy process", states it with what was measured).
 */
const FIRST_TICK_MS = 2000;

/**
 * FIRST_TICK_MS scaled as every limit is (limit()), or by this thread's CPU share measured now
 * when that is larger: stress-ng started a moment ago, so the load average has not seen it yet
 * and the share measured once per process may be from before it.
 */
function firstTickLimit(): { ms: number; text: string } {
  const share = Math.round(measureCpuShare() * 10) / 10;
  const ms = Math.max(limit(FIRST_TICK_MS), Math.round(FIRST_TICK_MS * Math.min(30, share)));
  return {
    ms,
    text: `${FIRST_TICK_MS} ms × the larger of slowness ${slowness()} and CPU share now ${share} = ${ms} ms`,
  };
}

function watch(pid: number): WriteWatcher {
  const w = WriteWatcher.attach(pid);
  defer(() => w.close());
  return w;
}

describe('a mapping that changes while it is being registered', () => {
  const base = 0x200000000000 / 4096;
  const range = { startPage: base, endPage: base + 32 };

  it('at a tick: pending, then watched when it is back, its writes counted', async () => {
    const t = track(await startPyTarget(8));
    const w = watch(t.pid);
    expect(w.arm([range])).toEqual([]);
    const out = new RegionList();
    expect(await t.send('m')).toBe('ok');
    const stale = readMaps(t.pid);
    expect(await t.send('u')).toBe('ok');
    // The tick registers from maps that no longer hold the mapping.
    const changed = w.tick(out, stale);
    expect(changed.appeared.filter((s) => s.status === 'refused')).toEqual([]);
    expect(changed.pending).toEqual([
      expect.objectContaining({ startPage: base, endPage: base + 16, status: 'pending' }),
    ]);
    // Mapped again at the same place: the next tick registers it (it was not refused for good).
    expect(await t.send('m')).toBe('ok');
    const back = w.tick(out);
    expect(back.pending).toEqual([]);
    expect(w.watchedPieces()).toEqual([
      expect.objectContaining({ startPage: base, endPage: base + 16, status: 'watched' }),
    ]);
    expect(await t.send('W 1 2 3')).toBe('ok');
    w.tick(out);
    expect(pagesOf(out, base)).toEqual([1, 2, 3]);
    w.close();
    expect(tracesLeft(t.pid)).toEqual([]);
  });

  it('at arm from stale maps: the rest watched, nothing refused, the next tick takes the maps as they are', async () => {
    const t = track(await startPyTarget(8));
    const w = watch(t.pid);
    expect(await t.send('m')).toBe('ok');
    expect(await t.send('g')).toBe('ok'); // 32 pages in the maps arm is handed
    const stale = readMaps(t.pid);
    expect(await t.send('u')).toBe('ok');
    expect(await t.send('m')).toBe('ok'); // 16 pages now
    const own = { startPage: t.startPage, endPage: t.startPage + t.pages };
    const states = w.arm([range, own], { vmas: stale });
    expect(states.filter((s) => s.status !== 'watched')).toEqual([]);
    // (The kernel registers the range's mapped part, so arm keeps the stale bounds; the tick
    // takes the maps as they are.)
    const out = new RegionList();
    expect(w.tick(out).pending).toEqual([]);
    expect(w.watchedPieces().map((p) => [p.startPage, p.endPage])).toEqual(
      expect.arrayContaining([
        [base, base + 16],
        [own.startPage, own.endPage],
      ]),
    );
    expect(await t.send('W 5')).toBe('ok');
    expect(await t.send('w 2')).toMatch(/^ok/);
    w.tick(out);
    expect(pagesOf(out, 0)).toEqual([t.startPage + 2, base + 5].sort((a, b) => a - b));
    w.close();
    expect(tracesLeft(t.pid)).toEqual([]);
  });
});

describe('many mappings gone under one registration', () => {
  it('the maps are read once for all the failures of a pass, not once per failure; nothing is refused', async () => {
    const t = track(await startPyTarget(8));
    const w = watch(t.pid);
    // 24 mappings the maps handed over still show, in a hole now (0x200000000000 and up, the
    // stack above: the kernel answers EINVAL for each, as for a kind it cannot watch), beside
    // the target's own region, which is there.
    const maps = readMaps(t.pid);
    const base = 0x200000000000 / 4096;
    const gone: Vma[] = Array.from({ length: 24 }, (_, i) => ({
      ...maps[0],
      index: maps.length + i,
      startPage: base + 4 * i,
      endPage: base + 4 * i + 2,
      perms: 'rw-p',
      path: '',
      label: '',
      kind: 'anon' as Vma['kind'],
    }));
    const own = { startPage: t.startPage, endPage: t.startPage + t.pages };
    const reads = vi.mocked(readMaps);
    reads.mockClear();
    const states = w.arm([own, { startPage: base, endPage: base + 96 }], {
      vmas: [...maps, ...gone],
    });
    // One read settles the pass's 24 failures (then nothing is left to retry in the hole);
    // a read per failure was 24 or more.
    expect(reads.mock.calls.length, 'reads of the maps by arm').toBeLessThanOrEqual(2);
    expect(states.filter((s) => s.status === 'refused')).toEqual([]);
    expect(states.filter((s) => s.status === 'watched').map((s) => s.startPage)).toEqual([
      own.startPage,
    ]);
    expect(await t.send('w 3')).toMatch(/^ok/);
    expect(tickedPages(w, t.startPage)).toEqual([3]);
    w.close();
    expect(tracesLeft(t.pid)).toEqual([]);
  });
});

describe('record --pid: the attach helper started ahead', () => {
  it("a session's worker attaches through the helper the main thread started, which is then gone", async () => {
    const t = track(await startPyTarget(8));
    prestartHelper();
    const h = takePrestartedHelper();
    expect(h, 'a helper prestarted').not.toBeNull();
    const s = await Session.attach(t.pid, { sessionId: 1, intervalMs: 100, helper: h });
    defer(() => s.close());
    const { vmas } = await s.watch([{ start: hex(t.startPage), end: hex(t.startPage + 8) }], []);
    expect(vmas.some((v) => v.watched === 'yes')).toBe(true);
    // It did the attach and exited (our ChildProcess reaps it); one the worker did not use would
    // wait on its stdin until this process exits.
    const state = (): string => {
      try {
        const st = fs.readFileSync(`/proc/${h!.pid}/stat`, 'latin1');
        return st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3);
      } catch {
        return 'gone';
      }
    };
    await until(
      () => `the prestarted helper ${h!.pid} to exit (state ${state()})`,
      () => ['gone', 'Z', 'X'].includes(state()),
    );
    await s.close();
    expect(tracesLeft(t.pid)).toEqual([]);
  });
});

describe('a bounded registration', () => {
  it('registers what its time allows, says the rest is pending, and the next ticks register it', async () => {
    const t = track(await startPyTarget(32));
    expect(await t.send('p 8 16')).toBe('ok'); // three VMAs
    const w = watch(t.pid);
    // No time at all: each pass still registers one piece, arm the largest.
    const states = w.arm([targetRange(t)], { budgetMs: 0 });
    expect(states.map((s) => [s.startPage - t.startPage, s.status])).toEqual([
      [0, 'pending'],
      [8, 'pending'],
      [16, 'watched'],
    ]);
    const out = new RegionList();
    const first = w.tick(out);
    expect(first.appeared).toEqual([expect.objectContaining({ status: 'watched' })]);
    expect(first.pending).toHaveLength(1);
    expect(w.tick(out).pending).toEqual([]);
    expect(w.watchedPieces()).toHaveLength(3);
    await t.send('w 2 20');
    expect(tickedPages(w, t.startPage)).toEqual([2, 20]);
    w.close();
    expect(tracesLeft(t.pid)).toEqual([]);
  });
});

// ---- the CLI on busy targets ----

interface WatchRun {
  /** ms from starting the command to its first tick line. */
  firstTickMs: number;
  ticks: Array<{ written: Array<[string, string]>; writtenPages: number; pendingPages?: number }>;
  stderr: string;
}

/** `pagescope watch --pid PID --writable --json --all-ranges` for `ticks` ticks. */
async function watchCli(pid: number, ticks: number): Promise<WatchRun> {
  const t0 = performance.now();
  const c = spawn(
    process.execPath,
    [CLI, 'watch', '--pid', String(pid), '--writable', '--json', '--all-ranges'].concat([
      '--ticks',
      String(ticks),
      '--interval',
      '200',
    ]),
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  defer(() => c.kill('SIGKILL'));
  let out = '';
  let stderr = '';
  let firstTickMs = -1;
  c.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    if (firstTickMs < 0 && out.includes('{"tick"')) firstTickMs = performance.now() - t0;
  });
  c.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const ended = new Promise<void>((resolve) => c.once('exit', () => resolve()));
  // A limit for the whole run, well past the one asserted on the first tick.
  await until(
    () => `pagescope watch to end (stderr: ${stderr.slice(-500)})`,
    () => c.exitCode !== null || c.signalCode !== null,
    FIRST_TICK_MS * 5 + ticks * 1000,
  );
  await ended;
  const lines = out
    .split('\n')
    .filter((l) => l.startsWith('{"tick"'))
    .map((l) => JSON.parse(l) as WatchRun['ticks'][number]);
  return { firstTickMs, ticks: lines, stderr };
}

function startProcess(cmd: string, args: string[]): ChildProcess {
  const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  defer(() => c.kill('SIGKILL'));
  return c;
}

const loadNow = (): string => os.loadavg()[0].toFixed(1);

describe('pagescope watch on a busy process', () => {
  it('a process that keeps mapping and unmapping, under stress-ng --cpu 2: the first tick within the stated time', async (ctx) => {
    if (spawnSync('stress-ng', ['--version']).status !== 0)
      ctx.skip('stress-ng is not installed (.ci/run installs it)');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagescope-churn-'));
    defer(() => fs.rmSync(dir, { recursive: true, force: true }));
    const exe = path.join(dir, 'churn-writer');
    try {
      execFileSync('gcc', ['-O1', '-o', exe, path.join(REPO, 'testing/churn-writer.c')]);
    } catch (err) {
      ctx.skip(`no C compiler: ${(err as Error).message}`);
    }
    startProcess('stress-ng', ['--cpu', '2', '--timeout', '120']);
    const writer = startProcess(exe, ['4096', '256', '120']);
    let hello = '';
    writer.stdout!.on('data', (d: Buffer) => (hello += d.toString()));
    const ready = await until('the churn writer to be ready', () =>
      /ready 0x([0-9a-f]+) (\d+)\n/.exec(hello),
    );
    const stable = { startPage: Number(BigInt(`0x${ready[1]}`) >> 12n), pages: Number(ready[2]) };
    const first = firstTickLimit();
    const run = await watchCli(writer.pid!, 3);
    console.log(
      `churn-writer under stress-ng --cpu 2: first tick ${Math.round(run.firstTickMs)} ms after start ` +
        `(load ${loadNow()}, limit ${first.text}); pending pages per tick ${run.ticks.map((t) => t.pendingPages ?? '-').join(' ')}`,
    );
    expect(run.ticks).toHaveLength(3);
    expect(run.firstTickMs).toBeGreaterThan(0);
    expect(run.firstTickMs, `first tick within ${first.text}`).toBeLessThan(first.ms);
    // Its anonymous mappings change under the registration: never "cannot be write-protected".
    expect(run.stderr).not.toMatch(/refuses to write-protect/);
    // The stable region is written all the time: its writes are in the very first tick.
    const inStable = run.ticks[0].written.some(([s, e]) => {
      const a = Number(BigInt(s) >> 12n);
      const b = Number(BigInt(e) >> 12n);
      return a < stable.startPage + stable.pages && stable.startPage < b;
    });
    expect(inStable, `the first tick has writes in the stable region; stderr: ${run.stderr}`).toBe(
      true,
    );
    expect(tracesLeft(writer.pid!)).toEqual([]);
  });

  it('a postgres backend under pgbench -c 4: the first tick within the stated time', async (ctx) => {
    const why = cannotRunPostgres();
    if (why) ctx.skip(why);
    const pgbench = path.join(postgresBin()!, 'pgbench');
    if (!fs.existsSync(pgbench)) ctx.skip('pgbench is not installed (package postgresql)');
    const pg = await startPostgres('128MB');
    defer(() => pg.stop());
    const conn = ['-h', pg.dir, '-p', String(pg.port), '-U', 'postgres'];
    execFileSync(pgbench, [...conn, '-i', '-s', '5', '-q', 'postgres'], {
      stdio: 'ignore',
      timeout: limit(120_000),
    });
    startProcess(pgbench, [...conn, '-c', '4', '-j', '2', '-T', '120', '-n', 'postgres']);
    // A backend of pgbench's: the postmaster's child serving user postgres, seen twice (pgbench
    // first opens and closes a connection of its own).
    const backends = (): number[] =>
      fs
        .readdirSync('/proc')
        .filter((p) => /^\d+$/.test(p))
        .filter((p) => {
          try {
            const st = fs.readFileSync(`/proc/${p}/stat`, 'latin1');
            const ppid = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]);
            const cmd = fs.readFileSync(`/proc/${p}/cmdline`, 'latin1');
            return ppid === pg.postmaster && cmd.includes('postgres postgres');
          } catch {
            return false;
          }
        })
        .map(Number);
    let seen: number[] = [];
    const backend = await until('a pgbench backend', () => {
      const now = backends();
      const both = now.find((p) => seen.includes(p));
      seen = now;
      return now.length >= 4 ? both : undefined;
    });
    const first = firstTickLimit();
    const run = await watchCli(backend, 2);
    console.log(
      `postgres backend under pgbench -c 4: first tick ${Math.round(run.firstTickMs)} ms after start ` +
        `(load ${loadNow()}, limit ${first.text})`,
    );
    expect(run.ticks).toHaveLength(2);
    expect(run.firstTickMs).toBeGreaterThan(0);
    expect(run.firstTickMs, `first tick within ${first.text}`).toBeLessThan(first.ms);
    expect(run.ticks.some((t) => t.writtenPages > 0)).toBe(true);
    expect(run.stderr).not.toMatch(/refuses to write-protect/);
    expect(tracesLeft(backend)).toEqual([]);
  });
});
