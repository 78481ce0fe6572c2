/**
 * The built-in demo as the UI knows it: the host labels the demo's regions "demo: NAME"
 * (core/demo/regions.ts), so the UI can find them without knowing addresses.
 */
import type { VmaInfo } from '../../core/protocol/messages.ts';
import type { Selection } from './store.ts';

export const DEMO_LABEL = 'demo: ';

export function isDemoRegion(v: VmaInfo): boolean {
  return v.label?.startsWith(DEMO_LABEL) ?? false;
}

/** Demo regions further apart than this (pages, 256 MiB) are in different clusters. */
export const CLUSTER_GAP_PAGES = 65_536;

/**
 * The demo's first view: the collapsed range [start, end) of the cluster holding the most demo
 * regions (ties: the most pages), or null when none is listed. The demo's regions need not be
 * neighbours — the runtime's own reservations can sit between them — and a span over all of
 * them can be the whole process, which is what the first view must not be.
 */
export function demoSpan(vmas: VmaInfo[]): Selection | null {
  const regions = vmas
    .filter(isDemoRegion)
    .map((v) => ({ start: v.offset, end: v.offset + v.endPage - v.startPage }))
    .sort((a, b) => a.start - b.start);
  let best: { span: Selection; count: number; pages: number } | null = null;
  let i = 0;
  while (i < regions.length) {
    const span = { ...regions[i] };
    let count = 1;
    let pages = span.end - span.start;
    let j = i + 1;
    while (j < regions.length && regions[j].start - span.end <= CLUSTER_GAP_PAGES) {
      span.end = Math.max(span.end, regions[j].end);
      pages += regions[j].end - regions[j].start;
      count++;
      j++;
    }
    if (!best || count > best.count || (count === best.count && pages > best.pages))
      best = { span, count, pages };
    i = j;
  }
  return best?.span ?? null;
}
