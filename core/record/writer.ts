/**
 * The streaming writer: frames and VMA tables in, recording bytes out (format.ts).
 *
 * `RecordingEncoder` is the pure part (bytes in memory): it keeps the previous tick's page states
 * as the reference for the next one, carries them across layout changes, and codes a keyframe
 * every KEYFRAME_EVERY ticks (or as often as it is told, up to MAX_KEYFRAME_EVERY). `RecordingWriter` puts those bytes in a file: the header at once,
 * then each tick, with the VMA change before it, in ONE write() call, so the file on disk is
 * always whole records plus at most one torn one. fsync policy: no fsync per tick (the data is
 * in the page cache the moment write() returns, so it survives the recorder being killed, even
 * by SIGKILL; only a crash of the whole machine can lose the last seconds); one fsync on close.
 */
import fs from 'node:fs';
import type { Frame } from '../protocol/frame.ts';
import type { VmaInfo } from '../protocol/messages.ts';
import { PageBit } from '../protocol/page-bits.ts';
import {
  ByteWriter,
  crc32,
  FORMAT_VERSION,
  KEYFRAME_EVERY,
  MAGIC,
  MAX_KEYFRAME_EVERY,
  MAX_TICK_RANGES,
  PREAMBLE_BYTES,
  RecordType,
  type RecordTypeValue,
} from './format.ts';
import { encodePages, ensureCapacity, remapPages } from './page-codec.ts';
import { HISTOGRAM_WIDTH } from '../protocol/page-bits.ts';
import { encodeHistogram, encodeTickHead, TickFlag } from './tick-codec.ts';
import { diffTables, toEntry, type VmaEntry } from './vma-codec.ts';

/** The header: who was recorded, on what, and how. JSON, stored once at the start. */
export interface RecordingHeader {
  format: 'pagescope-recording';
  version: number;
  /** ISO time the recording started. */
  createdAt: string;
  /** pagescope version that wrote it. */
  pagescope: string;
  process: { pid: number; name: string; cmdline: string; launched: boolean };
  /** uname release of the machine recorded on. */
  kernel: string;
  /** The capability probe of that machine (core/kernel/capabilities.ts). */
  capabilities: Record<string, unknown>;
  warnings: string[];
  intervalMs: number;
  /** What was watched for writes, in words ("the writable mappings", "VMA [heap]"...). */
  watching: string;
  pageSize: number;
  keyframeEvery: number;
  /** The VMA table at the start (index and offset follow from order and sizes). */
  vmas: VmaEntry[];
}

const NOT_WRITTEN = ~PageBit.WRITTEN & 0xffff;

/** From a frame's overview: whether pages [start, end) are all zero (every bucket empty). */
function emptyChunks(o: Frame['overview']): (start: number, end: number) => boolean {
  const h = o.histogram;
  const ppb = o.pagesPerBucket;
  return (start, end) => {
    const b1 = Math.floor((end - 1) / ppb);
    for (let b = Math.floor(start / ppb); b <= b1; b++)
      for (let k = 0; k < HISTOGRAM_WIDTH; k++) if (h[b * HISTOGRAM_WIDTH + k] !== 0) return false;
    return true;
  };
}

function appendRecord(w: ByteWriter, type: RecordTypeValue, payload: Uint8Array): void {
  const head = Buffer.allocUnsafe(5);
  head[0] = type;
  head.writeUInt32LE(payload.length, 1);
  w.bytes(head);
  w.bytes(payload);
  w.u32(crc32(head, payload));
}

/** The preamble and header; the preamble carries the header's version (tests write version 1). */
export function encodePreamble(header: RecordingHeader): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const out = Buffer.alloc(PREAMBLE_BYTES + json.length + 4);
  MAGIC.copy(out, 0);
  const v = header.version;
  out.writeUInt16LE(Number.isInteger(v) && v >= 1 && v <= FORMAT_VERSION ? v : FORMAT_VERSION, 8);
  out.writeUInt16LE(0, 10);
  out.writeUInt32LE(json.length, 12);
  json.copy(out, PREAMBLE_BYTES);
  out.writeUInt32LE(crc32(json), PREAMBLE_BYTES + json.length);
  return out;
}

export class RecordingEncoder {
  /** The table the reader knows (header, then every VMAS record written). */
  private writtenEntries: VmaEntry[];
  /** The table in force (from the latest setVmas): written with the next tick. */
  private entries: VmaEntry[];
  private vmas: VmaInfo[];
  /**
   * The last tick's page states (WRITTEN dropped) in the layout of `refVmas`, in a buffer reused
   * from tick to tick (`spare` is the other one, for layout changes), valid when `refValid`.
   */
  private ref: Uint16Array | null = null;
  private spare: Uint16Array | null = null;
  private refValid = false;
  private refTotal = 0;
  private refVmas: VmaInfo[] = [];
  private sinceKeyframe = 0;
  /** The tick's bytes, reused by every tick (encodeTickView). */
  private readonly out = new ByteWriter(4096);
  ticks = 0;

  constructor(
    vmas: readonly VmaInfo[],
    /** A keyframe at least this often (the header says it; the reader holds the file to it). */
    readonly keyframeEvery = KEYFRAME_EVERY,
  ) {
    if (!Number.isInteger(keyframeEvery) || keyframeEvery < 1 || keyframeEvery > MAX_KEYFRAME_EVERY)
      throw new RangeError(`keyframeEvery must be 1 to ${MAX_KEYFRAME_EVERY}`);
    this.vmas = vmas.slice();
    this.entries = vmas.map(toEntry);
    this.writtenEntries = this.entries;
  }

  get entriesAtStart(): VmaEntry[] {
    return this.writtenEntries;
  }

  /** A new VMA table (layout or watch state); goes out with the next tick. */
  setVmas(vmas: readonly VmaInfo[]): void {
    this.vmas = vmas.slice();
    this.entries = vmas.map(toEntry);
  }

  get totalPages(): number {
    const last = this.vmas[this.vmas.length - 1];
    return last ? last.offset + last.endPage - last.startPage : 0;
  }

  /**
   * The bytes of one tick (with the VMA change before it): null when the frame does not match
   * the table in force (it was taken for another layout; it is dropped). The frame is not
   * modified: its page states are compared against the encoder's own reference buffer, which
   * then becomes them (WRITTEN dropped). Chunks the frame's overview shows empty are not read.
   */
  encodeTick(frame: Frame, skipped: number): Buffer | null {
    const view = this.encodeTickView(frame, skipped);
    return view && Buffer.from(view);
  }

  /**
   * encodeTick's bytes as a view into the encoder's own buffer, valid until its next call (the
   * file writer writes it at once). The buffers are kept from tick to tick: a keyframe of a big
   * process is megabytes, and new memory costs a fault per page on first touch.
   */
  encodeTickView(frame: Frame, skipped: number): Buffer | null {
    const total = frame.totalPages;
    if (total !== this.totalPages) return null;
    const w = this.out;
    w.length = 0;
    if (this.entries !== this.writtenEntries) {
      const diff = diffTables(this.writtenEntries, this.entries);
      if (diff.mid.length > 0 || diff.keepHead + diff.keepTail !== this.writtenEntries.length)
        appendRecord(w, RecordType.VMAS, Buffer.from(JSON.stringify(diff), 'utf8'));
      this.writtenEntries = this.entries;
    }
    if (this.ref && this.refVmas !== this.vmas) {
      const out = ensureCapacity(this.spare, total);
      remapPages(this.ref.subarray(0, this.refTotal), this.refVmas, this.vmas, total, out);
      this.spare = this.ref;
      this.ref = out;
    }
    this.refVmas = this.vmas;

    // Past the format's limit on written ranges in a tick, the ranges are left out (the tick's
    // written count stays) and a note says so, in the same write.
    let written = frame.written;
    if (written.length / 2 > MAX_TICK_RANGES) {
      appendRecord(
        w,
        RecordType.NOTE,
        Buffer.from(
          JSON.stringify({
            kind: 'warning',
            t: frame.counters.t,
            message: `Tick ${frame.counters.tick} wrote pages in ${written.length / 2} separate ranges, more than the ${MAX_TICK_RANGES} a recording keeps per tick: its written pages are left out of the recording (its count of ${frame.counters.written} written pages is kept).`,
          }),
          'utf8',
        ),
      );
      written = new Float64Array(0);
    }
    const win = frame.window;
    const full = win !== null && win.startIndex === 0 && win.endIndex === total;
    const keyframe = full && (!this.refValid || this.sinceKeyframe >= this.keyframeEvery);
    // The TICK record is coded in place after its 5-byte head (type, length: filled in at the
    // end), not in a buffer of its own copied in after: a keyframe is megabytes.
    const recordStart = w.length;
    w.u8(RecordType.TICK);
    w.u32(0);
    const body = w;
    const bodyStart = w.length;
    encodeTickHead(
      {
        flags: (keyframe ? TickFlag.KEYFRAME : 0) | (full ? TickFlag.PAGES : TickFlag.HISTOGRAM),
        vmaVersion: frame.vmaVersion,
        totalPages: total,
        counters: frame.counters,
        skipped,
        written,
      },
      body,
    );
    if (full) {
      const ref = ensureCapacity(this.ref, total);
      if (ref !== this.ref || keyframe) ref.fill(0, 0, total);
      this.ref = ref;
      encodePages(win.bits, ref.subarray(0, total), body, {
        mask: NOT_WRITTEN,
        knownEmpty: emptyChunks(frame.overview),
        update: true,
      });
      this.refValid = true;
      this.refTotal = total;
      this.sinceKeyframe = keyframe ? 1 : this.sinceKeyframe + 1;
    } else {
      encodeHistogram(frame.overview, body);
      // No page states to count them from: the exact per-VMA counts go along.
      body.varint(frame.vmaCounts.length);
      for (const x of frame.vmaCounts) body.varint(x);
      this.refValid = false;
    }
    const bytes = w.view();
    bytes.writeUInt32LE(w.length - bodyStart, recordStart + 1);
    w.u32(crc32(bytes.subarray(recordStart, bodyStart), bytes.subarray(bodyStart, w.length)));
    this.ticks++;
    return w.view();
  }

  encodeNote(kind: 'warning' | 'ended', t: number, message: string): Buffer {
    const w = new ByteWriter(256);
    appendRecord(w, RecordType.NOTE, Buffer.from(JSON.stringify({ kind, t, message }), 'utf8'));
    return Buffer.from(w.view());
  }

  encodeWho(who: unknown): Buffer {
    const w = new ByteWriter(1024);
    appendRecord(w, RecordType.WHO, Buffer.from(JSON.stringify(who), 'utf8'));
    return Buffer.from(w.view());
  }

  encodeEnd(reason: string): Buffer {
    const w = new ByteWriter(256);
    appendRecord(
      w,
      RecordType.END,
      Buffer.from(JSON.stringify({ reason, ticks: this.ticks }), 'utf8'),
    );
    return Buffer.from(w.view());
  }
}

/** A recording file being written. Every method is one write() of whole records. */
export class RecordingWriter {
  private fd: number | null;
  readonly encoder: RecordingEncoder;
  bytesWritten = 0;

  constructor(
    readonly path: string,
    header: Omit<RecordingHeader, 'vmas' | 'format' | 'version' | 'keyframeEvery' | 'pageSize'>,
    vmas: readonly VmaInfo[],
    keyframeEvery = KEYFRAME_EVERY,
  ) {
    this.encoder = new RecordingEncoder(vmas, keyframeEvery);
    const full: RecordingHeader = {
      format: 'pagescope-recording',
      version: FORMAT_VERSION,
      ...header,
      pageSize: 4096,
      keyframeEvery: this.encoder.keyframeEvery,
      vmas: this.encoder.entriesAtStart,
    };
    this.fd = fs.openSync(path, 'w', 0o644);
    this.write(encodePreamble(full));
  }

  private write(b: Buffer): void {
    if (this.fd === null) return;
    let off = 0;
    while (off < b.length) off += fs.writeSync(this.fd, b, off, b.length - off);
    this.bytesWritten += b.length;
  }

  setVmas(vmas: readonly VmaInfo[]): void {
    this.encoder.setVmas(vmas);
  }

  /** Appends one tick; false when the frame did not match the VMA table and was dropped. */
  tick(frame: Frame, skipped: number): boolean {
    const b = this.encoder.encodeTickView(frame, skipped);
    if (!b) return false;
    this.write(b);
    return true;
  }

  note(kind: 'warning' | 'ended', t: number, message: string): void {
    this.write(this.encoder.encodeNote(kind, t, message));
  }

  /** The writers of the tick just written (core/who/who-record.ts). */
  who(who: unknown): void {
    this.write(this.encoder.encodeWho(who));
  }

  /** Writes the END record, fsyncs and closes. Idempotent. */
  close(reason: string): void {
    if (this.fd === null) return;
    this.write(this.encoder.encodeEnd(reason));
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    this.fd = null;
  }
}
