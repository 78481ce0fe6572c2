/**
 * electron/main.ts's own logic, where the Electron binary is missing: the module is bundled with
 * `electron` replaced by a recorder (testing/electron/fake-electron.mjs) and driven like Electron would
 * drive it. The host service, sessions and the python3 target behind it are real, and so is the
 * frame pacing (main keeps two frames per session unacknowledged, acks checked like requests;
 * the driver plays a renderer that acks or does not). The real
 * window is covered by electron.test.ts where the binary exists.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FRAMES_IN_FLIGHT } from '../core/host/frame-window.ts';
import { pythonExecutable } from '../testing/targets.ts';
import { limit } from '../testing/wait.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
let target: ChildProcess;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
let out: any;

beforeAll(() => {
  target = spawn(pythonExecutable(), ['-c', 'import time; time.sleep(60)'], { stdio: 'ignore' });
  const text = execFileSync(
    process.execPath,
    [path.join(HERE, '../testing/electron/drive-main.mjs'), String(target.pid)],
    {
      encoding: 'utf8',
      timeout: limit(60_000),
    },
  );
  out = JSON.parse(text.trim().split('\n').pop()!);
});

afterAll(() => {
  target.kill('SIGKILL');
});

describe('electron main (with a stand-in electron module)', () => {
  it('ran without throwing', () => {
    expect(out.error).toBeUndefined();
  });

  it('makes one window with the secure webPreferences', () => {
    expect(out.webPreferences).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webviewTag: false,
    });
    expect(out.webPreferences.preload).toMatch(/preload\.cjs$/);
    const events = out.calls.filter((c: string[]) => c[0] === 'wc.on').map((c: string[]) => c[1]);
    expect(events).toEqual(expect.arrayContaining(['will-navigate', 'will-attach-webview']));
    expect(out.windowOpen).toEqual({ action: 'deny' });
    expect(out.permission).toBe(false);
    expect(out.permissionCheck).toBe(false);
    expect(out.calls).toContainEqual(['enableSandbox']);
  });

  it('uses --no-sandbox only as root, and says so', () => {
    const switched = out.calls.some(
      (c: string[]) => c[0] === 'appendSwitch' && c[1] === 'no-sandbox',
    );
    expect(switched).toBe(process.getuid?.() === 0);
  });

  it('serves the renderer with a strict CSP and nothing outside it', () => {
    expect(out.index.status).toBe(200);
    expect(out.index.csp).toMatch(/default-src 'self'/);
    expect(out.index.csp).toMatch(/object-src 'none'/);
    expect(out.index.csp).not.toMatch(/unsafe-eval/);
    expect(out.escape).toBe(404);
    expect(out.foreignHost).toBe(404);
  });

  it('answers IPC only from its own top frame, validates messages, streams frames', () => {
    expect(out.foreign).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(out.subframe).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(out.garbage).toMatchObject({ id: 2, ok: false, error: { code: 'bad-request' } });
    expect(out.hello).toMatchObject({ id: 3, ok: true });
    expect(out.attach).toEqual({ ok: true, error: null });
    expect(out.frames).toBeGreaterThan(3);
    expect(out.frameArrays).toBe('Uint32Array');
    expect(out.events).toContain('vmas');
  });

  it('paces frames like the web host: two unacknowledged, then the NEWEST held back on an ack', () => {
    expect(out.flowAttach).toEqual({ ok: true, error: null });
    const f = out.flow;
    console.log(
      `electron main: slowest reply while frames were held back ${f.slowestReplyMs.toFixed(1)} ms`,
    );
    expect(
      f.heldBack,
      `frames sent with no ack while the session went on to tick ${f.newest}`,
    ).toHaveLength(FRAMES_IN_FLIGHT);
    expect(f.afterBadAcks, 'frames sent after refused acks').toEqual(f.heldBack);
    expect(out.ackNothingInFlight, 'an ack for no frame in flight: counted as nothing').toBeNull();
    expect(out.ackGood).toBeNull();
    expect(f.afterAck, 'one frame per good ack').toHaveLength(FRAMES_IN_FLIGHT + 1);
    // The newest frame held back (at least the newest tick the history had when asked, all
    // of whose frames main had already been given), never the oldest (lastSent + 1).
    const next = f.afterAck[FRAMES_IN_FLIGHT];
    expect(next, `ticks ${f.afterAck}, history at ${f.newest}`).toBeGreaterThanOrEqual(f.newest);
    expect(next).toBeGreaterThan(f.lastSent + 1);
    expect(f.flowing, 'frames that came while each was acked').toBeGreaterThanOrEqual(4);
  });

  it('refuses a malformed frame ack in one sentence and a foreign frame’s, never throwing', () => {
    expect(out.ackGarbage).toHaveLength(12);
    for (const r of out.ackGarbage)
      expect(r).toEqual({
        id: -1,
        ok: false,
        error: {
          code: 'bad-request',
          message: 'A frame acknowledgement is {"ack": <session id>} and nothing else.',
        },
      });
    expect(out.ackForeign).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(out.ackSubframe).toMatchObject({ ok: false, error: { code: 'forbidden' } });
  });

  it('lets an ended session’s held-back frame go: an ack after sessionEnded sends nothing', () => {
    expect(out.flow.detached).toBe(true);
    expect(out.ackAfterEnd).toBeNull();
    expect(out.flow.sentAfterEnd).toBe(0);
  });

  it('serves group scans over the same validated IPC, refusing bad input in one sentence', () => {
    expect(out.group).toEqual({ members: [target.pid] });
    expect(out.groupForeign).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(out.groupOutside).toMatchObject({ id: 12, ok: false, error: { code: 'bad-request' } });
    expect(out.groupOutside.error.message).toMatch(/is not a cgroup under/);
    expect(out.groupGarbage).toMatchObject({ id: 13, ok: false, error: { code: 'bad-request' } });
  });

  it('watches a group’s writes over the same validated IPC; Stop leaves the target as it was', () => {
    expect(out.groupWatch).toEqual({ members: [target.pid] });
    expect(out.groupWatchForeign).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(out.groupWatchGarbage).toMatchObject({
      id: 16,
      ok: false,
      error: { code: 'bad-request' },
    });
    expect(out.stopGarbage).toMatchObject({ id: 17, ok: false, error: { code: 'bad-request' } });
    expect(out.groupStop).toMatchObject({ id: 18, ok: true });
    expect(out.groupTraces).toEqual([]);
    expect(out.events).toContain('groupTick');
  });

  it('quits the same way on SIGHUP, SIGQUIT, SIGTERM and SIGINT', () => {
    expect(out.signals).toEqual({ SIGHUP: true, SIGQUIT: true, SIGTERM: true, SIGINT: true });
  });

  it('detaches every session before quitting', () => {
    expect(out.quit).toEqual({ prevented: true, quitCalled: true });
    expect(out.ackAfterQuit, 'an ack once quitting: counted, nothing sent').toBeNull();
    expect(out.framesAfterQuit, 'frames after quit (the one held back included)').toBe(0);
    expect(target.exitCode).toBeNull();
  });
});
