import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { VmaInfo } from '../../../core/protocol/messages.ts';
import { COMPACT_PAGES, DisplaySpace } from './display-space.ts';
import {
  brushRange,
  cellCorner,
  cursorStart,
  isCursorKey,
  moveCursor,
  selectionBetween,
  vmaAtPoint,
} from './hit-test.ts';
import { hostEnd } from './view-anchor.ts';
import { computeLayout, indexAt } from './viewport.ts';

const vma = (offset: number, startPage: number, pages: number): VmaInfo =>
  ({
    offset,
    startPage,
    endPage: startPage + pages,
    start: `0x${startPage.toString(16)}`,
  }) as VmaInfo;

// 1000 pages, a 100k-page squeezed stretch, 2000 pages.
const squeezed = new DisplaySpace(103_000, [
  { hostStart: 0, hostEnd: 1000, displayStart: 0, squeezed: false },
  { hostStart: 1000, hostEnd: 101_000, displayStart: 1000, squeezed: true },
  { hostStart: 101_000, hostEnd: 103_000, displayStart: 1000 + COMPACT_PAGES, squeezed: false },
]);
const vmas = [vma(0, 0, 1000), vma(1000, 5000, 100_000), vma(101_000, 200_000, 2000)];

describe('brushRange', () => {
  const space = DisplaySpace.identity(1_000_000);
  const l = computeLayout(1_000_000, 900, 600, { k: 1, y: 0 });
  it('covers the whole rows the band touches', () => {
    const r = brushRange(l, space, 10 * l.cellPx + 1, 12 * l.cellPx - 1)!;
    expect(r).toEqual({ start: 10 * l.pagesPerRow, end: 12 * l.pagesPerRow });
  });
  it('a band inside one row selects that row; past the pages it is clamped', () => {
    expect(brushRange(l, space, 0.2, 0.4)).toEqual({ start: 0, end: l.pagesPerRow });
    const r = brushRange(l, space, 0, 10_000)!;
    expect(r).toEqual({ start: 0, end: 1_000_000 });
  });
  it('maps display rows to host pages across a squeezed stretch', () => {
    const m = computeLayout(squeezed.totalDisplay, 900, 600, { k: 1, y: 0 });
    const r = brushRange(m, squeezed, 0, m.rows * m.cellPx)!;
    expect(r).toEqual({ start: 0, end: hostEnd(squeezed, m.endIndex) });
    // The rows below the stretch start at host pages after it.
    const row = Math.ceil((1000 + COMPACT_PAGES) / m.pagesPerRow);
    const below = brushRange(m, squeezed, row * m.cellPx + 1, (row + 1) * m.cellPx - 1)!;
    expect(below.start).toBe(101_000 + row * m.pagesPerRow - 1000 - COMPACT_PAGES);
    expect(below.end - below.start).toBe(m.pagesPerRow);
  });
  it('is inside the space and non-empty for any band', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 700, noNaN: true }),
        fc.double({ min: 0, max: 50 }),
        (y, h) => {
          const r = brushRange(l, space, y, y + h);
          if (r === null) return;
          expect(r.start).toBeGreaterThanOrEqual(0);
          expect(r.end).toBeLessThanOrEqual(1_000_000);
          expect(r.end).toBeGreaterThan(r.start);
        },
      ),
    );
  });
});

describe('vmaAtPoint', () => {
  it('finds the VMA under a cell, through the display space', () => {
    const l = computeLayout(squeezed.totalDisplay, 900, 600, { k: 1, y: 0 });
    const at = (d: number) => {
      const [x, y] = cellCorner(l, d);
      return vmaAtPoint(l, squeezed, vmas, x + 0.5, y + 0.5);
    };
    expect(at(5)).toBe(vmas[0]);
    expect(at(1000 + 10)).toBe(vmas[1]);
    expect(at(1000 + COMPACT_PAGES + 1)).toBe(vmas[2]);
    expect(vmaAtPoint(l, squeezed, vmas, -1, 0)).toBeNull();
    expect(vmaAtPoint(l, squeezed, [], 1, 1)).toBeNull();
  });
});

describe('cellCorner', () => {
  it('is the point indexAt maps back to the cell', () => {
    const l = computeLayout(1_000_000, 900, 600, { k: 30, y: -0.2 * 30 * 600 });
    fc.assert(
      fc.property(fc.integer({ min: l.firstIndex, max: l.endIndex - 1 }), (d) => {
        const [x, y] = cellCorner(l, d);
        const cellStart = d - ((d - l.firstIndex) % l.pagesPerCell);
        expect(indexAt(l, x + 0.1, y + 0.1)).toBe(cellStart);
      }),
    );
  });
});

describe('the keyboard cursor', () => {
  const space = DisplaySpace.identity(1_000_000);
  const l = computeLayout(1_000_000, 900, 600, { k: 20, y: -0.5 * 20 * 600 });
  it('starts at the focused VMA when it is in view, else at the top of the view', () => {
    const inside = vma(l.firstIndex + 5, 7000, 10);
    const outside = vma(0, 1, 10);
    expect(cursorStart(l, space, [outside, inside], inside.start)).toBe(l.firstIndex + 5);
    expect(cursorStart(l, space, [outside, inside], outside.start)).toBe(l.firstIndex);
    expect(cursorStart(l, space, [outside, inside], null)).toBe(l.firstIndex);
  });
  it('arrows move a cell sideways and a row up or down, clamped to the space', () => {
    const c = l.firstIndex + l.pagesPerRow;
    expect(moveCursor(l, space, c, 'ArrowRight').host).toBe(c + l.pagesPerCell);
    expect(moveCursor(l, space, c, 'ArrowLeft').host).toBe(c - l.pagesPerCell);
    expect(moveCursor(l, space, c, 'ArrowDown').host).toBe(c + l.pagesPerRow);
    expect(moveCursor(l, space, c, 'ArrowUp').host).toBe(c - l.pagesPerRow);
    expect(moveCursor(l, space, 0, 'ArrowUp').host).toBe(0);
    expect(moveCursor(l, space, 999_999, 'ArrowDown').host).toBe(999_999);
  });
  it('steps over a squeezed stretch in display cells, not host pages', () => {
    const m = computeLayout(squeezed.totalDisplay, 900, 600, { k: 1, y: 0 });
    const to = moveCursor(m, squeezed, 999, 'ArrowRight');
    expect(to.display).toBe(1000);
    expect(to.host).toBe(1000);
    const after = moveCursor(m, squeezed, 1000 + 99_999, 'ArrowRight');
    expect(after.host).toBe(101_000);
  });
  it('knows its keys, and a Shift selection includes both ends', () => {
    expect(isCursorKey('ArrowUp')).toBe(true);
    expect(isCursorKey('Enter')).toBe(false);
    expect(selectionBetween(10, 4)).toEqual({ start: 4, end: 11 });
    expect(selectionBetween(4, 4)).toEqual({ start: 4, end: 5 });
  });
});
