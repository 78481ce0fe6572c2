/**
 * The display space: the host's collapsed page space with big empty reservations squeezed.
 *
 * Real processes reserve far more than they use (a JavaScript engine's 8-10 GiB pointer cage, a
 * thread's guard reservation): drawn at their true size such stretches cover most of the heatmap
 * in "no page table" grey. The renderer squeezes every long run of overview buckets with no page
 * table at all to COMPACT_PAGES display indices, keeping its place and the VMA boundaries around
 * it. The map is piecewise linear: ordinary stretches keep one display index per page, each
 * squeezed stretch keeps COMPACT_PAGES indices (drawn as empty).
 */
import { HISTOGRAM_WIDTH } from '../../../core/protocol/page-bits.ts';

/** Display length of a squeezed stretch. */
export const COMPACT_PAGES = 256;
/** Only empty runs at least this long (pages) and this share of the space are squeezed. */
export const COMPACT_MIN_PAGES = 16_384;
export const COMPACT_MIN_SHARE = 0.02;

export interface Segment {
  hostStart: number;
  hostEnd: number;
  displayStart: number;
  /** True for a squeezed stretch: it has [displayStart, displayStart + COMPACT_PAGES). */
  squeezed: boolean;
}

export class DisplaySpace {
  readonly totalDisplay: number;

  constructor(
    readonly totalHost: number,
    readonly segments: Segment[],
  ) {
    const last = segments[segments.length - 1];
    this.totalDisplay = last ? last.displayStart + displayLength(last) : totalHost;
  }

  static identity(totalHost: number): DisplaySpace {
    return new DisplaySpace(totalHost, [
      { hostStart: 0, hostEnd: totalHost, displayStart: 0, squeezed: false },
    ]);
  }

  get isIdentity(): boolean {
    return this.segments.every((s) => !s.squeezed);
  }

  /** The segment holding a display index (clamped). */
  segmentAtDisplay(d: number): Segment {
    const segs = this.segments;
    let lo = 0;
    let hi = segs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (segs[mid].displayStart <= d) lo = mid;
      else hi = mid - 1;
    }
    return segs[lo];
  }

  segmentAtHost(h: number): Segment {
    const segs = this.segments;
    let lo = 0;
    let hi = segs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (segs[mid].hostStart <= h) lo = mid;
      else hi = mid - 1;
    }
    return segs[lo];
  }

  /** Host index of a display index (a squeezed stretch maps proportionally onto its pages). */
  toHost(d: number): number {
    const s = this.segmentAtDisplay(d);
    const rel = d - s.displayStart;
    if (!s.squeezed) return Math.min(s.hostEnd, s.hostStart + rel);
    const len = s.hostEnd - s.hostStart;
    return Math.min(s.hostEnd, s.hostStart + Math.floor((rel / COMPACT_PAGES) * len));
  }

  /** Display index of a host index. */
  toDisplay(h: number): number {
    if (h >= this.totalHost) return this.totalDisplay;
    const s = this.segmentAtHost(h);
    const rel = h - s.hostStart;
    if (!s.squeezed) return s.displayStart + rel;
    const len = s.hostEnd - s.hostStart;
    return s.displayStart + Math.floor((rel / len) * COMPACT_PAGES);
  }

  /** Display end (exclusive) of a host end (exclusive). */
  toDisplayEnd(h: number): number {
    if (h <= 0) return 0;
    return this.toDisplay(h - 1) + 1;
  }
}

function displayLength(s: Segment): number {
  return s.squeezed ? Math.min(COMPACT_PAGES, s.hostEnd - s.hostStart) : s.hostEnd - s.hostStart;
}

/**
 * Build the display space from the latest overview: inside every VMA at least
 * max(COMPACT_MIN_PAGES, COMPACT_MIN_SHARE of the space) long, squeeze each run of whole buckets
 * with no page table at all that is that long too. Runs never cross a VMA boundary and smaller
 * VMAs are never squeezed, so a region that is being written keeps its shape. Returns the
 * identity when nothing qualifies.
 */
export function buildDisplaySpace(
  totalHost: number,
  overview: { buckets: number; pagesPerBucket: number; histogram: Uint32Array } | null,
  vmas: ReadonlyArray<{ offset: number; startPage: number; endPage: number }>,
): DisplaySpace {
  if (!overview || overview.buckets === 0) return DisplaySpace.identity(totalHost);
  const minPages = Math.max(COMPACT_MIN_PAGES, totalHost * COMPACT_MIN_SHARE);
  const B = overview.pagesPerBucket;
  const h = overview.histogram;
  const segments: Segment[] = [];
  let display = 0;
  let kept = 0; // host start of the current ordinary run
  for (const v of vmas) {
    const len = v.endPage - v.startPage;
    if (len < minPages) continue;
    const kEnd = Math.min(overview.buckets, Math.floor((v.offset + len) / B));
    let k = Math.ceil(v.offset / B);
    while (k < kEnd) {
      if (!emptyBucket(h, k)) {
        k++;
        continue;
      }
      let e = k;
      while (e < kEnd && emptyBucket(h, e)) e++;
      const a = k * B;
      const b = e * B;
      if (b - a >= minPages && a >= kept) {
        if (a > kept) {
          segments.push({ hostStart: kept, hostEnd: a, displayStart: display, squeezed: false });
          display += a - kept;
        }
        segments.push({ hostStart: a, hostEnd: b, displayStart: display, squeezed: true });
        display += Math.min(COMPACT_PAGES, b - a);
        kept = b;
      }
      k = e;
    }
  }
  if (segments.length === 0) return DisplaySpace.identity(totalHost);
  if (kept < totalHost) {
    segments.push({ hostStart: kept, hostEnd: totalHost, displayStart: display, squeezed: false });
  }
  return new DisplaySpace(totalHost, segments);
}

function emptyBucket(h: Uint32Array, k: number): boolean {
  const row = k * HISTOGRAM_WIDTH;
  for (let bit = 0; bit < HISTOGRAM_WIDTH; bit++) if (h[row + bit] !== 0) return false;
  return true;
}

/** A key that changes exactly when the space's mapping does (for noticing a new space). */
export function spaceKey(space: DisplaySpace): string {
  return `${space.totalHost}|${space.segments.map((g) => `${g.hostStart}:${g.squeezed ? 1 : 0}`).join(',')}`;
}
