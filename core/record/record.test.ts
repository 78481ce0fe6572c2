/**
 * Recording real processes: a python3 that writes a few pages of a bytearray in a loop, and the
 * demo workload. The recording, read back, must give every tick the live session showed: the
 * same counters, written ranges, overview histogram and full-resolution window. A recorder
 * killed with SIGKILL leaves a file readable up to its last complete tick, and report/export run
 * on it (the trace passes the trace-event schema). Bad files through the CLI give one line.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import zlib from 'node:zlib';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../cli/main.ts';
import { probeCapabilities } from '../kernel/capabilities.ts';
import { processAlive } from '../proc/processes.ts';
import type { Frame } from '../protocol/frame.ts';
import { Session } from '../session/session.ts';
import { buildC } from '../../testing/c-build.ts';
import { alive } from '../../testing/proc-facts.ts';
import { pythonExecutable } from '../../testing/targets.ts';
import { limit, until } from '../../testing/wait.ts';
import { workingSetCurve } from './analytics.ts';
import { compareTicks } from './compare.ts';
import { readRecording, type Recording } from './reader.ts';
import { RECORD_VIEW, SessionRecorder } from './recorder.ts';
import { seriesOf } from './report.ts';
import { traceFileSchema } from './trace-schema.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/pagescope.mjs');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pagescope-record-'));
const children: ChildProcess[] = [];
const sessions: Session[] = [];
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.close()));
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const caps = probeCapabilities();
const canWatch = caps.pagemapScan && caps.uffdWpAsync;

/** python3 writing `pages` pages of a 4 MiB bytearray every 20 ms; resolves with its pid and buffer. */
async function python(pages = 16): Promise<{ pid: number; buf: bigint; child: ChildProcess }> {
  const code = `
import ctypes, time
buf = bytearray(4 << 20)
for i in range(0, len(buf), 4096): buf[i] = 1
print(hex(ctypes.addressof((ctypes.c_char * len(buf)).from_buffer(buf))), flush=True)
k = 0
while True:
    for i in range(${pages}): buf[((k + i) % 1024) * 4096] = (k + i) & 255
    k += 1
    time.sleep(0.02)
`;
  const child = spawn(pythonExecutable(), ['-c', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const line = await new Promise<string>((resolve, reject) => {
    child.once('exit', (c) => reject(new Error(`python3 exited early (${c})`)));
    readline.createInterface({ input: child.stdout! }).once('line', resolve);
  });
  return { pid: child.pid!, buf: BigInt(line), child };
}

/** What a live viewer got of one frame (the window as a CRC: the demo's is 11 MB a tick). */
interface Seen {
  counters: Frame['counters'];
  written: number[];
  histogram: Uint32Array;
  vmaCounts: number[];
  buckets: number;
  window: { startIndex: number; endIndex: number; crc: number } | null;
}

/**
 * A fingerprint of a frame's window: the CRC of every 2048-page chunk the overview shows
 * non-empty (with its position). Chunks the overview shows empty hold only zeros (its counts are
 * exact and compared on their own), and are not read: on this kernel reading the untouched part
 * of a 22 GiB process's window costs a page fault per 4 KiB.
 */
function fingerprint(f: Frame): number {
  const w = f.window as NonNullable<Frame['window']>;
  const { histogram, pagesPerBucket: ppb } = f.overview;
  let crc = 0;
  const bytes = new Uint8Array(w.bits.buffer, w.bits.byteOffset, w.bits.byteLength);
  for (let c = 0; c < w.bits.length; c += 2048) {
    const ce = Math.min(w.bits.length, c + 2048);
    let empty = true;
    for (
      let b = Math.floor((w.startIndex + c) / ppb);
      b <= Math.floor((w.startIndex + ce - 1) / ppb) && empty;
      b++
    )
      for (let k = 0; k < 9; k++) if (histogram[b * 9 + k] !== 0) empty = false;
    if (empty) continue;
    crc = zlib.crc32(Buffer.from(String(c)), crc);
    crc = zlib.crc32(bytes.subarray(c * 2, ce * 2), crc);
  }
  return crc;
}

function seen(f: Frame): Seen {
  return {
    counters: { ...f.counters },
    written: [...f.written],
    histogram: f.overview.histogram.slice(),
    vmaCounts: [...f.vmaCounts],
    buckets: f.overview.buckets,
    window: f.window
      ? { startIndex: f.window.startIndex, endIndex: f.window.endIndex, crc: fingerprint(f) }
      : null,
  };
}

/** The first tick recorded page by page (the first frame may predate the recorder's view). */
function firstPaged(rec: Recording): number {
  const i = rec.ticks.findIndex((_, k) => rec.hasPages(k));
  expect(i).toBeGreaterThanOrEqual(0);
  expect(i).toBeLessThanOrEqual(1);
  return i;
}

/** '' when equal, else where two long arrays first differ (toEqual's diff of 100k entries is slow). */
function firstDifference(a: Uint32Array, b: Uint32Array): string {
  if (a.length !== b.length) return `lengths ${a.length} and ${b.length}`;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return `at ${i}: ${a[i]} vs ${b[i]}`;
  return '';
}

/** Every recorded tick rebuilt at the recorder's view equals what the session sent live. */
function expectSameAsLive(rec: Recording, live: Seen[]): void {
  expect(rec.ticks.length).toBe(live.length);
  const view = RECORD_VIEW; // the view the recorder asked the session for
  rec.ticks.forEach((_, i) => {
    const again = seen(rec.frameAt(i, view));
    expect(again.counters).toEqual(live[i].counters);
    expect(again.written).toEqual(live[i].written);
    expect(again.buckets).toBe(live[i].buckets);
    expect(firstDifference(again.histogram, live[i].histogram), `tick ${i}`).toBe('');
    expect(again.window).toEqual(live[i].window);
    expect([...again.vmaCounts]).toEqual(live[i].vmaCounts);
  });
  // The analytics see exactly the written pages the live view counted, tick for tick.
  const series = seriesOf(rec);
  const perTick = workingSetCurve(series, 1); // a window shorter than a tick: that tick alone
  expect(perTick).toEqual(live.map((s) => s.counters.written));
}

async function recordLive(
  session: Session,
  file: string,
  ticks: number,
): Promise<{ live: Seen[]; recorder: SessionRecorder }> {
  const recorder = new SessionRecorder(session, {
    path: file,
    watching: 'test',
    intervalMs: 100,
    version: 'test',
  });
  const live: Seen[] = [];
  session.onFrame((f) => {
    if (recorder.ticks > live.length) live.push(seen(f));
  });
  await vi.waitFor(() => expect(live.length).toBeGreaterThanOrEqual(ticks), {
    timeout: 60_000,
    interval: 50,
  });
  recorder.stop('test done');
  return { live, recorder };
}

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
    stdout += String(s);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
    stderr += String(s);
    return true;
  });
  try {
    return { code: await main(args), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe('recording a session', () => {
  it('python3: the file gives back every tick the live session showed', async (ctx) => {
    if (!canWatch) ctx.skip(`needs PAGEMAP_SCAN and uffd-wp async: ${caps.uffdProblem}`);
    const t = await python();
    const s = await Session.attach(t.pid, { sessionId: 1, intervalMs: 100 });
    sessions.push(s);
    const bufEnd = t.buf + (4n << 20n);
    await s.watch([{ start: '0x' + t.buf.toString(16), end: '0x' + bufEnd.toString(16) }], []);
    const file = path.join(tmp, 'python.pgsrec');
    const { live } = await recordLive(s, file, 20);
    const rec = readRecording(file);
    expect(rec.truncated).toBeNull();
    expect(rec.end?.reason).toBe('test done');
    expect(rec.header.process).toMatchObject({ pid: t.pid, name: expect.stringMatching(/python/) });
    expectSameAsLive(rec, live);
    expect(live.filter((x) => x.window !== null).length).toBeGreaterThanOrEqual(live.length - 1);
    expect(live.some((x) => x.counters.written > 0)).toBe(true);

    // Comparing the first and last tick: the loop's writes land in the bytearray's VMA.
    const d = compareTicks(rec, firstPaged(rec), rec.ticks.length - 1);
    expect(d.writtenBetween).toBeGreaterThan(0);
    const bufPage = Number(t.buf >> 12n);
    const vma = d.perVma.find(
      (v) => BigInt(v.start) >> 12n <= bufPage && bufPage < Number(BigInt(v.end) >> 12n),
    );
    expect(vma?.writtenBetween).toBe(d.writtenBetween);
  });

  it('the demo: every tick again, across its VMA changes, and compared and reported', async (ctx) => {
    if (!canWatch) ctx.skip(`needs PAGEMAP_SCAN and uffd-wp async: ${caps.uffdProblem}`);
    const s = await Session.launchDemo({ sessionId: 2, intervalMs: 100 });
    sessions.push(s);
    await vi.waitFor(() => expect(s.vmas.some((v) => v.label?.startsWith('demo:'))).toBe(true), {
      timeout: 20_000,
    });
    const demoVmas = s.vmas.filter((v) => v.label?.startsWith('demo:') && v.perms[1] === 'w');
    await s.watch(
      demoVmas.map((v) => ({ start: v.start, end: v.end })),
      [],
    );
    const file = path.join(tmp, 'demo.pgsrec');
    const { live } = await recordLive(s, file, 12);
    const rec = readRecording(file);
    expectSameAsLive(rec, live);
    expect(rec.tables.length).toBeGreaterThan(1); // the growth region changes the layout
    const r = await cli(['report', file, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { perVma: Array<{ label?: string }>; ticks: number };
    expect(report.ticks).toBe(live.length);
    expect(report.perVma.some((v) => v.label === 'demo: sweep' || v.label === 'demo: hot')).toBe(
      true,
    );
    const d = compareTicks(rec, firstPaged(rec), rec.ticks.length - 1);
    expect(d.writtenBetween).toBeGreaterThan(0);
  });
});

/** Starts `pagescope record ...` as its own process (bin/pagescope.mjs, the built CLI). */
function startRecorder(args: string[]): ChildProcess {
  const child = spawn(process.execPath, [BIN, 'record', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  child.stderr!.resume();
  return child;
}

/**
 * Runs bin/pagescope.mjs with `args` to its end (killed at the scaled `limitMs`), without
 * blocking the event loop as spawnSync does, so that several run side by side.
 */
function runBin(
  args: string[],
  limitMs = 60_000,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), limit(limitMs));
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

async function ticksIn(file: string, n: number): Promise<void> {
  await vi.waitFor(
    () => {
      expect(fs.existsSync(file)).toBe(true);
      expect(readRecording(file).ticks.length).toBeGreaterThanOrEqual(n);
    },
    { timeout: 90_000, interval: 200 },
  );
}

async function killed(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

describe('a recorder killed with SIGKILL', () => {
  it('python3: the file reads up to its last tick; report and export work on it', async (ctx) => {
    if (!canWatch) ctx.skip(`needs PAGEMAP_SCAN and uffd-wp async: ${caps.uffdProblem}`);
    const t = await python();
    const file = path.join(tmp, 'killed.pgsrec');
    const rec = startRecorder([
      '--pid',
      String(t.pid),
      '--writable',
      '--interval',
      '50',
      '-o',
      file,
    ]);
    await ticksIn(file, 12);
    await killed(rec);
    expect(t.child.exitCode).toBeNull(); // the target lives on
    const r = readRecording(file);
    expect(r.end).toBeNull();
    expect(r.ticks.length).toBeGreaterThanOrEqual(12);
    expect(r.pagesAt(r.ticks.length - 1)).not.toBeNull();

    const report = await cli(['report', file]);
    expect(report.code, report.stderr).toBe(0);
    expect(report.stdout).toMatch(/Write working set/);
    expect(report.stdout).toMatch(/did not end cleanly/);
    const out = path.join(tmp, 'killed.trace.json');
    const exp = await cli(['export', file, '--format', 'trace', '-o', out]);
    expect(exp.code, exp.stderr).toBe(0);
    const trace = traceFileSchema.parse(JSON.parse(fs.readFileSync(out, 'utf8')));
    const counters = trace.traceEvents.filter((e) => e.ph === 'C' && e.name === 'pages');
    expect(counters).toHaveLength(r.ticks.length);
    const csv = await cli(['export', file, '--format', 'csv']);
    expect(csv.code).toBe(0);
    expect(csv.stdout.split('\n')[0]).toBe(
      'tick,t_ms,vma,start,end,path,label,present,swapped,watched,written',
    );
    const writtenInCsv = csv.stdout
      .trim()
      .split('\n')
      .slice(1)
      .reduce((a, l) => a + Number(l.split(',').pop()), 0);
    expect(writtenInCsv).toBe(r.ticks.reduce((a, x) => a + x.counters.written, 0));
  });

  it('the demo: the same, and the demo workload ends with its recorder', async (ctx) => {
    if (!canWatch) ctx.skip(`needs PAGEMAP_SCAN and uffd-wp async: ${caps.uffdProblem}`);
    const file = path.join(tmp, 'demo-killed.pgsrec');
    const rec = startRecorder(['--demo', '--writable', '-o', file]);
    await ticksIn(file, 15);
    await killed(rec);
    const r = readRecording(file);
    expect(r.end).toBeNull();
    expect(r.ticks.length).toBeGreaterThanOrEqual(15);
    const demoPid = r.header.process.pid;
    await vi.waitFor(() => expect(alive(demoPid)).toBe(false), { timeout: 15_000 });
    const json = await cli(['export', file, '--format', 'json']);
    expect(json.code, json.stderr).toBe(0);
    expect((JSON.parse(json.stdout) as { ticks: unknown[] }).ticks).toHaveLength(r.ticks.length);
  });
});

describe('bad files through the CLI', () => {
  it.each([
    ['garbage', Buffer.from('not a recording at all\n'), /is not a pagescope recording/],
    ['empty', Buffer.alloc(0), /is not a pagescope recording/],
    [
      'version 9',
      Buffer.concat([
        Buffer.from([0x89, 0x50, 0x47, 0x53, 0x52, 0x45, 0x43, 0x0a, 9, 0, 0, 0, 2, 0, 0, 0]),
        Buffer.from('{}'),
      ]),
      /format version 9; this pagescope reads versions 1 to 2/,
    ],
    [
      'huge header',
      Buffer.from([
        0x89, 0x50, 0x47, 0x53, 0x52, 0x45, 0x43, 0x0a, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f,
      ]),
      /declares a header of 2147483647 bytes/,
    ],
  ])('%s: one line, exit 2', async (name, bytes, pattern) => {
    const file = path.join(tmp, `${name}.pgsrec`);
    fs.writeFileSync(file, bytes);
    for (const args of [
      ['report', file],
      ['export', file, '--format', 'csv'],
    ]) {
      const r = await cli(args);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(pattern);
    }
  });

  it('a missing file and a wrong format are one line each', async () => {
    const missing = await cli(['report', path.join(tmp, 'nope.pgsrec')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^pagescope: Cannot open .*nope\.pgsrec: no such file\.\n$/);
    const fmt = await cli(['export', path.join(tmp, 'nope.pgsrec'), '--format', 'xml']);
    expect(fmt.code).toBe(2);
    expect(fmt.stderr).toMatch(/--format/);
  });
});

describe('record -o is checked before anything is launched', () => {
  /** `record -o out -- sh -c 'touch MARKER'` through the real binary: exit 2, one line, no marker. */
  async function recordTo(
    out: string,
    source: string[] = [],
  ): Promise<{ code: number | null; stderr: string }> {
    const marker = path.join(tmp, `launched-${Math.random().toString(36).slice(2)}`);
    const args = source.length ? source : ['--', 'sh', '-c', `touch ${marker}`];
    const r = await runBin(['record', '--writable', '-o', out, ...args]);
    expect(fs.existsSync(marker), 'the command was launched').toBe(false);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n'), r.stderr).toHaveLength(1);
    return { code: r.status, stderr: r.stderr };
  }

  it('a folder, a path under a missing folder, a /proc file: one sentence each, exit 2', async () => {
    const missing = path.join(tmp, 'no-such-folder', 'x.pgsrec');
    const cases = [
      [tmp, /it is a folder; give a file name/],
      [missing, /the folder ".*no-such-folder" does not exist/],
      ['/proc/version', /it does not take writes \(a \/proc or \/sys file\?\)/],
    ] as const;
    // The CLIs side by side (each is its own process, its own marker); the demo's with them.
    const [demo, ...runs] = await Promise.all([
      recordTo(tmp, ['--demo']),
      ...cases.map(([out]) => recordTo(out)),
    ]);
    for (const [i, [, why]] of cases.entries()) {
      const r = runs[i];
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/^pagescope: Cannot write the recording to "/);
      expect(r.stderr).toMatch(why);
    }
    // The demo is not started either (it would be before the file was opened).
    expect(demo.code).toBe(2);
    expect(demo.stderr).toMatch(/it is a folder/);
  });

  it('an immutable file (chattr +i): one sentence, exit 2, the file unchanged', async (ctx) => {
    const out = path.join(tmp, 'immutable.pgsrec');
    fs.writeFileSync(out, 'keep me');
    try {
      execFileSync('chattr', ['+i', out], { stdio: 'ignore' });
    } catch {
      ctx.skip('chattr +i is not possible here (no chattr, not root, or a file system without it)');
    }
    try {
      const r = await recordTo(out);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(
        /Cannot write the recording to ".*immutable\.pgsrec": writing there is not permitted/,
      );
    } finally {
      execFileSync('chattr', ['-i', out]);
    }
    expect(fs.readFileSync(out, 'utf8')).toBe('keep me');
  });
});

describe("record's summary says how the ticks came (issue 22)", () => {
  it('record --ticks N -- python3: asked, recorded, skipped, the mean interval, as report reads the file', () => {
    const out = path.join(tmp, 'summary.pgsrec');
    fs.rmSync(out, { force: true });
    const code = `
import time
buf = bytearray(2 << 20)
k = 0
while True:
    buf[(k % 512) * 4096] = k & 255
    k += 1
    time.sleep(0.005)
`;
    const watch = canWatch ? ['--writable'] : [];
    const r = spawnSync(
      process.execPath,
      [
        BIN,
        'record',
        '--ticks',
        '12',
        '--interval',
        '50',
        ...watch,
        '-o',
        out,
        '--',
        pythonExecutable(),
        '-c',
        code,
      ],
      { encoding: 'utf8', timeout: limit(120_000) },
    );
    expect(r.status, r.stderr).toBe(0);
    const m =
      /^ticks: (\d+) asked \(--ticks\), (\d+) recorded, (\d+) skipped; mean interval ([\d.]+) ms \(asked 50 ms\); wall time ([\d.]+) s\.$/m.exec(
        r.stdout,
      );
    expect(m, r.stdout).not.toBeNull();
    const [asked, recorded, skipped, meanMs, wallS] = m!.slice(1).map(Number);
    const rep = spawnSync(process.execPath, [BIN, 'report', '--json', out], { encoding: 'utf8' });
    expect(rep.status, rep.stderr).toBe(0);
    const json = JSON.parse(rep.stdout) as {
      ticks: number;
      durationMs: number;
      timing: { meanIntervalMs: number; skipped: number; askedIntervalMs: number };
    };
    expect(asked).toBe(12);
    expect(recorded).toBe(json.ticks);
    expect(recorded).toBe(12);
    expect(skipped).toBe(json.timing.skipped);
    expect(json.timing.askedIntervalMs).toBe(50);
    expect(Math.abs(meanMs - json.timing.meanIntervalMs)).toBeLessThanOrEqual(0.05);
    expect(meanMs).toBeCloseTo(json.durationMs / (json.ticks - 1), 1);
    // The wall time holds the recorded ticks' span.
    expect(wallS * 1000).toBeGreaterThanOrEqual(json.durationMs - 10);
  });
});

describe('record -- COMMAND when the program ends at once', () => {
  // Side by side (it.concurrent): each its own CLI, command and file.
  it.concurrent.each([
    [['/bin/false'], 'exited with code 1', /exit code 1/],
    [['sh', '-c', 'exit 3'], 'exited with code 3', /exit code 3/],
    [['sh', '-c', 'kill -9 $$'], 'was killed by signal 9', /signal SIGKILL/],
  ])('%j: says how it ended, never "does not exist"', async (command, how, phrase) => {
    const out = path.join(tmp, `ended-early-${command.length}-${command.at(-1)!.length}.pgsrec`);
    fs.rmSync(out, { force: true });
    const r = await runBin(['record', '-o', out, '--', ...command]);
    expect(r.stderr).not.toMatch(/does not exist/);
    if (r.status === 2) {
      // Ended before the first tick (the usual case): one sentence, no file.
      const said = r.stderr.replace(/^pagescope: recording process .*\n/, '');
      expect(said).toBe(`pagescope: The program ${how} before recording started.\n`);
      expect(r.stdout).toBe('');
      expect(fs.existsSync(out)).toBe(false);
    } else {
      // A loaded machine may let a first tick in before the program runs: then it is recorded.
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^recorded \d+ ticks? of process \d+ \(Process \d+ exited \(/);
      expect(r.stdout).toMatch(phrase);
      expect(readRecording(out).ticks.length).toBeGreaterThan(0);
    }
  });
});

describe('record -- LAUNCHER: a shim that execs the real program, on a busy machine', () => {
  /**
   * The machine made busy for the test: CPU hogs (shell loops), at least 4 or 2 per core, ended
   * when it is over. A launcher chain then execs while the session samples, which is what a
   * user's loaded machine did (load 4 and up).
   */
  function startHogs(): () => void {
    const n = Math.max(4, 2 * os.availableParallelism());
    const hogs = Array.from({ length: n }, () =>
      spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' }),
    );
    return () => {
      for (const h of hogs) h.kill('SIGKILL');
    };
  }

  /** The program: writes 16 new pages of its 4 MiB buffer every 20 ms, its address to argv[1]. */
  const program = `
import ctypes, sys, time
buf = bytearray(4 << 20)
for i in range(0, len(buf), 4096): buf[i] = 1
open(sys.argv[1], "w").write(hex(ctypes.addressof((ctypes.c_char * len(buf)).from_buffer(buf))))
k = 0
t0 = time.time()
while time.time() - t0 < 120:
    for i in range(16): buf[((16 * k + i) % 1024) * 4096] = (k + i) & 255
    k += 1
    time.sleep(0.02)
`;

  /** A #!/bin/sh script that works for a while (about 50 ms, like a shim), then execs `target`. */
  function shim(name: string, target: string, interpreter = '/bin/sh'): string {
    const file = path.join(tmp, name);
    fs.writeFileSync(
      file,
      `#!${interpreter}\ni=0\nwhile [ $i -lt 30000 ]; do i=$((i+1)); done\nexec "${target}" "$@"\n`,
      { mode: 0o755 },
    );
    return file;
  }

  /**
   * `record --writable -- LAUNCHER` of the program through `levels` shims: the program runs
   * (then `started()` is called), then 10 more ticks, then SIGINT. Its exit code, output,
   * recording and the program's buffer.
   */
  async function recordThroughLauncher(
    levels: number,
    started: () => void,
  ): Promise<{
    r: { code: number | null; stdout: string; stderr: string };
    rec: Recording;
    buf: number;
  }> {
    const inner = shim(`python3-shim-${levels}`, pythonExecutable());
    const launcher = levels === 1 ? inner : shim('python3-outer', inner, '/usr/bin/env bash');
    const out = path.join(tmp, `launcher-${levels}.pgsrec`);
    const addrFile = path.join(tmp, `launcher-${levels}.addr`);
    const child = spawn(
      process.execPath,
      [
        BIN,
        'record',
        '--writable',
        '--duration',
        '120',
        '-o',
        out,
        '--',
        launcher,
        '-c',
        program,
        addrFile,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const ticksNow = (): number => (fs.existsSync(out) ? readRecording(out).ticks.length : 0);
    // The program runs (past the launcher chain and python's start, slow on a busy machine),
    // then the recording goes on for 10 more ticks (the file is readable while it grows;
    // seen: 0.1 to 1.5 s a tick at load 17). Taking the exec for an end, it never gets them.
    await until(
      () => `${levels} level(s): the program to start; ${stderr}`,
      () => fs.existsSync(addrFile),
      60_000,
    );
    started();
    const atStart = ticksNow();
    await until(
      () => `${levels} level(s): 10 more ticks after ${atStart}, have ${ticksNow()}; ${stderr}`,
      () => ticksNow() >= atStart + 10,
      45_000,
      100,
    );
    child.kill('SIGINT');
    const r = { code: await exited, stdout, stderr };
    const buf = Number(BigInt(fs.readFileSync(addrFile, 'utf8')) >> 12n);
    return { r, rec: readRecording(out), buf };
  }

  // Both chains at once, beside the same hogs: the hogs cost the machine (and the files beside
  // this one) 4 busy processes for as long as they run, so they run once, not once a chain, and
  // only while a chain still execs: from the record's start until both programs run (their
  // address files written). The 10 ticks after, which show the recording goes on in the new
  // program, need no load (the hogs through them were ~9 of the file's ~18 s of CPU).
  it(
    'one shim and a two-level chain (env bash -> sh -> python3): many ticks, and the pages the program wrote',
    { timeout: limit(150_000) },
    async () => {
      if (!canWatch) return; // write watching needs PAGEMAP_SCAN and uffd-wp async
      const stopHogs = startHogs();
      let running = 0;
      const started = (): void => {
        if (++running === 2) stopHogs();
      };
      let results;
      try {
        results = await Promise.all([
          recordThroughLauncher(1, started),
          recordThroughLauncher(2, started),
        ]);
      } finally {
        stopHogs();
      }
      for (const [i, { r, rec, buf }] of results.entries()) {
        const what = `${i + 1} level(s)`;
        expect(r.code, `${what}: ${r.stderr}`).toBe(0);
        expect(r.stdout, what).toMatch(/\(interrupted by SIGINT\)/);
        const notes = rec.notes.map((n) => n.message).join('\n');
        expect(notes, what).not.toMatch(/does not exist/);
        const written = new Set<number>();
        for (let k = 0; k < rec.ticks.length; k++) {
          const w = rec.writtenAbsolute(k);
          for (let j = 0; j + 1 < w.length; j += 2)
            for (let p = w[j]; p < w[j + 1]; p++) if (p >= buf && p < buf + 1024) written.add(p);
        }
        // The program writes 16 new pages a 20 ms (all 1024 in 1.3 s): over seconds, hundreds.
        expect(written.size, `${what}: ${notes}`).toBeGreaterThanOrEqual(100);
      }
    },
  );
});

describe('a session ends for an exit only when the process did exit', () => {
  it('a process whose main thread ended while another runs on is alive; killed, it is not', async () => {
    const src = path.join(tmp, 'leader-exits.c');
    fs.writeFileSync(
      src,
      `#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
static void *run(void *a) { (void)a; for (;;) pause(); return 0; }
int main(void) { pthread_t t; pthread_create(&t, 0, run, 0); puts("ready"); fflush(stdout); pthread_exit(0); }
`,
    );
    const exe = buildC(src, ['-O1', '-pthread']);
    const child = spawn(exe, [], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    await new Promise((resolve) =>
      readline.createInterface({ input: child.stdout! }).once('line', resolve),
    );
    const pid = child.pid!;
    const leaderState = (): string => {
      const st = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
      return st.charAt(st.lastIndexOf(')') + 2);
    };
    await vi.waitFor(() => expect(leaderState()).toBe('Z'));
    expect(processAlive(pid)).toBe(true);
    child.kill('SIGKILL');
    await vi.waitFor(() => expect(processAlive(pid)).toBe(false));
  });
});
