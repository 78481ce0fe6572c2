/**
 * Comparing two ticks of a recording: which pages changed state between tick A and tick B.
 *
 * A page's state is `none` (no page in memory: never touched, dropped, or a guard), `present`
 * (in RAM) or `swapped`. Pages are matched by address: A's states are carried into B's layout
 * (remapPages), so a VMA that moved or grew compares page by page where the addresses agree;
 * pages of B that A did not map count as `none` at A, and pages of A that B no longer maps are
 * counted apart (`unmapped`). "Written between" is the union of the written ranges of the ticks
 * after A up to B. The per-page `codes` are the diff colour mode: one byte per page of B's layout.
 */
import type { VmaInfo } from '../protocol/messages.ts';
import { PageBit } from '../protocol/page-bits.ts';
import { remapPages } from './page-codec.ts';
import type { Recording } from './reader.ts';
import type { VmaDeltaInfo } from '../protocol/recording.ts';

export const STATES = ['none', 'present', 'swapped'] as const;
export type PageState = (typeof STATES)[number];

/** Per-page diff code: stateA * 3 + stateB, plus WRITTEN_BETWEEN when written in (A, B]. */
export const WRITTEN_BETWEEN = 16;

export function stateOf(bits: number): number {
  return bits & PageBit.PRESENT ? 1 : bits & PageBit.SWAPPED ? 2 : 0;
}

/** One VMA's change between two ticks (the protocol's shape, sent to the UI as it is). */
export type VmaDelta = VmaDeltaInfo;

export interface TickDiff {
  tickA: number;
  tickB: number;
  /** transitions[a][b]: pages in state STATES[a] at A and STATES[b] at B (B's layout). */
  transitions: number[][];
  becamePresent: number;
  becameSwapped: number;
  becameNotPresent: number;
  writtenBetween: number;
  /** Pages of A no longer mapped at B, and how many of those were present or swapped at A. */
  unmapped: { pages: number; presentOrSwapped: number };
  perVma: VmaDelta[];
  /** One code per page of B's layout (see WRITTEN_BETWEEN). */
  codes: Uint8Array;
}

/** Page states of tick A and B in B's layout, and the VMA tables, as comparePages needs them. */
export interface ComparedTicks {
  pagesA: Uint16Array;
  vmasA: readonly VmaInfo[];
  pagesB: Uint16Array;
  vmasB: readonly VmaInfo[];
  /** Union of written ranges after A up to B, in B's collapsed indices. */
  writtenBetween: ArrayLike<number>;
}

export function comparePages(c: ComparedTicks, tickA = 0, tickB = 0): TickDiff {
  const totalB = c.pagesB.length;
  const a = remapPages(c.pagesA, c.vmasA, c.vmasB, totalB);
  // Pages of A that B still maps: carry a "mapped" mark the same way, backwards.
  const stillB = remapPages(new Uint16Array(totalB).fill(1), c.vmasB, c.vmasA, c.pagesA.length);
  let unmappedPages = 0;
  let unmappedHeld = 0;
  for (let p = 0; p < c.pagesA.length; p++)
    if (stillB[p] === 0) {
      unmappedPages++;
      if (stateOf(c.pagesA[p]) !== 0) unmappedHeld++;
    }
  const codes = new Uint8Array(totalB);
  const transitions = STATES.map(() => STATES.map(() => 0));
  const perVma: VmaDelta[] = c.vmasB.map((v) => {
    const d: VmaDelta = {
      index: v.index,
      start: v.start,
      end: v.end,
      path: v.path,
      presentA: 0,
      presentB: 0,
      swappedA: 0,
      swappedB: 0,
      writtenBetween: 0,
    };
    if (v.label) d.label = v.label;
    return d;
  });
  let v = 0;
  for (let p = 0; p < totalB; p++) {
    while (v < c.vmasB.length - 1 && c.vmasB[v + 1].offset <= p) v++;
    const sa = stateOf(a[p]);
    const sb = stateOf(c.pagesB[p]);
    transitions[sa][sb]++;
    codes[p] = sa * 3 + sb;
    const d = perVma[v];
    if (d) {
      if (sa === 1) d.presentA++;
      else if (sa === 2) d.swappedA++;
      if (sb === 1) d.presentB++;
      else if (sb === 2) d.swappedB++;
    }
  }
  let written = 0;
  v = 0;
  for (let r = 0; r + 1 < c.writtenBetween.length; r += 2) {
    for (let p = c.writtenBetween[r]; p < c.writtenBetween[r + 1]; p++) {
      codes[p] |= WRITTEN_BETWEEN;
      written++;
      while (v < c.vmasB.length - 1 && c.vmasB[v + 1].offset <= p) v++;
      if (perVma[v]) perVma[v].writtenBetween++;
    }
  }
  return {
    tickA,
    tickB,
    transitions,
    becamePresent: transitions[0][1] + transitions[2][1],
    becameSwapped: transitions[0][2] + transitions[1][2],
    becameNotPresent: transitions[1][0] + transitions[2][0],
    writtenBetween: written,
    unmapped: { pages: unmappedPages, presentOrSwapped: unmappedHeld },
    perVma,
    codes,
  };
}

/**
 * Union of [s, e, ...] range lists as sorted disjoint ranges: every start and every end sorted
 * apart (typed arrays, no pair objects), then one sweep that opens a range when the first range
 * covers a point and closes it when the last one ends.
 */
function unionRanges(lists: Float64Array[]): number[] {
  let n = 0;
  for (const l of lists) n += l.length >> 1;
  const starts = new Float64Array(n);
  const ends = new Float64Array(n);
  let k = 0;
  for (const l of lists)
    for (let i = 0; i + 1 < l.length; i += 2) {
      starts[k] = l[i];
      ends[k++] = l[i + 1];
    }
  starts.sort();
  ends.sort();
  const out: number[] = [];
  let depth = 0;
  let i = 0;
  let j = 0;
  while (j < n) {
    if (i < n && starts[i] <= ends[j]) {
      // A start at the point where a range ends continues it (touching ranges merge).
      if (depth++ === 0) {
        if (out.length && out[out.length - 1] === starts[i]) out.pop();
        else out.push(starts[i]);
      }
      i++;
    } else {
      if (--depth === 0) out.push(ends[j]);
      j++;
    }
  }
  return out;
}

/**
 * Compares tick A with tick B (indices into the recording, A before B). Both must have been
 * recorded page by page (Recording.hasPages).
 */
export function compareTicks(rec: Recording, a: number, b: number): TickDiff {
  if (a > b) [a, b] = [b, a];
  const pagesA = rec.pagesAt(a);
  const pagesB = rec.pagesAt(b);
  if (!pagesA || !pagesB)
    throw new RangeError(
      'These ticks were recorded as overviews only (the address space was too large), so they cannot be compared page by page.',
    );
  const vmasB = rec.vmasAt(b).vmas;
  // Written ranges of (A, B], each carried to B's layout through absolute addresses.
  const lists: Float64Array[] = [];
  for (let i = a + 1; i <= b; i++) {
    const abs = rec.writtenAbsolute(i);
    lists.push(toCollapsedOf(vmasB, abs));
  }
  return comparePages(
    {
      pagesA,
      vmasA: rec.vmasAt(a).vmas,
      pagesB,
      vmasB,
      writtenBetween: unionRanges(lists),
    },
    a,
    b,
  );
}

/** Absolute page ranges -> collapsed indices of `vmas` (parts outside every VMA dropped). */
export function toCollapsedOf(vmas: readonly VmaInfo[], abs: Float64Array): Float64Array {
  const out: number[] = [];
  let v = 0;
  for (let r = 0; r + 1 < abs.length; r += 2) {
    let s = abs[r];
    const e = abs[r + 1];
    while (s < e) {
      while (v < vmas.length && vmas[v].endPage <= s) v++;
      if (v >= vmas.length || vmas[v].startPage >= e) break;
      const vm = vmas[v];
      s = Math.max(s, vm.startPage);
      const pe = Math.min(e, vm.endPage);
      out.push(vm.offset + s - vm.startPage, vm.offset + pe - vm.startPage);
      s = pe;
    }
  }
  return Float64Array.from(out);
}
