/**
 * Recording from the host, end to end on the real kernel: a python process writing runs under a host connection,
 * the UI's requests record it (with writes watched), take two snapshots and compare them while
 * live; then the file comes back through an upload and plays as a replay session: its frames
 * are the recorded ticks for the view asked for, seeking and playing move through them, the
 * comparison and analytics of the replay agree with the live ones, and the web host's download
 * hands back the file byte for byte.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Frame } from '../protocol/frame.ts';
import {
  responseSchema,
  type HostEvent,
  type Method,
  type Params,
  type Result,
} from '../protocol/messages.ts';
import { readRecording } from '../record/reader.ts';
import { pythonExecutable } from '../../testing/targets.ts';
import { upload } from '../../testing/recording-upload.ts';
import { MAX_JOBS_PER_CONNECTION } from './recording-desk.ts';
import { HostService, type HostConnection } from './service.ts';

let dir: string;
let service: HostService;
let conn: HostConnection;
const frames: Frame[] = [];
const events: HostEvent[] = [];
let nextId = 1;

async function call<M extends Method>(method: M, params: Params<M>): Promise<Result<M>> {
  const r = await conn.handle({ id: nextId++, method, params });
  if (!r.ok) throw Object.assign(new Error(r.error.message), { code: r.error.code });
  // Every answer has the shape the protocol declares (the schema is the only definition).
  const check = responseSchema(method).safeParse(r);
  expect(check.success, `${method}: ${check.error?.message ?? ''}`).toBe(true);
  return r.result as Result<M>;
}

async function callError(
  method: Method,
  params: unknown,
): Promise<{ code: string; message: string }> {
  const r = await conn.handle({ id: nextId++, method, params });
  if (r.ok) throw new Error(`${method} succeeded where it should fail`);
  return r.error;
}

/** A python3 writing over a 2 MiB mapping, a page a few ms apart, forever. */
const WRITER =
  'import mmap, ctypes, time\n' +
  'n = 2 << 20\n' +
  'm = mmap.mmap(-1, n)\n' +
  'a = ctypes.addressof(ctypes.c_char.from_buffer(m))\n' +
  'print(hex(a), flush=True)\n' +
  'i = 0\n' +
  'while True:\n' +
  '    m[(i * 4096) % n] = 1\n' +
  '    i += 1\n' +
  '    time.sleep(0.003)\n';
let target: { pid: number; child: ChildProcess; range: { start: string; end: string } };

beforeAll(async () => {
  const child = spawn(pythonExecutable(), ['-c', WRITER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the target exited (${code})`)));
    readline.createInterface({ input: child.stdout! }).once('line', resolve);
  });
  const start = BigInt(line.trim());
  target = {
    pid: child.pid!,
    child,
    range: { start: '0x' + start.toString(16), end: '0x' + (start + (2n << 20n)).toString(16) },
  };
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagescope-rec-host-'));
  service = new HostService({
    session: { intervalMs: 50 },
    recordings: { recordingsDir: dir, version: 'test' },
  });
  conn = service.connect({ frame: (f) => frames.push(f), event: (e) => events.push(e) });
});

afterAll(async () => {
  await service?.closeAll();
  target?.child.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('recording from the host', () => {
  let file = '';
  let name = '';
  let liveDiff: Result<'compareTicks'>;
  let snapshots: Array<{ index: number; tick: number }> = [];

  it('records a process writing, takes two snapshots and compares them while live', async () => {
    const host = await call('recordingHost', {});
    expect(host).toEqual({ served: null, dialogs: false, recordingsDir: dir });
    const info = await call('attach', { pid: target.pid });
    const sid = info.sessionId;
    await call('watch', { sessionId: sid, ranges: [target.range] });
    // The UI's own small view: it must keep getting it while the recorder holds the session's.
    await call('setView', { sessionId: sid, buckets: 64 });
    expect((await callError('takeSnapshot', { sessionId: sid })).code).toBe('not-recording');
    const started = await call('startRecording', { sessionId: sid });
    expect(started.recording).toBe(true);
    expect(started.downloadable).toBe(true);
    expect(path.dirname(started.path!)).toBe(dir);
    expect(started.name).toMatch(/^pagescope-.*\.pgsrec$/);
    file = started.path!;
    name = started.name!;
    await vi.waitFor(
      async () => {
        const s = await call('takeSnapshot', { sessionId: sid });
        if (s.snapshots.length < 1) throw new Error('no snapshot');
      },
      { timeout: 10_000, interval: 100 },
    );
    // Wait for writes to be recorded between the snapshots.
    const first = (await call('takeSnapshot', { sessionId: sid })).snapshots[0];
    const afterFirst = frames.length;
    await vi.waitFor(
      () => {
        const ws = frames
          .slice(afterFirst)
          .filter((f) => f.sessionId === sid && f.written.length > 0);
        if (ws.length < 5) throw new Error('too few written ticks');
      },
      { timeout: 20_000, interval: 50 },
    );
    const state = await call('takeSnapshot', { sessionId: sid });
    snapshots = [first, state.snapshots[state.snapshots.length - 1]];
    expect(snapshots[1].index).toBeGreaterThan(snapshots[0].index);
    // The UI got its 64-bucket view all along, not the recorder's full window.
    // (From the first snapshot on: frames computed before the view change may still be in flight
    // when startRecording answers, with the session's default view.)
    const mine = frames.slice(afterFirst).filter((f) => f.sessionId === sid);
    expect(mine.length).toBeGreaterThan(3);
    for (const f of mine) {
      expect(f.window).toBeNull();
      expect(f.overview.buckets).toBeLessThanOrEqual(64);
    }
    liveDiff = await call('compareTicks', {
      sessionId: sid,
      a: snapshots[0].index,
      b: snapshots[1].index,
    });
    expect(liveDiff.writtenBetween).toBeGreaterThan(0);
    expect(liveDiff.tickA).toBe(snapshots[0].tick);
    expect(Buffer.from(liveDiff.codes, 'base64').length).toBe(liveDiff.totalPages);
    const live = await call('recordingAnalytics', { sessionId: sid });
    expect(live.curves.map((c) => c.window)).toEqual(['1 s', '10 s', '60 s', 'whole run']);
    expect(Math.max(...live.curves[3].values)).toBeGreaterThan(0);
    // Pages of ticks run side by side in threads of their own, a few at a time per window.
    const pages = await Promise.all(
      Array.from({ length: MAX_JOBS_PER_CONNECTION + 2 }, () =>
        conn.handle({
          id: nextId++,
          method: 'recordingTicks',
          params: { sessionId: sid, from: 0, count: 2 },
        }),
      ),
    );
    expect(pages.filter((r) => r.ok)).toHaveLength(MAX_JOBS_PER_CONNECTION);
    for (const r of pages.filter((x) => !x.ok))
      expect(r).toMatchObject({ ok: false, error: { code: 'busy' } });
    const stopped = await call('stopRecording', { sessionId: sid });
    expect(stopped.recording).toBe(false);
    expect(stopped.ticks).toBeGreaterThan(5);
    await call('detach', { sessionId: sid });
    const rec = readRecording(file);
    expect(rec.end?.reason).toBe('Stopped from the UI.');
    expect(rec.ticks.length).toBe(stopped.ticks);
  });

  it('downloads the file it wrote, byte for byte, and nothing else', async () => {
    const want = fs.readFileSync(file);
    const parts: Buffer[] = [];
    let offset = 0;
    for (;;) {
      const r = await call('downloadRecording', { name, offset });
      expect(r.size).toBe(want.length);
      const b = Buffer.from(r.data, 'base64');
      if (b.length === 0) break;
      parts.push(b);
      offset += b.length;
    }
    expect(Buffer.concat(parts).equals(want)).toBe(true);
    expect((await callError('downloadRecording', { name: '../etc/passwd', offset: 0 })).code).toBe(
      'bad-request',
    );
    expect((await callError('downloadRecording', { name: 'passwd', offset: 0 })).code).toBe(
      'bad-request',
    );
  });

  it('opens the upload as a replay session: frames, seeking, playing, compare, analytics', async () => {
    const bytes = fs.readFileSync(file);
    const { uploadId } = await upload(conn, name, bytes);
    const opened = await call('openRecording', { source: { uploadId } });
    if ('group' in opened) throw new Error('a process recording opened as a group recording');
    const sid = opened.sessionId;
    const rec = readRecording(file);
    expect(opened.recording.file).toBe(name);
    expect(opened.recording.ticks).toBe(rec.ticks.length);
    expect(opened.recording.pid).toBe(rec.header.process.pid);
    expect(opened.paused).toBe(true);
    // The first tick arrives by itself, after its VMA table.
    await vi.waitFor(() => {
      if (!frames.some((f) => f.sessionId === sid)) throw new Error('no frame');
    });
    expect(events.some((e) => e.event === 'vmas' && e.sessionId === sid)).toBe(true);
    // Seeking shows exactly that tick, for the view asked for.
    const at = snapshots[1].index;
    await call('setView', {
      sessionId: sid,
      buckets: 100,
      window: { startIndex: 0, endIndex: 1000 },
    });
    const before = frames.length;
    const st = await call('replayControl', { sessionId: sid, index: at });
    expect(st.index).toBe(at);
    expect(st.tick).toBe(rec.ticks[at].counters.tick);
    await vi.waitFor(() => {
      if (!frames.slice(before).some((f) => f.sessionId === sid && f.tick === st.tick))
        throw new Error('no frame for the seek');
    });
    const f = frames.slice(before).find((x) => x.sessionId === sid && x.tick === st.tick)!;
    const want = rec.frameAt(at, { buckets: 100, window: { startIndex: 0, endIndex: 1000 } }, sid);
    expect(f.counters).toEqual(want.counters);
    expect(Array.from(f.window!.bits)).toEqual(Array.from(want.window!.bits));
    expect(Array.from(f.overview.histogram)).toEqual(Array.from(want.overview.histogram));
    // Playing at 8x goes through the following ticks in order, then stops at the end.
    const playFrom = frames.length;
    await call('replayControl', {
      sessionId: sid,
      index: rec.ticks.length - 6,
      speed: 8,
      playing: true,
    });
    await vi.waitFor(
      async () => {
        const s = await call('replayControl', { sessionId: sid });
        if (s.playing) throw new Error('still playing');
        expect(s.index).toBe(rec.ticks.length - 1);
      },
      { timeout: 10_000, interval: 50 },
    );
    const played = frames
      .slice(playFrom)
      .filter((x) => x.sessionId === sid)
      .map((x) => x.tick);
    expect(played.slice(-5)).toEqual(rec.ticks.slice(-5).map((t) => t.counters.tick));
    // The same comparison as live, from the file.
    const d = await call('compareTicks', {
      sessionId: sid,
      a: snapshots[1].index,
      b: snapshots[0].index,
    });
    expect(d.indexA).toBe(snapshots[0].index);
    expect(d.writtenBetween).toBe(liveDiff.writtenBetween);
    expect(d.becamePresent).toBe(liveDiff.becamePresent);
    expect(d.codes).toBe(liveDiff.codes);
    const a = await call('recordingAnalytics', { sessionId: sid });
    expect(a.ticks).toEqual(rec.ticks.map((t) => t.counters.tick));
    // The whole report passes through (the UI's schema names only what it shows).
    expect((a.report as unknown as { ticks: number }).ticks).toBe(rec.ticks.length);
    expect(a.report.workingSet.map((w) => w.window)).toEqual(['1 s', '10 s', '60 s', 'whole run']);
    // History and ticks, for the timeline.
    const h = await call('getHistory', { sessionId: sid });
    expect(h.ticks.length).toBe(rec.ticks.length);
    const t = await call('recordingTicks', { sessionId: sid, from: 0, count: 5000 });
    expect(t.total).toBe(rec.ticks.length);
    expect(t.ticks[at].written).toEqual(Array.from(rec.ticks[at].written));
    // A recording is not a process.
    expect((await callError('watch', { sessionId: sid, vmaIndices: [0] })).code).toBe(
      'unsupported',
    );
    expect((await callError('startRecording', { sessionId: sid })).code).toBe('unsupported');
    expect((await callError('replayControl', { sessionId: sid, index: 1e6 })).code).toBe(
      'bad-request',
    );
    await call('detach', { sessionId: sid });
    expect(service.reservedSessions).toBe(0);
  });

  it('plays on while the state is asked for faster than the ticks come', async () => {
    const { uploadId } = await upload(conn, name, fs.readFileSync(file));
    const opened = await call('openRecording', { source: { uploadId } });
    if ('group' in opened) throw new Error('a process recording opened as a group recording');
    const sid = opened.sessionId;
    const n = readRecording(file).ticks.length;
    // The last 5 ticks at the recorded pace (~100 ms apart), asked for every ~2 ms meanwhile.
    await call('replayControl', { sessionId: sid, index: n - 6, speed: 1, playing: true });
    await vi.waitFor(
      async () => {
        const s = await call('replayControl', { sessionId: sid });
        if (s.playing) throw new Error(`still playing, at ${s.index} of ${n}`);
        expect(s.index).toBe(n - 1);
      },
      { timeout: 10_000, interval: 2 },
    );
    await call('detach', { sessionId: sid });
  });
});
