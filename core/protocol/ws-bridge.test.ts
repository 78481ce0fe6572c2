/**
 * The WebSocket bridge's side of frame flow control (core/host/server.ts keeps FRAMES_IN_FLIGHT
 * frames per session unacknowledged): it acknowledges each whole frame once, after its listeners
 * had it, and never a piece. A fake socket stands in for the browser's: this is the bridge's own
 * bookkeeping; core/host/frame-flow.test.ts runs the host's side over a real one.
 */
import { describe, expect, it } from 'vitest';
import type { Frame } from './frame.ts';
import { framePieces } from './frame-pieces.ts';
import { parseFrameAck } from './schemas.ts';
import { encodeFrame } from './wire.ts';
import { connectWebSocketBridge, type WebSocketLike } from './ws-bridge.ts';

function frame(sessionId: number, tick: number): Frame {
  return {
    sessionId,
    tick,
    vmaVersion: 1,
    totalPages: 400,
    counters: {
      tick,
      t: tick * 100,
      present: 5,
      swapped: 0,
      written: 1,
      watched: 2,
      scanMs: 1,
      lagMs: 0,
      skipped: 0,
      estOverheadPct: 0,
      estOverheadLowPct: 0,
      estOverheadHighPct: 0,
      sampleFraction: 1,
      writtenEst: 1,
      writtenErr: 0,
      intervalMs: 100,
    },
    overview: { buckets: 100, pagesPerBucket: 4, histogram: new Uint32Array(100 * 8) },
    window: null,
    written: Float64Array.of(0, 2),
    vmaCounts: Uint32Array.of(5),
  };
}

/** A socket that records what the bridge sends and lets the test deliver messages. */
function fakeSocket() {
  const sent: string[] = [];
  const listeners = new Map<string, Array<(ev: { data: unknown }) => void>>();
  const socket: WebSocketLike = {
    binaryType: 'blob',
    readyState: 1,
    send: (d: string) => sent.push(d),
    close: () => {},
    addEventListener: (type: string, l: (ev: { data: unknown }) => void) =>
      listeners.set(type, [...(listeners.get(type) ?? []), l]),
  } as WebSocketLike;
  const deliver = (data: unknown) => {
    for (const l of listeners.get('message') ?? []) l({ data });
  };
  return { socket, sent, deliver };
}

describe('connectWebSocketBridge frame acks', () => {
  it('acknowledges each whole frame once, with its session, after its listeners had it', () => {
    const { socket, sent, deliver } = fakeSocket();
    const bridge = connectWebSocketBridge('ws://x/ws', () => socket, 't');
    const seen: number[] = [];
    const acksWhenSeen: number[] = [];
    bridge.onFrame((f) => {
      seen.push(f.tick);
      acksWhenSeen.push(sent.length);
    });
    const acks = () => sent.map((s) => parseFrameAck(JSON.parse(s)));
    const pieces = framePieces(encodeFrame(frame(3, 7)), 512).map((p) => p.slice().buffer);
    expect(pieces.length, 'the frame must cross in several pieces').toBeGreaterThan(2);
    for (const p of pieces.slice(0, -1)) deliver(p);
    expect(sent, 'no ack for a frame still being joined').toEqual([]);
    deliver(pieces[pieces.length - 1]);
    expect(acks()).toEqual([3]);
    // A frame in one message, of another session; then a JSON event: no ack for that.
    deliver(encodeFrame(frame(5, 8)));
    deliver(JSON.stringify({ event: 'warning', sessionId: 5, message: 'm' }));
    expect(acks()).toEqual([3, 5]);
    expect(seen).toEqual([7, 8]);
    expect(acksWhenSeen, 'each ack is sent after the listeners had the frame').toEqual([0, 1]);
  });

  it('acknowledges a frame even when a listener throws, so the host does not wait forever', () => {
    const { socket, sent, deliver } = fakeSocket();
    const bridge = connectWebSocketBridge('ws://x/ws', () => socket, 't');
    bridge.onFrame(() => {
      throw new Error('a broken listener');
    });
    expect(() => deliver(encodeFrame(frame(4, 1)))).toThrow('a broken listener');
    expect(sent.map((s) => parseFrameAck(JSON.parse(s)))).toEqual([4]);
  });
});
