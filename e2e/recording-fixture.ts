/**
 * A made-up recording for the UI tests, written by the real writer (core/record): a process
 * (pid 4242, "made-up") with a file mapping and an anonymous heap that fills a stripe of pages
 * per tick and writes a moving range, 40 ticks 100 ms apart. Known numbers: at tick t (1-based)
 * the first 40 * t heap pages are present, and tick t wrote heap pages [40 (t-1), 40 t).
 *
 * The numbered variant (writeNumberedFixture) is the same process recorded from its tick 101 on,
 * as a recording started from the UI is (so a tick's number is never its position, 0- or
 * 1-based), writing a different number of pages each tick (numberedWrites).
 */
import type { Frame } from '../core/protocol/frame.ts';
import type { VmaInfo } from '../core/protocol/messages.ts';
import { HISTOGRAM_WIDTH, PageBit } from '../core/protocol/page-bits.ts';
import { RecordingWriter } from '../core/record/writer.ts';
import { tickCounters } from '../testing/counters.ts';

/** A recording whose ticks came late (irregular times, a 5 s gap) with a known write log. */
export {
  IRREGULAR,
  irregularTimes,
  writeIrregularRecording,
} from '../testing/irregular-recording.ts';

export const FIXTURE_TICKS = 40;
const FILE_PAGES = 400;
const HEAP_PAGES = 1600;
const STRIPE = 40;

const VMAS: VmaInfo[] = [
  {
    index: 0,
    start: '0x400000',
    end: '0x590000',
    startPage: 0x400,
    endPage: 0x400 + FILE_PAGES,
    offset: 0,
    perms: 'r-xp',
    path: '/usr/lib/made-up.so',
    kind: 'file',
    watched: 'no',
  },
  {
    index: 1,
    start: '0x7f0000000000',
    end: '0x7f0000640000',
    startPage: 0x7f0000000,
    endPage: 0x7f0000000 + HEAP_PAGES,
    offset: FILE_PAGES,
    perms: 'rw-p',
    path: '',
    kind: 'anon',
    label: 'made-up heap',
    watched: 'yes',
  },
];

/** The overview the session would send: one bucket, a count per PageBit. */
function histogramOf(bits: Uint16Array): Uint32Array {
  const h = new Uint32Array(HISTOGRAM_WIDTH);
  for (const b of bits) for (let k = 0; k < HISTOGRAM_WIDTH; k++) if (b & (1 << k)) h[k]++;
  return h;
}

/** The numbered fixture's first tick number. */
export const NUMBERED_FIRST_TICK = 101;
/** Heap pages the numbered fixture's tick number `tick` wrote: 0, 8, 16, 24, 0, ... */
export const numberedWrites = (tick: number): number => ((tick - NUMBERED_FIRST_TICK) % 4) * 8;
/** Heap pages present at the numbered fixture's tick number `tick`. */
export const numberedPresent = (tick: number): number => STRIPE * (tick - NUMBERED_FIRST_TICK + 1);

/** The t-th tick (1-based) of the recording, numbered `tick`, writing `writes` heap pages. */
function frame(t: number, tick = t, writes = STRIPE): Frame {
  const total = FILE_PAGES + HEAP_PAGES;
  const bits = new Uint16Array(total);
  for (let p = 0; p < FILE_PAGES; p++)
    bits[p] = p % 3 === 0 ? PageBit.PRESENT | PageBit.FILE | PageBit.MAPPED : 0;
  for (let p = 0; p < HEAP_PAGES; p++) {
    let b: number = PageBit.WATCHED;
    if (p < STRIPE * t) b |= PageBit.PRESENT | PageBit.MAPPED;
    bits[FILE_PAGES + p] = b;
  }
  const ws = FILE_PAGES + STRIPE * (t - 1);
  for (let p = ws; p < ws + writes; p++) bits[p] |= PageBit.WRITTEN;
  let present = 0;
  for (const b of bits) if (b & PageBit.PRESENT) present++;
  return {
    sessionId: 1,
    tick,
    vmaVersion: 1,
    totalPages: total,
    counters: tickCounters({ tick, present, written: writes, watched: HEAP_PAGES }),
    overview: { buckets: 1, pagesPerBucket: total, histogram: histogramOf(bits) },
    window: { startIndex: 0, endIndex: total, bits },
    written: Float64Array.from(writes > 0 ? [ws, ws + writes] : []),
    vmaCounts: new Uint32Array(0),
  };
}

export function writeFixtureRecording(file: string, numbered = false): void {
  const w = new RecordingWriter(
    file,
    {
      createdAt: '2026-11-29T02:00:00.000Z',
      pagescope: 'e2e',
      process: { pid: 4242, name: 'made-up', cmdline: 'made-up --fill', launched: false },
      kernel: '6.8.0-e2e',
      capabilities: {},
      warnings: [],
      intervalMs: 100,
      watching: 'the made-up heap',
    },
    VMAS,
  );
  for (let t = 1; t <= FIXTURE_TICKS; t++) {
    const tick = numbered ? NUMBERED_FIRST_TICK + t - 1 : t;
    w.tick(numbered ? frame(t, tick, numberedWrites(tick)) : frame(t), 0);
  }
  w.close('e2e fixture done');
}

/** The numbered variant: ticks 101 to 140, writing numberedWrites(tick) pages each. */
export function writeNumberedFixture(file: string): void {
  writeFixtureRecording(file, true);
}
