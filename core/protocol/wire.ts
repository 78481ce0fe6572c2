/**
 * Frames on the wire: one Frame as one ArrayBuffer (a WebSocket binary message).
 *
 * Layout (little-endian, the host's and every browser's byte order on x86_64/arm64):
 *   0   u32  magic 'PSF1'
 *   4   u32  FRAME_WIRE_VERSION
 *   8   f64 x HEADER_FIELDS   sessionId, tick, vmaVersion, totalPages, buckets, pagesPerBucket,
 *                             histogram length, window flag, window start, window end, window
 *                             length, written length, vmaCounts length, then the tick's
 *                             counters in COUNTER_KEYS order
 *   ... f64 x writtenLen      written ranges (8-aligned, first so no padding is needed)
 *   ... u32 x histogramLen    overview histogram
 *   ... u32 x vmaCountsLen    per-VMA counts
 *   ... u16 x windowLen       window PageBits
 * decodeFrame returns typed-array views into the buffer it was given (no copy).
 */
import type { TickCounters } from './messages.ts';
import type { Frame } from './frame.ts';

export const FRAME_MAGIC = 0x31465350; // 'PSF1'
export const FRAME_WIRE_VERSION = 4;

/** Every counter, in wire order (wire.test.ts checks that this names each key once). */
export const COUNTER_KEYS = [
  'tick',
  't',
  'present',
  'swapped',
  'written',
  'watched',
  'scanMs',
  'lagMs',
  'skipped',
  'estOverheadPct',
  'sampleFraction',
  'writtenEst',
  'writtenErr',
  'intervalMs',
] as const satisfies readonly (keyof TickCounters)[];

const FIXED_FIELDS = 13;
const HEADER_FIELDS = FIXED_FIELDS + COUNTER_KEYS.length;
const HEADER_BYTES = 8 + HEADER_FIELDS * 8;

export function encodeFrame(frame: Frame): ArrayBuffer {
  const writtenLen = frame.written.length;
  const histLen = frame.overview.histogram.length;
  const winLen = frame.window ? frame.window.bits.length : 0;
  const countsLen = frame.vmaCounts.length;
  const writtenOff = HEADER_BYTES;
  const histOff = writtenOff + writtenLen * 8;
  const countsOff = histOff + histLen * 4;
  const winOff = countsOff + countsLen * 4;
  const total = winOff + winLen * 2;
  const buf = new ArrayBuffer(total);
  const u32 = new Uint32Array(buf, 0, 2);
  u32[0] = FRAME_MAGIC;
  u32[1] = FRAME_WIRE_VERSION;
  const h = new Float64Array(buf, 8, HEADER_FIELDS);
  h.set([
    frame.sessionId,
    frame.tick,
    frame.vmaVersion,
    frame.totalPages,
    frame.overview.buckets,
    frame.overview.pagesPerBucket,
    histLen,
    frame.window ? 1 : 0,
    frame.window?.startIndex ?? 0,
    frame.window?.endIndex ?? 0,
    winLen,
    writtenLen,
    countsLen,
  ]);
  COUNTER_KEYS.forEach((k, i) => (h[FIXED_FIELDS + i] = frame.counters[k]));
  new Float64Array(buf, writtenOff, writtenLen).set(frame.written);
  new Uint32Array(buf, histOff, histLen).set(frame.overview.histogram);
  new Uint32Array(buf, countsOff, countsLen).set(frame.vmaCounts);
  if (frame.window) new Uint16Array(buf, winOff, winLen).set(frame.window.bits);
  return buf;
}

/** Decodes a buffer made by encodeFrame; throws an Error with one sentence on anything else. */
export function decodeFrame(buf: ArrayBuffer): Frame {
  if (buf.byteLength < HEADER_BYTES) throw new Error('Frame too short to hold a header.');
  const u32 = new Uint32Array(buf, 0, 2);
  if (u32[0] !== FRAME_MAGIC) throw new Error('Not a pagescope frame (bad magic).');
  if (u32[1] !== FRAME_WIRE_VERSION)
    throw new Error(`Unsupported frame version ${u32[1]} (expected ${FRAME_WIRE_VERSION}).`);
  const h = new Float64Array(buf, 8, HEADER_FIELDS);
  const histLen = h[6];
  const hasWindow = h[7] === 1;
  const winLen = h[10];
  const writtenLen = h[11];
  const countsLen = h[12];
  const writtenOff = HEADER_BYTES;
  const histOff = writtenOff + writtenLen * 8;
  const countsOff = histOff + histLen * 4;
  const winOff = countsOff + countsLen * 4;
  if (
    ![histLen, winLen, writtenLen, countsLen].every((n) => Number.isSafeInteger(n) && n >= 0) ||
    winOff + winLen * 2 !== buf.byteLength
  )
    throw new Error('Frame length does not match its header.');
  const counters = {} as TickCounters;
  COUNTER_KEYS.forEach((k, i) => (counters[k] = h[FIXED_FIELDS + i]));
  return {
    sessionId: h[0],
    tick: h[1],
    vmaVersion: h[2],
    totalPages: h[3],
    counters,
    overview: {
      buckets: h[4],
      pagesPerBucket: h[5],
      histogram: new Uint32Array(buf, histOff, histLen),
    },
    window: hasWindow
      ? { startIndex: h[8], endIndex: h[9], bits: new Uint16Array(buf, winOff, winLen) }
      : null,
    written: new Float64Array(buf, writtenOff, writtenLen),
    vmaCounts: new Uint32Array(buf, countsOff, countsLen),
  };
}
