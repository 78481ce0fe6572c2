/**
 * "Who writes" in the UI (issue 23): whether writer sampling is on for the session, why not when
 * the host refused, and the writers of the last tick and of every tick seen since it was turned
 * on (a replay: every tick played so far, each counted once however often it is shown).
 *
 * The reducer (`addTick`) is pure and unit-tested; the zustand store only holds its result. Who
 * events carry writers per tick and per VMA, and the top writers' page ranges: the panel and the
 * tooltip say which functions and threads wrote how many pages, and which wrote in a given VMA;
 * a writer picked in the panel (`picked`) has its pages of the latest tick highlighted on the
 * heatmap (`pickedRanges`: the "by writer" colour mode).
 */
import { create } from 'zustand';
import type { WhoEvent, WhoTickInfo, WhoVma } from '../../../core/protocol/who.ts';

/** One row of the panel: a function (in a module) or a thread, with its pages. */
export interface WriterTotal {
  key: string;
  /** "fill_alpha (who-writer)" or "writer-a (tid 123)". */
  label: string;
  pages: number;
  /** Some stacks were cut: the function is the leaf frame only. */
  partial: boolean;
}

export interface WhoTotals {
  /** Pages written over the ticks counted, all writers (those not listed included). */
  pages: number;
  functions: Map<string, WriterTotal>;
  threads: Map<string, WriterTotal>;
  /** Ticks counted (each once). */
  ticks: Set<number>;
  /** Pages are samples x period somewhere in these ticks. */
  estimated: boolean;
}

export interface WhoState {
  /** The session these figures belong to (null: none). */
  sessionId: number | null;
  /** Sampling asked for and granted on the live session. */
  enabled: boolean;
  /** A request under way (the toggle is busy). */
  pending: boolean;
  /** The host's one sentence when it refused (perf not allowed...), shown under the toggle. */
  refused: string | null;
  last: { tick: number; who: WhoTickInfo } | null;
  /** The latest tick that named writers (a tick of other faults only does not clear a highlight). */
  lastWriters: { tick: number; who: WhoTickInfo } | null;
  totals: WhoTotals;
  /** Each VMA's writers in the latest tick that wrote in it, by start address (from "0x..."). */
  byVma: Map<number, WhoVma>;
  /** The writer picked in the panel (its pages highlighted on the heatmap), or null. */
  picked: PickedWriter | null;
}

/** A row of the panel picked for the heatmap's highlight. */
export interface PickedWriter {
  by: 'function' | 'thread';
  /** The row's key (tickRows / addTick). */
  key: string;
  label: string;
}

export const emptyTotals = (): WhoTotals => ({
  pages: 0,
  functions: new Map(),
  threads: new Map(),
  ticks: new Set(),
  estimated: false,
});

export const initialWho = (): WhoState => ({
  sessionId: null,
  enabled: false,
  pending: false,
  refused: null,
  last: null,
  lastWriters: null,
  totals: emptyTotals(),
  byVma: new Map(),
  picked: null,
});

export const useWho = create<WhoState>(() => initialWho());

export const fnKey = (fn: string, module: string): string => `${fn}\u0000${module}`;

/**
 * The page ranges ([startPage, endPage) page numbers) the picked writer's samples hit in the
 * latest tick with writes: every listed (function, thread) writer of the row joined. `sampled`
 * says the pages are a sample (period > 1); `moreRanges` counts ranges the host left out;
 * `missing` is true when the tick's writers carry no ranges (an older host or recording).
 */
export function pickedRanges(s: Pick<WhoState, 'picked' | 'lastWriters'>): {
  ranges: Array<[number, number]>;
  moreRanges: number;
  sampled: boolean;
  missing: boolean;
} | null {
  const p = s.picked;
  const last = s.lastWriters;
  if (!p || !last) return null;
  const ranges: Array<[number, number]> = [];
  let moreRanges = 0;
  let missing = false;
  for (const w of last.who.writers) {
    const key = p.by === 'function' ? fnKey(w.fn, w.module) : String(w.tid);
    if (key !== p.key) continue;
    if (!w.ranges) missing = true;
    else ranges.push(...w.ranges);
    moreRanges += w.moreRanges ?? 0;
  }
  return { ranges, moreRanges, sampled: last.who.period > 1, missing };
}

/** Pick a writer's row for the highlight, or clear it when that row is picked already. */
export function togglePicked(s: WhoState, p: PickedWriter): WhoState {
  const same = s.picked !== null && s.picked.by === p.by && s.picked.key === p.key;
  return { ...s, picked: same ? null : p };
}

function add(
  m: Map<string, WriterTotal>,
  key: string,
  label: string,
  pages: number,
  partial: boolean,
) {
  const t = m.get(key);
  if (t) {
    t.pages += pages;
    t.partial ||= partial;
  } else m.set(key, { key, label, pages, partial });
}

/**
 * The totals with one more tick (a new object; `t` is not changed). A tick already counted is
 * not counted again (a replay shows a tick again when seeking back or playing from the start).
 */
export function addTick(t: WhoTotals, tick: number, who: WhoTickInfo): WhoTotals {
  if (t.ticks.has(tick)) return t;
  const functions = new Map([...t.functions].map(([k, v]) => [k, { ...v }]));
  const threads = new Map([...t.threads].map(([k, v]) => [k, { ...v }]));
  for (const w of who.writers) {
    add(functions, fnKey(w.fn, w.module), `${w.fn} (${w.module})`, w.pages, w.partial);
    add(threads, String(w.tid), `${w.thread} (tid ${w.tid})`, w.pages, false);
  }
  return {
    // Listed writers are the top ones: the tick's total counts every writer.
    pages: t.pages + Math.max(who.attributedPages, sum(who.writers.map((w) => w.pages))),
    functions,
    threads,
    ticks: new Set(t.ticks).add(tick),
    estimated: t.estimated || who.estimated,
  };
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

/** A tick's writers grouped by function or by thread, most pages first, with shares. */
export function tickRows(who: WhoTickInfo, by: 'function' | 'thread'): WriterTotal[] {
  const m = new Map<string, WriterTotal>();
  for (const w of who.writers)
    if (by === 'function')
      add(m, fnKey(w.fn, w.module), `${w.fn} (${w.module})`, w.pages, w.partial);
    else add(m, String(w.tid), `${w.thread} (tid ${w.tid})`, w.pages, false);
  return ranked(m);
}

/** Rows most pages first (ties by label, so the order is stable). */
export function ranked(m: Map<string, WriterTotal>): WriterTotal[] {
  return [...m.values()].sort((a, b) => b.pages - a.pages || a.label.localeCompare(b.label));
}

/** The state after a `who` event of the current session (the reducer the event handler uses). */
export function onWho(s: WhoState, e: WhoEvent): WhoState {
  const fresh = s.sessionId !== e.sessionId;
  const base = fresh ? { ...initialWho(), sessionId: e.sessionId } : s;
  return {
    ...base,
    last: { tick: e.tick, who: e.who },
    lastWriters: e.who.writers.length ? { tick: e.tick, who: e.who } : base.lastWriters,
    totals: addTick(base.totals, e.tick, e.who),
    // Each VMA keeps the writers of the latest tick that wrote in it.
    byVma: new Map([...base.byVma, ...e.who.vmas.map((v) => [parseInt(v.start, 16), v] as const)]),
  };
}

/** The words for a VMA's top writers in the latest tick that wrote there, or null. */
export function vmaWritersText(start: string, s: WhoState = useWho.getState()): string | null {
  const v = s.byVma.get(parseInt(start, 16));
  if (!v || v.writers.length === 0) return null;
  const total = sum(v.writers.map((w) => w.pages));
  const parts = v.writers.map(
    (w) => `${w.fn} in ${w.thread} ${total > 0 ? Math.round((100 * w.pages) / total) : 0}%`,
  );
  return `Latest writers: ${parts.join(', ')}`;
}

/** Forget everything (session ended, another one started). */
export function resetWho(sessionId: number | null = null): void {
  useWho.setState({ ...initialWho(), sessionId });
}
