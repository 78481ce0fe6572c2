/**
 * Frame flow control on the web host (server.ts, FRAMES_IN_FLIGHT), over a real WebSocket with a
 * real session on a python3 process at 10 Hz. The client here never acknowledges on its own:
 * once the window is full the host sends no more frames, yet answers requests at once (they
 * never wait behind frames); an ack then brings the NEWEST frame held back, not the oldest.
 */
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Frame } from '../protocol/frame.ts';
import { FrameAssembler } from '../protocol/frame-pieces.ts';
import { socketProtocols } from '../protocol/ws-bridge.ts';
import { decodeFrame } from '../protocol/wire.ts';
import { hostWithSleeper } from '../../testing/host-with-sleeper.ts';
import { until } from '../../testing/wait.ts';
import { FRAMES_IN_FLIGHT } from './server.ts';

const rig = hostWithSleeper(512);

interface Reply {
  id: number;
  ok: boolean;
  result?: Record<string, unknown>;
  error?: { code: string; message: string };
}

describe('web host frame flow control', () => {
  it('holds frames past the window, answers requests meanwhile, and sends the newest on an ack', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${rig.web.port}/ws`, socketProtocols(rig.web.token));
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const frames: Frame[] = [];
    const replies = new Map<number, Reply>();
    const unnumbered: Reply[] = []; // replies with id -1: the same key, so kept in a list
    const joiner = new FrameAssembler();
    ws.on('message', (data: Buffer, isBinary) => {
      if (!isBinary) {
        const msg = JSON.parse(String(data)) as Reply;
        if (msg.id === -1) unnumbered.push(msg);
        else if (typeof msg.id === 'number') replies.set(msg.id, msg);
        return;
      }
      const piece = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
      const r = joiner.push(piece as ArrayBuffer);
      if (r.kind === 'frame') frames.push(decodeFrame(r.buffer));
    });
    let nextId = 1;
    const request = async (method: string, params: unknown): Promise<Reply> => {
      const id = nextId++;
      ws.send(JSON.stringify({ id, method, params }));
      return until(`the reply to ${method} (request ${id})`, () => replies.get(id));
    };
    const ticks = () => frames.map((f) => f.tick).join(', ');
    try {
      const attach = await request('attach', { pid: rig.target.pid });
      expect(attach.ok, JSON.stringify(attach.error)).toBe(true);
      const sessionId = attach.result!.sessionId as number;
      await until(`${FRAMES_IN_FLIGHT} frames (got ticks: ${ticks()})`, () =>
        frames.length >= FRAMES_IN_FLIGHT ? true : undefined,
      );
      const lastSent = frames[frames.length - 1].tick;
      // Ticks go on in the session while the window is full: wait (by asking, which must be
      // answered now, not behind frames) until the host has made three more ticks than we got.
      let newest = lastSent;
      let slowestReplyMs = 0;
      await until(
        () => `the session to pass tick ${lastSent + 3} (at ${newest}; frames: ${ticks()})`,
        async () => {
          const t0 = performance.now();
          const h = await request('getHistory', { sessionId });
          slowestReplyMs = Math.max(slowestReplyMs, performance.now() - t0);
          const hist = h.result!.ticks as Array<{ tick: number }>;
          newest = hist.length ? hist[hist.length - 1].tick : newest;
          return newest >= lastSent + 3;
        },
      );
      console.log(
        `frame-flow: slowest reply while frames were held back ${slowestReplyMs.toFixed(1)} ms`,
      );
      expect(frames.length, `frames beyond the window (ticks: ${ticks()})`).toBe(FRAMES_IN_FLIGHT);
      // A malformed ack is a bad request like any other malformed message; a good one, none.
      ws.send(JSON.stringify({ ack: sessionId, extra: 1 }));
      ws.send(JSON.stringify({ ack: 'x' }));
      ws.send(JSON.stringify({ id: 900, method: 'hello', params: { version: 1 } })); // a marker
      await until('the marker reply', () => replies.get(900));
      expect(unnumbered.map((r) => r.error?.code)).toEqual(['bad-request', 'bad-request']);
      expect(frames.length, `frames after malformed acks (ticks: ${ticks()})`).toBe(
        FRAMES_IN_FLIGHT,
      );

      ws.send(JSON.stringify({ ack: sessionId }));
      await until(`one more frame after an ack (ticks: ${ticks()})`, () =>
        frames.length > FRAMES_IN_FLIGHT ? true : undefined,
      );
      const next = frames[FRAMES_IN_FLIGHT];
      // The newest held back, never the oldest (lastSent + 1): at least the tick before the
      // newest the host's history had when we asked (that tick's frame may still have been on
      // its way to the socket then), which is past lastSent + 1.
      expect(next.tick, `ticks: ${ticks()}, host at ${newest}`).toBeGreaterThanOrEqual(newest - 1);
      expect(next.tick).toBeGreaterThan(lastSent + 1);
      expect(next.sessionId).toBe(sessionId);
      expect(rig.web.droppedFrames()).toBeGreaterThan(0); // the ones replaced unseen
      expect(rig.target.exitCode).toBeNull();
    } finally {
      ws.close();
      await until('no sessions left', () => rig.web.service.sessionCount === 0);
    }
  });
});
