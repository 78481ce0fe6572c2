/**
 * The reader: a recording file -> header, VMA tables, per-tick counters and written ranges, and
 * on demand each tick's page states or a Frame exactly as the live session would have sent it.
 *
 * Opening reads the whole file once and checks everything that is cheap to check: the magic,
 * the version, every declared size against its limit (header, record, pages, ranges), every CRC,
 * the VMA tables, and that each tick fits its table. Any of these failing is ONE RecordingError
 * with a sentence for the user. The one exception is the tail: a last record cut short (a recorder
 * killed mid-write) or unreadable at the very end of the file is dropped and the recording is
 * marked `truncated`, readable up to its last complete tick.
 *
 * Page states are decoded lazily: from the nearest keyframe at or before the tick (or from the
 * last decoded tick when that is closer), applying each tick's runs and carrying the states
 * across VMA changes as the writer did. Sequential playback therefore costs one tick's runs.
 */
import fs from 'node:fs';
import { constants as bufferConstants } from 'node:buffer';
import { z } from 'zod';
import type { Frame } from '../protocol/frame.ts';
import type { TickCounters, VmaInfo } from '../protocol/messages.ts';
import { MAX_PID } from '../protocol/constants.ts';
import { HISTOGRAM_WIDTH, PageBit } from '../protocol/page-bits.ts';
import type { ViewSpec } from '../session/aggregate.ts';
import {
  ByteReader,
  crc32,
  FORMAT_VERSION,
  MIN_FORMAT_VERSION,
  MAGIC,
  MAX_KEYFRAME_EVERY,
  MAX_HEADER_BYTES,
  MAX_RECORD_BYTES,
  MAX_RECORD_PAGES,
  PREAMBLE_BYTES,
  RECORD_OVERHEAD,
  RecordingError,
  RecordType,
} from './format.ts';
import { decodePages, ensureCapacity, remapPages } from './page-codec.ts';
import { decodeHistogram, decodeTickHead, TickFlag, type TickHead } from './tick-codec.ts';
import {
  applyDiff,
  MAX_VMAS,
  parseDiff,
  toTable,
  vmaTableSchema,
  type VmaEntry,
} from './vma-codec.ts';
import type { RecordingHeader } from './writer.ts';
import { whoRecordSchema, type WhoRecord } from '../who/who-record.ts';

export type { RecordingHeader } from './writer.ts';

/** Largest file the reader loads (Node's Buffer limit, capped at 4 GiB). */
export const MAX_FILE_BYTES = Math.min(bufferConstants.MAX_LENGTH, 4 * 1024 ** 3);

export interface RecordedTick extends TickHead {
  /** Position in the recording (0-based); `counters.tick` is the session's own tick number. */
  index: number;
  /** Index into Recording.tables of the VMA table in force. */
  table: number;
  /** Where the page runs (or histogram) of this tick start in the file. */
  bodyOffset: number;
  bodyEnd: number;
}

export interface RecordedNote {
  kind: 'warning' | 'ended';
  t: number;
  message: string;
  /** Number of ticks recorded before it. */
  afterTicks: number;
}

export interface VmaTable {
  vmas: VmaInfo[];
  totalPages: number;
}

/** A kernel release as uname(2) gives it: "6.8.0-45-generic", "6.18.44-fc-v1272". */
const KERNEL_RELEASE = /^\d+\.\d+[\w.+~-]*$/;

/**
 * The header (RecordingHeader): every field checked, so a file that passes says something true
 * about the recording (a version that matches the preamble's, a real time, a kernel release).
 */
export const headerSchema = z
  .object({
    format: z.literal('pagescope-recording'),
    version: z.number().int().min(MIN_FORMAT_VERSION).max(FORMAT_VERSION),
    createdAt: z.iso.datetime({ offset: true }).max(64),
    pagescope: z.string().min(1).max(64),
    process: z
      .object({
        pid: z.number().int().min(0).max(MAX_PID),
        name: z.string().max(4096),
        cmdline: z.string().max(65536),
        launched: z.boolean(),
      })
      .passthrough(),
    kernel: z.string().max(256).regex(KERNEL_RELEASE, 'not a kernel release'),
    capabilities: z.record(z.string(), z.unknown()),
    warnings: z.array(z.string().max(4096)).max(256),
    intervalMs: z.number().int().min(1).max(3_600_000),
    watching: z.string().max(4096),
    pageSize: z.literal(4096),
    keyframeEvery: z.number().int().min(1).max(MAX_KEYFRAME_EVERY),
    vmas: vmaTableSchema,
  })
  .passthrough();

const noteSchema = z
  .object({ kind: z.enum(['warning', 'ended']), t: z.number(), message: z.string().max(65536) })
  .strict();
const endSchema = z
  .object({ reason: z.string().max(65536), ticks: z.number().int().min(0) })
  .strict();

function parseJson<T>(
  bytes: Uint8Array,
  schema: z.ZodType<T>,
  what: string,
  name: string,
  offset: number,
): T {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new RecordingError(
      `${name} is damaged: its ${what} at byte ${offset} is not valid JSON.`,
      'corrupt',
    );
  }
  const r = schema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new RecordingError(
      `${name} is damaged: its ${what} at byte ${offset} is malformed (${issue?.path.join('.') || 'value'}: ${issue?.message ?? 'invalid'}).`,
      'corrupt',
    );
  }
  return r.data;
}

export class Recording {
  readonly tables: VmaTable[] = [];
  readonly ticks: RecordedTick[] = [];
  readonly notes: RecordedNote[] = [];
  /** The writers of each tick recorded with --who (version 2), by tick index. */
  readonly who = new Map<number, WhoRecord>();
  /** The END record: absent when the recorder did not end cleanly (killed, crashed). */
  end: { reason: string; ticks: number } | null = null;
  /** Why the tail was dropped, when it was (a record cut short by a killed recorder). */
  truncated: string | null = null;
  private state: Uint16Array | null = null;
  private spare: Uint16Array | null = null;
  private cacheIndex = -1;

  constructor(
    readonly header: RecordingHeader,
    private readonly buf: Uint8Array,
    readonly fileBytes: number,
  ) {}

  /** Recorded duration in ms (first to last tick). */
  get durationMs(): number {
    const n = this.ticks.length;
    return n < 2 ? 0 : this.ticks[n - 1].counters.t - this.ticks[0].counters.t;
  }

  get counters(): TickCounters[] {
    return this.ticks.map((t) => t.counters);
  }

  vmasAt(i: number): VmaTable {
    return this.tables[this.tick(i).table];
  }

  private tick(i: number): RecordedTick {
    const t = this.ticks[i];
    if (!t) throw new RangeError(`The recording has no tick ${i} (it has ${this.ticks.length}).`);
    return t;
  }

  /** True when tick i was recorded page by page (else only its overview histogram was). */
  hasPages(i: number): boolean {
    return (this.tick(i).flags & TickFlag.PAGES) !== 0;
  }

  /**
   * The PageBits of every page of tick i's collapsed space (WRITTEN included), or null when the
   * tick holds only an overview (an address space above MAX_RECORD_PAGES). A fresh array.
   */
  pagesAt(i: number): Uint16Array | null {
    const state = this.statesAt(i);
    if (!state) return null;
    const out = state.slice();
    const w = this.tick(i).written;
    for (let r = 0; r + 1 < w.length; r += 2)
      for (let p = w[r]; p < w[r + 1]; p++) out[p] |= PageBit.WRITTEN;
    return out;
  }

  /**
   * Tick i's page states WITHOUT the WRITTEN bit (written ranges are `ticks[i].written`), or null
   * for an overview-only tick. Shared with the reader's cache: read it before asking for another
   * tick, never modify it. Walking ticks in order costs one tick's runs each.
   */
  statesAt(i: number): Uint16Array | null {
    const target = this.tick(i);
    if (!(target.flags & TickFlag.PAGES)) return null;
    if (this.cacheIndex === i && this.state) return this.state.subarray(0, target.totalPages);
    let k = i;
    while (!(this.ticks[k].flags & TickFlag.KEYFRAME)) {
      k--;
      if (k < 0 || !(this.ticks[k].flags & TickFlag.PAGES))
        throw new RecordingError(
          'The recording is damaged: a tick refers to page states no keyframe starts.',
          'corrupt',
        );
    }
    // Two buffers reused from call to call (the states of a large process are megabytes, and
    // fresh memory is costly to touch): `state` holds the states, `spare` takes layout changes.
    const from = this.cacheIndex >= k && this.cacheIndex < i ? this.cacheIndex + 1 : k;
    this.cacheIndex = -1; // advanced in place: not valid until done
    for (let j = from; j <= i; j++) {
      const t = this.ticks[j];
      const total = t.totalPages;
      if (t.flags & TickFlag.KEYFRAME) {
        this.state = ensureCapacity(this.state, total);
        this.state.fill(0, 0, total);
      } else if (this.ticks[j - 1].table !== t.table) {
        const a = this.tables[this.ticks[j - 1].table];
        const b = this.tables[t.table];
        const out = ensureCapacity(this.spare, total);
        remapPages(
          (this.state as Uint16Array).subarray(0, a.totalPages),
          a.vmas,
          b.vmas,
          total,
          out,
        );
        this.spare = this.state;
        this.state = out;
      }
      const r = new ByteReader(this.buf.subarray(t.bodyOffset, t.bodyEnd), `Tick ${j}`);
      decodePages(r, (this.state as Uint16Array).subarray(0, total));
      r.end();
    }
    this.cacheIndex = i;
    return (this.state as Uint16Array).subarray(0, target.totalPages);
  }

  /** A reader over tick i's body: its page runs (page-codec.ts) or its overview. */
  tickBody(i: number): ByteReader {
    const t = this.tick(i);
    return new ByteReader(this.buf.subarray(t.bodyOffset, t.bodyEnd), `Tick ${i}`);
  }

  /** Tick i's written ranges in absolute page numbers [s0, e0, ...] (address order). */
  writtenAbsolute(i: number): Float64Array {
    const t = this.tick(i);
    const { vmas } = this.tables[t.table];
    // A range splits where it crosses a gap between VMAs: grown when that happens.
    let out = new Float64Array(t.written.length + 16);
    let n = 0;
    let v = 0;
    for (let r = 0; r + 1 < t.written.length; r += 2) {
      let s = t.written[r];
      const e = t.written[r + 1];
      while (s < e) {
        while (v < vmas.length && vmas[v].offset + vmas[v].endPage - vmas[v].startPage <= s) v++;
        if (v >= vmas.length) break;
        const vm = vmas[v];
        const ve = Math.min(e, vm.offset + vm.endPage - vm.startPage);
        const as = vm.startPage + (s - vm.offset);
        const ae = as + (ve - s);
        if (n > 0 && out[n - 1] === as) out[n - 1] = ae;
        else {
          if (n + 2 > out.length) {
            const grown = new Float64Array(out.length * 2 + 2);
            grown.set(out);
            out = grown;
          }
          out[n++] = as;
          out[n++] = ae;
        }
        s = ve;
      }
    }
    return out.length === n ? out : out.slice(0, n);
  }

  /** An overview-only tick's stored histogram and per-VMA counts. */
  private overviewAt(i: number): { overview: Frame['overview']; vmaCounts: Uint32Array } {
    const t = this.tick(i);
    const r = new ByteReader(this.buf.subarray(t.bodyOffset, t.bodyEnd), `Tick ${i}`);
    const overview = decodeHistogram(r, t.totalPages);
    const n = r.varint(3 * MAX_VMAS);
    const vmaCounts = new Uint32Array(n);
    for (let k = 0; k < n; k++) vmaCounts[k] = r.varint(0xffffffff);
    r.end();
    return { overview, vmaCounts };
  }

  /**
   * Exact [present, swapped, written] of each VMA of tick i (at 3i..3i+2, as a frame's
   * vmaCounts); present and swapped are 0 for an overview-only tick (not recorded page by page).
   */
  vmaCountsAt(i: number): Uint32Array {
    const t = this.tick(i);
    const { vmas } = this.tables[t.table];
    if (!(t.flags & TickFlag.PAGES)) return this.overviewAt(i).vmaCounts;
    const out = new Uint32Array(3 * vmas.length);
    const states = this.statesAt(i);
    if (states) {
      const bytes = Buffer.from(states.buffer, states.byteOffset, states.byteLength);
      vmas.forEach((v, k) => {
        const e = v.offset + v.endPage - v.startPage;
        for (let c = v.offset; c < e; c += CHUNK) {
          const ce = Math.min(e, c + CHUNK);
          if (bytes.compare(ZERO, 0, (ce - c) * 2, c * 2, ce * 2) === 0) continue;
          for (let p = c; p < ce; p++) {
            if (states[p] & PageBit.PRESENT) out[3 * k]++;
            if (states[p] & PageBit.SWAPPED) out[3 * k + 1]++;
          }
        }
      });
    }
    let v = 0;
    const w = t.written;
    for (let r = 0; r + 1 < w.length; r += 2) {
      let s = w[r];
      while (s < w[r + 1] && v < vmas.length) {
        const ve = vmas[v].offset + vmas[v].endPage - vmas[v].startPage;
        if (ve <= s) {
          v++;
          continue;
        }
        const pe = Math.min(w[r + 1], ve);
        out[3 * v + 2] += pe - s;
        s = pe;
      }
    }
    return out;
  }

  /**
   * Tick i as the live session would have sent it for `view`: the same histogram, window and
   * written ranges, counted from the recorded page states by aggregate.ts's bucket rules. A tick
   * recorded as an overview only returns that overview (its own bucket count) and no window.
   */
  frameAt(i: number, view: ViewSpec, sessionId = 0): Frame {
    const t = this.tick(i);
    const base = {
      sessionId,
      tick: t.counters.tick,
      vmaVersion: t.vmaVersion,
      totalPages: t.totalPages,
      counters: { ...t.counters },
      written: t.written.slice(),
      vmaCounts: this.vmaCountsAt(i),
    };
    if (!(t.flags & TickFlag.PAGES))
      return { ...base, overview: this.overviewAt(i).overview, window: null };
    const states = this.statesAt(i) as Uint16Array;
    const total = t.totalPages;
    const minBuckets = Math.ceil(total / 0xffffffff);
    const want = Math.max(1, minBuckets, Math.min(view.buckets, Math.max(1, total)));
    const ppb = Math.max(1, Math.ceil(total / want));
    const buckets = total === 0 ? 0 : Math.ceil(total / ppb);
    const histogram = histogramOf(states, ppb, buckets);
    const col = Math.log2(PageBit.WRITTEN);
    const w = t.written;
    for (let r = 0; r + 1 < w.length; r += 2) {
      const b1 = Math.floor((w[r + 1] - 1) / ppb);
      for (let b = Math.floor(w[r] / ppb); b <= b1; b++) {
        const lo = b * ppb;
        histogram[b * HISTOGRAM_WIDTH + col] += Math.min(w[r + 1], lo + ppb) - Math.max(w[r], lo);
      }
    }
    let window: Frame['window'] = null;
    if (view.window) {
      const ws = Math.min(view.window.startIndex, total);
      const we = Math.max(ws, Math.min(view.window.endIndex, total));
      const bits = states.slice(ws, we);
      for (let r = 0; r + 1 < w.length; r += 2)
        for (let p = Math.max(w[r], ws); p < Math.min(w[r + 1], we); p++)
          bits[p - ws] |= PageBit.WRITTEN;
      window = { startIndex: ws, endIndex: we, bits };
    }
    return { ...base, overview: { buckets, pagesPerBucket: ppb, histogram }, window };
  }
}

const CHUNK = 4096;
const ZERO = Buffer.alloc(CHUNK * 2);

/** Per-bucket counts of each PageBit; all-zero chunks are skipped with one memcmp. */
export function histogramOf(pages: Uint16Array, ppb: number, buckets: number): Uint32Array {
  const hist = new Uint32Array(buckets * HISTOGRAM_WIDTH);
  const bytes = Buffer.from(pages.buffer, pages.byteOffset, pages.byteLength);
  for (let c = 0; c < pages.length; c += CHUNK) {
    const ce = Math.min(pages.length, c + CHUNK);
    if (bytes.compare(ZERO, 0, (ce - c) * 2, c * 2, ce * 2) === 0) continue;
    for (let p = c; p < ce; p++) {
      let v = pages[p];
      if (v === 0) continue;
      const base = Math.floor(p / ppb) * HISTOGRAM_WIDTH;
      for (let k = 0; v !== 0; k++, v >>= 1) if (v & 1) hist[base + k]++;
    }
  }
  return hist;
}

/** Parses a whole recording held in memory. */
export function parseRecording(buf: Uint8Array, name = 'The file'): Recording {
  if (buf.length < MAGIC.length || !Buffer.from(buf.subarray(0, MAGIC.length)).equals(MAGIC))
    throw new RecordingError(
      `${name} is not a pagescope recording (it does not start with the recording signature).`,
      'not-a-recording',
    );
  if (buf.length < PREAMBLE_BYTES)
    throw new RecordingError(`${name} is cut short before its header.`, 'corrupt');
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const version = b.readUInt16LE(8);
  if (version < MIN_FORMAT_VERSION || version > FORMAT_VERSION)
    throw new RecordingError(
      `${name} is a pagescope recording of format version ${version}; this pagescope reads versions ${MIN_FORMAT_VERSION} to ${FORMAT_VERSION}${version > FORMAT_VERSION ? ' (a newer pagescope wrote it)' : ''}.`,
      'version',
    );
  const flags = b.readUInt16LE(10);
  if (flags !== 0)
    throw new RecordingError(
      `${name} declares format flags 0x${flags.toString(16).padStart(4, '0')}, which this pagescope does not know (recordings of versions 1 and 2 have none).`,
      'version',
    );
  const headerLen = b.readUInt32LE(12);
  if (headerLen > MAX_HEADER_BYTES)
    throw new RecordingError(
      `${name} declares a header of ${headerLen} bytes, more than the ${MAX_HEADER_BYTES} a recording may have.`,
      'too-large',
    );
  if (PREAMBLE_BYTES + headerLen + 4 > b.length)
    throw new RecordingError(`${name} is cut short inside its header.`, 'corrupt');
  const headerBytes = b.subarray(PREAMBLE_BYTES, PREAMBLE_BYTES + headerLen);
  if (crc32(headerBytes) !== b.readUInt32LE(PREAMBLE_BYTES + headerLen))
    throw new RecordingError(`${name} is damaged: its header fails its checksum.`, 'corrupt');
  const header = parseJson(
    headerBytes,
    headerSchema,
    'header',
    name,
    PREAMBLE_BYTES,
  ) as unknown as RecordingHeader;
  if (header.version !== version)
    throw new RecordingError(
      `${name} is damaged: its header says format version ${header.version}, its preamble ${version}.`,
      'version',
    );
  const rec = new Recording(header, buf, buf.length);
  let entries: VmaEntry[] = header.vmas;
  try {
    rec.tables.push(toTable(entries));
  } catch (err) {
    throw named(err, name, PREAMBLE_BYTES);
  }

  let lastKeyframe = -1;
  let pos = PREAMBLE_BYTES + headerLen + 4;
  const tail = (why: string): void => {
    rec.truncated = `${why} at byte ${pos} of ${b.length}; read up to tick ${rec.ticks.length}`;
  };
  while (pos < b.length) {
    if (b.length - pos < 5) {
      tail('the last record is cut short');
      break;
    }
    const type = b[pos];
    const len = b.readUInt32LE(pos + 1);
    if (len > MAX_RECORD_BYTES)
      throw new RecordingError(
        `${name} is damaged: a record at byte ${pos} declares ${len} bytes, more than the ${MAX_RECORD_BYTES} a record may have.`,
        'too-large',
      );
    const end = pos + 5 + len + 4;
    if (end > b.length) {
      // Only the last record can be torn: a length that runs past the end with whole records
      // after it is damage, not a killed recorder (see wholeRecordAfter).
      const after = wholeRecordAfter(b, pos + 5);
      if (after !== null)
        throw new RecordingError(
          after >= 0
            ? `${name} is damaged: the record at byte ${pos} declares ${len} bytes, past the end of the file, but a whole record follows at byte ${after}.`
            : `${name} is damaged: the record at byte ${pos} declares ${len} bytes, past the end of the file, and what follows it cannot be checked as a torn record.`,
          'corrupt',
        );
      tail('the last record is cut short');
      break;
    }
    const payload = b.subarray(pos + 5, pos + 5 + len);
    if (crc32(b.subarray(pos, pos + 5), payload) !== b.readUInt32LE(pos + 5 + len)) {
      if (end === b.length && wholeRecordAfter(b, pos + 5) === null) {
        tail('the last record fails its checksum');
        break;
      }
      throw new RecordingError(
        `${name} is damaged: the record at byte ${pos} fails its checksum.`,
        'corrupt',
      );
    }
    if (rec.end)
      throw new RecordingError(`${name} is damaged: records follow its end record.`, 'corrupt');
    try {
      readRecord(type, payload, pos);
    } catch (err) {
      throw named(err, name, pos);
    }
    pos = end;
  }
  return rec;

  function readRecord(type: number, payload: Buffer, pos: number): void {
    switch (type) {
      case RecordType.VMAS: {
        entries = applyDiff(entries, parseDiff(parseJsonRaw(payload, name)));
        rec.tables.push(toTable(entries));
        break;
      }
      case RecordType.TICK: {
        const table = rec.tables.length - 1;
        const r = new ByteReader(payload, `${name}: tick ${rec.ticks.length}`);
        const head = decodeTickHead(r, Math.max(MAX_RECORD_PAGES, rec.tables[table].totalPages));
        if (head.totalPages !== rec.tables[table].totalPages)
          throw new RecordingError(
            `${name} is damaged: tick ${rec.ticks.length} does not fit the VMA table before it.`,
            'corrupt',
          );
        if (head.flags & TickFlag.PAGES && head.totalPages > MAX_RECORD_PAGES)
          throw new RecordingError(
            `${name} declares page states for ${head.totalPages} pages at byte ${pos}, more than the ${MAX_RECORD_PAGES} a recording may hold.`,
            'too-large',
          );
        const index = rec.ticks.length;
        if (!(head.flags & TickFlag.PAGES)) lastKeyframe = -1;
        else if (head.flags & TickFlag.KEYFRAME) lastKeyframe = index;
        else if (lastKeyframe < 0)
          throw new RecordingError(
            `${name} is damaged: the tick at byte ${pos} refers to page states no keyframe starts.`,
            'corrupt',
          );
        else if (index - lastKeyframe > header.keyframeEvery)
          throw new RecordingError(
            `${name} is damaged: the tick at byte ${pos} is ${index - lastKeyframe} ticks after its keyframe, more than the ${header.keyframeEvery} its header allows.`,
            'corrupt',
          );
        rec.ticks.push({
          ...head,
          index: rec.ticks.length,
          table,
          bodyOffset: pos + 5 + r.pos,
          bodyEnd: pos + 5 + payload.length,
        });
        break;
      }
      case RecordType.NOTE: {
        const n = parseJson(payload, noteSchema, 'note', name, pos);
        rec.notes.push({ ...n, afterTicks: rec.ticks.length });
        break;
      }
      case RecordType.END:
        rec.end = parseJson(payload, endSchema, 'end record', name, pos);
        break;
      case RecordType.WHO:
        if (version < 2 || rec.ticks.length === 0)
          throw new RecordingError(
            `${name} is damaged: the record at byte ${pos} holds writers ${version < 2 ? 'in a version 1 recording' : 'before any tick'}.`,
            'corrupt',
          );
        rec.who.set(
          rec.ticks.length - 1,
          parseJson(payload, whoRecordSchema, 'writers record', name, pos),
        );
        break;
      default:
        throw new RecordingError(
          `${name} is damaged: the record at byte ${pos} has an unknown type (${type}).`,
          'corrupt',
        );
    }
  }
}

/** A RecordingError from a codec ("The recording is damaged: ...") made to name the file. */
function named(err: unknown, name: string, pos: number): unknown {
  if (!(err instanceof RecordingError) || err.message.startsWith(name)) return err;
  const rest = err.message
    .replace(/^The recording is damaged: /, '')
    .replace(/^The recording /, '');
  const what = err.problem === 'too-large' ? 'goes past a limit of the format' : 'is damaged';
  return new RecordingError(
    `${name} ${what} at byte ${pos}: ${rest.charAt(0).toLowerCase()}${rest.slice(1)}`,
    err.problem,
  );
}

/**
 * Where a whole record starts in `b` at or after `from` (a record type, a length that fits the
 * file and its limit, a payload that starts as its type's does, and a matching CRC), or null
 * when none does. A recorder writes each tick in one write(), so a killed one leaves at most ONE
 * record cut short, at the very end: if a whole record lies after a record whose length runs
 * past the end of the file, that length was damaged. The search is bounded (CRC work at most
 * twice the bytes searched, plus 1 MiB); when it runs out it returns -1 (cannot tell: damage).
 * A false match needs a CRC-32 collision (one chance in 2^32 per candidate that passes the
 * cheap checks). Recordings are JSON or tick payloads, and JSON never holds bytes 1..4.
 */
export function wholeRecordAfter(b: Buffer, from: number): number | null {
  let budget = 2 * Math.max(0, b.length - from) + (1 << 20);
  for (let q = from; q + RECORD_OVERHEAD <= b.length; q++) {
    const type = b[q];
    if (type < RecordType.VMAS || type > RecordType.WHO) continue;
    const len = b.readUInt32LE(q + 1);
    if (len > MAX_RECORD_BYTES || q + RECORD_OVERHEAD + len > b.length) continue;
    const first = b[q + 5];
    if (type === RecordType.TICK ? len === 0 || first > 7 : len < 2 || first !== 0x7b) continue;
    if (type !== RecordType.TICK && b[q + 4 + len] !== 0x7d) continue;
    budget -= len + 5;
    if (budget < 0) return -1;
    if (crc32(b.subarray(q, q + 5 + len)) === b.readUInt32LE(q + 5 + len)) return q;
  }
  return null;
}

function parseJsonRaw(bytes: Uint8Array, name: string): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new RecordingError(`${name} is damaged: a VMA change is not valid JSON.`, 'corrupt');
  }
}

/** Opens a recording file; every failure is one RecordingError naming the file. */
export function readRecording(path: string): Recording {
  let size: number;
  try {
    const st = fs.statSync(path);
    if (st.isDirectory())
      throw new RecordingError(`${path} is a directory, not a recording.`, 'io');
    size = st.size;
  } catch (err) {
    if (err instanceof RecordingError) throw err;
    throw new RecordingError(
      `Cannot open ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}.`,
      'io',
    );
  }
  if (size > MAX_FILE_BYTES)
    throw new RecordingError(
      `${path} is ${size} bytes, more than the ${MAX_FILE_BYTES} this reader loads.`,
      'too-large',
    );
  let buf: Buffer;
  try {
    buf = fs.readFileSync(path);
  } catch (err) {
    throw new RecordingError(`Cannot read ${path}: ${(err as Error).message}.`, 'io');
  }
  return parseRecording(buf, path);
}
