/**
 * What `pagescope report` prints and the UI's analytics panel shows for a recording: the
 * recording's facts plus the analytics of analytics.ts, in one plain object (the --json output).
 * Also the per-tick per-VMA counters that `pagescope export` writes.
 */
import { PAGE_SIZE } from '../kernel/pagemap-abi.ts';
import type { TickCounters, VmaInfo } from '../protocol/messages.ts';
import { PageBit } from '../protocol/page-bits.ts';
import { labelledName } from '../protocol/vma-name.ts';
import {
  dirtyRate,
  HOT_SHARE,
  perVmaWrites,
  GAP_FACTOR,
  precopyEstimate,
  tickTiming,
  WARM_SHARE,
  windowSummary,
  writeFrequency,
  type PrecopyEstimate,
  type Series,
  type VmaWriteRow,
  type WindowSummary,
} from './analytics.ts';
import { applyRuns, emptyRuns, remapRuns, type PageRuns } from './page-codec.ts';
import type { Recording } from './reader.ts';
import { TickFlag } from './tick-codec.ts';

/** The analytics' view of a recording: times, absolute written ranges, counters. */
export function seriesOf(rec: Recording): Series {
  return {
    intervalMs: rec.header.intervalMs,
    ticks: rec.ticks.map((t, i) => ({
      t: t.counters.t,
      written: rec.writtenAbsolute(i),
      present: t.counters.present,
      swapped: t.counters.swapped,
      watched: t.counters.watched,
      intervalMs: t.counters.intervalMs,
    })),
  };
}

export const WORKING_SET_WINDOWS_MS = [1000, 10_000, 60_000, Infinity] as const;

export interface RecordingReport {
  file: {
    bytes: number;
    truncated: string | null;
    endedCleanly: boolean;
    endReason: string | null;
  };
  process: Recording['header']['process'];
  kernel: string;
  createdAt: string;
  intervalMs: number;
  watching: string;
  ticks: number;
  durationMs: number;
  /**
   * The rate the ticks really came at (from their times), and the gaps longer than
   * gapFactor x the interval in force; `skipped` sums the ticks' own count of grid points missed.
   */
  timing: {
    askedIntervalMs: number;
    meanIntervalMs: number | null;
    medianIntervalMs: number | null;
    skipped: number;
    gapFactor: number;
    gaps: {
      count: number;
      longestMs: number;
      /** The first 20: the tick after the gap (number and position), its start and end, ms. */
      list: Array<{ tick: number; index: number; fromMs: number; toMs: number; ms: number }>;
    };
  };
  bytesPerMinute: number;
  pages: { presentFirst: number; presentLast: number; swappedLast: number; watchedLast: number };
  /**
   * Distinct pages written in each window, over the positions where a whole window fits: the
   * last, mean and peak; null (n/a) for a window longer than the run. `spanningGap` of the
   * `positions` windows span a gap in the ticks (their writes cover more than the window).
   */
  workingSet: Array<
    { window: string; windowMs: number | null } & Omit<WindowSummary, 'windowMs' | 'fits'>
  >;
  /** Time-weighted: bytes written per second of wall time (analytics.ts dirtyRate). */
  dirtyRate: {
    windowMs: number;
    meanMiBps: number;
    peakMiBps: number;
    meanBytesPerSecond: number;
    writtenPages: number;
    coveredMs: number;
  };
  precopy: PrecopyEstimate;
  writeFrequency: { hot: number; warm: number; cold: number; hotShare: number; warmShare: number };
  perVma: VmaWriteRow[];
  /**
   * Ticks recorded while watching a sample of the pages (--max-overhead): their written ranges
   * are the sample's, so the write figures above undercount (they are what was seen).
   */
  sampledTicks: number;
  /** What watching cost the target, as estimated tick by tick (overheadSummary); null unwatched. */
  overhead: OverheadSummary | null;
  notes: Recording['notes'];
}

/**
 * The recorded ticks' estimates of the share of the target's CPU time spent on write faults
 * (core/watch/overhead.ts), over the ticks that watched anything: the median figure and the
 * medians of its stated range's ends (null when no tick stated one: an older recording), and
 * the peak with its tick.
 */
export interface OverheadSummary {
  ticks: number;
  medianPct: number;
  medianLowPct: number | null;
  medianHighPct: number | null;
  peakPct: number;
  peakTick: number;
}

export function overheadSummary(
  counters: ReadonlyArray<
    Pick<
      TickCounters,
      'tick' | 'watched' | 'estOverheadPct' | 'estOverheadLowPct' | 'estOverheadHighPct'
    >
  >,
): OverheadSummary | null {
  const watched = counters.filter((c) => c.watched > 0);
  if (!watched.length) return null;
  const median = (v: number[]): number | null => {
    if (!v.length) return null;
    const s = [...v].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  };
  const stated = watched.filter((c) => c.estOverheadLowPct >= 0 && c.estOverheadHighPct >= 0);
  let peak = watched[0];
  for (const c of watched) if (c.estOverheadPct > peak.estOverheadPct) peak = c;
  return {
    ticks: watched.length,
    medianPct: median(watched.map((c) => c.estOverheadPct))!,
    medianLowPct: median(stated.map((c) => c.estOverheadLowPct)),
    medianHighPct: median(stated.map((c) => c.estOverheadHighPct)),
    peakPct: peak.estOverheadPct,
    peakTick: peak.tick,
  };
}

export function windowName(ms: number): string {
  return ms === Infinity ? 'whole run' : ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`;
}

export function buildReport(rec: Recording, linkBytesPerSecond: number): RecordingReport {
  const series = seriesOf(rec);
  const ticks = rec.ticks;
  const first = ticks[0]?.counters;
  const last = ticks[ticks.length - 1]?.counters;
  const workingSet = WORKING_SET_WINDOWS_MS.map((w) => {
    const s = windowSummary(series, w);
    return {
      window: windowName(w),
      windowMs: w === Infinity ? null : w,
      last: s.last,
      mean: s.mean === null ? null : Math.round(s.mean * 10) / 10,
      peak: s.peak,
      positions: s.positions,
      spanningGap: s.spanningGap,
      lastSpansGap: s.lastSpansGap,
      peakSpansGap: s.peakSpansGap,
    };
  });
  const rate = dirtyRate(series, 1000);
  const timing = tickTiming(series);
  const freq = writeFrequency(series, { runs: false });
  const minutes = (rec.durationMs + rec.header.intervalMs) / 60_000;
  return {
    file: {
      bytes: rec.fileBytes,
      truncated: rec.truncated,
      endedCleanly: rec.end !== null,
      endReason: rec.end?.reason ?? null,
    },
    process: rec.header.process,
    kernel: rec.header.kernel,
    createdAt: rec.header.createdAt,
    intervalMs: rec.header.intervalMs,
    watching: rec.header.watching,
    ticks: ticks.length,
    durationMs: rec.durationMs,
    timing: {
      askedIntervalMs: timing.askedIntervalMs,
      meanIntervalMs: timing.meanIntervalMs,
      medianIntervalMs: timing.medianIntervalMs,
      skipped: ticks.reduce((a, t) => a + t.counters.skipped, 0),
      gapFactor: GAP_FACTOR,
      gaps: {
        count: timing.gaps.count,
        longestMs: timing.gaps.longestMs,
        list: timing.gaps.list.map((g) => ({ tick: ticks[g.index].counters.tick, ...g })),
      },
    },
    bytesPerMinute: ticks.length ? Math.round(rec.fileBytes / minutes) : 0,
    pages: {
      presentFirst: first?.present ?? 0,
      presentLast: last?.present ?? 0,
      swappedLast: last?.swapped ?? 0,
      watchedLast: last?.watched ?? 0,
    },
    workingSet,
    dirtyRate: {
      windowMs: rate.windowMs,
      meanMiBps: rate.meanMiBps,
      peakMiBps: rate.peakMiBps,
      meanBytesPerSecond: rate.meanBytesPerSecond,
      writtenPages: rate.writtenPages,
      coveredMs: rate.coveredMs,
    },
    precopy: precopyEstimate(series, { linkBytesPerSecond }),
    writeFrequency: {
      hot: freq.hot,
      warm: freq.warm,
      cold: freq.cold,
      hotShare: HOT_SHARE,
      warmShare: WARM_SHARE,
    },
    perVma: perVmaWrites(series, (i) => rec.vmasAt(i).vmas),
    sampledTicks: ticks.filter((t) => t.counters.sampleFraction < 1).length,
    overhead: overheadSummary(ticks.map((t) => t.counters)),
    notes: rec.notes,
  };
}

/** One tick's counters for one VMA. Watched is null for overview-only ticks (not recorded there). */
export interface VmaTickCounters {
  tick: number;
  t: number;
  vma: number;
  start: string;
  end: string;
  path: string;
  label: string;
  present: number | null;
  swapped: number | null;
  watched: number | null;
  written: number;
}

const CHUNK = 4096;
const ZERO = Buffer.alloc(CHUNK * 2);

/** Present / swapped / watched pages per VMA of one tick's states (zero chunks skipped). */
export function countPerVma(
  states: Uint16Array,
  vmas: readonly VmaInfo[],
): Array<{ present: number; swapped: number; watched: number }> {
  const bytes = Buffer.from(states.buffer, states.byteOffset, states.byteLength);
  return vmas.map((v) => {
    let present = 0;
    let swapped = 0;
    let watched = 0;
    const s = v.offset;
    const e = v.offset + v.endPage - v.startPage;
    for (let c = s; c < e; c += CHUNK) {
      const ce = Math.min(e, c + CHUNK);
      if (bytes.compare(ZERO, 0, (ce - c) * 2, c * 2, ce * 2) === 0) continue;
      for (let p = c; p < ce; p++) {
        const b = states[p];
        if (b & PageBit.PRESENT) present++;
        if (b & PageBit.SWAPPED) swapped++;
        if (b & PageBit.WATCHED) watched++;
      }
    }
    return { present, swapped, watched };
  });
}

/** Present / swapped / watched pages per VMA of page states held as runs (page-codec.ts). */
export function countRunsPerVma(
  runs: PageRuns,
  vmas: readonly VmaInfo[],
): Array<{ present: number; swapped: number; watched: number }> {
  const out = vmas.map(() => ({ present: 0, swapped: 0, watched: 0 }));
  let v = 0;
  for (let k = 0; k < runs.count; k++) {
    const b = runs.vals[k];
    if (!(b & (PageBit.PRESENT | PageBit.SWAPPED | PageBit.WATCHED))) continue;
    const s = runs.starts[k];
    const e = runs.ends[k];
    while (v < vmas.length && vmas[v].offset + vmas[v].endPage - vmas[v].startPage <= s) v++;
    for (let u = v; u < vmas.length && vmas[u].offset < e; u++) {
      const vs = vmas[u].offset;
      const len = Math.min(e, vs + vmas[u].endPage - vmas[u].startPage) - Math.max(s, vs);
      if (len <= 0) continue;
      if (b & PageBit.PRESENT) out[u].present += len;
      if (b & PageBit.SWAPPED) out[u].swapped += len;
      if (b & PageBit.WATCHED) out[u].watched += len;
    }
  }
  return out;
}

/**
 * Calls `each` with every VMA's counters of every tick, in order. A VMA with nothing (no page
 * present, swapped, watched or written) is left out, except in the tick right after one where
 * it had something: that row of zeros ends its counters (a trace counter holds its last value).
 *
 * Page states are followed as runs (page-codec.ts applyRuns), never page by page, so the cost is
 * the runs and written ranges the file holds plus the VMAs of each tick, not the pages they
 * cover. A tick recorded as an overview only gives its exact per-VMA present, swapped and
 * written counts (watched is not recorded there: null).
 */
export function forEachVmaTick(rec: Recording, each: (row: VmaTickCounters) => void): void {
  let runs: PageRuns = emptyRuns();
  let runsTable = -1;
  let shown = new Set<string>();
  for (let i = 0; i < rec.ticks.length; i++) {
    const t = rec.ticks[i];
    const { vmas } = rec.tables[t.table];
    let counts: Array<{ present: number; swapped: number; watched: number | null }>;
    const written = new Float64Array(vmas.length);
    if (t.flags & TickFlag.PAGES) {
      if (t.flags & TickFlag.KEYFRAME) runs = emptyRuns();
      else if (runsTable !== t.table) runs = remapRuns(runs, rec.tables[runsTable].vmas, vmas);
      runsTable = t.table;
      const r = rec.tickBody(i);
      runs = applyRuns(r, runs, t.totalPages);
      r.end();
      counts = countRunsPerVma(runs, vmas);
      let v = 0;
      for (let q = 0; q + 1 < t.written.length; q += 2) {
        let s = t.written[q];
        const e = t.written[q + 1];
        while (s < e && v < vmas.length) {
          const ve = vmas[v].offset + vmas[v].endPage - vmas[v].startPage;
          if (ve <= s) {
            v++;
            continue;
          }
          const pe = Math.min(e, ve);
          written[v] += pe - s;
          s = pe;
        }
      }
    } else {
      runsTable = -1;
      const c = rec.vmaCountsAt(i);
      counts = vmas.map((_, k) => ({
        present: c[3 * k] ?? 0,
        swapped: c[3 * k + 1] ?? 0,
        watched: null,
      }));
      for (let k = 0; k < vmas.length; k++) written[k] = c[3 * k + 2] ?? 0;
    }
    const now = new Set<string>();
    vmas.forEach((vm, k) => {
      const c = counts[k];
      const key = `${vm.startPage}:${vm.path}`;
      const any = written[k] !== 0 || c.present !== 0 || c.swapped !== 0 || (c.watched ?? 0) !== 0;
      if (any) now.add(key);
      else if (!shown.has(key)) return;
      each({
        tick: t.counters.tick,
        t: t.counters.t,
        vma: k,
        start: vm.start,
        end: vm.end,
        path: vm.path,
        label: labelledName(vm),
        present: c.present,
        swapped: c.swapped,
        watched: c.watched,
        written: written[k],
      });
    });
    shown = now;
  }
}

export const pagesToMiB = (pages: number): number => (pages * PAGE_SIZE) / 2 ** 20;
