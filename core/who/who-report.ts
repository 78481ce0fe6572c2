/**
 * The writers of a recording (`record --who`), summed over its ticks: per VMA and overall, for
 * `pagescope report` (core/cli/commands/report.ts) and `export --format pprof` (pprof.ts).
 *
 * Pages add up tick by tick: a page written in ten ticks counts ten times (page writes, like the
 * report's PAGE WRITES column). A VMA is named by its start address and what it is; VMAs that
 * moved keep separate rows.
 */
import type { Recording } from '../record/reader.ts';

export interface WriterTotal {
  fn: string;
  thread: string;
  tid: number;
  pages: number;
  /** Its share of the VMA's (or the whole recording's) attributed page writes, 0..1. */
  share: number;
}

export interface VmaWriterTotals {
  start: string;
  label: string;
  pages: number;
  writers: WriterTotal[];
}

export interface WritersReport {
  /** Ticks with a WHO record. */
  ticks: number;
  /** Sampling periods seen (one in N faults; above 1 pages are estimates). */
  periods: number[];
  writeSamples: number;
  otherSamples: number;
  lost: number;
  overall: WriterTotal[];
  perVma: VmaWriterTotals[];
}

type Acc = Map<string, WriterTotal>;

function add(acc: Acc, fn: string, thread: string, tid: number, pages: number): void {
  const k = `${fn}\0${thread}\0${tid}`;
  const had = acc.get(k);
  if (had) had.pages += pages;
  else acc.set(k, { fn, thread, tid, pages, share: 0 });
}

function rank(acc: Acc, top: number): { rows: WriterTotal[]; total: number } {
  const rows = [...acc.values()].sort((a, b) => b.pages - a.pages || (a.fn < b.fn ? -1 : 1));
  const total = rows.reduce((n, r) => n + r.pages, 0);
  for (const r of rows) r.share = total ? r.pages / total : 0;
  return { rows: rows.slice(0, top), total };
}

/** null when the recording holds no writers (made without --who, or version 1). */
export function writersReport(rec: Recording, top = 10): WritersReport | null {
  if (rec.who.size === 0) return null;
  const overall: Acc = new Map();
  const vmas = new Map<string, { start: string; label: string; acc: Acc }>();
  const periods = new Set<number>();
  let writeSamples = 0;
  let otherSamples = 0;
  let lost = 0;
  for (const w of rec.who.values()) {
    periods.add(w.period);
    writeSamples += w.writeSamples;
    otherSamples += w.otherSamples;
    lost += w.lost;
    for (const x of w.writers) add(overall, x.fn, x.thread, x.tid, x.pages);
    for (const v of w.vmas) {
      const k = `${v.startHex}\0${v.label}`;
      let e = vmas.get(k);
      if (!e) vmas.set(k, (e = { start: v.startHex, label: v.label, acc: new Map() }));
      for (const x of v.writers) add(e.acc, x.fn, x.thread, x.tid, x.pages);
    }
  }
  const perVma = [...vmas.values()]
    .map((v) => {
      const { rows, total } = rank(v.acc, top);
      return { start: v.start, label: v.label, pages: total, writers: rows };
    })
    .sort((a, b) => b.pages - a.pages);
  return {
    ticks: rec.who.size,
    periods: [...periods].sort((a, b) => a - b),
    writeSamples,
    otherSamples,
    lost,
    overall: rank(overall, top).rows,
    perVma,
  };
}
