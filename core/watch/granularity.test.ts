import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { measureGranularity } from './granularity.ts';

describe('measureGranularity', () => {
  it('measures one page per write, on a real transparent huge page when THP is available', () => {
    const g = measureGranularity();
    expect(g.pages).toBe(1);
    const thp = fs.readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8');
    if (/\[never\]/.test(thp)) {
      console.log('THP is "never" here: the probe could not test a huge page');
      expect(g.hugePageTested).toBe(false);
    } else {
      expect(g.hugePageTested).toBe(true);
    }
    expect(measureGranularity()).toBe(g); // measured once
  });
});
