import { describe, expect, it } from 'vitest';
import { backoffMs, isGone } from './connection.ts';

describe('connection supervision', () => {
  it('backs off exponentially up to 30 s', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 20].map(backoffMs)).toEqual([
      1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000,
    ]);
  });
  it('tells a closed or silent host from a refused request', () => {
    expect(isGone({ code: 'closed' })).toBe(true);
    expect(isGone({ code: 'timeout' })).toBe(false);
    expect(isGone({ name: 'closed' })).toBe(true);
    expect(isGone({ code: 'version' })).toBe(false);
    expect(isGone(new Error('boom'))).toBe(false);
    expect(isGone(undefined)).toBe(false);
  });
});
