/**
 * Heavy recording work never stalls the host (issue 21). The red team's small, costly file
 * (testing/crafted-recordings.ts' everyPageEveryTick: 3000 ticks, each one run over 2^25 pages, a
 * keyframe every 1000 ticks, the format's limit): comparing two ticks that are each 999 ticks
 * from their keyframe costs core/record seconds of CPU on a quiet machine, tens on a busy one.
 * On a real `pagescope serve`, while one socket's compare runs, another socket's `hello` answers
 * within a second (before: it waited for the whole compare), and closing the first socket ends
 * the work (the serve process's CPU drops back, its thread count with it). In a host service: a
 * newer compare cancels the older one at once, and a compare past the time limit stops with a
 * sentence saying so.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { everyPageEveryTick } from '../../testing/crafted-recordings.ts';
import { openUploadSession, uploadOverSocket } from '../../testing/recording-upload.ts';
import { connectClient, startServe, type Reply, type ServeProcess } from '../../testing/serve.ts';
import { limit, sleep, until } from '../../testing/wait.ts';
import { MAX_KEYFRAME_EVERY } from '../record/format.ts';
import { HostService } from './service.ts';

let dir: string;
let crafted: Buffer;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagescope-heavy-'));
  crafted = everyPageEveryTick(3000, 2 ** 25, MAX_KEYFRAME_EVERY);
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** CPU seconds the process has used (all its threads). */
function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime (fields 14, 15) in clock ticks
}

function threads(pid: number): number {
  return Number(/^Threads:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'latin1'))![1]);
}

/** CPU seconds the process uses over the next `ms`. */
async function cpuOver(pid: number, ms: number): Promise<number> {
  const a = cpuSeconds(pid);
  await sleep(ms);
  return cpuSeconds(pid) - a;
}

describe('heavy work on a real pagescope serve', () => {
  let serve: ServeProcess;

  afterAll(async () => {
    await serve?.stop();
  });

  it("one socket's compare of the crafted file stalls no other socket, and ends with its socket", async (ctx) => {
    serve = await startServe(['--recordings', dir]);
    const pid = serve.child.pid!;
    const a = await connectClient(serve.port, serve.token);
    const b = await connectClient(serve.port, serve.token);
    const up = await uploadOverSocket(a, 'crafted.pgsrec', crafted);
    expect(up).toHaveProperty('uploadId');
    const opened = await a.request('openRecording', {
      source: { uploadId: (up as { uploadId: number }).uploadId },
    });
    expect(opened.ok, JSON.stringify(opened.error)).toBe(true);
    const sessionId = opened.result!.sessionId as number;
    // The replay thread decodes the first tick (2^25 pages) on its own: wait until it is idle.
    await until(
      'the serve process to go idle after opening',
      async () => (await cpuOver(pid, 1000)) < 0.1,
      60_000,
    );
    const idleThreads = threads(pid);

    let compared: Reply | null = null;
    const t0 = performance.now();
    const cpu0 = cpuSeconds(pid);
    // Ticks 999 and 2999: each the farthest from its keyframe (999 ticks of runs to apply).
    void a.request('compareTicks', { sessionId, a: 999, b: 2999 }).then((r) => (compared = r));
    // Another socket, meanwhile, back to back: every answer within a second, scaled (before:
    // after the whole compare, seconds, so its first answer already failed). For 1 s, and on
    // until the compare has spent 0.3 CPU-s (a busy machine gives its thread less than a core:
    // up to 3 s scaled by the slowness); the compare is still under way at the end (else the
    // test skips), so every answer came while it ran. 3 s at first: 2 s of a core for nothing.
    const latencies: number[] = [];
    const windowMs = limit(3000);
    const goOn = (ms: number): boolean =>
      ms < 1000 || (ms < windowMs && cpuSeconds(pid) - cpu0 <= 0.3);
    while (goOn(performance.now() - t0) && compared === null) {
      const s = performance.now();
      const r = await b.request('hello', { version: 1 });
      latencies.push(performance.now() - s);
      expect(r.ok).toBe(true);
    }
    console.log(
      `hello while a compare runs: ${latencies.length} answers, max ${Math.max(...latencies).toFixed(1)} ms`,
    );
    expect(Math.max(...latencies)).toBeLessThan(limit(1000));
    if (compared !== null)
      ctx.skip(
        `the crafted file no longer costs enough to test this (compare answered in ${Math.round(performance.now() - t0)} ms)`,
      );
    // The work is under way: a thread of its own, and CPU spent meanwhile (idle is < 0.1 CPU-s a
    // second, as awaited above) ...
    expect(threads(pid)).toBeGreaterThan(idleThreads);
    expect(cpuSeconds(pid) - cpu0).toBeGreaterThan(0.3);
    // ... and ends with the socket that asked for it.
    a.close();
    await until(
      'the compare to stop once its socket closed',
      async () => (await cpuOver(pid, 1000)) < 0.1,
      10_000,
    );
    await until('its thread to be gone', () => threads(pid) <= idleThreads, 10_000);
    expect(compared).toMatchObject({ ok: false });
    expect((await b.request('hello', { version: 1 })).ok).toBe(true);
    b.close();
  });
});

/**
 * The host service's time limit for one job in the test below (the host's own is 60 s): 4 s on a
 * quiet machine, scaled by the slowness in whole seconds (at a fixed 4 s a loaded machine's
 * openRecording of the crafted file was itself stopped at the limit).
 */
const LIMIT_MS = Math.ceil(limit(4000) / 1000) * 1000;
/**
 * The limit the second compare runs under, set once the open and the first compare have
 * started under LIMIT_MS (a job reads the host's limit when it starts): the compare costs
 * seconds of a core on a quiet machine, so it is past 1 s whatever the load, and the core it
 * burns until its limit is 1 s of it, not LIMIT_MS (8-12 s in a loaded run, in the serial part).
 */
const COMPARE_LIMIT_MS = 1000;

describe('heavy work in a host service: cancelled by a newer request, stopped at its limit', () => {
  it('a newer compare cancels the older one at once; one past the limit says so', async (ctx) => {
    const service = new HostService({
      recordings: { recordingsDir: dir, jobTimeoutMs: LIMIT_MS },
    });
    let framed = 0;
    const conn = service.connect({ frame: () => framed++, event: () => {} });
    try {
      const sessionId = await openUploadSession(conn, 'crafted.pgsrec', crafted);
      // The replay thread's first tick (2^25 pages) first: under the same limit, it must not be
      // what ends the session while the compares run.
      await until('the first replayed tick', () => framed > 0, 30_000);
      const before = threads(process.pid);
      const called = performance.now();
      const first = conn.handle({
        id: 2,
        method: 'compareTicks',
        params: { sessionId, a: 999, b: 2999 },
      });
      // The request is in a thread: the call returns at once (before: after the whole compare).
      expect(performance.now() - called).toBeLessThan(limit(200));
      await until('the first compare in a thread of its own', () => threads(process.pid) > before);
      service.options.recordings!.jobTimeoutMs = COMPARE_LIMIT_MS;
      const sent = performance.now();
      const second = conn.handle({
        id: 3,
        method: 'compareTicks',
        params: { sessionId, a: 2999, b: 999 },
      });
      const r1 = await first;
      const cancelMs = performance.now() - sent;
      if (r1.ok) ctx.skip('the crafted file no longer costs enough to test this');
      expect(r1, JSON.stringify(r1)).toMatchObject({ ok: false, error: { code: 'cancelled' } });
      expect((r1 as { error: { message: string } }).error.message).toMatch(
        /^Comparing two ticks of crafted\.pgsrec was stopped: a newer request of the same kind replaced it\.$/,
      );
      expect(cancelMs).toBeLessThan(limit(1000));
      const r2 = await second;
      const limitMs = performance.now() - sent;
      if (r2.ok)
        ctx.skip(`the crafted file no longer costs ${COMPARE_LIMIT_MS / 1000} s: nothing to stop`);
      expect(r2, JSON.stringify(r2)).toMatchObject({
        ok: false,
        error: {
          code: 'error',
          message: `Comparing two ticks of crafted.pgsrec was stopped after ${COMPARE_LIMIT_MS / 1000} s, this host's limit for one request.`,
        },
      });
      expect(limitMs).toBeGreaterThan(COMPARE_LIMIT_MS - 100);
      expect(limitMs).toBeLessThan(limit(30_000));
      console.log(
        `cancelled in ${cancelMs.toFixed(0)} ms, stopped at the limit after ${limitMs.toFixed(0)} ms`,
      );
    } finally {
      await service.closeAll();
    }
  });
});
