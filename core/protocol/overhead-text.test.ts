import { describe, expect, it } from 'vitest';
import { overheadText, pctText } from './overhead-text.ts';

describe('overheadText', () => {
  it('says the estimate and the range it may be in', () => {
    expect(pctText(3.21)).toBe('3.2');
    expect(pctText(12.6)).toBe('13');
    expect(overheadText(3.21, 2.09, 4.98)).toBe('3.2% (2.1-5.0%)');
    expect(overheadText(50, 32.5, 77.5)).toBe('50% (33-78%)');
    // Not stated (an old recording): the figure alone.
    expect(overheadText(3.21, -1, -1)).toBe('3.2%');
  });
});
