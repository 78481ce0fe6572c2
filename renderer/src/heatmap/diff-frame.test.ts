/**
 * The diff frame: every comparison code gets the PageBit of its category (colour.ts's DIFF_BITS
 * order decides ties), the overview counts them per bucket, and the legend's categories classify
 * the same bits back.
 */
import { describe, expect, it } from 'vitest';
import { HISTOGRAM_WIDTH, PageBit } from '../../../core/protocol/page-bits.ts';
import type { TickDiffInfo } from '../../../core/protocol/recording.ts';
import { classifyPage } from './colour.ts';
import { diffBits, diffFrame } from './diff-frame.ts';

const code = (a: number, b: number, written = false) => a * 3 + b + (written ? 16 : 0);

describe('diff frame', () => {
  it('gives each transition its category', () => {
    expect(classifyPage(diffBits(code(0, 1)), 'diff')).toBe('becamePresent');
    expect(classifyPage(diffBits(code(2, 1)), 'diff')).toBe('becamePresent');
    expect(classifyPage(diffBits(code(1, 2)), 'diff')).toBe('becameSwapped');
    expect(classifyPage(diffBits(code(1, 0)), 'diff')).toBe('becameNotPresent');
    expect(classifyPage(diffBits(code(1, 1)), 'diff')).toBe('unchanged');
    expect(classifyPage(diffBits(code(2, 2)), 'diff')).toBe('unchanged');
    expect(classifyPage(diffBits(code(0, 0)), 'diff')).toBe('unmapped');
    // Written in between wins over the state change.
    expect(classifyPage(diffBits(code(0, 1, true)), 'diff')).toBe('writtenBetween');
    expect(classifyPage(diffBits(code(1, 1, true)), 'diff')).toBe('writtenBetween');
  });

  it('counts the categories per bucket and keeps every page in its window', () => {
    const codes = new Uint8Array([
      code(0, 1),
      code(0, 1),
      code(1, 1, true),
      code(1, 0),
      code(0, 0),
    ]);
    const d = {
      totalPages: codes.length,
      codes: btoa(String.fromCharCode(...codes)),
      tickB: 7,
      writtenBetween: 1,
    } as unknown as TickDiffInfo;
    const f = diffFrame(d, 3);
    expect(f.sessionId).toBe(3);
    expect(f.tick).toBe(7);
    expect(Array.from(f.window!.bits)).toEqual(Array.from(codes).map(diffBits));
    const h = f.overview.histogram;
    const bit = (b: number) => Math.log2(b);
    let present = 0;
    let written = 0;
    let guard = 0;
    for (let k = 0; k < f.overview.buckets; k++) {
      present += h[k * HISTOGRAM_WIDTH + bit(PageBit.PRESENT)];
      written += h[k * HISTOGRAM_WIDTH + bit(PageBit.WRITTEN)];
      guard += h[k * HISTOGRAM_WIDTH + bit(PageBit.GUARD)];
    }
    expect([present, written, guard]).toEqual([2, 1, 1]);
  });
});
