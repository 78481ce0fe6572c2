/**
 * One TICK record's payload:
 *
 *   u8 flags            1 = keyframe (pages coded against zeros), 2 = pages present,
 *                       4 = overview histogram present (for address spaces above MAX_RECORD_PAGES)
 *   varints             tick, t (ms since start), vmaVersion, totalPages, present, swapped,
 *                       written, watched, scanMs x 100, skipped
 *   written ranges      count, then per range (start - previous end, end - start): collapsed
 *                       page indices, sorted and disjoint, as the session's frame has them
 *   pages (flag 2)      runs (page-codec.ts) against the reference
 *   histogram (flag 4)  buckets, pagesPerBucket, byte length, deflated Uint32 LE counts
 *
 * Counts and sizes read back are bounded by the tick's own totalPages (itself checked against
 * the VMA table in force), so a damaged record cannot make the reader allocate without limit.
 */
import zlib from 'node:zlib';
import type { TickCounters } from '../protocol/messages.ts';
import { HISTOGRAM_WIDTH } from '../protocol/page-bits.ts';
import type { ByteReader, ByteWriter } from './format.ts';
import { MAX_RECORD_BYTES, MAX_TICK_RANGES, RecordingError } from './format.ts';

/** Counters stored as float64 after the varint ones, in this order (count first). */
export const EXTRA_COUNTERS = [
  'lagMs',
  'skipped',
  'estOverheadPct',
  'sampleFraction',
  'writtenEst',
  'writtenErr',
  'intervalMs',
  'estOverheadLowPct',
  'estOverheadHighPct',
] as const;

export const TickFlag = { KEYFRAME: 1, PAGES: 2, HISTOGRAM: 4 } as const;

/** The fixed part of a tick: what the timeline shows. */
export interface TickHead {
  flags: number;
  vmaVersion: number;
  totalPages: number;
  counters: TickCounters;
  skipped: number;
  /** Collapsed written ranges [s0, e0, s1, e1, ...]. */
  written: Float64Array;
}

export function encodeTickHead(h: TickHead, w: ByteWriter): void {
  const c = h.counters;
  w.u8(h.flags);
  w.varint(c.tick);
  w.varint(Math.max(0, Math.round(c.t)));
  w.varint(h.vmaVersion);
  w.varint(h.totalPages);
  w.varint(c.present);
  w.varint(c.swapped);
  w.varint(c.written);
  w.varint(c.watched);
  w.varint(Math.max(0, Math.round(c.scanMs * 100)));
  w.varint(h.skipped);
  w.varint(EXTRA_COUNTERS.length);
  for (const k of EXTRA_COUNTERS) w.f64(c[k]);
  const n = h.written.length >> 1;
  w.varint(n);
  let prev = 0;
  for (let i = 0; i < n; i++) {
    const s = h.written[2 * i];
    const e = h.written[2 * i + 1];
    w.varint(s - prev);
    w.varint(e - s);
    prev = e;
  }
}

export function decodeTickHead(r: ByteReader, maxPages: number): TickHead {
  const flags = r.u8();
  if (flags & ~7)
    throw new RecordingError('The recording is damaged: unknown tick flags.', 'corrupt');
  const tick = r.varint();
  const t = r.varint();
  const vmaVersion = r.varint();
  const totalPages = r.varint(maxPages);
  const present = r.varint(totalPages);
  const swapped = r.varint(totalPages);
  const writtenCount = r.varint(totalPages);
  const watched = r.varint(totalPages);
  const scanMs = r.varint() / 100;
  const skipped = r.varint();
  const extra = r.varint(64);
  const more: Record<string, number> = {};
  for (let k = 0; k < extra; k++) {
    const v = r.f64();
    if (k < EXTRA_COUNTERS.length) more[EXTRA_COUNTERS[k]] = v;
  }
  const n = r.varint(Math.ceil(totalPages / 2));
  if (n > MAX_TICK_RANGES)
    throw new RecordingError(
      `The recording is damaged: a tick holds ${n} written ranges, more than the ${MAX_TICK_RANGES} a tick may have.`,
      'too-large',
    );
  if (n * 2 > r.remaining) throw new RecordingError('The recording is damaged: a tick ends early.');
  const written = new Float64Array(2 * n);
  let prev = 0;
  for (let i = 0; i < n; i++) {
    const s = prev + r.varint(totalPages);
    const e = s + r.varint(totalPages);
    if (e > totalPages || (i > 0 && s < prev))
      throw new RecordingError(
        'The recording is damaged: a written range lies outside its address space.',
        'corrupt',
      );
    written[2 * i] = s;
    written[2 * i + 1] = e;
    prev = e;
  }
  return {
    flags,
    vmaVersion,
    totalPages,
    skipped,
    written,
    counters: {
      tick,
      t,
      present,
      swapped,
      written: writtenCount,
      watched,
      scanMs,
      lagMs: more.lagMs ?? 0,
      skipped: more.skipped ?? 0,
      estOverheadPct: more.estOverheadPct ?? 0,
      sampleFraction: more.sampleFraction ?? 1,
      writtenEst: more.writtenEst ?? writtenCount,
      writtenErr: more.writtenErr ?? 0,
      intervalMs: more.intervalMs ?? 0,
      // Not kept before: not stated.
      estOverheadLowPct: more.estOverheadLowPct ?? -1,
      estOverheadHighPct: more.estOverheadHighPct ?? -1,
    },
  };
}

export function encodeHistogram(
  h: { buckets: number; pagesPerBucket: number; histogram: Uint32Array },
  w: ByteWriter,
): void {
  const raw = Buffer.from(h.histogram.buffer, h.histogram.byteOffset, h.histogram.byteLength);
  const z = zlib.deflateRawSync(raw, { level: 1 });
  w.varint(h.buckets);
  w.varint(h.pagesPerBucket);
  w.varint(z.length);
  w.bytes(z);
}

export function decodeHistogram(
  r: ByteReader,
  totalPages: number,
): { buckets: number; pagesPerBucket: number; histogram: Uint32Array } {
  const buckets = r.varint(Math.max(1, totalPages));
  const pagesPerBucket = r.varint(Math.max(1, totalPages));
  const zlen = r.varint(MAX_RECORD_BYTES);
  const bytes = buckets * HISTOGRAM_WIDTH * 4;
  if (bytes > MAX_RECORD_BYTES * 4)
    throw new RecordingError('The recording declares an overview too large to read.', 'too-large');
  let raw: Buffer;
  try {
    raw = zlib.inflateRawSync(r.bytes(zlen), { maxOutputLength: Math.max(1, bytes) });
  } catch {
    throw new RecordingError('The recording is damaged: an overview does not inflate.', 'corrupt');
  }
  if (raw.length !== bytes)
    throw new RecordingError(
      'The recording is damaged: an overview has the wrong size.',
      'corrupt',
    );
  const histogram = new Uint32Array(buckets * HISTOGRAM_WIDTH);
  Buffer.from(histogram.buffer).set(raw);
  return { buckets, pagesPerBucket, histogram };
}
