/**
 * A crafted recording whose ticks came late, with a known write log, written by the real writer
 * (core/record/writer.ts): what a loaded machine makes of "every 100 ms". The made-up process
 * writes one fresh heap page every 2 ms from time 0 (500 pages/s, 2,048,000 bytes/s: the log),
 * and is ticked at 80-120 ms, every 20th tick 450 ms late, tick 65 after a 5 s gap, for ~20 s.
 * Each tick's written pages are exactly the log's writes since the tick before.
 */
import type { Frame } from '../core/protocol/frame.ts';
import type { VmaInfo } from '../core/protocol/messages.ts';
import { HISTOGRAM_WIDTH, PageBit } from '../core/protocol/page-bits.ts';
import { RecordingWriter } from '../core/record/writer.ts';
import { tickCounters } from './counters.ts';

export const IRREGULAR = {
  intervalMs: 100,
  /** The log: page k of the heap written at k x msPerPage ms. */
  msPerPage: 2,
  bytesPerSecond: (1000 / 2) * 4096,
  heapPages: 12_000,
  gapTick: 65,
  gapMs: 5000,
  lateMs: 450,
  endMs: 20_000,
} as const;

/** The ticks' times (ms), tick 1 first. */
export function irregularTimes(): number[] {
  const out: number[] = [];
  let t = 100;
  for (let i = 1; t <= IRREGULAR.endMs; i++) {
    out.push(t);
    const next = i + 1;
    t +=
      next === IRREGULAR.gapTick
        ? IRREGULAR.gapMs
        : next % 20 === 0
          ? IRREGULAR.lateMs
          : 100 + ((next * 37) % 41) - 20;
  }
  return out;
}

/** Heap pages the log had written by time t (pages 0 .. n-1: written at 0, 2, ... <= t). */
export const loggedBy = (t: number): number =>
  Math.min(IRREGULAR.heapPages, Math.floor(t / IRREGULAR.msPerPage) + 1);

const HEAP: VmaInfo = {
  index: 0,
  start: '0x7f0000000000',
  end: '0x' + (0x7f0000000000 + IRREGULAR.heapPages * 4096).toString(16),
  startPage: 0x7f0000000,
  endPage: 0x7f0000000 + IRREGULAR.heapPages,
  offset: 0,
  perms: 'rw-p',
  path: '',
  kind: 'anon',
  label: 'late heap',
  watched: 'yes',
};

export function writeIrregularRecording(file: string): void {
  const w = new RecordingWriter(
    file,
    {
      createdAt: '2026-12-05T06:00:00.000Z',
      pagescope: 'test',
      process: { pid: 4343, name: 'late', cmdline: 'late --write', launched: false },
      kernel: '6.8.0-test',
      capabilities: {},
      warnings: [],
      intervalMs: IRREGULAR.intervalMs,
      watching: 'the late heap',
    },
    [HEAP],
  );
  const total = IRREGULAR.heapPages;
  const times = irregularTimes();
  let prev = 0;
  times.forEach((t, i) => {
    const tick = i + 1;
    const from = prev;
    const to = loggedBy(t);
    prev = to;
    const bits = new Uint16Array(total).fill(PageBit.PRESENT | PageBit.MAPPED | PageBit.WATCHED);
    for (let p = from; p < to; p++) bits[p] |= PageBit.WRITTEN;
    const dt = i === 0 ? IRREGULAR.intervalMs : t - times[i - 1];
    const skipped = Math.max(0, Math.round(dt / IRREGULAR.intervalMs) - 1);
    const histogram = new Uint32Array(HISTOGRAM_WIDTH);
    for (const b of bits)
      for (let k = 0; k < HISTOGRAM_WIDTH; k++) if (b & (1 << k)) histogram[k]++;
    const f: Frame = {
      sessionId: 1,
      tick,
      vmaVersion: 1,
      totalPages: total,
      counters: tickCounters({
        tick,
        t,
        present: total,
        written: to - from,
        watched: total,
        lagMs: Math.max(0, dt - IRREGULAR.intervalMs),
        skipped,
      }),
      overview: { buckets: 1, pagesPerBucket: total, histogram },
      window: { startIndex: 0, endIndex: total, bits },
      written: Float64Array.from(to > from ? [from, to] : []),
      vmaCounts: new Uint32Array(0),
    };
    w.tick(f, skipped);
  });
  w.close('crafted: irregular ticks');
}
