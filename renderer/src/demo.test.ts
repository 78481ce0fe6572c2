import { describe, expect, it } from 'vitest';
import type { VmaInfo } from '../../core/protocol/messages.ts';
import { demoSpan } from './demo.ts';

const vma = (offset: number, pages: number, label?: string): VmaInfo =>
  ({ offset, startPage: 1000 + offset, endPage: 1000 + offset + pages, label }) as VmaInfo;

describe('demoSpan (the demo first view)', () => {
  it('spans the demo regions, not what lies around them', () => {
    const vmas = [vma(0, 5_000_000), vma(5_000_000, 4096, 'demo: sweep'), vma(5_004_096, 10)];
    vmas.push(vma(5_004_106, 8, 'demo: hot'), vma(5_004_114, 900_000, 'v8'));
    expect(demoSpan(vmas)).toEqual({ start: 5_000_000, end: 5_004_114 });
  });
  it('picks the cluster with the most regions when they lie far apart', () => {
    // As seen in a real demo: most regions low, sweep and hot past the runtime's heap.
    const vmas = [
      vma(27_145, 3968, 'demo: growth'),
      vma(35_339, 512, 'demo: guard'),
      vma(43_030, 4096, 'demo: random'),
      vma(60_000, 5_000_000, 'v8 cage'),
      vma(5_503_000, 4096, 'demo: sweep'),
      vma(5_666_774, 32, 'demo: hot'),
    ];
    expect(demoSpan(vmas)).toEqual({ start: 27_145, end: 47_126 });
  });
  it('is null before the demo regions are listed', () => {
    expect(demoSpan([vma(0, 10), vma(10, 10, 'other')])).toBeNull();
  });
});
