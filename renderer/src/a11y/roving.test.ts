import { describe, expect, it } from 'vitest';
import { nextIndex } from './roving.ts';

describe('nextIndex (roving tabindex)', () => {
  it('moves along the orientation and clamps at the ends', () => {
    expect(nextIndex('ArrowDown', 0, 3, 'vertical')).toBe(1);
    expect(nextIndex('ArrowDown', 2, 3, 'vertical')).toBe(2);
    expect(nextIndex('ArrowUp', 0, 3, 'vertical')).toBe(0);
    expect(nextIndex('ArrowRight', 1, 3, 'horizontal')).toBe(2);
    expect(nextIndex('ArrowLeft', 1, 3, 'horizontal')).toBe(0);
  });
  it('ignores the cross axis and keys that are not its own', () => {
    expect(nextIndex('ArrowRight', 1, 3, 'vertical')).toBeNull();
    expect(nextIndex('ArrowDown', 1, 3, 'horizontal')).toBeNull();
    expect(nextIndex('a', 1, 3, 'vertical')).toBeNull();
    expect(nextIndex('ArrowDown', 0, 0, 'vertical')).toBeNull();
  });
  it('jumps with Home/End and pages vertically', () => {
    expect(nextIndex('Home', 7, 30, 'vertical')).toBe(0);
    expect(nextIndex('End', 7, 30, 'vertical')).toBe(29);
    expect(nextIndex('PageDown', 7, 30, 'vertical')).toBe(17);
    expect(nextIndex('PageDown', 25, 30, 'vertical')).toBe(29);
    expect(nextIndex('PageUp', 5, 30, 'vertical')).toBe(0);
    expect(nextIndex('PageDown', 0, 30, 'horizontal')).toBeNull();
  });
});
