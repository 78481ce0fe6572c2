/**
 * Who wrote the pages of a tick (issue 23): the target's sampled page faults, matched against the
 * pages the tick reports written, and named.
 *
 * Strategy:
 * - Every first write to a watched page in a tick is a write-protect fault, sampled by
 *   FaultSampler (perf-event.ts). At each tick, right after the watcher's scan, the samples since
 *   the last tick are drained. A sample counts as a write when its address lies in a page the
 *   tick reports written (binary search in the tick's sorted regions); every other fault (memory
 *   not watched, page-ins, stack growth, code) is counted apart as `otherSamples`.
 * - A write between the scan and the drain has its sample drained now but its page reported next
 *   tick: samples that match nothing are kept for one more tick and tried again then.
 * - Writers are (function, thread) pairs: the function of the leaf frame (demangled; a module
 *   and offset where it has no symbol; the JIT name from perf-PID.map) and the thread's name.
 *   At period 1 `pages` is exact: the distinct written pages with a sample of that writer. At a
 *   period N each sample stands for about N faults, and `pages` is an estimate (samples x N,
 *   `estimated: true`). `share` is the writer's share of the pages (period 1) or samples.
 * - Call stacks are aggregated too (for record and pprof): leaf-first frame labels with the
 *   pages they wrote; `partial` when the frame-pointer chain was cut.
 * - Samples of other processes are counted apart: `inherit` follows fork(), so a child's faults
 *   come in too, at addresses that may be the target's own.
 * - What cannot be attributed: writes the kernel does into user memory (read() into a buffer,
 *   io_uring, DMA), and writes through another process's mapping of shared memory: they fault
 *   elsewhere or not at all.
 */
import { FaultSampler, type FaultSample, type FaultSamplerOptions } from '../kernel/perf-event.ts';
import { readMaps, type Vma } from '../proc/maps.ts';
import { vmaName } from '../protocol/vma-name.ts';
import { WHO_EVENT_WRITERS, WHO_WRITER_RANGES } from '../protocol/who-limits.ts';
import { pageRanges, type PageRange } from './page-ranges.ts';
import type { RegionList } from '../scan/region-list.ts';
import { demangleAll, frameLabel, Symbolizer, type SymbolizerOptions } from './symbols.ts';

export interface WriterRow {
  /** The writing function (leaf frame), as it reads. */
  fn: string;
  /** Its file's base name, "[jit]" or "?". */
  module: string;
  tid: number;
  thread: string;
  /** Written pages attributed to it (exact at period 1, else samples x period). */
  pages: number;
  samples: number;
  /** Its share of the tick's written pages (period 1) or of its write samples (period > 1), 0..1. */
  share: number;
  /** Some of its samples' call stacks were cut (no frame pointer, or the leaf only). */
  partial: boolean;
  /**
   * The pages its write samples hit, merged (page-ranges.ts), for the top WHO_EVENT_WRITERS
   * writers only; the others have none. Exact pages at period 1, sampled pages at period N.
   */
  ranges?: PageRange[];
  /** Ranges beyond WHO_WRITER_RANGES, counted. */
  moreRanges?: number;
}

export interface StackRow {
  /** Frame labels, leaf first. */
  frames: string[];
  tid: number;
  thread: string;
  pages: number;
  samples: number;
  partial: boolean;
}

/** The writers of one VMA in a tick (WhoOptions.byVma). */
export interface VmaWriters {
  /** The VMA's start address, hex without 0x (as in maps), and what it is. */
  startHex: string;
  label: string;
  writers: Array<{ fn: string; tid: number; thread: string; pages: number }>;
}

export interface WhoTick {
  period: number;
  /** pages are samples x period (period > 1), not counted pages. */
  estimated: boolean;
  /** Samples in pages the tick reports written. */
  writeSamples: number;
  /** Samples elsewhere (faults that are not writes to watched pages). */
  otherSamples: number;
  /** Exact count of the target's user page faults in the tick (all threads). */
  faults: number;
  /** Samples the kernel could not store (ring buffer full). */
  lost: number;
  throttled: number;
  /** Distinct written pages with at least one write sample. */
  attributedPages: number;
  /** Writers by pages, most first (all of them). */
  writers: WriterRow[];
  /** Call stacks by pages, most first (at most `maxStacks`). */
  stacks: StackRow[];
  /** Writers per VMA (only with WhoOptions.byVma), most pages first. */
  vmas: VmaWriters[];
  /** Time spent draining, matching and naming this tick, ms. */
  costMs: number;
}

export interface WhoOptions extends FaultSamplerOptions, SymbolizerOptions {
  /** Stacks kept per tick (default 200). */
  maxStacks?: number;
  /** Also group writers by VMA (reads the maps once per tick with writes). */
  byVma?: boolean;
}

function vmaAt(vmas: readonly Vma[], page: number): Vma | null {
  let lo = 0;
  let hi = vmas.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (vmas[mid].endPage <= page) lo = mid + 1;
    else if (vmas[mid].startPage > page) hi = mid - 1;
    else return vmas[mid];
  }
  return null;
}

/** Index of the region holding `page` in a sorted RegionList, or -1. */
export function regionOf(out: RegionList, page: number): number {
  let lo = 0;
  let hi = out.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (out.endPage[mid] <= page) lo = mid + 1;
    else if (out.startPage[mid] > page) hi = mid - 1;
    else return mid;
  }
  return -1;
}

export class WhoAttributor {
  symbols: Symbolizer;
  private pending: FaultSample[] = [];
  private readonly maxStacks: number;

  private constructor(
    readonly sampler: FaultSampler,
    private readonly options: WhoOptions,
  ) {
    this.symbols = new Symbolizer(sampler.pid, options);
    this.maxStacks = options.maxStacks ?? 200;
  }

  /** ms spent reading symbol tables when sampling started (prepare()). */
  prepareMs = 0;

  /**
   * Starts sampling `pid`, and reads its code's symbol tables now rather than in the first tick;
   * throws PerfUnavailableError (one sentence) where perf is refused.
   */
  static open(pid: number, options: WhoOptions = {}): WhoAttributor {
    const who = new WhoAttributor(FaultSampler.open(pid, options), options);
    who.prepareMs = who.symbols.prepare();
    return who;
  }

  get period(): number {
    return this.sampler.period;
  }

  /** Who wrote the tick's written pages: call right after the tick's scan. */
  tick(written: RegionList): WhoTick {
    const t0 = performance.now();
    const d = this.sampler.drain();
    this.symbols.refresh();
    const period = this.sampler.period;
    const all = this.pending.length ? this.pending.concat(d.samples) : d.samples;
    const carried = this.pending.length;
    this.pending = [];
    let writeSamples = 0;
    let otherSamples = 0;
    const pagesSeen = new Set<number>();
    interface Acc {
      fn: string;
      module: string;
      tid: number;
      pages: Set<number>;
      samples: number;
      partial: boolean;
    }
    const byWriter = new Map<string, Acc>();
    const byStack = new Map<string, Acc & { frames: string[] }>();
    const rawNames = new Set<string>();
    const matched: Array<{ s: FaultSample; page: number }> = [];
    for (let k = 0; k < all.length; k++) {
      const s = all[k];
      // inherit follows fork(): a child's faults come in too, at addresses that may equal the
      // target's; they are another process's writes.
      if (s.pid !== this.sampler.pid) {
        otherSamples++;
        continue;
      }
      const page = Math.floor(s.addr / 4096);
      if (regionOf(written, page) < 0) {
        if (k >= carried) this.pending.push(s);
        else otherSamples++;
        continue;
      }
      matched.push({ s, page });
    }
    for (const { s, page } of matched) {
      writeSamples++;
      pagesSeen.add(page);
      const st = this.symbols.stack(s.stack.length ? s.stack : [s.ip]);
      const leaf = st.frames[0] ?? this.symbols.frame(s.ip);
      for (const f of st.frames) if (f.fn) rawNames.add(f.fn);
      const label = frameLabel(leaf, s.ip);
      const wk = `${label}\0${s.tid}`;
      let w = byWriter.get(wk);
      if (!w) {
        w = {
          fn: label,
          module: leaf.module,
          tid: s.tid,
          pages: new Set(),
          samples: 0,
          partial: false,
        };
        byWriter.set(wk, w);
      }
      w.pages.add(page);
      w.samples++;
      w.partial ||= st.partial;
      if (this.maxStacks > 0) {
        const frames = st.frames.map((f, i) =>
          frameLabel(f, st.frames.length === 1 ? s.ip : s.stack[i]),
        );
        const sk = `${frames.join('\n')}\0${s.tid}`;
        let a = byStack.get(sk);
        if (!a) {
          a = {
            fn: label,
            module: leaf.module,
            tid: s.tid,
            pages: new Set(),
            samples: 0,
            partial: st.partial,
            frames,
          };
          byStack.set(sk, a);
        }
        a.pages.add(page);
        a.samples++;
      }
    }
    const names = demangleAll(rawNames);
    const vmas: VmaWriters[] = [];
    if (this.options.byVma && matched.length) {
      let maps: Vma[] = [];
      try {
        maps = readMaps(this.sampler.pid);
      } catch {
        // the process is gone: no VMA grouping this tick
      }
      const byVma = new Map<Vma, Map<string, { fn: string; tid: number; pages: Set<number> }>>();
      for (const { s, page } of matched) {
        const v = vmaAt(maps, page);
        if (!v) continue;
        let m = byVma.get(v);
        if (!m) byVma.set(v, (m = new Map()));
        const label = frameLabel(this.symbols.frame(s.ip), s.ip);
        const k = `${label}\0${s.tid}`;
        let e = m.get(k);
        if (!e) m.set(k, (e = { fn: label, tid: s.tid, pages: new Set() }));
        e.pages.add(page);
      }
      for (const [v, m] of byVma) {
        const ws = [...m.values()]
          .map((e) => ({
            fn: names.get(e.fn) ?? e.fn,
            tid: e.tid,
            thread: this.symbols.threadName(e.tid),
            pages: period === 1 ? e.pages.size : e.pages.size * period,
          }))
          .sort((a, b) => b.pages - a.pages);
        vmas.push({
          startHex: v.startHex,
          label: vmaName(v.path) || `anon@0x${v.startHex}`,
          writers: ws,
        });
      }
      vmas.sort(
        (a, b) =>
          b.writers.reduce((n, w) => n + w.pages, 0) - a.writers.reduce((n, w) => n + w.pages, 0),
      );
    }
    const nice = (label: string): string => names.get(label) ?? label;
    const pagesOf = (a: Acc): number => (period === 1 ? a.pages.size : a.samples * period);
    const rows = [...byWriter.values()]
      .map((w) => ({
        row: {
          fn: nice(w.fn),
          module: w.module,
          tid: w.tid,
          thread: this.symbols.threadName(w.tid),
          pages: pagesOf(w),
          samples: w.samples,
          share: 0,
          partial: w.partial,
        } as WriterRow,
        pageSet: w.pages,
      }))
      .sort(
        (a, b) =>
          b.row.pages - a.row.pages ||
          b.row.samples - a.row.samples ||
          (a.row.fn < b.row.fn ? -1 : 1),
      );
    // Page ranges for the writers the UI is sent (the by-writer highlight), not for every one.
    for (const r of rows.slice(0, WHO_EVENT_WRITERS)) {
      const { ranges, moreRanges } = pageRanges(r.pageSet, WHO_WRITER_RANGES);
      r.row.ranges = ranges;
      r.row.moreRanges = moreRanges;
    }
    const writers: WriterRow[] = rows.map((r) => r.row);
    // Shares of pages at period 1 (a page written twice in a tick faults once; a fresh page may
    // fault twice), of samples otherwise.
    const total = writers.reduce((n, w) => n + (period === 1 ? w.pages : w.samples), 0);
    for (const w of writers) w.share = total ? (period === 1 ? w.pages : w.samples) / total : 0;
    const stacks: StackRow[] = [...byStack.values()]
      .map((a) => ({
        frames: a.frames.map(nice),
        tid: a.tid,
        thread: this.symbols.threadName(a.tid),
        pages: pagesOf(a),
        samples: a.samples,
        partial: a.partial,
      }))
      .sort((a, b) => b.pages - a.pages || b.samples - a.samples)
      .slice(0, this.maxStacks);
    return {
      period,
      estimated: period > 1,
      writeSamples,
      otherSamples,
      faults: d.faults,
      lost: d.lost,
      throttled: d.throttled,
      attributedPages: pagesSeen.size,
      writers,
      stacks,
      vmas,
      costMs: performance.now() - t0,
    };
  }

  /** The process executed a new program: forget its code's names (the samples go on). */
  newProgram(): void {
    this.symbols = new Symbolizer(this.sampler.pid, this.options);
    this.pending = [];
  }

  close(): void {
    this.sampler.close();
    this.pending = [];
  }
}

/** Writers summed by function (over threads) or by thread (over functions), most pages first. */
export function groupWriters(rows: readonly WriterRow[], by: 'fn' | 'thread'): WriterRow[] {
  const m = new Map<string, WriterRow>();
  for (const r of rows) {
    const k = by === 'fn' ? `${r.fn}\0${r.module}` : String(r.tid);
    const had = m.get(k);
    if (had) {
      had.pages += r.pages;
      had.samples += r.samples;
      had.share += r.share;
      had.partial ||= r.partial;
    } else m.set(k, { ...r });
  }
  return [...m.values()].sort((a, b) => b.pages - a.pages || b.samples - a.samples);
}
