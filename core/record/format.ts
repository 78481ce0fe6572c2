/**
 * The pagescope recording format, version 2 (docs/RECORDING.md describes it for other readers).
 * Version 2 adds the WHO record (a tick's writers, `record --who`); version 1 files still open.
 *
 *   preamble   8 bytes magic "\x89PGSREC\n", u16 LE format version, u16 LE flags (0),
 *              u32 LE length H of the header
 *   header     H bytes of UTF-8 JSON (RecordingHeader), then u32 LE CRC-32 of those H bytes
 *   records    each: u8 type, u32 LE payload length L, L bytes of payload,
 *              u32 LE CRC-32 of the type byte, the length bytes and the payload
 *
 * A recorder appends each tick (with the VMA change that precedes it, if any) in one write(), so
 * a recorder killed at any moment leaves whole records followed by at most one torn record; the
 * reader checks every length against its limit and every CRC, and stops at the first record that
 * is cut short (the recording is then "truncated", readable up to its last complete tick).
 *
 * This module holds the constants, limits and the byte-level helpers (LEB128 varints bounded by
 * what they may hold, a writer that grows, a reader that never reads past its end).
 */
import zlib from 'node:zlib';
import { PagescopeError } from '../kernel/errors.ts';

export const MAGIC = Buffer.from([0x89, 0x50, 0x47, 0x53, 0x52, 0x45, 0x43, 0x0a]); // \x89PGSREC\n
export const FORMAT_VERSION = 2;
/** The oldest version this pagescope reads (1: the same, without WHO records). */
export const MIN_FORMAT_VERSION = 1;
export const PREAMBLE_BYTES = 16;
// ---- The limits a recording must keep (docs/RECORDING.md, "Limits"). The reader checks each
// one as it reads and refuses a file past any of them with one sentence naming the file, the
// byte offset and the limit; the writer never goes past them. Together they bound what reading,
// reporting and exporting a file may cost: by the ranges and runs the file holds, never by the
// pages those ranges cover.

/** Largest header (JSON) a reader accepts. */
export const MAX_HEADER_BYTES = 16 * 1024 * 1024;
/** Largest record payload a reader accepts (a keyframe of 2^25 pages in the worst case fits). */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;
/**
 * Largest collapsed page space recorded page by page (128 GiB of mappings): so also the most
 * pages one page-state run may set. Larger spaces are recorded as overviews only.
 */
export const MAX_RECORD_PAGES = 2 ** 25;
/** Most VMAs in a table (more than the kernel's default vm.max_map_count, 65530, with room). */
export const MAX_VMAS = 1_048_576;
/**
 * Most written ranges one tick may hold (a process that writes more than a million separate
 * pages in one interval is recorded with that tick's ranges left out, and a note saying so).
 */
export const MAX_TICK_RANGES = 1_048_576;
/** A tick is coded against zero (not against the tick before) at least this often, for seeking. */
export const KEYFRAME_EVERY = 100;
/**
 * Largest keyframe interval a header may declare; a paged tick more than the header's
 * `keyframeEvery` ticks after its keyframe is refused (seeking decodes at most that many).
 */
export const MAX_KEYFRAME_EVERY = 1000;
/** Record framing: type byte + length + CRC. */
export const RECORD_OVERHEAD = 9;

export const RecordType = {
  /** JSON: a change of the VMA table (VmaDiff), applying to the ticks after it. */
  VMAS: 1,
  /** Binary: one tick (see tick-codec.ts). */
  TICK: 2,
  /** JSON: { kind: 'warning' | 'ended', t, message } from the session. */
  NOTE: 3,
  /** JSON: { reason, ticks }: the recorder ended cleanly. */
  END: 4,
  /** JSON: the writers of the tick before it (core/who/who-record.ts); version 2 on. */
  WHO: 5,
} as const;
export type RecordTypeValue = (typeof RecordType)[keyof typeof RecordType];

/** A file that is not a readable recording: one sentence for the user. */
export type RecordingProblem = 'not-a-recording' | 'version' | 'corrupt' | 'too-large' | 'io';

/** A file that is not a readable recording (a PagescopeError with code 'bad-input'). */
export class RecordingError extends PagescopeError {
  constructor(
    message: string,
    /** What is wrong with the file. */
    readonly problem: RecordingProblem = 'corrupt',
  ) {
    super(message, 'bad-input');
    this.name = 'RecordingError';
  }
}

export function crc32(...parts: Uint8Array[]): number {
  let c = 0;
  for (const p of parts) c = zlib.crc32(p, c);
  return c >>> 0;
}

/** Appends bytes and unsigned LEB128 varints (integers up to 2^53) to a growing buffer. */
export class ByteWriter {
  private buf: Buffer;
  length = 0;

  constructor(initial = 1024) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.length++] = v;
  }

  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(v >>> 0, this.length);
    this.length += 4;
  }

  varint(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`varint out of range: ${v}`);
    this.ensure(8);
    while (v >= 0x80) {
      this.buf[this.length++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.length++] = v;
  }

  f64(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.length);
    this.length += 8;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  /** The bytes written so far (a view: copy it before writing more if it must outlive that). */
  view(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

/** Reads what ByteWriter wrote; any read past the end or any oversized value is a RecordingError. */
export class ByteReader {
  pos = 0;

  constructor(
    private readonly buf: Uint8Array,
    private readonly what: string,
  ) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private fail(why: string): never {
    throw new RecordingError(`${this.what} is damaged: ${why}.`, 'corrupt');
  }

  u8(): number {
    if (this.pos >= this.buf.length) this.fail('it ends early');
    return this.buf[this.pos++];
  }

  /** A varint no larger than `max`. */
  varint(max = Number.MAX_SAFE_INTEGER): number {
    let v = 0;
    let scale = 1;
    for (let i = 0; ; i++) {
      if (i >= 8) this.fail('a number is too long');
      const b = this.u8();
      v += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) break;
      scale *= 0x80;
    }
    if (v > max) this.fail(`a value (${v}) is above its limit (${max})`);
    return v;
  }

  f64(): number {
    const b = this.bytes(8);
    return Buffer.from(b.buffer, b.byteOffset, 8).readDoubleLE(0);
  }

  bytes(n: number): Uint8Array {
    if (n > this.remaining) this.fail('it ends early');
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  end(): void {
    if (this.pos !== this.buf.length) this.fail('it has bytes left over');
  }
}
