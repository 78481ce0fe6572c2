/**
 * Frames on the wire: one Frame as one ArrayBuffer, sent over a WebSocket in pieces of at most
 * FRAME_PIECE_BYTES (frame-pieces.ts: Chromium spends ~35 ms of its main thread per MB of one
 * binary message, all in one task, so a 1.3 MB frame was one long task on its own).
 *
 * Layout (little-endian, the host's and every browser's byte order on x86_64/arm64):
 *   0   u32  magic 'PSF1'
 *   4   u32  FRAME_WIRE_VERSION
 *   8   f64 x HEADER_FIELDS   sessionId, tick, vmaVersion, totalPages, buckets, pagesPerBucket,
 *                             histogram length, window flag, window start, window end, window
 *                             length, written length, vmaCounts length, bytes per histogram
 *                             count (1, 2 or 4), then the tick's counters in COUNTER_KEYS order
 *   ... f64 x writtenLen      written ranges (8-aligned, first so no padding is needed)
 *   ... u32 x vmaCountsLen    per-VMA counts
 *   ... u16 x windowLen       window PageBits
 *   ... (0-3 bytes of zeros, so the histogram is aligned to its count size)
 *   ... u8|u16|u32 x histogramLen   overview histogram, in the narrowest unsigned type that
 *                             holds its largest count (a bucket of few pages: u8, a quarter of
 *                             the bytes of u32)
 * decodeFrame returns typed-array views into the buffer it was given (no copy), except the
 * histogram when it was narrowed: that one is widened back into a Uint32Array of its own.
 */
import type { TickCounters } from './messages.ts';
import type { Frame } from './frame.ts';

export const FRAME_MAGIC = 0x31465350; // 'PSF1'
export const FRAME_WIRE_VERSION = 5;

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
  'estOverheadLowPct',
  'estOverheadHighPct',
] as const satisfies readonly (keyof TickCounters)[];

const FIXED_FIELDS = 14;
const HEADER_FIELDS = FIXED_FIELDS + COUNTER_KEYS.length;
export const FRAME_HEADER_BYTES = 8 + HEADER_FIELDS * 8;

interface Layout {
  countsOff: number;
  winOff: number;
  histOff: number;
  total: number;
}

function layout(
  writtenLen: number,
  countsLen: number,
  winLen: number,
  histLen: number,
  histBytes: number,
): Layout {
  const countsOff = FRAME_HEADER_BYTES + writtenLen * 8;
  const winOff = countsOff + countsLen * 4;
  const winEnd = winOff + winLen * 2;
  const histOff = Math.ceil(winEnd / histBytes) * histBytes;
  return { countsOff, winOff, histOff, total: histOff + histLen * histBytes };
}

/** Bytes per count of the narrowest unsigned type holding every count of `histogram`. */
function countBytes(histogram: Uint32Array): 1 | 2 | 4 {
  let max = 0;
  for (let i = 0; i < histogram.length; i++) if (histogram[i] > max) max = histogram[i];
  return max <= 0xff ? 1 : max <= 0xffff ? 2 : 4;
}

const COUNT_ARRAY = { 1: Uint8Array, 2: Uint16Array, 4: Uint32Array } as const;

export function encodeFrame(frame: Frame): ArrayBuffer {
  const writtenLen = frame.written.length;
  const histLen = frame.overview.histogram.length;
  const winLen = frame.window ? frame.window.bits.length : 0;
  const countsLen = frame.vmaCounts.length;
  const histBytes = countBytes(frame.overview.histogram);
  const writtenOff = FRAME_HEADER_BYTES;
  const { countsOff, winOff, histOff, total } = layout(
    writtenLen,
    countsLen,
    winLen,
    histLen,
    histBytes,
  );
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
    histBytes,
  ]);
  COUNTER_KEYS.forEach((k, i) => (h[FIXED_FIELDS + i] = frame.counters[k]));
  new Float64Array(buf, writtenOff, writtenLen).set(frame.written);
  new Uint32Array(buf, countsOff, countsLen).set(frame.vmaCounts);
  if (frame.window) new Uint16Array(buf, winOff, winLen).set(frame.window.bits);
  new COUNT_ARRAY[histBytes](buf, histOff, histLen).set(frame.overview.histogram);
  return buf;
}

/**
 * The byte length of the frame whose encoding starts with `head` (at least FRAME_HEADER_BYTES of
 * it), read from its header; throws an Error with one sentence when `head` is no frame's start.
 */
export function frameByteLength(head: ArrayBuffer): number {
  return readHeader(head).total;
}

/** The session a frame belongs to, from its header alone (to acknowledge one we cannot decode). */
export function frameSessionId(head: ArrayBuffer): number {
  return readHeader(head).h[0];
}

interface Header extends Layout {
  h: Float64Array;
  histLen: number;
  winLen: number;
  writtenLen: number;
  countsLen: number;
  histBytes: 1 | 2 | 4;
}

function readHeader(buf: ArrayBuffer): Header {
  if (buf.byteLength < FRAME_HEADER_BYTES) throw new Error('Frame too short to hold a header.');
  const u32 = new Uint32Array(buf, 0, 2);
  if (u32[0] !== FRAME_MAGIC) throw new Error('Not a pagescope frame (bad magic).');
  if (u32[1] !== FRAME_WIRE_VERSION)
    throw new Error(`Unsupported frame version ${u32[1]} (expected ${FRAME_WIRE_VERSION}).`);
  const h = new Float64Array(buf, 8, HEADER_FIELDS);
  const histLen = h[6];
  const winLen = h[10];
  const writtenLen = h[11];
  const countsLen = h[12];
  const histBytes = h[13];
  if (
    ![histLen, winLen, writtenLen, countsLen].every((n) => Number.isSafeInteger(n) && n >= 0) ||
    (histBytes !== 1 && histBytes !== 2 && histBytes !== 4)
  )
    throw new Error('Frame header is malformed.');
  return {
    h,
    histLen,
    winLen,
    writtenLen,
    countsLen,
    histBytes,
    ...layout(writtenLen, countsLen, winLen, histLen, histBytes),
  };
}

/** Decodes a buffer made by encodeFrame; throws an Error with one sentence on anything else. */
export function decodeFrame(buf: ArrayBuffer): Frame {
  const {
    h,
    histLen,
    winLen,
    writtenLen,
    countsLen,
    histBytes,
    countsOff,
    winOff,
    histOff,
    total,
  } = readHeader(buf);
  if (total !== buf.byteLength) throw new Error('Frame length does not match its header.');
  const hasWindow = h[7] === 1;
  const wire = new COUNT_ARRAY[histBytes](buf, histOff, histLen);
  let histogram: Uint32Array;
  if (wire instanceof Uint32Array) histogram = wire;
  else (histogram = new Uint32Array(histLen)).set(wire);
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
      histogram,
    },
    window: hasWindow
      ? { startIndex: h[8], endIndex: h[9], bits: new Uint16Array(buf, winOff, winLen) }
      : null,
    written: new Float64Array(buf, FRAME_HEADER_BYTES, writtenLen),
    vmaCounts: new Uint32Array(buf, countsOff, countsLen),
  };
}
