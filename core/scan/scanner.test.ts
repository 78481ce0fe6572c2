/**
 * The scanner, page by page, against the real kernel on a fixture child with a known layout
 * (testing/fixture-target.py: every region in its own 4 MiB slot, so whether a page table
 * exists depends only on the region itself).
 *
 * Measured quirks this file pins down (Linux 6.18):
 * - PAGEMAP_SCAN reports WRITTEN for an untouched page (pte_none) inside a page table that
 *   exists, and categories 0 where there is no page table at all. The pagemap reader reports 0
 *   for both: it cannot tell them apart, so WRITTEN is compared only on present/swapped pages.
 * - A read-only-touched anon page maps the zero page: PRESENT|WRITTEN|PFNZERO (the reader sees
 *   PRESENT|WRITTEN, it has no PFNZERO). On a kernel without the shared zero page on read (e.g.
 *   booted with pvm_no_zero_page=1; testing/zero-page.ts) it is a private page:
 *   PRESENT|WRITTEN for both, and the summary counts no zero page.
 * - A written MAP_PRIVATE file page becomes anon and loses FILE; shmem (memfd) pages are FILE.
 * - A guard page is WRITTEN|SWAPPED|GUARD; the summary counts it as guard, never as swap.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_CATEGORIES, Category, categoryNames } from '../kernel/pagemap-abi.ts';
import { readMaps, type Vma } from '../proc/maps.ts';
import { launchFixture, type Fixture } from '../../testing/fixture.ts';
import { zeroPageOnRead } from '../../testing/zero-page.ts';
import { ensureSwap, type SwapResult } from '../../testing/zram.ts';
import type { BackendName } from './backend.ts';
import {
  categoriesFromPagemapHigh,
  PAGEMAP_READ_CATEGORIES,
  PagemapReadBackend,
} from './pagemap-read-backend.ts';
import { PagemapScanBackend } from './pagemap-scan-backend.ts';
import { HUGE_AFTER, RegionList } from './region-list.ts';
import { intersectRanges, Scanner } from './scanner.ts';
import { CategorySums, emptyCounts, summarize } from './summary.ts';

const { WRITTEN: W, PRESENT: P, FILE: F, SWAPPED: S, PFNZERO: Z, HUGE: H, GUARD: G } = Category;
const BACKENDS: BackendName[] = ['scan', 'pagemap'];

let fx: Fixture;
let swap: SwapResult;
let thpReal = false;
const scanners: Partial<Record<BackendName, Scanner>> = {};

beforeAll(async () => {
  swap = ensureSwap();
  if (!swap.ok) console.warn(`scanner.test: no swap for the swapped-pages cases: ${swap.reason}`);
  fx = await launchFixture({ swap: swap.ok });
  const smaps = await fx.smaps();
  thpReal = smaps.thp?.AnonHugePages === 2048;
  if (!thpReal)
    console.warn(
      `scanner.test: the THP region did not get a huge page (AnonHugePages ${smaps.thp?.AnonHugePages} kB); THP cases are skipped`,
    );
  for (const b of BACKENDS) scanners[b] = new Scanner(fx.pid, { backend: b });
});

afterAll(() => {
  for (const s of Object.values(scanners)) s?.close();
  fx?.kill();
  if (swap?.ok) swap.release();
});

/** Categories of each page of [start, start+pages) from a RegionList (-1 where no region). */
function perPage(regions: RegionList, start: number, pages: number): number[] {
  const out = new Array<number>(pages).fill(-1);
  for (let i = 0; i < regions.length; i++) {
    const s = Math.max(regions.startPage[i], start);
    const e = Math.min(regions.endPage[i], start + pages);
    for (let p = s; p < e; p++) out[p - start] = regions.categories[i];
  }
  return out;
}

function scanRegion(backend: BackendName, name: string): number[] {
  const r = fx.regions[name];
  const res = scanners[backend]!.scan([{ startPage: r.startPage, endPage: r.startPage + r.pages }]);
  return perPage(res.regions, r.startPage, r.pages);
}

/** Expected categories page by page: [fromPage, toPage, scanCats, pagemapCats]. */
type Spec = Array<[number, number, number, number]>;
const EXPECTED: Record<string, Spec> = {
  anon_written: [[0, 16, W | P, W | P]],
  anon_untouched: [[0, 16, 0, 0]],
  anon_zero: [[0, 16, W | P | Z, W | P]],
  anon_mixed: Array.from({ length: 16 }, (_, i) =>
    i % 2 === 0 ? [i, i + 1, W | P, W | P] : [i, i + 1, W, 0],
  ),
  file_shared: [
    [0, 32, W | F | P, W | F | P],
    [32, 48, W, 0],
  ],
  file_private: [
    [0, 16, W | F | P, W | F | P],
    [16, 32, W | P, W | P],
    [32, 48, W, 0],
  ],
  memfd: [
    [0, 8, W | F | P, W | F | P],
    [8, 16, W, 0],
  ],
  thp: [[0, 512, W | P | H, W | P]],
  guard: [
    [0, 4, W | P, W | P],
    [4, 8, W | S | G, W | S | G],
    [8, 16, W | P, W | P],
  ],
  swapped: [
    [0, 8, W | S, W | S],
    [8, 16, W | P, W | P],
  ],
};

/** EXPECTED for this kernel: without the shared zero page a read maps a private page (W|P). */
function expectedHere(name: string): Spec {
  if (name === 'anon_zero' && !zeroPageOnRead()) return [[0, 16, W | P, W | P]];
  return EXPECTED[name];
}

function expand(spec: Spec, pages: number, col: 2 | 3): number[] {
  const out = new Array<number>(pages).fill(-1);
  for (const row of spec) for (let p = row[0]; p < row[1]; p++) out[p] = row[col];
  return out;
}

const SPARSE_TOUCHED = [0, 1, 1000, 100000, 262143];

function expectedSparse(backend: BackendName, pages: number): number[] {
  const tables = new Set(SPARSE_TOUCHED.map((p) => Math.floor(p / 512)));
  const touched = new Set(SPARSE_TOUCHED);
  const out = new Array<number>(pages);
  for (let p = 0; p < pages; p++) {
    if (touched.has(p)) out[p] = W | P;
    else out[p] = backend === 'scan' && tables.has(Math.floor(p / 512)) ? W : 0;
  }
  return out;
}

/** Readable diff: the first differing pages with category names. */
function firstDiffs(got: number[], want: number[]): string[] {
  const d: string[] = [];
  for (let i = 0; i < want.length && d.length < 5; i++)
    if (got[i] !== want[i])
      d.push(`page ${i}: got ${categoryNames(got[i]).join('|')} want ${categoryNames(want[i])}`);
  return d;
}

describe.each(BACKENDS)('%s backend: categories page by page on the fixture', (backend) => {
  for (const name of Object.keys(EXPECTED)) {
    it(name, (ctx) => {
      if (name === 'swapped' && !swap.ok) {
        console.warn(`skipping ${name}: ${swap.reason}`);
        ctx.skip(`no swap: ${swap.reason}`);
      }
      if (name === 'thp' && !thpReal) ctx.skip('the kernel did not back the region with a THP');
      const r = fx.regions[name];
      const got = scanRegion(backend, name);
      const want = expand(expectedHere(name), r.pages, backend === 'scan' ? 2 : 3);
      expect(firstDiffs(got, want)).toEqual([]);
    });
  }

  it('sparse 1 GiB reservation', () => {
    const r = fx.regions.sparse;
    const got = scanRegion(backend, 'sparse');
    expect(firstDiffs(got, expectedSparse(backend, r.pages))).toEqual([]);
  });
});

describe('agreement with what the kernel reports to the process itself (/proc/self/pagemap)', () => {
  it('the pagemap backend equals the decoded self-pagemap, page for page', async () => {
    const self = await fx.selfPagemap();
    for (const [name, words] of Object.entries(self)) {
      const want = words.map(categoriesFromPagemapHigh);
      expect(firstDiffs(scanRegion('pagemap', name), want), name).toEqual([]);
    }
  });

  it('the scan backend agrees on PRESENT, SWAPPED, FILE, GUARD and on WRITTEN of populated pages', async () => {
    const self = await fx.selfPagemap();
    for (const [name, words] of Object.entries(self)) {
      const got = scanRegion('scan', name);
      const want = words.map(categoriesFromPagemapHigh);
      const view = (c: number): number =>
        c & (P | S) ? c & PAGEMAP_READ_CATEGORIES : c & PAGEMAP_READ_CATEGORIES & ~W;
      expect(firstDiffs(got.map(view), want.map(view)), name).toEqual([]);
    }
  });
});

describe('per-VMA summaries (summary.ts rules)', () => {
  function summaryOf(name: string): Record<string, number> {
    const res = scanners.scan!.scan();
    const r = fx.regions[name];
    const vma = res.vmas.find((v) => v.startPage === r.startPage)!;
    expect(vma, `VMA of ${name}`).toBeDefined();
    const { pages, present, swapped, file, zero, huge, guard, written, wpallowed, markers } =
      res.summaries[vma.index];
    return { pages, present, swapped, file, zero, huge, guard, written, wpallowed, markers };
  }
  const base = { swapped: 0, file: 0, zero: 0, huge: 0, guard: 0, written: 0, wpallowed: 0 };

  it('counts present, zero-page (where the kernel maps it), file and (never) written without write-watching', () => {
    expect(summaryOf('anon_written')).toEqual({ ...base, pages: 16, present: 16, markers: 0 });
    expect(summaryOf('anon_untouched')).toEqual({ ...base, pages: 16, present: 0, markers: 0 });
    expect(summaryOf('anon_zero')).toEqual({
      ...base,
      pages: 16,
      present: 16,
      zero: zeroPageOnRead() ? 16 : 0,
      markers: 0,
    });
    expect(summaryOf('anon_mixed')).toEqual({ ...base, pages: 16, present: 8, markers: 0 });
    expect(summaryOf('file_shared')).toEqual({
      ...base,
      pages: 48,
      present: 32,
      file: 32,
      markers: 0,
    });
    expect(summaryOf('file_private')).toEqual({
      ...base,
      pages: 48,
      present: 32,
      file: 16,
      markers: 0,
    });
    expect(summaryOf('memfd')).toEqual({ ...base, pages: 16, present: 8, file: 8, markers: 0 });
    expect(summaryOf('sparse')).toEqual({ ...base, pages: 262144, present: 5, markers: 0 });
  });

  it.each(BACKENDS)(
    '%s: the summaries summed during the walk equal summarize() over its regions (whole, ranges, maxPages, twice)',
    (b) => {
      const s = scanners[b]!;
      const check = (res: ReturnType<Scanner['scan']>, what: string) => {
        expect(res.summaries, what).toEqual(summarize(res.vmas, res.regions, res.scannedPages));
      };
      const whole = s.scan();
      check(whole, 'whole process');
      // Sized for the 1 GiB reservation, walked in far fewer regions: no huge pages asked.
      if (b === 'scan') expect(whole.regions.hugeAt).toBe(HUGE_AFTER);
      expect(whole.summaries.filter((c) => c.present > 0).length).toBeGreaterThan(5);
      const r = fx.regions;
      // Two ranges in one VMA (two pieces, flushed into one summary) and one in another.
      const ranges = [
        { startPage: r.anon_mixed.startPage, endPage: r.anon_mixed.startPage + 5 },
        { startPage: r.anon_mixed.startPage + 9, endPage: r.anon_mixed.startPage + 16 },
        { startPage: r.file_shared.startPage, endPage: r.file_shared.startPage + 48 },
      ];
      check(s.scan(ranges), 'ranges');
      check(s.scan([], { categoryMask: P, maxPages: 23 }), 'maxPages');
      check(s.scan(), 'whole process again');
      expect(s.scan().summaries).toEqual(whole.summaries);
    },
  );

  it('the scan backend sums across chunk seams (1..3 regions per ioctl) as summarize() counts', () => {
    const vmas = readMaps(fx.pid);
    for (const vecLen of [1, 2, 3, 4096]) {
      const backend = new PagemapScanBackend(fx.pid, { vecLen });
      try {
        const out = new RegionList();
        const sums = new CategorySums();
        const fused = vmas.map(() => emptyCounts());
        const scanned = new Map<number, number>();
        for (const p of intersectRanges(vmas, [])) {
          backend.scanRange(p.startPage, p.endPage, p.vma.index, {}, out, sums);
          sums.flushInto(fused[p.vma.index]);
          scanned.set(p.vma.index, p.endPage - p.startPage);
        }
        for (const [v, pages] of scanned) fused[v].pages = pages;
        expect(fused, `vecLen ${vecLen}`).toEqual(summarize(vmas, out, scanned));
      } finally {
        backend.close();
      }
    }
  });

  it('counts guard pages as guard, not as swapped', () => {
    expect(summaryOf('guard')).toEqual({ ...base, pages: 16, present: 12, guard: 4, markers: 0 });
  });

  it('counts really swapped pages as swapped', (ctx) => {
    if (!swap.ok) ctx.skip(`no swap: ${swap.reason}`);
    expect(summaryOf('swapped')).toEqual({
      ...base,
      pages: 16,
      present: 8,
      swapped: 8,
      markers: 0,
    });
  });

  it('counts a THP as 512 huge pages', (ctx) => {
    if (!thpReal) ctx.skip('the kernel did not back the region with a THP');
    expect(summaryOf('thp')).toEqual({ ...base, pages: 512, present: 512, huge: 512, markers: 0 });
  });
});

describe('walk_end and max_pages through the engine', () => {
  function walkWhole(backend: PagemapScanBackend, vmas: Vma[]): RegionList {
    const out = new RegionList();
    for (const p of intersectRanges(vmas, []))
      backend.scanRange(p.startPage, p.endPage, p.vma.index, {}, out);
    return out.snapshot();
  }
  const arrays = (r: RegionList): unknown[] => [
    [...r.startPage.subarray(0, r.length)],
    [...r.endPage.subarray(0, r.length)],
    [...r.categories.subarray(0, r.length)],
    [...r.vmaIndex.subarray(0, r.length)],
  ];

  it('a tiny vec (1..3 regions per call) gives the same regions as a big one, whole process', () => {
    const vmas = readMaps(fx.pid);
    const big = new PagemapScanBackend(fx.pid, { vecLen: 4096 });
    const want = walkWhole(big, vmas);
    big.close();
    expect(want.length).toBeGreaterThan(50);
    for (const vecLen of [1, 2, 3]) {
      const small = new PagemapScanBackend(fx.pid, { vecLen });
      try {
        expect(arrays(walkWhole(small, vmas)), `vecLen ${vecLen}`).toEqual(arrays(want));
      } finally {
        small.close();
      }
    }
  });

  it.each(BACKENDS)('%s: maxPages stops at exactly that many pages, inside one VMA', (b) => {
    const r = fx.regions.anon_written;
    const res = scanners[b]!.scan([{ startPage: r.startPage, endPage: r.startPage + 16 }], {
      maxPages: 5,
    });
    expect(res.regions.pageCount()).toBe(5);
    expect(res.regions.startPage[0]).toBe(r.startPage);
    expect(res.regions.endPage[res.regions.length - 1]).toBe(r.startPage + 5);
  });

  it.each(BACKENDS)('%s: maxPages across VMAs returns the first N matching pages', (b) => {
    const s = scanners[b]!;
    const all = s.scan([], { categoryMask: P }).regions.snapshot();
    const totalPresent = all.pageCount();
    for (const n of [1, 7, 23, 1000]) {
      expect(totalPresent).toBeGreaterThan(n);
      const cut = s.scan([], { categoryMask: P, maxPages: n }).regions;
      expect(cut.pageCount(), `maxPages ${n}`).toBe(n);
      // The cut is a prefix of the full list: same pages in the same order.
      let left = n;
      for (let i = 0; i < cut.length; i++) {
        expect(cut.startPage[i]).toBe(all.startPage[i]);
        const len = Math.min(all.endPage[i] - all.startPage[i], left);
        expect(cut.endPage[i]).toBe(all.startPage[i] + len);
        left -= len;
      }
      expect(cut.length).toBeGreaterThan(0);
    }
  });

  it('the pagemap backend honours category masks like PAGEMAP_SCAN does', () => {
    const r = fx.regions.guard;
    const range = [{ startPage: r.startPage, endPage: r.startPage + r.pages }];
    for (const opts of [
      { categoryMask: G, returnMask: G | S },
      { categoryMask: P, categoryInverted: P },
      { categoryAnyofMask: G | F },
    ]) {
      const a = perPage(scanners.scan!.scan(range, opts).regions, r.startPage, r.pages);
      const b = perPage(scanners.pagemap!.scan(range, opts).regions, r.startPage, r.pages);
      const vis = (c: number): number => (c < 0 ? c : c & PAGEMAP_READ_CATEGORIES);
      expect(b.map(vis), JSON.stringify(opts)).toEqual(a.map(vis));
    }
  });

  it('rejects a range outside every mapping with a sentence', () => {
    expect(() => scanners.scan!.scan([{ startPage: 1, endPage: 2 }])).toThrow(/No mapping/);
  });

  it('reports every category this kernel accepts', () => {
    expect(scanners.scan!.backend.visibleCategories & ALL_CATEGORIES).toBe(
      ALL_CATEGORIES & scanners.scan!.backend.visibleCategories,
    );
    expect(new PagemapReadBackend(fx.pid).visibleCategories).toBe(PAGEMAP_READ_CATEGORIES);
  });
});
