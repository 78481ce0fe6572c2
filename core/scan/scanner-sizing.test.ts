/**
 * The scanner sizes its region arrays from the pages it will walk, so a scan of many regions
 * never grows them by copying (issue 22: a cold scan of ~1M regions spent 135 of 345 ms there).
 * On our own process, with a mapping of alternating present and empty pages.
 */
import { expect, it } from 'vitest';
import { stripedMapping } from '../../testing/striped-mapping.ts';
import { Scanner } from './scanner.ts';

const PAGES = 20_000; // ~20,000 regions: beyond the 4096 a list used to start with
const striped = stripedMapping(PAGES);

it('a new scanner scans the whole process without one copying reallocation', () => {
  const scanner = new Scanner(process.pid, { backend: 'scan' });
  try {
    const r = scanner.scan().regions;
    expect(r.length).toBeGreaterThanOrEqual(PAGES);
    expect(r.grows).toBe(0);
    // The regions are right: page `start + i` is present exactly when i is even.
    for (const i of [0, 1, 2, PAGES - 2, PAGES - 1])
      expect(r.categoriesAt(striped.start + i) & 8, `page ${i}`).toBe(i % 2 === 0 ? 8 : 0);
    // A range scan is sized from the range, and a second scan reuses the arrays.
    const arrays = r.startPage;
    const part = scanner.scan([
      { startPage: striped.start, endPage: striped.start + 1000 },
    ]).regions;
    expect(part.length).toBe(1000);
    expect(part.startPage).toBe(arrays);
    expect(part.grows).toBe(0);
  } finally {
    scanner.close();
  }
});
