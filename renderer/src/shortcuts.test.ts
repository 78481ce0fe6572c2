import { describe, expect, it } from 'vitest';
import { SHORTCUTS, shortcutFor } from './shortcuts.ts';

const key = (k: string, more: Partial<Parameters<typeof shortcutFor>[0]> = {}) =>
  shortcutFor({
    key: k,
    ctrlKey: false,
    metaKey: false,
    altKey: false,
    defaultPrevented: false,
    target: null,
    ...more,
  });

describe('keyboard shortcuts', () => {
  it('has one action per key, and one for each main action', () => {
    const keys = SHORTCUTS.flatMap((s) => s.keys);
    expect(new Set(keys).size).toBe(keys.length);
    for (const k of ['w', 'r', 's', 'p', '1', '2', '3', '+', '-', '0', '?'])
      expect(key(k), k).not.toBeNull();
    expect(key('w')?.label).toMatch(/Watch writes/);
  });
  it('leaves keys with modifiers, and keys a widget already handled, alone', () => {
    expect(key('w', { ctrlKey: true })).toBeNull();
    expect(key('w', { metaKey: true })).toBeNull();
    expect(key('w', { altKey: true })).toBeNull();
    expect(key('+', { defaultPrevented: true })).toBeNull();
    expect(key('x')).toBeNull();
  });
});
