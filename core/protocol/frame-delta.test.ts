/**
 * Frame deltas (frame-delta.ts): applied to their base they give back the frame byte for byte
 * (so every number decoded from it is exact), whatever changed, including the last bytes past
 * a whole word; a delta is never made when it would not be small, and never applies to a frame
 * other than its base.
 */
import { describe, expect, it } from 'vitest';
import {
  applyFrameDelta,
  encodeFrameDelta,
  FRAME_DELTA_HEADER_BYTES,
  frameDeltaByteLength,
  frameDeltaSessionId,
  isFrameDelta,
  MAX_DELTA_SHARE,
} from './frame-delta.ts';
import { FrameAssembler, framePieces } from './frame-pieces.ts';
import type { Frame } from './frame.ts';
import { HISTOGRAM_WIDTH } from './page-bits.ts';
import { decodeFrame, encodeFrame } from './wire.ts';

/** Seeded numbers in [0, 1) (mulberry32; testing/prng.ts, which core/protocol may not import). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** A frame with a window of `winLen` pages (odd lengths leave 2 bytes past the last word). */
function frame(tick: number, winLen: number, seed: number): Frame {
  const rnd = prng(seed);
  const buckets = 200;
  return {
    sessionId: 9,
    tick,
    vmaVersion: 1,
    totalPages: buckets * 50,
    counters: {
      tick,
      t: tick * 200,
      present: 1234,
      swapped: 5,
      written: 17,
      watched: 900,
      scanMs: 2.5,
      lagMs: 0.25,
      skipped: 0,
      estOverheadPct: 1.5,
      estOverheadLowPct: 1,
      estOverheadHighPct: 2,
      sampleFraction: 1,
      writtenEst: 17,
      writtenErr: 0,
      intervalMs: 200,
    },
    overview: {
      buckets,
      pagesPerBucket: 50,
      histogram: new Uint32Array(buckets * HISTOGRAM_WIDTH).map(() => Math.floor(rnd() * 51)),
    },
    window: {
      startIndex: 0,
      endIndex: winLen,
      bits: new Uint16Array(winLen).map(() => Math.floor(rnd() * 0x200)),
    },
    written: Float64Array.of(10, 20),
    vmaCounts: Uint32Array.of(1234, 5, 17),
  };
}

/** `f` one tick later with `n` window pages and histogram counts changed at random places. */
function nextTick(f: Frame, n: number, seed: number): Frame {
  const rnd = prng(seed);
  const bits = f.window!.bits.slice();
  const histogram = f.overview.histogram.slice();
  for (let i = 0; i < n; i++) {
    bits[Math.floor(rnd() * bits.length)] ^= 1 + Math.floor(rnd() * 0x1ff);
    histogram[Math.floor(rnd() * histogram.length)] = Math.floor(rnd() * 51);
  }
  return {
    ...f,
    tick: f.tick + 1,
    counters: { ...f.counters, tick: f.tick + 1, t: f.counters.t + 200 },
    overview: { ...f.overview, histogram },
    window: { ...f.window!, bits },
  };
}

/** The first byte at which `a` and `b` differ (-1: none; the shorter's length if one is a prefix). */
function firstDiff(a: ArrayBuffer, b: ArrayBuffer): number {
  const x = new Uint8Array(a);
  const y = new Uint8Array(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return i;
  return x.length === y.length ? -1 : Math.min(x.length, y.length);
}

describe('frame deltas', () => {
  it('give back the next frame byte for byte, for few or many changes, odd lengths too', () => {
    for (const [winLen, changes, seed] of [
      [4001, 0, 1],
      [4001, 1, 2],
      [4000, 30, 3],
      [40_001, 300, 4],
      [39_999, 700, 5],
    ]) {
      const a = frame(5, winLen, seed);
      const b = nextTick(a, changes, seed + 100);
      const base = encodeFrame(a);
      const next = encodeFrame(b);
      const delta = encodeFrameDelta(base, next, 9);
      expect(delta, `a delta for ${changes} changes of ${winLen} pages`).not.toBeNull();
      expect(delta!.byteLength).toBeLessThanOrEqual(next.byteLength * MAX_DELTA_SHARE);
      expect(isFrameDelta(delta!)).toBe(true);
      expect(isFrameDelta(next)).toBe(false);
      expect(frameDeltaByteLength(delta!)).toBe(delta!.byteLength);
      expect(frameDeltaSessionId(delta!)).toBe(9);
      const baseCopy = base.slice(0);
      const whole = applyFrameDelta(base, delta!);
      expect(firstDiff(whole, next), 'first byte that differs').toBe(-1);
      expect(firstDiff(base, baseCopy), 'the base is left as it was').toBe(-1);
      expect(decodeFrame(whole).counters).toEqual(b.counters);
    }
  });

  it('carries a change in the last bytes past a whole word', () => {
    const a = frame(5, 4001, 7);
    const base = encodeFrame(a);
    expect(base.byteLength % 4, 'this frame must end mid-word').not.toBe(0);
    const next = base.slice(0);
    const last = new Uint8Array(next);
    last[last.length - 1] ^= 0xff;
    new Float64Array(next, 16, 1)[0] = 6; // as a next tick would
    const whole = applyFrameDelta(base, encodeFrameDelta(base, next, 9)!);
    expect(firstDiff(whole, next), 'first byte that differs').toBe(-1);
  });

  it('is small when little changed: a header and the changed runs', () => {
    const a = frame(5, 40_000, 11);
    const next = encodeFrame(nextTick(a, 10, 12));
    const delta = encodeFrameDelta(encodeFrame(a), next, 9)!;
    // Header words (tick, t) plus at most 20 runs of a few words each.
    expect(delta.byteLength).toBeLessThan(FRAME_DELTA_HEADER_BYTES + 64 + 20 * 24);
    console.log(`frame-delta: ${next.byteLength} bytes whole, ${delta.byteLength} as a delta`);
  });

  it('makes no delta across layouts, nor one that is not much smaller than the frame', () => {
    const a = frame(5, 4000, 21);
    expect(encodeFrameDelta(encodeFrame(a), encodeFrame(frame(6, 4002, 21)), 9)).toBeNull();
    // Everything new: the whole frame is the better send.
    expect(encodeFrameDelta(encodeFrame(a), encodeFrame(frame(6, 4000, 22)), 9)).toBeNull();
  });

  it('refuses a base other than its own, and a delta that does not hold together', () => {
    const a = frame(5, 4001, 31);
    const b = nextTick(a, 5, 32);
    const c = nextTick(b, 5, 33);
    const delta = encodeFrameDelta(encodeFrame(b), encodeFrame(c), 9)!;
    // The frame before the base (another tick), and a frame of another size.
    expect(() => applyFrameDelta(encodeFrame(a), delta)).toThrow(/not for the frame held/);
    expect(() => applyFrameDelta(encodeFrame(frame(5, 4003, 31)), delta)).toThrow(
      /not for the frame held/,
    );
    expect(() => applyFrameDelta(encodeFrame(b), delta.slice(0, delta.byteLength - 1))).toThrow(
      /does not match/,
    );
    const outside = delta.slice(0);
    new Uint32Array(outside, FRAME_DELTA_HEADER_BYTES, 1)[0] = 2 ** 31;
    expect(() => applyFrameDelta(encodeFrame(b), outside)).toThrow(/outside its frame/);
    expect(() => frameDeltaByteLength(new ArrayBuffer(8))).toThrow(/too short/);
    expect(() => frameDeltaByteLength(new ArrayBuffer(64))).toThrow(/bad magic/);
  });

  it('crosses in pieces like a frame: the assembler joins a delta by its own header', () => {
    const a = frame(5, 40_000, 41);
    const base = encodeFrame(a);
    const next = encodeFrame(nextTick(a, 200, 42));
    const delta = encodeFrameDelta(base, next, 9)!;
    const pieces = framePieces(delta, 256).map((p) => p.slice().buffer);
    expect(pieces.length, 'the delta must cross in several pieces').toBeGreaterThan(2);
    const joiner = new FrameAssembler();
    const results = pieces.map((p) => joiner.push(p));
    const last = results[results.length - 1];
    expect(results.slice(0, -1).every((r) => r.kind === 'partial')).toBe(true);
    expect(last.kind).toBe('frame');
    if (last.kind === 'frame') expect(firstDiff(applyFrameDelta(base, last.buffer), next)).toBe(-1);
  });
});
