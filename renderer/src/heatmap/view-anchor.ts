/**
 * Where the heatmap's view goes when something under it changes, as pure functions of the old
 * and new state (no DOM, no d3): each returns the zoom state {k, y} to apply, or null to leave
 * the view alone. The React shell applies the answer through d3-zoom.
 *
 * - the canvas is resized: the page at the top of the view stays at the top;
 * - the page space changes (a VMA grows or appears, pages fault into a squeezed stretch): the
 *   page at the centre of the view, by address, stays at the centre;
 * - the keyboard cursor leaves the view: the view moves (same zoom) to show it;
 * - a zoom request names a host range: the view shows it with a little room around it.
 */
import type { VmaInfo } from '../../../core/protocol/messages.ts';
import { vmaAtIndex, vmaAtPage } from '../store.ts';
import type { DisplaySpace } from './display-space.ts';
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
  let half = Math.floor((view.endIndex - view.firstIndex) / 2);
  let index = old.toHost(view.firstIndex + half);
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
  const space = after.space;
  const top = Math.max(0, space.toDisplay(index) - half);
  const next = zoomAtTop(top, space.totalDisplay, zoom.k, size.height);
  return Math.abs(next.y - zoom.y) > 1e-6 ? next : null;
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
