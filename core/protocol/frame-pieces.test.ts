import { describe, expect, it } from 'vitest';
import type { Frame } from './frame.ts';
import { FRAME_PIECE_BYTES, FrameAssembler, framePieces, MAX_FRAME_BYTES } from './frame-pieces.ts';
import { HISTOGRAM_WIDTH } from './page-bits.ts';
import { decodeFrame, encodeFrame, FRAME_HEADER_BYTES } from './wire.ts';

function frame(buckets: number, windowPages: number): Frame {
  const histogram = new Uint32Array(buckets * HISTOGRAM_WIDTH).map(
    (_, i) => (i * 2654435761) >>> 0,
  );
  return {
    sessionId: 1,
    tick: 9,
    vmaVersion: 1,
    totalPages: buckets * 4,
    counters: {
      tick: 9,
      t: 900,
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
    overview: { buckets, pagesPerBucket: 4, histogram },
    window: windowPages
      ? {
          startIndex: 0,
          endIndex: windowPages,
          bits: new Uint16Array(windowPages).map((_, i) => i & 0x1ff),
        }
      : null,
    written: Float64Array.of(0, 2),
    vmaCounts: Uint32Array.of(5, 0, 1),
  };
}

/** The pieces as a WebSocket hands them over: each one an ArrayBuffer of its own. */
const asMessages = (pieces: Uint8Array[]) => pieces.map((p) => p.slice().buffer);

describe('framePieces', () => {
  it('cuts a frame into pieces of at most the given size that join back into it, in order', () => {
    const buf = encodeFrame(frame(8_000, 40_000));
    const pieces = framePieces(buf);
    expect(pieces.length).toBe(Math.ceil(buf.byteLength / FRAME_PIECE_BYTES));
    expect(pieces.every((p) => p.byteLength <= FRAME_PIECE_BYTES && p.byteLength > 0)).toBe(true);
    expect(pieces.reduce((n, p) => n + p.byteLength, 0)).toBe(buf.byteLength);
    expect(pieces.every((p) => p.buffer === buf)).toBe(true); // views, no copies
  });

  it('leaves a small frame whole', () => {
    const buf = encodeFrame(frame(3, 0));
    expect(framePieces(buf)).toHaveLength(1);
  });

  it('refuses a piece size that cannot hold the header', () => {
    expect(() => framePieces(new ArrayBuffer(10), FRAME_HEADER_BYTES - 1)).toThrow(/header/);
  });
});

describe('FrameAssembler', () => {
  it('joins the pieces of consecutive frames back into each frame', () => {
    const a = new FrameAssembler();
    for (const [buckets, win, size] of [
      [8_000, 40_000, FRAME_PIECE_BYTES],
      [3, 0, FRAME_PIECE_BYTES],
      [5_000, 1_001, 4096],
      [7, 3, FRAME_HEADER_BYTES],
    ]) {
      const f = frame(buckets, win);
      const messages = asMessages(framePieces(encodeFrame(f), size));
      const results = messages.map((m) => a.push(m));
      expect(results.slice(0, -1).every((r) => r.kind === 'partial')).toBe(true);
      const last = results[results.length - 1];
      expect(last.kind).toBe('frame');
      if (last.kind === 'frame') expect(decodeFrame(last.buffer)).toEqual(f);
      expect(a.joining).toBe(false);
    }
  });

  it('hands a frame in one message through without copying it', () => {
    const buf = encodeFrame(frame(3, 2));
    const r = new FrameAssembler().push(buf);
    expect(r.kind === 'frame' && r.buffer === buf).toBe(true);
  });

  it('drops what is not the start of a frame, and recovers with the next frame', () => {
    const a = new FrameAssembler();
    const r = a.push(new ArrayBuffer(400));
    expect(r).toEqual({ kind: 'dropped', reason: expect.stringMatching(/bad magic/) });
    expect(a.push(new ArrayBuffer(8)).kind).toBe('dropped');
    const f = frame(4, 4);
    expect(a.push(encodeFrame(f))).toMatchObject({ kind: 'frame' });
  });

  it('drops a first piece longer than its frame', () => {
    const buf = encodeFrame(frame(4, 4));
    const longer = new Uint8Array(buf.byteLength + 8);
    longer.set(new Uint8Array(buf));
    expect(new FrameAssembler().push(longer.buffer)).toEqual({
      kind: 'dropped',
      reason: expect.stringMatching(/does not match/),
    });
  });

  it('drops a frame whose pieces run past its announced length', () => {
    const a = new FrameAssembler();
    const [first] = asMessages(framePieces(encodeFrame(frame(2_000, 0)), 1024));
    expect(a.push(first).kind).toBe('partial');
    expect(a.push(new ArrayBuffer(1_000_000))).toEqual({
      kind: 'dropped',
      reason: expect.stringMatching(/runs past/),
    });
    expect(a.joining).toBe(false);
    const f = frame(3, 0);
    const r = a.push(encodeFrame(f));
    expect(r.kind === 'frame' && decodeFrame(r.buffer)).toEqual(f);
  });

  it('refuses a header announcing more than MAX_FRAME_BYTES, allocating nothing', () => {
    const buf = encodeFrame(frame(3, 0));
    // The window length field (header field 10, after the 8-byte magic and version).
    new Float64Array(buf, 8 + 10 * 8, 1)[0] = MAX_FRAME_BYTES;
    expect(new FrameAssembler().push(buf)).toEqual({
      kind: 'dropped',
      reason: expect.stringMatching(/larger than/),
    });
  });

  it('forgets a half-joined frame on reset', () => {
    const a = new FrameAssembler();
    const [first] = asMessages(framePieces(encodeFrame(frame(2_000, 0)), 1024));
    a.push(first);
    expect(a.joining).toBe(true);
    a.reset();
    expect(a.joining).toBe(false);
    const f = frame(3, 0);
    expect(a.push(encodeFrame(f)).kind).toBe('frame');
  });
});
