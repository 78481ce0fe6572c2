/**
 * The recording format without a kernel: frames made up here go through the encoder and come back
 * out of the reader bit for bit (page states across keyframes, deltas and VMA changes; written
 * ranges; counters), and bad files (cut at every byte, wrong version, garbage, huge declared
 * sizes, a flipped bit) give one RecordingError or a truncated read, never anything else.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Frame } from '../protocol/frame.ts';
import type { VmaInfo } from '../protocol/messages.ts';
import { PageBit } from '../protocol/page-bits.ts';
import {
  ByteReader,
  ByteWriter,
  KEYFRAME_EVERY,
  MAX_TICK_RANGES,
  RecordingError,
} from './format.ts';
import { decodePages, encodePages, remapPages } from './page-codec.ts';
import { histogramOf, parseRecording } from './reader.ts';
import { exportRecording } from './export.ts';
import { buildReport, countPerVma, forEachVmaTick, overheadSummary } from './report.ts';
import { labelledName } from '../protocol/vma-name.ts';
import { traceFileSchema } from './trace-schema.ts';
import { applyDiff, diffTables, toEntry } from './vma-codec.ts';
import { encodePreamble, RecordingEncoder, type RecordingHeader } from './writer.ts';
import { recordStarts } from '../../testing/crafted-recordings.ts';

function table(ranges: Array<[number, number, string?]>): VmaInfo[] {
  let offset = 0;
  return ranges.map(([s, e, path = ''], index) => {
    const v: VmaInfo = {
      index,
      start: '0x' + (s * 4096).toString(16),
      end: '0x' + (e * 4096).toString(16),
      startPage: s,
      endPage: e,
      offset,
      perms: 'rw-p',
      path,
      kind: path ? 'file' : 'anon',
      watched: 'no',
    };
    offset += e - s;
    return v;
  });
}

const HEADER: Omit<RecordingHeader, 'vmas'> = {
  format: 'pagescope-recording',
  version: 1,
  createdAt: '2026-01-01T00:00:00.000Z',
  pagescope: 'test',
  process: { pid: 42, name: 'made-up', cmdline: 'made-up', launched: false },
  kernel: '6.8.0-test',
  capabilities: {},
  warnings: [],
  intervalMs: 100,
  watching: 'test',
  pageSize: 4096,
  keyframeEvery: KEYFRAME_EVERY,
};

function frame(tick: number, bits: Uint16Array, written: number[], sampleFraction = 1): Frame {
  const win = bits.slice();
  for (let r = 0; r < written.length; r += 2)
    for (let p = written[r]; p < written[r + 1]; p++) win[p] |= PageBit.WRITTEN;
  let present = 0;
  for (const b of bits) if (b & PageBit.PRESENT) present++;
  return {
    sessionId: 1,
    tick,
    vmaVersion: 1,
    totalPages: bits.length,
    counters: {
      tick,
      t: tick * 100,
      present,
      swapped: 0,
      written: 0,
      watched: 0,
      scanMs: 1.25,
      lagMs: 0.5,
      skipped: 0,
      estOverheadPct: 0.25,
      estOverheadLowPct: 0.16,
      estOverheadHighPct: 0.39,
      sampleFraction,
      writtenEst: 0,
      writtenErr: -1,
      intervalMs: 100,
    },
    vmaCounts: new Uint32Array(0),
    overview: {
      buckets: 1,
      pagesPerBucket: bits.length,
      histogram: histogramOf(win, bits.length, 1),
    },
    window: { startIndex: 0, endIndex: bits.length, bits: win },
    written: Float64Array.from(written),
  };
}

/** A small recording: `ticks` frames, the layout changing at tick 5 (one VMA grows). */
function makeRecording(ticks: number): {
  bytes: Buffer;
  states: Uint16Array[];
  tables: VmaInfo[][];
} {
  const t1 = table([
    [100, 164, '/lib/x.so'],
    [1000, 1256],
  ]);
  const t2 = table([
    [100, 164, '/lib/x.so'],
    [1000, 1300],
    [5000, 5010],
  ]);
  const enc = new RecordingEncoder(t1);
  const chunks: Buffer[] = [encodePreamble({ ...HEADER, vmas: enc.entriesAtStart })];
  const states: Uint16Array[] = [];
  const tables: VmaInfo[][] = [];
  let rnd = 7;
  const next = (): number => (rnd = (rnd * 1103515245 + 12345) % 2 ** 31);
  for (let i = 1; i <= ticks; i++) {
    const vmas = i < 5 ? t1 : t2;
    if (i === 5) enc.setVmas(t2);
    const total =
      vmas[vmas.length - 1].offset +
      vmas[vmas.length - 1].endPage -
      vmas[vmas.length - 1].startPage;
    const bits = new Uint16Array(total);
    for (let p = 0; p < total; p++)
      bits[p] =
        next() % 4 === 0 ? PageBit.PRESENT | PageBit.MAPPED : p % 50 < 10 ? PageBit.SWAPPED : 0;
    const s = next() % (total - 10);
    const written = [s, s + 1 + (next() % 8)];
    // From tick 7 on, a sample of the pages was watched (a bound on the overhead).
    const b = enc.encodeTick(frame(i, bits, written, i >= 7 ? 0.25 : 1), 0);
    expect(b).not.toBeNull();
    chunks.push(b as Buffer);
    states.push(bits);
    tables.push(vmas);
  }
  chunks.push(enc.encodeEnd('done'));
  return { bytes: Buffer.concat(chunks), states, tables };
}

describe('page codec', () => {
  it('codes any page states against any reference and back', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 0, maxLength: 6000 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 0, maxLength: 6000 }),
        fc.boolean(),
        (a, b, keyframe) => {
          const n = Math.min(a.length, b.length);
          const cur = Uint16Array.from(a.slice(0, n), (x) => x * 0x101);
          const ref = Uint16Array.from(b.slice(0, n), (x) => x * 0x101);
          const w = new ByteWriter();
          encodePages(cur, keyframe ? null : ref, w);
          if (!keyframe) {
            // The writer's way: a mask, and the reference updated as it goes.
            const w2 = new ByteWriter();
            const upd = ref.slice();
            encodePages(cur, upd, w2, { mask: 0x0f0f, update: true });
            const st = ref.slice();
            decodePages(new ByteReader(w2.view(), 'test'), st);
            expect(st).toEqual(cur.map((x) => x & 0x0f0f));
            expect(upd).toEqual(st);
          }
          const state = keyframe ? new Uint16Array(n) : ref.slice();
          const r = new ByteReader(w.view(), 'test');
          decodePages(r, state);
          r.end();
          expect(state).toEqual(cur);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('carries page states to a new layout by address', () => {
    const a = table([
      [10, 14],
      [20, 22],
    ]);
    const b = table([
      [12, 16],
      [20, 23],
    ]);
    const out = remapPages(Uint16Array.from([1, 2, 3, 4, 5, 6]), a, b, 7);
    expect([...out]).toEqual([3, 4, 0, 0, 5, 6, 0]);
  });

  it('diffs VMA tables and applies the diff', () => {
    const a = table([
      [1, 2],
      [3, 4],
      [5, 6],
      [7, 8],
    ]).map(toEntry);
    const b = table([
      [1, 2],
      [3, 5],
      [7, 8],
    ]).map(toEntry);
    const d = diffTables(a, b);
    expect(d.keepHead).toBe(1);
    expect(d.keepTail).toBe(1);
    expect(d.mid).toHaveLength(1);
    expect(applyDiff(a, d)).toEqual(b);
  });
});

describe('recording round trip', () => {
  it('reads back every tick: counters, written ranges, page states, frames at any view', () => {
    const ticks = KEYFRAME_EVERY + 30;
    const { bytes, states, tables } = makeRecording(ticks);
    const rec = parseRecording(bytes);
    expect(rec.truncated).toBeNull();
    expect(rec.end?.ticks).toBe(ticks);
    expect(rec.tables).toHaveLength(2);
    expect(rec.ticks).toHaveLength(ticks);
    // Random access (from the nearest keyframe) and in order (from the cache) agree.
    for (const order of [[...states.keys()].reverse(), [...states.keys()]])
      for (const i of order) {
        const p = rec.pagesAt(i) as Uint16Array;
        const want = states[i].slice();
        const w = rec.ticks[i].written;
        for (let r = 0; r < w.length; r += 2)
          for (let q = w[r]; q < w[r + 1]; q++) want[q] |= PageBit.WRITTEN;
        expect(p).toEqual(want);
        expect(rec.vmasAt(i).vmas).toEqual(tables[i]);
      }
    expect(rec.ticks.filter((t) => t.flags & 1).length).toBe(2); // first tick + one more
    const f = rec.frameAt(7, { buckets: 10, window: { startIndex: 5, endIndex: 50 } });
    const all = rec.pagesAt(7) as Uint16Array;
    expect(f.window?.bits).toEqual(all.slice(5, 50));
    expect(f.overview.pagesPerBucket).toBe(Math.ceil(all.length / 10));
    expect(f.overview.histogram).toEqual(
      histogramOf(all, f.overview.pagesPerBucket, f.overview.buckets),
    );
    expect(f.counters.scanMs).toBe(1.25);
    // The overhead estimate and the range it may be in, as recorded.
    expect(f.counters).toMatchObject({
      estOverheadPct: 0.25,
      estOverheadLowPct: 0.16,
      estOverheadHighPct: 0.39,
    });
  });
});

describe('bad files', () => {
  const good = makeRecording(12).bytes;

  it('a file cut at any byte reads up to its last whole tick, or fails with one clear error', () => {
    const headerEnd = good.indexOf(Buffer.from([2]), 16 + good.readUInt32LE(12) + 4);
    let lastTicks = -1;
    for (let n = 0; n < good.length; n++) {
      const cut = good.subarray(0, n);
      let ticks = -1;
      try {
        const rec = parseRecording(cut);
        ticks = rec.ticks.length;
        expect(rec.end).toBeNull();
        if (n > headerEnd)
          expect(rec.truncated === null || rec.truncated.includes('cut short')).toBe(true);
        for (let i = 0; i < rec.ticks.length; i++) rec.pagesAt(i);
      } catch (err) {
        expect(err).toBeInstanceOf(RecordingError);
        expect(n).toBeLessThan(headerEnd);
      }
      expect(ticks).toBeGreaterThanOrEqual(lastTicks === -1 ? -1 : lastTicks);
      if (ticks >= 0) lastTicks = ticks;
    }
    expect(lastTicks).toBe(12);
  });

  const expectError = (bytes: Uint8Array, code: string, text: RegExp): void => {
    let err: unknown = null;
    try {
      parseRecording(bytes, 'x.pgsrec');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RecordingError);
    expect((err as RecordingError).problem).toBe(code);
    expect((err as Error).message).toMatch(text);
  };

  it('garbage, another version, huge declared sizes and damage each get one sentence', () => {
    expectError(
      Buffer.from('hello, I am not a recording'),
      'not-a-recording',
      /not a pagescope recording/,
    );
    expectError(Buffer.alloc(0), 'not-a-recording', /not a pagescope recording/);
    const v3 = Buffer.from(good);
    v3.writeUInt16LE(3, 8);
    expectError(v3, 'version', /format version 3; this pagescope reads versions 1 to 2 \(a newer/);
    const hugeHeader = Buffer.from(good);
    hugeHeader.writeUInt32LE(0xffffffff, 12);
    expectError(hugeHeader, 'too-large', /declares a header of 4294967295 bytes/);
    const firstRecord = 16 + good.readUInt32LE(12) + 4;
    const hugeRecord = Buffer.from(good);
    hugeRecord.writeUInt32LE(0xfffffff0, firstRecord + 1);
    expectError(hugeRecord, 'too-large', /declares 4294967280 bytes/);
    const flipped = Buffer.from(good);
    flipped[firstRecord + 8] ^= 0x40;
    expectError(flipped, 'corrupt', /fails its checksum/);
    const badHeader = Buffer.from(good);
    badHeader[20] ^= 0x01;
    expectError(badHeader, 'corrupt', /header fails its checksum/);
  });

  it('a damaged length in the middle is damage, not a torn tail: only the last record can be torn', () => {
    const { bytes } = makeRecording(30);
    const starts = recordStarts(bytes);
    for (const k of [1, 15, starts.length - 3]) {
      const b = Buffer.from(bytes);
      b.writeUInt32LE(268435456, starts[k] + 1); // under the 256 MiB cap, past the end
      expectError(
        b,
        'corrupt',
        new RegExp(
          `^x\\.pgsrec is damaged: the record at byte ${starts[k]} declares 268435456 bytes, past the end of the file, but a whole record follows at byte \\d+\\.$`,
        ),
      );
    }
    // The last record (END) with a length past the end: a torn tail, read up to the last tick.
    const last = Buffer.from(bytes);
    last.writeUInt32LE(268435456, starts[starts.length - 1] + 1);
    const rec = parseRecording(last, 'x.pgsrec');
    expect(rec.ticks).toHaveLength(30);
    expect(rec.truncated).toMatch(/cut short/);
    // The last tick cut in its middle (a killed recorder): torn, 29 ticks.
    const cut = bytes.subarray(0, starts[starts.length - 2] + 20);
    const torn = parseRecording(cut, 'x.pgsrec');
    expect(torn.ticks).toHaveLength(29);
    expect(torn.truncated).toMatch(/cut short/);
  });

  it('header fields are checked: flags, version, time, kernel; the error names the file', () => {
    const { bytes } = makeRecording(3);
    const flags = Buffer.from(bytes);
    flags.writeUInt16LE(4, 10);
    expectError(
      flags,
      'version',
      /^x\.pgsrec declares format flags 0x0004, which this pagescope does not know/,
    );
    const withHeader = (patch: Partial<RecordingHeader>): Buffer => {
      const len = bytes.readUInt32LE(12);
      const h = JSON.parse(bytes.subarray(16, 16 + len).toString()) as RecordingHeader;
      return Buffer.concat([encodePreamble({ ...h, ...patch }), bytes.subarray(16 + len + 4)]);
    };
    expect(parseRecording(withHeader({}), 'x.pgsrec').ticks).toHaveLength(3);
    for (const [patch, field] of [
      [{ version: -1 }, 'version'],
      [{ version: 3 }, 'version'],
      [{ createdAt: 'x' }, 'createdAt'],
      [{ kernel: 'x' }, 'kernel'],
      [{ keyframeEvery: 1e9 }, 'keyframeEvery'],
    ] as const)
      expectError(
        withHeader(patch as Partial<RecordingHeader>),
        'corrupt',
        new RegExp(`^x\\.pgsrec is damaged: its header at byte 16 is malformed \\(${field}: `),
      );
  });

  it('random bytes after a valid preamble never escape as anything but a RecordingError', () => {
    const pre = good.subarray(0, 16 + good.readUInt32LE(12) + 4);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 400 }), (tail) => {
        try {
          const rec = parseRecording(Buffer.concat([pre, tail]));
          for (let i = 0; i < rec.ticks.length; i++) rec.frameAt(i, { buckets: 4 });
        } catch (err) {
          expect(err).toBeInstanceOf(RecordingError);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('exports (issue 21)', () => {
  it('every tick, the first one recorded as an overview only, is in the CSV rows and the trace counters with its values', () => {
    const vmas = table([
      [100, 164, '/lib/x.so'],
      [1000, 1256],
    ]);
    const enc = new RecordingEncoder(vmas);
    const chunks: Buffer[] = [encodePreamble({ ...HEADER, vmas: enc.entriesAtStart })];
    // Tick 1 went out before the recorder's full window took effect: an overview and the
    // session's exact per-VMA counts [present, swapped, written] only.
    const first = frame(1, new Uint16Array(320), []);
    first.window = null;
    first.vmaCounts = Uint32Array.from([10, 0, 0, 50, 2, 0]);
    chunks.push(enc.encodeTick(first, 0) as Buffer);
    // Ticks 2..5: known present pages and writes per VMA (VMA 1 written only in ticks 2 and 3).
    const writes: Record<number, number[]> = { 2: [0, 3, 70, 75], 3: [64, 66], 4: [5, 6], 5: [] };
    const want = new Map<string, { present: number; swapped: number; written: number }>();
    want.set('1:0', { present: 10, swapped: 0, written: 0 });
    want.set('1:1', { present: 50, swapped: 2, written: 0 });
    for (let tick = 2; tick <= 5; tick++) {
      const bits = new Uint16Array(320);
      for (let p = 0; p < 10; p++) bits[p] = PageBit.PRESENT;
      for (let p = 64; p < 64 + 40 + tick; p++) bits[p] = PageBit.PRESENT;
      chunks.push(enc.encodeTick(frame(tick, bits, writes[tick]), 0) as Buffer);
      const w = [0, 0];
      for (let r = 0; r < writes[tick].length; r += 2)
        for (let p = writes[tick][r]; p < writes[tick][r + 1]; p++) w[p < 64 ? 0 : 1]++;
      want.set(`${tick}:0`, { present: 10, swapped: 0, written: w[0] });
      want.set(`${tick}:1`, { present: 40 + tick, swapped: 0, written: w[1] });
    }
    const rec = parseRecording(Buffer.concat(chunks), 'x.pgsrec');
    expect(rec.hasPages(0)).toBe(false);

    let csv = '';
    exportRecording(rec, 'csv', (x) => (csv += x));
    const lines = csv.trim().split('\n');
    const cols = lines[0].split(',');
    const got = new Map<string, { present: number; swapped: number; written: number }>();
    for (const line of lines.slice(1)) {
      const row = Object.fromEntries(line.split(',').map((v, k) => [cols[k], v]));
      got.set(`${row.tick}:${row.vma}`, {
        present: Number(row.present),
        swapped: Number(row.swapped),
        written: Number(row.written),
      });
    }
    expect(got).toEqual(want);

    let trace = '';
    exportRecording(rec, 'trace', (x) => (trace += x));
    const events = traceFileSchema.parse(JSON.parse(trace)).traceEvents;
    const fromTrace = new Map<string, { present: number; swapped: number; written: number }>();
    for (const e of events) {
      if (e.ph !== 'C' || !e.name.startsWith('vma ')) continue;
      const vma = e.name.includes('x.so') ? 0 : 1;
      fromTrace.set(`${e.ts / 1000 / 100}:${vma}`, e.args as never);
    }
    expect(fromTrace).toEqual(want);
  });

  it('per-VMA rows counted from runs are the rows counted page by page', () => {
    const rec = parseRecording(makeRecording(KEYFRAME_EVERY + 30).bytes);
    const rows: string[] = [];
    forEachVmaTick(rec, (r) => {
      if (r.present || r.swapped || r.watched || r.written) rows.push(JSON.stringify(r));
    });
    const want: string[] = [];
    for (let i = 0; i < rec.ticks.length; i++) {
      const { vmas } = rec.vmasAt(i);
      const c = countPerVma(rec.statesAt(i) as Uint16Array, vmas);
      const w = rec.vmaCountsAt(i);
      const t = rec.ticks[i].counters;
      vmas.forEach((vm, k) => {
        if (!(c[k].present || c[k].swapped || c[k].watched || w[3 * k + 2])) return;
        want.push(
          JSON.stringify({
            tick: t.tick,
            t: t.t,
            vma: k,
            start: vm.start,
            end: vm.end,
            path: vm.path,
            label: labelledName(vm),
            ...c[k],
            written: w[3 * k + 2],
          }),
        );
      });
    }
    expect(rows.length).toBeGreaterThan(rec.ticks.length);
    expect(rows).toEqual(want);
  });
});

describe('limits', () => {
  it('a tick past the written-ranges limit is written without its ranges, and a note says so', () => {
    const n = MAX_TICK_RANGES + 1;
    const vmas = table([[0x1000, 0x1000 + 2 * n]]);
    const enc = new RecordingEncoder(vmas);
    const written: number[] = [];
    for (let k = 0; k < n; k++) written.push(2 * k, 2 * k + 1);
    const f = frame(1, new Uint16Array(2 * n), written);
    f.counters.written = n;
    const bytes = Buffer.concat([
      encodePreamble({ ...HEADER, vmas: enc.entriesAtStart }),
      enc.encodeTick(f, 0) as Buffer,
      enc.encodeTick(frame(2, new Uint16Array(2 * n), [4, 6]), 0) as Buffer,
    ]);
    const rec = parseRecording(bytes, 'x.pgsrec');
    expect(rec.ticks).toHaveLength(2);
    expect(rec.ticks[0].written).toHaveLength(0);
    expect(rec.ticks[0].counters.written).toBe(n);
    expect([...rec.ticks[1].written]).toEqual([4, 6]);
    expect(rec.notes).toHaveLength(1);
    expect(rec.notes[0]).toMatchObject({ kind: 'warning', afterTicks: 0 });
    expect(rec.notes[0].message).toMatch(
      new RegExp(`Tick 1 wrote pages in ${n} separate ranges, more than the ${MAX_TICK_RANGES}`),
    );
  });
});

describe('overheadSummary (report)', () => {
  it('gives the median estimate with its range, and the peak, over the watched ticks', () => {
    const c = (tick: number, watched: number, pct: number, low: number, high: number) => ({
      tick,
      watched,
      estOverheadPct: pct,
      estOverheadLowPct: low,
      estOverheadHighPct: high,
    });
    expect(
      overheadSummary([
        c(1, 0, 0, 0, 0),
        c(2, 8, 3, 2, 5),
        c(3, 8, 9, 6, 14),
        c(4, 8, 1, 0.6, 1.5),
      ]),
    ).toEqual({
      ticks: 3,
      medianPct: 3,
      medianLowPct: 2,
      medianHighPct: 5,
      peakPct: 9,
      peakTick: 3,
    });
    // An older recording states no range: the figure alone.
    expect(overheadSummary([c(1, 8, 3, -1, -1)])).toMatchObject({
      medianPct: 3,
      medianLowPct: null,
      medianHighPct: null,
    });
    expect(overheadSummary([c(1, 0, 0, 0, 0)])).toBeNull();
  });
});

describe('buildReport', () => {
  it('counts the ticks recorded while sampling, whose write figures are what the sample saw', () => {
    expect(buildReport(parseRecording(makeRecording(10).bytes), 1e9).sampledTicks).toBe(4);
    expect(buildReport(parseRecording(makeRecording(6).bytes), 1e9).sampledTicks).toBe(0);
  });
});

describe('encoder buffers and keyframe interval (issue 22)', () => {
  it('codes a keyframe every keyframeEvery ticks, says so in the header, and reads back', () => {
    const vmas = table([[1000, 1300]]);
    const enc = new RecordingEncoder(vmas, 3);
    expect(enc.keyframeEvery).toBe(3);
    const chunks: Buffer[] = [
      encodePreamble({ ...HEADER, keyframeEvery: 3, vmas: enc.entriesAtStart }),
    ];
    const states: Uint16Array[] = [];
    for (let i = 1; i <= 8; i++) {
      const bits = new Uint16Array(300);
      for (let p = 0; p < 300; p += 2 + (i % 3)) bits[p] = PageBit.PRESENT | PageBit.MAPPED;
      chunks.push(enc.encodeTick(frame(i, bits, []), 0) as Buffer);
      states.push(bits);
    }
    const rec = parseRecording(Buffer.concat(chunks));
    expect(rec.ticks.map((t) => t.flags & 1)).toEqual([1, 0, 0, 1, 0, 0, 1, 0]);
    for (let i = 0; i < states.length; i++) expect(rec.pagesAt(i)).toEqual(states[i]);
    for (const bad of [0, 1001, 2.5])
      expect(() => new RecordingEncoder(vmas, bad)).toThrow(RangeError);
  });

  it('reuses its buffers from tick to tick; encodeTick hands out copies that stay as they were', () => {
    const vmas = table([[0, 5000]]);
    const enc = new RecordingEncoder(vmas, 1); // every tick a keyframe: megabytes would repeat
    const bits = new Uint16Array(5000);
    for (let p = 0; p < 5000; p += 2) bits[p] = PageBit.PRESENT;
    const a = enc.encodeTickView(frame(1, bits, []), 0) as Buffer;
    const aCopy = Buffer.from(a);
    const b = enc.encodeTickView(frame(2, bits, []), 0) as Buffer;
    expect(b.buffer).toBe(a.buffer); // the same memory: nothing new per tick
    const owned = enc.encodeTick(frame(3, bits, [0, 4]), 0) as Buffer;
    const ownedCopy = Buffer.from(owned);
    enc.encodeTickView(frame(4, new Uint16Array(5000), []), 0);
    expect(owned.equals(ownedCopy)).toBe(true);
    expect(owned.buffer).not.toBe(a.buffer);
    expect(aCopy.length).toBeGreaterThan(2500 * 3); // a keyframe: one run per present page
  });
});
