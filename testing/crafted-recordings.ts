/**
 * Recordings made by hand for the tests of what a file may cost: every byte is written here
 * with the format's own codecs (core/record/format.ts, tick-codec.ts), not through a Session, so
 * a test can make files no real session would (a run over 2^25 pages in every tick, millions of
 * one-page written ranges) in a moment and without a kernel.
 */
import { ByteWriter, crc32, KEYFRAME_EVERY, RecordType } from '../core/record/format.ts';
import { encodeTickHead, TickFlag } from '../core/record/tick-codec.ts';
import type { VmaInfo } from '../core/protocol/messages.ts';
import type { VmaEntry } from '../core/record/vma-codec.ts';
import { encodePreamble, type RecordingHeader } from '../core/record/writer.ts';
import { tickCounters } from './counters.ts';

export const CRAFTED_HEADER: Omit<RecordingHeader, 'vmas'> = {
  format: 'pagescope-recording',
  version: 1,
  createdAt: '2026-12-01T00:00:00.000Z',
  pagescope: 'test',
  process: { pid: 4242, name: 'crafted', cmdline: 'crafted', launched: false },
  kernel: '6.8.0-test',
  capabilities: {},
  warnings: [],
  intervalMs: 100,
  watching: 'test',
  pageSize: 4096,
  keyframeEvery: KEYFRAME_EVERY,
};

/** One anonymous VMA of `pages` pages at page 0x100000. */
export function oneVma(pages: number, path = ''): VmaEntry {
  const s = 0x100000;
  return {
    start: '0x' + (s * 4096).toString(16),
    end: '0x' + ((s + pages) * 4096).toString(16),
    startPage: s,
    endPage: s + pages,
    perms: 'rw-p',
    path,
    kind: 'anon',
    watched: 'yes',
  };
}

/** One anonymous, watched VMA of 64 pages at page 0x100, as a session shows it (for a writer). */
export const ANON_64_VMAS: readonly VmaInfo[] = [
  {
    index: 0,
    start: '0x100000',
    end: '0x140000',
    startPage: 0x100,
    endPage: 0x140,
    offset: 0,
    perms: 'rw-p',
    path: '',
    kind: 'anon',
    watched: 'yes',
  },
];

/**
 * Where each record of a recording starts: after the preamble (16 bytes, the header's length
 * at 12), the header and its CRC; each record is its type, length, payload and CRC (9 + length).
 */
export function recordStarts(bytes: Buffer): number[] {
  const starts: number[] = [];
  for (
    let p = 16 + bytes.readUInt32LE(12) + 4;
    p < bytes.length;
    p += 9 + bytes.readUInt32LE(p + 1)
  )
    starts.push(p);
  return starts;
}

/** A whole record (type, length, payload, CRC) as the writer frames it. */
export function record(type: number, payload: Uint8Array): Buffer {
  const head = Buffer.allocUnsafe(5);
  head[0] = type;
  head.writeUInt32LE(payload.length, 1);
  const tail = Buffer.allocUnsafe(4);
  tail.writeUInt32LE(crc32(head, payload));
  return Buffer.concat([head, payload, tail]);
}

export interface CraftedTick {
  /** Page-state runs [skip, length, value, ...] against the reference; null: overview only. */
  runs: number[] | null;
  keyframe?: boolean;
  /** Collapsed written ranges [s, e, ...]. */
  written: ArrayLike<number>;
  present?: number;
  watched?: number;
}

/** A TICK record: the head (tick-codec) then the runs as page-codec writes them. */
export function tickRecord(tick: number, totalPages: number, t: CraftedTick): Buffer {
  const w = new ByteWriter(64 + t.written.length * 3);
  const written = Float64Array.from(t.written);
  let writtenPages = 0;
  for (let r = 0; r + 1 < written.length; r += 2) writtenPages += written[r + 1] - written[r];
  encodeTickHead(
    {
      flags: t.runs ? TickFlag.PAGES | (t.keyframe ? TickFlag.KEYFRAME : 0) : TickFlag.HISTOGRAM,
      vmaVersion: 1,
      totalPages,
      skipped: 0,
      written,
      counters: tickCounters({
        tick,
        present: t.present ?? 0,
        written: writtenPages,
        watched: t.watched ?? 0,
      }),
    },
    w,
  );
  if (t.runs) {
    w.varint(t.runs.length / 3);
    for (const x of t.runs) w.varint(x);
  }
  return record(RecordType.TICK, w.view());
}

/** A file: the preamble with `vmas`, then the records as given. */
export function craftRecording(
  vmas: VmaEntry[],
  records: Buffer[],
  header = CRAFTED_HEADER,
): Buffer {
  return Buffer.concat([encodePreamble({ ...header, vmas }), ...records]);
}

/**
 * "Small files that cost a lot" (issue 21), case 1: `ticks` ticks over one VMA of `pages` pages,
 * each tick one page-state run over every page (alternating present and swapped) and one written
 * range over every page; a keyframe every `keyframeEvery` ticks (as the writer makes them by
 * default; the format allows up to MAX_KEYFRAME_EVERY, and a seek's cost grows with it).
 */
export function everyPageEveryTick(
  ticks: number,
  pages = 2 ** 25,
  keyframeEvery = KEYFRAME_EVERY,
): Buffer {
  const recs: Buffer[] = [];
  for (let i = 0; i < ticks; i++) {
    const value = i % 2 === 0 ? 1 /* PRESENT */ : 2; /* SWAPPED */
    recs.push(
      tickRecord(i + 1, pages, {
        runs: [0, pages, value],
        keyframe: i % keyframeEvery === 0,
        written: [0, pages],
        present: value === 1 ? pages : 0,
        watched: pages,
      }),
    );
  }
  return craftRecording([oneVma(pages)], recs, { ...CRAFTED_HEADER, keyframeEvery });
}

/**
 * Case 2: `ticks` ticks over one VMA of `pages` pages, each writing `ranges` one-page ranges
 * (every other page), page states empty. The ranges are written as bytes straight away (each is
 * varint gap 1, varint length 1), so a file of 2^24 ranges a tick costs its own size to make.
 */
export function manyRanges(ticks: number, ranges: number, pages = 2 ** 25): Buffer {
  const recs: Buffer[] = [];
  for (let i = 0; i < ticks; i++) {
    const w = new ByteWriter(64);
    encodeTickHead(
      {
        flags: TickFlag.PAGES | (i === 0 ? TickFlag.KEYFRAME : 0),
        vmaVersion: 1,
        totalPages: pages,
        skipped: 0,
        written: new Float64Array(0),
        counters: tickCounters({ tick: i + 1, present: 0, written: ranges, watched: 0 }),
      },
      w,
    );
    w.length -= 1; // the range count, 0: written again below with the ranges
    w.varint(ranges);
    const head = Buffer.from(w.view());
    const body = Buffer.alloc(2 * ranges + 1, 1);
    body[0] = 0; // the first range starts at page 0
    body[2 * ranges] = 0; // no page-state runs
    recs.push(record(RecordType.TICK, Buffer.concat([head, body])));
  }
  return craftRecording([oneVma(pages)], recs);
}
