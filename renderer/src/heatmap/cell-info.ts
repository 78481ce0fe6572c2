/**
 * What one heatmap cell holds, in words: the tooltip's lines (address, VMA, categories, write
 * heat). The same text is shown on hover and, for the keyboard cursor, announced through a polite
 * live region — so it is built in one place from the frame, the VMA table and the display space.
 */
import { HISTOGRAM_WIDTH, PAGE_BIT_NAMES } from '../../../core/protocol/page-bits.ts';
import type { Frame } from '../../../core/protocol/frame.ts';
import type { VmaInfo } from '../../../core/protocol/messages.ts';
import { vmaName } from '../../../core/protocol/vma-name.ts';
import { addressAtIndex, vmaAtIndex } from '../store.ts';
import { vmaWritersText } from '../who/store.ts';
import { fmt } from '../theme.ts';
import type { DisplaySpace } from './display-space.ts';
import type { HeatStore } from './heat.ts';

export interface CellInfo {
  /** Host index of the cell's first page and how many pages the cell covers. */
  index: number;
  pages: number;
  address: string;
  vma: string | null;
  categories: string;
  /** The VMA's top writers last tick (Who writes on), or null. */
  writers?: string | null;
}

export function cellInfo(
  didx: number,
  pagesPerCell: number,
  space: DisplaySpace,
  vmas: VmaInfo[],
  frame: Frame,
  heat: HeatStore | null,
): CellInfo {
  const idx = space.toHost(didx);
  const seg = space.segmentAtDisplay(didx);
  const v = vmaAtIndex(vmas, idx);
  const address = addressAtIndex(vmas, idx) ?? '?';
  const n = seg.squeezed
    ? seg.hostEnd - seg.hostStart
    : Math.max(1, Math.min(pagesPerCell, seg.hostEnd - idx));
  let cats: string;
  if (seg.squeezed) {
    cats = `no page table in all ${fmt.format(n)} pages (squeezed; turn off "Squeeze empty" to see it at full size)`;
  } else if (
    frame.window &&
    idx >= frame.window.startIndex &&
    idx + n <= frame.window.endIndex &&
    n === 1
  ) {
    const bits = frame.window.bits[idx - frame.window.startIndex];
    cats = PAGE_BIT_NAMES.filter((_, i) => bits & (1 << i)).join(', ') || 'no page table';
  } else {
    const B = frame.overview.pagesPerBucket;
    const bk = Math.min(frame.overview.buckets - 1, Math.floor(idx / B));
    const row = bk * HISTOGRAM_WIDTH;
    const size = Math.min(B, space.totalHost - bk * B);
    cats = PAGE_BIT_NAMES.map((name, i) => [name, frame.overview.histogram[row + i]] as const)
      .filter(([, c]) => c > 0)
      .map(([name, c]) => `${name} ${Math.round((100 * c) / size)}%`)
      .join(', ');
    cats = `${cats || 'no page table'} (bucket of ${fmt.format(size)} pages)`;
  }
  if (heat && v && v.watched !== 'no') {
    const lvl = heat.maxLevel(idx, idx + n, frame.tick);
    if (lvl > 0) cats += ` · write heat ${Math.round((lvl / 255) * 100)}%`;
  }
  return {
    index: idx,
    pages: n,
    address: address + (n > 1 ? ` · cell of ${fmt.format(n)} pages` : ''),
    vma: v
      ? `${vmaName(v.path) || v.label || '[' + v.kind + ']'} · ${v.perms} · ${v.start}–${v.end}`
      : null,
    categories: cats,
    writers: v ? vmaWritersText(v.start) : null,
  };
}

/** The sentence a screen reader hears for a cell. */
export function cellSentence(c: CellInfo): string {
  return [c.address, c.vma, c.categories, c.writers].filter(Boolean).join('. ') + '.';
}
