/**
 * Frame deltas: a frame sent as the bytes that differ from the previous frame of its session,
 * for the WebSocket (the web host sends them, ws-bridge.ts applies them).
 *
 * Why: a whole frame is 0.7-1 MB for the demo at 1400x1000 (a histogram per bucket and a
 * window of PageBits per page), most of it the same from one tick to the next; the browser
 * spent its CPU receiving and joining those bytes (measured: ~890 KB a frame, ~2 KB of it
 * changed). A delta is exact by construction: the page copies its base frame's bytes and
 * patches the runs that differ, then decodes the result as a whole frame (wire.ts), so it is
 * byte for byte the frame the host encoded.
 *
 * Which base: the last frame the host SENT on this socket for the session. A WebSocket is
 * reliable and in order, so the page has taken in every frame sent; the only way it lacks that
 * base is a frame it failed to join or decode, and then it drops its base and says so in its
 * ack (no `base`), and the host sends the next frame whole. Frames the host drops (latest wins,
 * a full socket buffer) were never sent, so they are never a base. A delta also names its base's
 * tick and byte length; the page refuses one that does not match what it holds.
 *
 * Layout (little-endian, like wire.ts):
 *   0   u32  magic 'PSD1'
 *   4   u32  FRAME_DELTA_VERSION
 *   8   f64  sessionId
 *   16  f64  base tick (the base frame's header tick)
 *   24  f64  frame byte length (the base's too: only frames of one layout get a delta)
 *   32  f64  this delta's byte length
 *   40  f64  run count n
 *   48  u32 x 2n   runs: byte offset, byte length
 *   ... the runs' new bytes, back to back
 */
import { FRAME_HEADER_BYTES, FRAME_MAGIC } from './wire.ts';

export const FRAME_DELTA_MAGIC = 0x31445350; // 'PSD1'
export const FRAME_DELTA_VERSION = 1;
export const FRAME_DELTA_HEADER_BYTES = 48;
/** A delta is sent only when it is at most this share of the whole frame. */
export const MAX_DELTA_SHARE = 0.5;
/** Unchanged words between two changed ones that are sent anyway (a run costs 2 words). */
const GAP_WORDS = 2;

/** The tick in a whole frame's header (wire.ts: the second f64 after the 8-byte preamble). */
function tickOf(frame: ArrayBuffer): number {
  return new Float64Array(frame, 16, 1)[0];
}

/**
 * The delta that turns `base` into `next` (both encodeFrame output of one session), or null
 * when a whole frame is the better send: other lengths (another layout), or a delta larger than
 * MAX_DELTA_SHARE of `next`.
 */
export function encodeFrameDelta(
  base: ArrayBuffer,
  next: ArrayBuffer,
  sessionId: number,
): ArrayBuffer | null {
  const len = next.byteLength;
  if (base.byteLength !== len || len < FRAME_HEADER_BYTES) return null;
  const words = len >>> 2;
  const a = new Uint32Array(base, 0, words);
  const b = new Uint32Array(next, 0, words);
  const runs: number[] = []; // word start, word end (exclusive), then a byte tail
  let changed = 0;
  const budget = (len * MAX_DELTA_SHARE) / 4;
  for (let i = 0; i < words; i++) {
    if (a[i] === b[i]) continue;
    const n = runs.length;
    if (n > 0 && i - runs[n - 1] <= GAP_WORDS) {
      changed += i + 1 - runs[n - 1];
      runs[n - 1] = i + 1;
    } else {
      runs.push(i, i + 1);
      changed += 3;
    }
    if (changed > budget) return null;
  }
  const byteRuns: number[] = [];
  let payload = 0;
  for (let r = 0; r < runs.length; r += 2) {
    byteRuns.push(runs[r] * 4, (runs[r + 1] - runs[r]) * 4);
    payload += (runs[r + 1] - runs[r]) * 4;
  }
  // The last 0-3 bytes past the whole words.
  const ua = new Uint8Array(base);
  const ub = new Uint8Array(next);
  for (let i = words * 4; i < len; i++)
    if (ua[i] !== ub[i]) {
      byteRuns.push(words * 4, len - words * 4);
      payload += len - words * 4;
      break;
    }
  const nRuns = byteRuns.length / 2;
  const total = FRAME_DELTA_HEADER_BYTES + byteRuns.length * 4 + payload;
  if (total > len * MAX_DELTA_SHARE) return null;
  const out = new ArrayBuffer(total);
  const u32 = new Uint32Array(out, 0, 2);
  u32[0] = FRAME_DELTA_MAGIC;
  u32[1] = FRAME_DELTA_VERSION;
  new Float64Array(out, 8, 5).set([sessionId, tickOf(base), len, total, nRuns]);
  new Uint32Array(out, FRAME_DELTA_HEADER_BYTES, byteRuns.length).set(byteRuns);
  const bytes = new Uint8Array(out);
  let at = FRAME_DELTA_HEADER_BYTES + byteRuns.length * 4;
  for (let r = 0; r < byteRuns.length; r += 2) {
    bytes.set(ub.subarray(byteRuns[r], byteRuns[r] + byteRuns[r + 1]), at);
    at += byteRuns[r + 1];
  }
  return out;
}

/** True when `head` (a message's first bytes) starts a delta rather than a whole frame. */
export function isFrameDelta(head: ArrayBuffer): boolean {
  return head.byteLength >= 4 && new Uint32Array(head, 0, 1)[0] === FRAME_DELTA_MAGIC;
}

interface DeltaHeader {
  sessionId: number;
  baseTick: number;
  frameBytes: number;
  total: number;
  runs: number;
}

function readDeltaHeader(head: ArrayBuffer): DeltaHeader {
  if (head.byteLength < FRAME_DELTA_HEADER_BYTES)
    throw new Error('Frame delta too short to hold a header.');
  const u32 = new Uint32Array(head, 0, 2);
  if (u32[0] !== FRAME_DELTA_MAGIC) throw new Error('Not a pagescope frame delta (bad magic).');
  if (u32[1] !== FRAME_DELTA_VERSION)
    throw new Error(`Unsupported frame delta version ${u32[1]} (expected ${FRAME_DELTA_VERSION}).`);
  const [sessionId, baseTick, frameBytes, total, runs] = new Float64Array(head, 8, 5);
  if (
    ![frameBytes, total, runs].every((n) => Number.isSafeInteger(n) && n >= 0) ||
    total < FRAME_DELTA_HEADER_BYTES + runs * 8
  )
    throw new Error('Frame delta header is malformed.');
  return { sessionId, baseTick, frameBytes, total, runs };
}

/** The byte length of the delta whose first bytes are `head`; throws with one sentence if none. */
export function frameDeltaByteLength(head: ArrayBuffer): number {
  return readDeltaHeader(head).total;
}

/** The session a delta belongs to, from its header alone. */
export function frameDeltaSessionId(head: ArrayBuffer): number {
  return readDeltaHeader(head).sessionId;
}

/**
 * The whole frame `delta` makes of `base`, in a new buffer (`base` is left as it was: frames
 * decoded from it are views into it). Throws an Error with one sentence when the delta is not
 * for this base or does not hold together.
 */
export function applyFrameDelta(base: ArrayBuffer, delta: ArrayBuffer): ArrayBuffer {
  const h = readDeltaHeader(delta);
  if (h.total !== delta.byteLength)
    throw new Error('Frame delta length does not match its header.');
  if (
    base.byteLength !== h.frameBytes ||
    base.byteLength < FRAME_HEADER_BYTES ||
    new Uint32Array(base, 0, 1)[0] !== FRAME_MAGIC ||
    tickOf(base) !== h.baseTick
  )
    throw new Error('Frame delta is not for the frame held (another tick or size).');
  const out = base.slice(0);
  const bytes = new Uint8Array(out);
  const src = new Uint8Array(delta);
  const runs = new Uint32Array(delta, FRAME_DELTA_HEADER_BYTES, h.runs * 2);
  let at = FRAME_DELTA_HEADER_BYTES + h.runs * 8;
  for (let r = 0; r < runs.length; r += 2) {
    const off = runs[r];
    const n = runs[r + 1];
    if (off + n > out.byteLength || at + n > delta.byteLength)
      throw new Error('A frame delta run lies outside its frame.');
    bytes.set(src.subarray(at, at + n), off);
    at += n;
  }
  if (at !== delta.byteLength) throw new Error('Frame delta length does not match its runs.');
  return out;
}
