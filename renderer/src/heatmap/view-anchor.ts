/**
 * Where the heatmap's view goes when something under it changes, as pure functions of the old
 * and new state (no DOM, no d3): each returns the zoom state {k, y} to apply, or null to leave
 * the view alone. The React shell applies the answer through d3-zoom.
 *
 * - the canvas is resized: the page at the top of the view stays at the top;
 * - the page space changes (a VMA grows or appears, pages fault into a squeezed stretch): the
 *   page at the centre of the view, by address, stays at the centre — read and placed only
 *   through spaces whose frame and VMA table belong together (followSpace);
 * - the keyboard cursor leaves the view: the view moves (same zoom) to show it;
 * - a zoom request names a host range: the view shows it with a little room around it (the
 *   range carried by address from the table it was made with to the one drawn, carryRange).
 */
import type { Frame } from '../../../core/protocol/frame.ts';
import type { VmaInfo } from '../../../core/protocol/messages.ts';
import { vmaAtIndex, vmaAtPage } from '../store.ts';
import { buildDisplaySpace, DisplaySpace, spaceKey } from './display-space.ts';
import { computeLayout, maxZoom, zoomToRange, type Layout, type ZoomState } from './viewport.ts';

export interface Size {
  width: number;
  height: number;
}

/** The zoom state that puts display index `top` at the top of the view at zoom k. */
export function zoomAtTop(top: number, totalDisplay: number, k: number, height: number): ZoomState {
  return { k, y: -(top / totalDisplay) * k * height };
}

/** Host index of a display end (exclusive): the end of the display space maps to the host's. */
export function hostEnd(space: DisplaySpace, d: number): number {
  return d >= space.totalDisplay ? space.totalHost : space.toHost(d);
}

/**
 * The canvas changes size: keep the page at the top of the view where it is (the zoom's y is a
 * fraction of the height, so a new height would move the view). Null when nothing needs moving
 * (no old size, zoomed out, empty space).
 */
export function zoomAfterResize(
  space: DisplaySpace,
  zoom: ZoomState,
  before: Size,
  after: Size,
): ZoomState | null {
  if (before.width <= 0 || zoom.k <= 1 || space.totalDisplay <= 0) return null;
  const top = computeLayout(space.totalDisplay, before.width, before.height, zoom).firstIndex;
  return zoomAtTop(top, space.totalDisplay, zoom.k, after.height);
}

/**
 * The page space changes from `before` to `after` (same canvas size and zoom): the zoom state
 * that keeps the page at the centre of the view (by address, so a VMA moving in the collapsed
 * space does not move the view) where it is, or null when the view need not move.
 *
 * A centre page inside a squeezed stretch is no anchor (the stretch is what changes): the first
 * page after the stretch is used, kept at its own distance from the top of the view.
 */
export function zoomAfterSpaceChange(
  before: { space: DisplaySpace; vmas: VmaInfo[] },
  after: { space: DisplaySpace; vmas: VmaInfo[] },
  zoom: ZoomState,
  size: Size,
): ZoomState | null {
  const old = before.space;
  if (old.totalHost <= 0 || zoom.k <= 1 || after.space.totalDisplay <= 0) return null;
  // Where the zoom puts the view in the old space (not the last drawn layout, which may predate
  // a zoom that has not been drawn yet).
  const view = computeLayout(old.totalDisplay, size.width, size.height, zoom);
  const space = after.space;
  let index = old.toHost(view.firstIndex + Math.floor((view.endIndex - view.firstIndex) / 2));
  // The centre page goes to the centre of the new view: at the same zoom a space that shrank
  // shows fewer pages, and the old half-height would put the page below the centre.
  const newView = computeLayout(space.totalDisplay, size.width, size.height, zoom);
  let half = Math.floor((newView.endIndex - newView.firstIndex) / 2);
  const seg = old.segmentAtHost(index);
  if (seg.squeezed) {
    // The page after the stretch keeps its own distance from the top.
    half = old.toDisplayEnd(seg.hostEnd) - view.firstIndex;
    index = Math.min(old.totalHost - 1, seg.hostEnd);
  }
  const v = vmaAtIndex(before.vmas, index);
  if (v) {
    const page = v.startPage + (index - v.offset);
    const moved = vmaAtPage(after.vmas, page);
    if (moved) index = moved.offset + (page - moved.startPage);
  }
  const top = Math.max(0, space.toDisplay(index) - half);
  const next = zoomAtTop(top, space.totalDisplay, zoom.k, size.height);
  return Math.abs(next.y - zoom.y) > 1e-6 ? next : null;
}

/** The display space being drawn and the VMA table it was built for. */
export interface SpaceState {
  space: DisplaySpace;
  /** spaceKey(space). */
  key: string;
  vmas: VmaInfo[];
  /** The total pages of `vmas` (the store's totalPages that came with it). */
  total: number;
  /**
   * The last space built from a frame and the table that frame was made for: where the view's
   * anchor is read. A space built from a frame and another table (drawn while one of them is on
   * its way) maps addresses to the wrong indices, so it is never anchored from or to.
   */
  anchor: { space: DisplaySpace; vmas: VmaInfo[] };
}

export const NO_SPACE: SpaceState = {
  space: DisplaySpace.identity(0),
  key: '',
  vmas: [],
  total: 0,
  anchor: { space: DisplaySpace.identity(0), vmas: [] },
};

/** What followSpace reads of the store. */
export interface TableState {
  vmas: VmaInfo[];
  totalPages: number;
  compact: boolean;
  zoom: ZoomState;
}

type FrameShape = Pick<Frame, 'totalPages' | 'overview' | 'vmaCounts'>;

/**
 * Whether a frame was made for a VMA table: same total pages and, when the frame counts pages
 * per VMA (a diff frame does not), as many VMAs. (The 'vmas' event carries no version to match
 * the frame's vmaVersion; a table change that keeps both is one this cannot see.)
 */
export function frameFits(frame: FrameShape, vmas: VmaInfo[], total: number): boolean {
  return (
    frame.totalPages === total &&
    (frame.vmaCounts.length === 0 || frame.vmaCounts.length === vmas.length * 3)
  );
}

/**
 * Follow the latest frame and VMA table: the space state to draw next and the zoom state that
 * keeps the view's anchor in place, or null when nothing changed.
 *
 * The host sends a new table (the 'vmas' event) before the first frame made for it, and a draw
 * can fall between the two (a loaded machine, the two messages in separate reads). Until the
 * frame comes, the table drawn so far is kept with the frame it fits. When neither table fits
 * the frame, it is drawn with the store's table but the view is not moved: the next space whose
 * frame and table agree is anchored from the last one that did (zoomAfterSpaceChange). Anchoring
 * through a mixed space is how the view was lost: an address whose new index lies past the old
 * space's end put the view at that end, and the next frame anchored on whatever page was there.
 */
export function followSpace(
  cur: SpaceState,
  frame: FrameShape | null,
  st: TableState,
  size: Size,
): { state: SpaceState; zoom: ZoomState | null } | null {
  let vmas = st.vmas;
  let total = st.totalPages;
  let fits = !frame || frameFits(frame, vmas, total);
  if (frame && !fits && cur.vmas.length > 0 && frameFits(frame, cur.vmas, cur.total)) {
    vmas = cur.vmas;
    total = cur.total;
    fits = true;
  }
  const hostTotal = frame?.totalPages ?? st.totalPages;
  const space =
    frame && st.compact
      ? buildDisplaySpace(hostTotal, frame.overview, vmas)
      : DisplaySpace.identity(hostTotal);
  const key = spaceKey(space);
  if (key === cur.key && vmas === cur.vmas) return null;
  if (!fits) return { state: { space, key, vmas, total, anchor: cur.anchor }, zoom: null };
  const zoom = zoomAfterSpaceChange(cur.anchor, { space, vmas }, st.zoom, size);
  return { state: { space, key, vmas, total, anchor: { space, vmas } }, zoom };
}

/** The view moved (same zoom) so that display index d is on screen, or null when it is. */
export function zoomToReveal(
  layout: Layout,
  d: number,
  totalDisplay: number,
  k: number,
  height: number,
): ZoomState | null {
  if (d >= layout.firstIndex && d < layout.endIndex) return null;
  const top = Math.max(0, d - Math.floor(layout.rows / 2) * layout.pagesPerRow);
  return zoomAtTop(top, totalDisplay, k, height);
}

/**
 * A range in the indices of one VMA table, in those of another, by address: a zoom request made
 * with the store's table, for the table being drawn. Unchanged when either end's page is in no
 * VMA of `to` (or of `from`).
 */
export function carryRange(
  range: { start: number; end: number },
  from: VmaInfo[],
  to: VmaInfo[],
): { start: number; end: number } {
  if (from === to || range.end <= range.start) return range;
  const carry = (i: number): number | null => {
    const v = vmaAtIndex(from, i);
    if (!v) return null;
    const page = v.startPage + (i - v.offset);
    const w = vmaAtPage(to, page);
    return w ? w.offset + (page - w.startPage) : null;
  };
  const a = carry(range.start);
  const b = carry(range.end - 1);
  return a === null || b === null || b < a ? range : { start: a, end: b + 1 };
}

/** The zoom state for a zoom request: the host range with room around it, or all of it. */
export function zoomForRequest(
  space: DisplaySpace,
  range: { start: number; end: number } | null,
  size: Size,
): ZoomState {
  if (!range) return { k: 1, y: 0 };
  const total = space.totalDisplay;
  return zoomToRange(
    total,
    size.height,
    space.toDisplay(range.start),
    space.toDisplayEnd(range.end),
    maxZoom(total, size.width, size.height),
  );
}
