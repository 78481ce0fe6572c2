import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BASE_CELL_PX,
  cellOf,
  computeLayout,
  indexAt,
  MAX_CELL_PX,
  maxZoom,
  rangeOutline,
  viewRequestFor,
  zoomToRange,
} from './viewport.ts';

describe('computeLayout', () => {
  it('fits the whole space at zoom 1', () => {
    const l = computeLayout(1_000_000, 900, 600, { k: 1, y: 0 });
    expect(l.cellPx).toBe(BASE_CELL_PX);
    expect(l.firstIndex).toBe(0);
    expect(l.cols * l.rows * l.pagesPerCell).toBeGreaterThanOrEqual(1_000_000);
    expect(l.endIndex).toBe(1_000_000);
  });
  it('zooming in lowers pages per cell, then grows the cells', () => {
    const a = computeLayout(1_000_000, 900, 600, { k: 1, y: 0 });
    const b = computeLayout(1_000_000, 900, 600, { k: 4, y: 0 });
    expect(b.pagesPerCell).toBeLessThan(a.pagesPerCell);
    const c = computeLayout(1_000_000, 900, 600, { k: maxZoom(1_000_000, 900, 600), y: 0 });
    expect(c.pagesPerCell).toBe(1);
    expect(c.cellPx).toBeCloseTo(MAX_CELL_PX, 0);
  });
  it('the top of the view follows the zoom translation, row-aligned and in range', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5_000_000 }),
        fc.double({ min: 1, max: 500, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (total, k, frac) => {
          const l = computeLayout(total, 800, 500, { k, y: -frac * k * 500 });
          expect(l.firstIndex % l.pagesPerRow).toBe(0);
          expect(l.firstIndex).toBeGreaterThanOrEqual(0);
          expect(l.firstIndex).toBeLessThan(Math.max(1, total));
          expect(l.endIndex).toBeLessThanOrEqual(total);
        },
      ),
    );
  });
});

describe('indexAt and cellOf', () => {
  it('are inverse on cell corners', () => {
    const l = computeLayout(300_000, 640, 480, { k: 3, y: -400 });
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: l.cols - 1 }),
        fc.integer({ min: 0, max: l.rows - 1 }),
        (col, row) => {
          const idx = indexAt(l, col * l.cellPx + 0.5, row * l.cellPx + 0.5);
          if (idx < 0) return;
          expect(cellOf(l, idx)).toEqual({ col, row });
        },
      ),
    );
  });
  it('returns -1 outside the grid and past the last page', () => {
    const l = computeLayout(10, 100, 100, { k: 1, y: 0 });
    expect(indexAt(l, -1, 0)).toBe(-1);
    expect(indexAt(l, 99, 99)).toBe(-1);
  });
});

describe('rangeOutline', () => {
  it('is a rectangle within one row and a staircase across rows', () => {
    const l = computeLayout(10_000, 100, 100, { k: 1, y: 0 });
    expect(rangeOutline(l, 0, 1)).toHaveLength(4);
    expect(rangeOutline(l, l.pagesPerRow / 2, l.pagesPerRow * 3)).toHaveLength(8);
  });
});

describe('zoomToRange and viewRequestFor', () => {
  it('zooming to a range shows that range', () => {
    const total = 2_000_000;
    const z = zoomToRange(total, 600, 1_200_000, 1_210_000, maxZoom(total, 900, 600));
    const l = computeLayout(total, 900, 600, z);
    expect(l.firstIndex).toBeLessThanOrEqual(1_200_000);
    expect(l.endIndex).toBeGreaterThanOrEqual(1_210_000);
  });
  it('asks for a full-resolution window only when zoomed in enough', () => {
    const total = 5_000_000;
    const out = viewRequestFor(computeLayout(total, 900, 600, { k: 1, y: 0 }), 900, 600);
    expect(out.window).toBeUndefined();
    expect(out.buckets).toBe(300 * 200);
    const zoomed = computeLayout(total, 900, 600, { k: 200, y: -600 * 100 });
    const inWin = viewRequestFor(zoomed, 900, 600);
    expect(inWin.window).toBeDefined();
    expect(inWin.window!.startIndex).toBeLessThanOrEqual(zoomed.firstIndex);
    expect(inWin.window!.endIndex).toBeGreaterThanOrEqual(zoomed.endIndex);
  });
});
