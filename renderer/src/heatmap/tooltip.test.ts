import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { VmaInfo } from '../../../core/protocol/messages.ts';
import { tickCounters } from '../../../testing/counters.ts';
import { COMPACT_PAGES, DisplaySpace } from './display-space.ts';
import { tipLines, tipPosition, viewSummary, vmaLabel } from './tooltip.ts';
import { computeLayout } from './viewport.ts';

const vma = (offset: number, pages: number, more: Partial<VmaInfo>): VmaInfo =>
  ({
    offset,
    startPage: 5000 + offset,
    endPage: 5000 + offset + pages,
    kind: 'anon',
    path: '',
    ...more,
  }) as VmaInfo;

const counters = tickCounters({ tick: 7, present: 12345, swapped: 6, written: 78, watched: 0 });

describe('vmaLabel', () => {
  it('prefers the base name, then the label, then the kind', () => {
    expect(vmaLabel(vma(0, 1, { path: '/usr/lib/libc.so.6', label: 'x' }))).toBe('libc.so.6');
    expect(vmaLabel(vma(0, 1, { label: 'demo: sweep' }))).toBe('demo: sweep');
    expect(vmaLabel(vma(0, 1, {}))).toBe('anon');
    expect(vmaLabel(vma(0, 1, { kind: 'stack' as VmaInfo['kind'] }))).toBe('[stack]');
  });

  it('names shared memory as what it is, not after the zero page', () => {
    const shm = { kind: 'shmem' as VmaInfo['kind'] };
    expect(vmaLabel(vma(0, 1, { ...shm, path: '/dev/zero (deleted)' }))).toBe('shared anonymous');
    expect(vmaLabel(vma(0, 1, { ...shm, path: '/memfd:jit (deleted)' }))).toBe('memfd:jit');
    expect(vmaLabel(vma(0, 1, { ...shm, path: '/SYSV0000abcd (deleted)' }))).toBe(
      'SysV shm key 0x0000abcd',
    );
  });
});

describe('tipLines', () => {
  it('address, VMA when there is one, categories', () => {
    const info = { index: 0, pages: 1, address: '0x1000', vma: 'libc', categories: 'present' };
    expect(tipLines(info).map((l) => l.cls)).toEqual(['tip-addr', 'tip-vma', 'tip-cats']);
    expect(tipLines({ ...info, vma: null }).map((l) => l.text)).toEqual(['0x1000', 'present']);
  });
});

describe('tipPosition', () => {
  it('sits below right of the point, and flips or shifts near the edges, never off the view', () => {
    expect(tipPosition(100, 100, 900, 600)).toEqual({ x: 114, y: 116 });
    expect(tipPosition(100, 590, 900, 600).y).toBe(520);
    expect(tipPosition(880, 100, 900, 600).x).toBe(600);
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 2000, noNaN: true }),
        fc.double({ min: 0, max: 2000, noNaN: true }),
        (x, y) => {
          const p = tipPosition(x, y, 400, 300);
          expect(p.x).toBeGreaterThanOrEqual(0);
          expect(p.y).toBeGreaterThanOrEqual(0);
        },
      ),
    );
  });
});

describe('viewSummary', () => {
  it('names the process, mode, what is shown and the tick counts', () => {
    const space = DisplaySpace.identity(10_000);
    const vmas = [vma(0, 4000, { path: '/bin/app' }), vma(4000, 6000, { label: 'heap' })];
    const layout = computeLayout(10_000, 900, 600, { k: 1, y: 0 });
    const s = viewSummary({
      layout,
      space,
      vmas,
      drawn: 10_000,
      processName: 'app',
      mode: 'residency',
      counters,
    });
    expect(s).toBe(
      'Heatmap of app in residency mode, 10,000 of 10,000 pages shown from app to heap, ' +
        'one page per cell (10,000 drawn). Tick 7: 12,345 present, 6 swapped, 78 written.',
    );
  });
  it('says when the view is inside one VMA, its density, and that stretches are squeezed', () => {
    const space = new DisplaySpace(103_000, [
      { hostStart: 0, hostEnd: 1000, displayStart: 0, squeezed: false },
      { hostStart: 1000, hostEnd: 101_000, displayStart: 1000, squeezed: true },
      { hostStart: 101_000, hostEnd: 103_000, displayStart: 1000 + COMPACT_PAGES, squeezed: false },
    ]);
    const vmas = [vma(0, 103_000, { label: 'cage' })];
    const layout = { ...computeLayout(space.totalDisplay, 30, 30, { k: 1, y: 0 }) };
    const s = viewSummary({
      layout,
      space,
      vmas,
      drawn: 5,
      processName: null,
      mode: 'type',
      counters,
    });
    expect(s).toContain('Heatmap of the process in type mode');
    expect(s).toContain(`inside cage, ${layout.pagesPerCell} pages per cell`);
    expect(s).toContain(', empty reservations squeezed (5 drawn)');
  });
});
