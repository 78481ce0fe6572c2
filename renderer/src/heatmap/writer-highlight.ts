/**
 * The "by writer" colour mode (issue 23): which heatmap cells hold pages a picked writer wrote.
 * Pure, so the page -> cell mapping is unit-tested and the painter only fills the cells.
 *
 * A range of page numbers is cut at each VMA of the table it overlaps (pages outside every VMA
 * have no cell), moved to the collapsed space (VMA offset), then to display indices (a squeezed
 * stretch maps onto its few indices), clipped to the view and turned into cells: a cell holding
 * any such page is highlighted (at several pages a cell, one written page lights the cell).
 * Cells are linear (row * cols + col: a row is cols cells of pagesPerCell pages).
 */
import type { VmaInfo } from '../../../core/protocol/shapes.ts';
import type { DisplaySpace } from './display-space.ts';
import type { Layout } from './viewport.ts';

export interface WriterHighlight {
  /** Highlighted cells in view, linear, ascending, each once. */
  cells: Uint32Array;
  /** Highlighted cells per VMA (by its start, "0x..."); a cell spanning two VMAs counts in both. */
  byVma: Record<string, number>;
}

/** First VMA (table sorted by address) ending after `page`. */
function firstEndingAfter(vmas: readonly VmaInfo[], page: number): number {
  let lo = 0;
  let hi = vmas.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (vmas[mid].endPage <= page) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function highlightCells(
  ranges: ReadonlyArray<readonly [number, number]>,
  vmas: readonly VmaInfo[],
  space: DisplaySpace,
  layout: Layout,
): WriterHighlight {
  const all = new Set<number>();
  const perVma = new Map<string, Set<number>>();
  const ppc = layout.pagesPerCell;
  for (const [p, q] of ranges) {
    for (let i = firstEndingAfter(vmas, p); i < vmas.length && vmas[i].startPage < q; i++) {
      const v = vmas[i];
      const a = v.offset + Math.max(p, v.startPage) - v.startPage;
      const b = v.offset + Math.min(q, v.endPage) - v.startPage;
      if (a >= b) continue;
      const lo = Math.max(space.toDisplay(a), layout.firstIndex);
      const hi = Math.min(space.toDisplayEnd(b), layout.endIndex);
      if (lo >= hi) continue;
      const k0 = Math.floor((lo - layout.firstIndex) / ppc);
      const k1 = Math.floor((hi - 1 - layout.firstIndex) / ppc);
      let mine = perVma.get(v.start);
      if (!mine) perVma.set(v.start, (mine = new Set()));
      for (let k = k0; k <= k1; k++) {
        all.add(k);
        mine.add(k);
      }
    }
  }
  const cells = Uint32Array.from(all).sort();
  const byVma: Record<string, number> = {};
  for (const [start, set] of perVma) byVma[start] = set.size;
  return { cells, byVma };
}
