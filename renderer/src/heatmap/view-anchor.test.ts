import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { VmaInfo } from '../../../core/protocol/messages.ts';
import { COMPACT_PAGES, DisplaySpace } from './display-space.ts';
import {
  carryRange,
  followSpace,
  hostEnd,
  NO_SPACE,
  type SpaceState,
  zoomAfterResize,
  zoomAfterSpaceChange,
  zoomAtTop,
  zoomForRequest,
  zoomToReveal,
} from './view-anchor.ts';
import { computeLayout, type ZoomState } from './viewport.ts';

const vma = (offset: number, startPage: number, pages: number): VmaInfo =>
  ({
    offset,
    startPage,
    endPage: startPage + pages,
    start: `0x${startPage.toString(16)}`,
  }) as VmaInfo;

const size = { width: 900, height: 600 };

/** Host index at the centre of the view a zoom state gives. */
function centre(space: DisplaySpace, zoom: ZoomState): number {
  // The index zoomAfterSpaceChange anchors on.
  const l = computeLayout(space.totalDisplay, size.width, size.height, zoom);
  return space.toHost(l.firstIndex + Math.floor((l.endIndex - l.firstIndex) / 2));
}

describe('zoomAtTop', () => {
  it('puts the index at the top of the view', () => {
    const z = zoomAtTop(300_000, 1_000_000, 20, 600);
    const l = computeLayout(1_000_000, 900, 600, z);
    expect(l.firstIndex).toBeLessThanOrEqual(300_000);
    expect(300_000 - l.firstIndex).toBeLessThan(l.pagesPerRow);
  });
});

describe('zoomAfterResize', () => {
  it('leaves a zoomed-out or never-sized view alone', () => {
    const s = DisplaySpace.identity(1_000_000);
    expect(zoomAfterResize(s, { k: 1, y: 0 }, size, { width: 900, height: 300 })).toBeNull();
    expect(zoomAfterResize(s, { k: 8, y: -100 }, { width: 0, height: 0 }, size)).toBeNull();
  });
  it('keeps the page at the top of the view when the height changes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 10_000, max: 3_000_000 }),
        fc.double({ min: 2, max: 200, noNaN: true }),
        fc.double({ min: 0, max: 0.9, noNaN: true }),
        fc.integer({ min: 200, max: 1200 }),
        (total, k, frac, h2) => {
          const s = DisplaySpace.identity(total);
          const zoom = { k, y: -frac * k * size.height };
          const before = computeLayout(total, size.width, size.height, zoom);
          const after = { width: size.width, height: h2 };
          const z = zoomAfterResize(s, zoom, size, after)!;
          expect(z.k).toBe(k);
          const l = computeLayout(total, after.width, after.height, z);
          // Row-aligned: the old top is in the new top row, unless the view hit the end.
          if (l.endIndex < total) {
            expect(l.firstIndex).toBeLessThanOrEqual(before.firstIndex);
            expect(before.firstIndex - l.firstIndex).toBeLessThan(l.pagesPerRow);
          }
        },
      ),
    );
  });
});

describe('zoomAfterSpaceChange', () => {
  it('leaves a zoomed-out view alone', () => {
    const s = DisplaySpace.identity(100_000);
    const vmas = [vma(0, 1000, 100_000)];
    const t = { space: s, vmas };
    expect(zoomAfterSpaceChange(t, t, { k: 1, y: 0 }, size)).toBeNull();
  });
  it('an unchanged space keeps the view where it is', () => {
    const s = DisplaySpace.identity(1_000_000);
    const t = { space: s, vmas: [vma(0, 1000, 1_000_000)] };
    const zoom = { k: 50, y: -0.4 * 50 * 600 };
    const z = zoomAfterSpaceChange(t, { ...t, vmas: [...t.vmas] }, zoom, size) ?? zoom;
    const view = (zz: ZoomState) => computeLayout(1_000_000, size.width, size.height, zz);
    expect(view(z).firstIndex).toBe(view(zoom).firstIndex);
  });
  it('keeps the centre page (by address) where it was when a VMA appears before it', () => {
    // A 200k-page VMA at page 1,000,000; then a 50k-page VMA appears below it in the address
    // space, shifting it by 50k in the collapsed space.
    const before = { space: DisplaySpace.identity(200_000), vmas: [vma(0, 1_000_000, 200_000)] };
    const after = {
      space: DisplaySpace.identity(250_000),
      vmas: [vma(0, 10_000, 50_000), vma(50_000, 1_000_000, 200_000)],
    };
    const zoom = { k: 10, y: -0.5 * 10 * 600 };
    const c0 = centre(before.space, zoom);
    const z = zoomAfterSpaceChange(before, after, zoom, size)!;
    expect(z.k).toBe(zoom.k);
    const l = computeLayout(250_000, size.width, size.height, z);
    // The same page (now at index c0 + 50,000) at the centre of the new view (which, at the same
    // zoom of a bigger space, holds more pages), give or take the row alignment.
    const half = Math.floor((l.endIndex - l.firstIndex) / 2);
    expect(Math.abs(c0 + 50_000 - l.firstIndex - half)).toBeLessThan(l.pagesPerRow);
  });
  it('anchors on the first page after a squeezed stretch at the centre', () => {
    // Old space: 1000 pages, a 100k-page squeezed stretch, 200k pages.
    const segs = (hostEnd: number) => [
      { hostStart: 0, hostEnd: 1000, displayStart: 0, squeezed: false },
      { hostStart: 1000, hostEnd: 101_000, displayStart: 1000, squeezed: true },
      { hostStart: 101_000, hostEnd, displayStart: 1000 + COMPACT_PAGES, squeezed: false },
    ];
    const old = new DisplaySpace(301_000, segs(301_000));
    const vmas = [vma(0, 0, 1000), vma(1000, 5000, 100_000), vma(101_000, 200_000, 200_000)];
    // Zoom so the squeezed stretch is at the centre of the view.
    const k = 100;
    const view = computeLayout(old.totalDisplay, size.width, size.height, { k, y: 0 });
    const top = 1000 + COMPACT_PAGES / 2 - Math.floor((view.endIndex - view.firstIndex) / 2);
    const zoom = zoomAtTop(Math.max(0, top), old.totalDisplay, k, size.height);
    // New space: nothing squeezed any more (the reservation filled): the page after the
    // stretch (host 101,000) must keep its distance from the top of the view.
    const next = DisplaySpace.identity(301_000);
    const oldL = computeLayout(old.totalDisplay, size.width, size.height, zoom);
    const dist = old.toDisplay(101_000) - oldL.firstIndex;
    expect(old.segmentAtHost(centre(old, zoom)).squeezed).toBe(true);
    const z = zoomAfterSpaceChange({ space: old, vmas }, { space: next, vmas }, zoom, size)!;
    const l = computeLayout(next.totalDisplay, size.width, size.height, z);
    expect(Math.abs(101_000 - l.firstIndex - dist)).toBeLessThanOrEqual(l.pagesPerRow);
  });
});

describe('followSpace', () => {
  // A process like the demo: a big stretch of libraries and reservations, the focused VMA (the
  // sweep, 4096 pages) near the end of the collapsed space, a little after it (stack, vdso).
  // Then the address space grows below the sweep by `grow` pages (a new mapping), which moves
  // the sweep and the end of the space by as much. The host sends the new table (a 'vmas'
  // event) before the first frame made for it; under load a draw can fall between the two.
  const SWEEP = 1_000_000;
  const table = (below: number[], after: number): VmaInfo[] => {
    const out: VmaInfo[] = [];
    let offset = 0;
    let page = 0x1000;
    for (const n of [...below, 4096, after]) {
      // The sweep at the same address in every table; the rest around it.
      if (n === 4096 && out.length === below.length) page = SWEEP;
      out.push(vma(offset, page, n));
      offset += n;
      page += n + 16;
    }
    return out;
  };
  const total = (vmas: VmaInfo[]) => vmas.reduce((n, v) => n + v.endPage - v.startPage, 0);
  const frameOf = (vmas: VmaInfo[]) => ({
    totalPages: total(vmas),
    overview: { buckets: 0, pagesPerBucket: 1, histogram: new Uint32Array(0) },
    vmaCounts: new Uint32Array(vmas.length * 3),
  });
  /** The share of the sweep (by its offset in `vmas`) inside the view a zoom state gives. */
  const sweepShown = (st: SpaceState, zoom: ZoomState): number => {
    const v = st.vmas.find((x) => x.startPage === SWEEP)!;
    const l = computeLayout(st.space.totalDisplay, size.width, size.height, zoom);
    const first = st.space.toHost(l.firstIndex);
    const end = hostEnd(st.space, l.endIndex);
    const lo = Math.max(first, v.offset);
    const hi = Math.min(end, v.offset + 4096);
    return Math.max(0, hi - lo) / 4096;
  };

  const store = (vmas: VmaInfo[], zoom: ZoomState = { k: 1, y: 0 }) => ({
    vmas,
    totalPages: total(vmas),
    compact: true,
    zoom,
  });

  /** Runs the draws the heatmap makes for a sequence of (frame, table) pairs. */
  function run(steps: Array<{ frame: VmaInfo[]; table: VmaInfo[] }>) {
    let st = NO_SPACE;
    let zoom: ZoomState = { k: 1, y: 0 };
    const shown: number[] = [];
    for (const [i, step] of steps.entries()) {
      const store = { vmas: step.table, totalPages: total(step.table), compact: true, zoom };
      const next = followSpace(st, frameOf(step.frame), store, size);
      if (next) {
        st = next.state;
        if (next.zoom) zoom = next.zoom;
      }
      if (i === 0) {
        // The user focuses the sweep: the view shows it with a little room around.
        const v = st.vmas.find((x) => x.startPage === SWEEP)!;
        zoom = zoomForRequest(st.space, { start: v.offset, end: v.offset + 4096 }, size);
      }
      shown.push(sweepShown(st, zoom));
    }
    return shown;
  }

  it('keeps the focused VMA in view when a draw falls between a new table and its first frame', () => {
    // The e2e newcomer path's failure: 2 of 5 loaded CI runs found the view at [255801, 261846)
    // with the sweep moved on to [260654, 264750).
    const before = table([250_000], 1500);
    const after = table([250_000, 4000], 1500);
    const shown = run([
      { frame: before, table: before },
      { frame: before, table: after }, // the 'vmas' event, then a draw before the frame
      { frame: after, table: after },
      { frame: after, table: after },
    ]);
    expect(shown.map((x) => x >= 0.9)).toEqual([true, true, true, true]);
  });

  it('keeps the focused VMA in view however the space below it changes and the draws fall', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 20_000 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.integer({ min: 1, max: 20_000 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 20_000 }),
        fc.constantFrom('table first', 'frame first', 'together'),
        (below1, below2, after, order) => {
          // (The rest of the space far bigger than the sweep, as in any real process. The zoom
          // factor is relative to the whole space, so a space that shrinks by a quarter shows a
          // quarter fewer pages: hence at least 3/4 of the sweep after the change, not 9/10.)
          const a = table([200_000, ...below1], after);
          const b = table([200_000, ...below2], after);
          const mid =
            order === 'table first'
              ? [{ frame: a, table: b }]
              : order === 'frame first'
                ? [{ frame: b, table: a }]
                : [];
          const shown = run([{ frame: a, table: a }, ...mid, { frame: b, table: b }]);
          expect(shown[0]).toBeGreaterThanOrEqual(0.9);
          expect(shown[shown.length - 1]).toBeGreaterThanOrEqual(0.75);
        },
      ),
    );
  });
  it('shows a VMA focused with the new table while the old one is still drawn', () => {
    // The memory map and the demo guide focus with the store's table, which can be newer than
    // the one the heatmap draws (its first frame not in yet): the request is carried over.
    const before = table([250_000], 1500);
    const after = table([250_000, 4000], 1500);
    let st = followSpace(NO_SPACE, frameOf(before), store(before), size)!.state;
    let zoom: ZoomState = { k: 1, y: 0 };
    // The 'vmas' event; a draw keeps the old table (its frame is the old one).
    const kept = followSpace(st, frameOf(before), store(after, zoom), size);
    if (kept) st = kept.state;
    // Then the sweep is focused, with the store's (new) offsets.
    const v = after.find((x) => x.startPage === SWEEP)!;
    const range = carryRange({ start: v.offset, end: v.offset + 4096 }, after, st.vmas);
    zoom = zoomForRequest(st.space, range, size);
    expect(sweepShown(st, zoom)).toBeGreaterThanOrEqual(0.9);
    // The new table's first frame: the view follows.
    const next = followSpace(st, frameOf(after), store(after, zoom), size)!;
    expect(sweepShown(next.state, next.zoom ?? zoom)).toBeGreaterThanOrEqual(0.9);
  });
});

describe('carryRange', () => {
  it('moves a range from one table to another by address, or leaves it', () => {
    const a = [vma(0, 100, 50), vma(50, 1000, 200)];
    const b = [vma(0, 100, 50), vma(50, 500, 30), vma(80, 1000, 200)];
    expect(carryRange({ start: 60, end: 70 }, a, b)).toEqual({ start: 90, end: 100 });
    expect(carryRange({ start: 10, end: 70 }, a, b)).toEqual({ start: 10, end: 100 });
    expect(carryRange({ start: 90, end: 100 }, b, a)).toEqual({ start: 60, end: 70 });
    // A page in no VMA of the other table: unchanged.
    expect(carryRange({ start: 55, end: 60 }, b, a)).toEqual({ start: 55, end: 60 });
    expect(carryRange({ start: 60, end: 70 }, a, a)).toEqual({ start: 60, end: 70 });
  });
});

describe('zoomToReveal', () => {
  const l = computeLayout(1_000_000, 900, 600, { k: 20, y: -0.3 * 20 * 600 });
  it('leaves an index in view alone', () => {
    expect(zoomToReveal(l, l.firstIndex, 1_000_000, 20, 600)).toBeNull();
    expect(zoomToReveal(l, l.endIndex - 1, 1_000_000, 20, 600)).toBeNull();
  });
  it('brings an index out of view into the middle rows, at the same zoom', () => {
    for (const d of [l.endIndex + 5, l.firstIndex - 5, 0, 999_999]) {
      const z = zoomToReveal(l, d, 1_000_000, 20, 600)!;
      expect(z.k).toBe(20);
      const m = computeLayout(1_000_000, 900, 600, z);
      expect(d).toBeGreaterThanOrEqual(m.firstIndex);
      expect(d).toBeLessThan(m.endIndex);
    }
  });
});

describe('zoomForRequest', () => {
  it('shows all for no range and the range (in display indices) for one', () => {
    const s = new DisplaySpace(103_000, [
      { hostStart: 0, hostEnd: 1000, displayStart: 0, squeezed: false },
      { hostStart: 1000, hostEnd: 101_000, displayStart: 1000, squeezed: true },
      { hostStart: 101_000, hostEnd: 103_000, displayStart: 1000 + COMPACT_PAGES, squeezed: false },
    ]);
    expect(zoomForRequest(s, null, size)).toEqual({ k: 1, y: 0 });
    const z = zoomForRequest(s, { start: 101_500, end: 102_000 }, size);
    const l = computeLayout(s.totalDisplay, size.width, size.height, z);
    expect(z.k).toBeGreaterThan(1);
    expect(l.firstIndex).toBeLessThanOrEqual(s.toDisplay(101_500));
    expect(l.endIndex).toBeGreaterThanOrEqual(s.toDisplayEnd(102_000));
  });
});

describe('hostEnd', () => {
  it('maps the end of the display space to the end of the host space', () => {
    const s = new DisplaySpace(103_000, [
      { hostStart: 0, hostEnd: 1000, displayStart: 0, squeezed: false },
      { hostStart: 1000, hostEnd: 103_000, displayStart: 1000, squeezed: true },
    ]);
    expect(hostEnd(s, s.totalDisplay)).toBe(103_000);
    expect(hostEnd(s, 500)).toBe(500);
  });
});
