/**
 * A comparison of two ticks (the host's TickDiffInfo: one code per page of tick B's layout,
 * stateA * 3 + stateB plus 16 when written in between) as a frame the heatmap draws like any
 * other, in the diff colour mode: each page gets the PageBit its diff category borrows
 * (colour.ts's DIFF_BITS) plus MAPPED inside a VMA, the overview counts them per bucket, and the
 * window holds every page (up to the window limit; past it the overview alone draws).
 */
import type { Frame } from '../../../core/protocol/frame.ts';
import { HISTOGRAM_WIDTH, PageBit } from '../../../core/protocol/page-bits.ts';
import type { TickDiffInfo } from '../../../core/protocol/recording.ts';
import { MAX_WINDOW_PAGES } from './viewport.ts';

const WRITTEN_BETWEEN = 16;
const OVERVIEW_BUCKETS = 4096;

/** PageBits of one diff code (see colour.ts DIFF_BITS for the priority). */
export function diffBits(code: number): number {
  const sa = Math.floor((code & 15) / 3);
  const sb = (code & 15) % 3;
  let bits = PageBit.MAPPED;
  if (code & WRITTEN_BETWEEN) bits |= PageBit.WRITTEN;
  if (sb === 1 && sa !== 1) bits |= PageBit.PRESENT;
  else if (sb === 2 && sa !== 2) bits |= PageBit.SWAPPED;
  else if (sb === 0 && sa !== 0) bits |= PageBit.GUARD;
  else if (sa === sb && sa !== 0) bits |= PageBit.FILE;
  return bits;
}

export function decodeBase64(b64: string): Uint8Array {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

export function diffFrame(d: TickDiffInfo, sessionId: number): Frame {
  const codes = decodeBase64(d.codes);
  const total = d.totalPages;
  const lut = new Uint16Array(32).map((_, c) => diffBits(c));
  const bits = new Uint16Array(total);
  for (let p = 0; p < total; p++) bits[p] = lut[codes[p] & 31];
  const ppb = Math.max(1, Math.ceil(total / OVERVIEW_BUCKETS));
  const buckets = total === 0 ? 0 : Math.ceil(total / ppb);
  const histogram = new Uint32Array(buckets * HISTOGRAM_WIDTH);
  for (let p = 0; p < total; p++) {
    const base = Math.floor(p / ppb) * HISTOGRAM_WIDTH;
    for (let v = bits[p], k = 0; v !== 0; k++, v >>= 1) if (v & 1) histogram[base + k]++;
  }
  return {
    sessionId,
    tick: d.tickB,
    vmaVersion: 0,
    totalPages: total,
    counters: {
      tick: d.tickB,
      t: 0,
      present: 0,
      swapped: 0,
      written: d.writtenBetween,
      watched: 0,
      scanMs: 0,
      lagMs: 0,
      skipped: 0,
      estOverheadPct: 0,
      estOverheadLowPct: 0,
      estOverheadHighPct: 0,
      sampleFraction: 1,
      writtenEst: d.writtenBetween,
      writtenErr: 0,
      intervalMs: 100,
    },
    overview: { buckets, pagesPerBucket: ppb, histogram },
    window: total <= MAX_WINDOW_PAGES ? { startIndex: 0, endIndex: total, bits } : null,
    written: new Float64Array(0),
    vmaCounts: new Uint32Array(0),
  };
}
