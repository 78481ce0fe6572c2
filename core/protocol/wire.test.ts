import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Frame } from './frame.ts';
import { HISTOGRAM_WIDTH } from './page-bits.ts';
import { parseRequest } from './schemas.ts';
import { tickCountersSchema } from './messages.ts';
import {
  COUNTER_KEYS,
  decodeFrame,
  encodeFrame,
  FRAME_HEADER_BYTES,
  frameByteLength,
} from './wire.ts';

function frame(windowed: boolean): Frame {
  const histogram = new Uint32Array(3 * HISTOGRAM_WIDTH).map((_, i) => i * 7 + 1);
  return {
    sessionId: 3,
    tick: 42,
    vmaVersion: 2,
    totalPages: 2 ** 40 + 5,
    counters: {
      tick: 42,
      t: 4200.5,
      present: 10,
      swapped: 2,
      written: 3,
      watched: 8,
      scanMs: 1.25,
      lagMs: 230.5,
      skipped: 2,
      estOverheadPct: 3.25,
      estOverheadLowPct: 3.25,
      estOverheadHighPct: 3.25,
      sampleFraction: 0.25,
      writtenEst: 12,
      writtenErr: -1,
      intervalMs: 100,
    },
    overview: { buckets: 3, pagesPerBucket: 100, histogram },
    window: windowed
      ? { startIndex: 7, endIndex: 12, bits: Uint16Array.of(1, 2, 3, 0x1ff, 0) }
      : null,
    written: Float64Array.of(0, 3, 2 ** 40, 2 ** 40 + 1),
    vmaCounts: Uint32Array.of(1, 0, 0, 0, 2, 1, 2 ** 32 - 1, 0, 7),
  };
}

describe('encodeFrame/decodeFrame', () => {
  it('puts every counter of the schema on the wire, once', () => {
    expect([...COUNTER_KEYS].sort()).toEqual(Object.keys(tickCountersSchema.shape).sort());
  });

  it('round-trips a frame with and without a window', () => {
    for (const w of [true, false]) {
      const f = frame(w);
      const back = decodeFrame(encodeFrame(f));
      expect(back).toEqual(f);
    }
  });

  it('round-trips random frames', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 2 ** 32 - 1 }), { maxLength: 50 }),
        fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 50 }),
        fc.array(fc.double({ noNaN: true }), { maxLength: 20 }),
        fc.boolean(),
        fc.array(fc.integer({ min: 0, max: 2 ** 32 - 1 }), { maxLength: 30 }),
        (hist, bits, written, hasWindow, counts) => {
          const f: Frame = {
            ...frame(false),
            overview: {
              buckets: hist.length,
              pagesPerBucket: 1,
              histogram: Uint32Array.from(hist),
            },
            window: hasWindow
              ? { startIndex: 0, endIndex: bits.length, bits: Uint16Array.from(bits) }
              : null,
            written: Float64Array.from(written),
            vmaCounts: Uint32Array.from(counts),
          };
          expect(decodeFrame(encodeFrame(f))).toEqual(f);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('sends the histogram in the narrowest unsigned type that holds its counts', () => {
    const base = frame(true);
    let previous = 0;
    for (const max of [0, 255, 256, 0xffff, 0x10000, 2 ** 32 - 1]) {
      // An odd length, so the histogram's alignment after the window is exercised.
      const histogram = Uint32Array.of(0, 1, max, 7, max >>> 1);
      const f = { ...base, overview: { ...base.overview, buckets: 1, histogram } };
      const buf = encodeFrame(f);
      expect(decodeFrame(buf)).toEqual(f);
      const bytes = max <= 0xff ? 1 : max <= 0xffff ? 2 : 4;
      const frameWithout = encodeFrame({
        ...f,
        overview: { ...f.overview, histogram: new Uint32Array(0) },
      });
      expect(buf.byteLength - frameWithout.byteLength).toBeGreaterThanOrEqual(5 * bytes);
      expect(buf.byteLength - frameWithout.byteLength).toBeLessThan(5 * bytes + bytes);
      expect(buf.byteLength).toBeGreaterThanOrEqual(previous);
      previous = buf.byteLength;
    }
  });

  it('gives the frame length from its header alone', () => {
    const buf = encodeFrame(frame(true));
    expect(frameByteLength(buf.slice(0, FRAME_HEADER_BYTES))).toBe(buf.byteLength);
    expect(() => frameByteLength(buf.slice(0, FRAME_HEADER_BYTES - 1))).toThrow(/too short/);
  });

  it('rejects buffers that are not frames', () => {
    expect(() => decodeFrame(new ArrayBuffer(4))).toThrow(/too short/);
    expect(() => decodeFrame(new ArrayBuffer(400))).toThrow(/bad magic/);
    const good = encodeFrame(frame(true));
    expect(() => decodeFrame(good.slice(0, good.byteLength - 2))).toThrow(/does not match/);
    const badWidth = good.slice(0);
    new Float64Array(badWidth, 8 + 13 * 8, 1)[0] = 3; // bytes per histogram count
    expect(() => decodeFrame(badWidth)).toThrow(/malformed/);
  });
});

describe('parseRequest', () => {
  it('accepts well-formed requests', () => {
    const r = parseRequest({
      id: 1,
      method: 'watch',
      params: { sessionId: 1, ranges: [{ start: '0x1000', end: '0x3000' }] },
    });
    expect(r.ok).toBe(true);
  });

  it('names the problem of malformed ones', () => {
    const cases: Array<[unknown, RegExp]> = [
      [null, /Malformed/],
      [{ id: 1, method: 'nope', params: {} }, /Unknown method/],
      [{ id: 2, method: 'attach', params: { pid: 'x' } }, /Bad parameters for attach/],
      [{ id: 3, method: 'attach', params: { pid: 2 ** 60 } }, /attach/],
      [
        {
          id: 4,
          method: 'watch',
          params: { sessionId: 1, ranges: [{ start: '0x1001', end: '0x3000' }] },
        },
        /page-aligned/,
      ],
      [
        {
          id: 5,
          method: 'watch',
          params: { sessionId: 1, ranges: [{ start: '0x0', end: '0xffffffffffffffff' }] },
        },
        /page-aligned|beyond/,
      ],
      [
        {
          id: 6,
          method: 'watch',
          params: { sessionId: 1, ranges: [{ start: '0x0', end: '0xfffffffffffff000' }] },
        },
        /beyond/,
      ],
      [
        {
          id: 7,
          method: 'setView',
          params: { sessionId: 1, buckets: 10, window: { startIndex: 0, endIndex: 2 ** 40 } },
        },
        /at most/,
      ],
      [{ id: 8, method: 'setInterval', params: { sessionId: 1, intervalMs: 5 } }, /intervalMs/],
    ];
    for (const [raw, re] of cases) {
      const r = parseRequest(raw);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.message).toMatch(re);
    }
    const r = parseRequest({ id: 9, method: 'hello', params: { version: 1, extra: 1 } });
    expect(r.ok === false && r.id === 9).toBe(true);
  });
});
