/**
 * scanRangeAsync and Scanner.scanAsync (the kernel's walk on libuv's thread pool while this
 * thread decodes the previous vector) against the synchronous walk, on the real kernel: a
 * mapping of our own process with a region per page walked in chunks as small as one region,
 * so that a pipeline that reordered, dropped or repeated a chunk, or resumed from the wrong
 * vector's end, would put a page out of place; the rule that takes a walk off the pool (its two
 * clocks given); the fixture child's whole process (many VMAs: file, memfd, THP, guard pages)
 * region by region and summary by summary; the errors of a process that exited; and a close()
 * during a walk.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchFixture, type Fixture } from '../../testing/fixture.ts';
import { expectRegionPerPage, stripedMapping } from '../../testing/striped-mapping.ts';
import { errnoName, KernelError } from '../kernel/errors.ts';
import { errno, threadCpuUs } from '../kernel/libc.ts';
import { MADV_NOHUGEPAGE, madvise } from '../kernel/mm.ts';
import { PAGE_SHIFT, PAGE_SIZE } from '../kernel/pagemap-abi.ts';
import { readSmaps } from '../proc/smaps.ts';
import { PagemapScanBackend, SYNC_AFTER } from './pagemap-scan-backend.ts';
import type { RangeResult } from './backend.ts';
import { RegionList } from './region-list.ts';
import { parseCpuPressure } from '../proc/cpu-pressure.ts';
import { POOL_PRESSURE_MAX, poolWalkPays, Scanner } from './scanner.ts';
import { CategorySums, emptyCounts } from './summary.ts';

const PAGES = 1100;
const striped = stripedMapping(PAGES);

function regionsOf(list: RegionList) {
  const n = list.length;
  return {
    startPage: Array.from(list.startPage.subarray(0, n)),
    endPage: Array.from(list.endPage.subarray(0, n)),
    categories: Array.from(list.categories.subarray(0, n)),
    vmaIndex: Array.from(list.vmaIndex.subarray(0, n)),
  };
}

/**
 * What a walk of the whole striped mapping must give: every page once, in order, in VMA 7, with
 * its categories; and exactly the synchronous walk's regions, result and sums.
 */
function expectEveryPage(res: RangeResult, out: RegionList, sums: CategorySums): void {
  expect(res).toEqual({ pages: PAGES, walkEndPage: striped.start + PAGES });
  expectRegionPerPage(striped, PAGES, out, 7);
  const reference = new PagemapScanBackend(process.pid, { vecLen: 4096 });
  try {
    const want = new RegionList();
    const wantSums = new CategorySums();
    const wantRes = reference.scanRange(
      striped.start,
      striped.start + PAGES,
      7,
      {},
      want,
      wantSums,
    );
    expect(res).toEqual(wantRes);
    expect(regionsOf(out)).toEqual(regionsOf(want));
    const a = emptyCounts();
    const b = emptyCounts();
    sums.flushInto(a);
    wantSums.flushInto(b);
    expect(a).toEqual(b);
    expect(a.present).toBe(PAGES / 2);
  } finally {
    reference.close();
  }
}

/** scanRangeAsync of the whole striped mapping (VMA 7), checked by expectEveryPage. */
async function walkEveryPage(backend: PagemapScanBackend): Promise<void> {
  const out = new RegionList();
  const sums = new CategorySums();
  const res = await backend.scanRangeAsync(striped.start, striped.start + PAGES, 7, {}, out, sums);
  expectEveryPage(res, out, sums);
}

describe('the striped mapping', () => {
  it('is advised MADV_NOHUGEPAGE (one region a page, even with THP "always")', () => {
    const vma = readSmaps(process.pid).find((e) => {
      const start = Number(BigInt(`0x${e.startHex}`) >> BigInt(PAGE_SHIFT));
      const end = Number(BigInt(`0x${e.endHex}`) >> BigInt(PAGE_SHIFT));
      return start <= striped.start && striped.start + PAGES <= end;
    });
    expect(vma?.vmFlags).toContain('nh');
  });
});

describe('scanRangeAsync on a mapping with a region per page', () => {
  // [first vector, pipeline's vectors, first call on this thread, calls on the pool at most]
  it.each([
    [4096, 1 << 14, true, Infinity], // one vector holds it: no call on the pool
    [512, 3, true, Infinity],
    [1, 1, true, Infinity],
    [1099, 1, true, Infinity],
    [511, 512, true, Infinity],
    [4096, 1, false, Infinity],
    [4096, 3, false, Infinity],
    [4096, 600, false, Infinity],
    [4096, 1099, false, Infinity],
    [4096, 1100, false, Infinity],
    [4096, 4096, false, Infinity],
    // The rest of the walk back on this thread (what a busy machine makes it do) after 1-3
    // calls on the pool, from vectors of other sizes than the pool's.
    [100, 7, true, 1],
    [100, 7, true, 2],
    [3, 5, true, 3],
    [4096, 7, false, 1],
    [4096, 500, false, 2],
  ])(
    'vecLen %i, pipeVecLen %i, syncFirst %s, poolCalls %d: every page once, in order',
    async (v, p, first, poolCalls) => {
      const backend = new PagemapScanBackend(process.pid, {
        vecLen: v,
        pipeVecLen: p,
        syncFirst: first,
        poolCalls,
      });
      try {
        await walkEveryPage(backend);
      } finally {
        backend.close();
      }
    },
  );

  it('appends after what the list holds, merging the seam by RegionList.push rule', async () => {
    const backend = new PagemapScanBackend(process.pid, { pipeVecLen: 2, syncFirst: false });
    try {
      // A region ending where the walk starts, with the first page's categories and VMA: the
      // walk's first region extends it; one with another VMA index is left alone.
      const probe = new RegionList();
      await backend.scanRangeAsync(striped.start, striped.start + 1, 3, {}, probe);
      const c0 = probe.categories[0];
      for (const [vma, merged] of [
        [3, true],
        [4, false],
      ] as const) {
        const out = new RegionList();
        out.push(striped.start - 5, striped.start, c0, vma);
        await backend.scanRangeAsync(striped.start, striped.start + 9, 3, {}, out);
        expect(out.length).toBe(merged ? 9 : 10);
        expect(out.startPage[0]).toBe(striped.start - 5);
        expect(out.endPage[0]).toBe(merged ? striped.start + 1 : striped.start);
        expect(out.endPage[out.length - 1]).toBe(striped.start + 9);
      }
    } finally {
      backend.close();
    }
  });

  it('an empty range walks nothing, as scanRange', async () => {
    const backend = new PagemapScanBackend(process.pid, { syncFirst: false });
    try {
      const out = new RegionList();
      const res = await backend.scanRangeAsync(striped.start, striped.start, 0, {}, out);
      expect(res).toEqual(backend.scanRange(striped.start, striped.start, 0, {}, out));
      expect(res).toEqual({ pages: 0, walkEndPage: striped.start });
      expect(out.length).toBe(0);
    } finally {
      backend.close();
    }
  });

  it('close() during a walk waits for it: the walk completes, then the descriptor is closed', async () => {
    const backend = new PagemapScanBackend(process.pid, { pipeVecLen: 1, syncFirst: false });
    const out = new RegionList();
    const walk = backend.scanRangeAsync(striped.start, striped.start + PAGES, 0, {}, out);
    backend.close();
    expect(backend.pagemapFd).toBeGreaterThanOrEqual(0); // still in use by the walk
    expect((await walk).pages).toBe(PAGES);
    expect(out.length).toBe(PAGES);
    expect(backend.pagemapFd).toBe(-1);
  });

  it('a second walk while one is under way takes the synchronous path, with the same result', async () => {
    const backend = new PagemapScanBackend(process.pid, { pipeVecLen: 5, syncFirst: false });
    try {
      const a = new RegionList();
      const b = new RegionList();
      const [ra, rb] = await Promise.all([
        backend.scanRangeAsync(striped.start, striped.start + PAGES, 0, {}, a),
        backend.scanRangeAsync(striped.start, striped.start + PAGES, 0, {}, b),
      ]);
      expect(ra).toEqual(rb);
      expect(regionsOf(a)).toEqual(regionsOf(b));
      expect(a.length).toBe(PAGES);
    } finally {
      backend.close();
    }
  });
});

describe('the rule that takes a walk off the pool: waits > what the calls would cost here', () => {
  // Given clocks: the first call (on this thread, 100 regions) takes 100 us of this thread's CPU
  // time, so each next call of 7 regions would cost 7 us here; each wait for a call on the pool
  // takes `waitMs`. The rule looks after SYNC_AFTER calls, and then at every call.
  const FIRST = 100;
  const CHUNK = 7;
  it.each([
    ['waits of 10 us a call: the rest on this thread after SYNC_AFTER calls', 0.01, SYNC_AFTER],
    ['waits of 5 us a call: every call on the pool', 0.005, Math.ceil((PAGES - FIRST) / CHUNK)],
  ])('%s', async (_what, waitMs, wantPoolCalls) => {
    let cpu = 0;
    let wall = 0;
    let wallReads = 0;
    const backend = new PagemapScanBackend(process.pid, {
      vecLen: FIRST,
      pipeVecLen: CHUNK,
      syncFirst: true,
      clocks: {
        threadCpuUs: () => {
          const t = cpu;
          cpu += 100;
          return t;
        },
        // Read before and after each wait for a call on the pool.
        wallMs: () => {
          wallReads++;
          return (wall += waitMs);
        },
      },
    });
    try {
      await walkEveryPage(backend);
      expect(wallReads / 2).toBe(wantPoolCalls);
    } finally {
      backend.close();
    }
  });
});

describe('errors of the asynchronous calls', () => {
  it.each([true, false])(
    'a process that exited (syncFirst %s): the KernelError of the synchronous walk',
    async (syncFirst) => {
      const child = spawn('sleep', ['1000'], { stdio: 'ignore' });
      const exited = new Promise((r) => child.once('exit', r));
      await new Promise((r) => child.once('spawn', r));
      const backend = new PagemapScanBackend(child.pid!, { syncFirst, pipeVecLen: 4 });
      try {
        child.kill('SIGKILL');
        await exited;
        const sync = (() => {
          try {
            backend.scanRange(0, 2 ** 35 - 1, 0, {}, new RegionList());
          } catch (err) {
            return err;
          }
          return null;
        })();
        expect(sync).toBeInstanceOf(KernelError);
        const async = await backend.scanRangeAsync(0, 2 ** 35 - 1, 0, {}, new RegionList()).then(
          () => null,
          (err: unknown) => err,
        );
        expect(async).toBeInstanceOf(KernelError);
        expect((async as KernelError).errnoName).toBe((sync as KernelError).errnoName);
        expect((async as KernelError).message).toBe((sync as KernelError).message);
        expect((async as KernelError).describe()).toMatch(/does not exist/);
      } finally {
        backend.close();
      }
    },
  );
});

describe('errno of a failed first call', () => {
  it("is the ioctl's, though the CPU clock read after it is an FFI call that sets errno", async () => {
    const child = spawn('sleep', ['1000'], { stdio: 'ignore' });
    const exited = new Promise((r) => child.once('exit', r));
    await new Promise((r) => child.once('spawn', r));
    // A clock that leaves errno at EINVAL (madvise of an unaligned address), as any FFI call
    // may leave it.
    const clobbering = (): number => {
      madvise(1, PAGE_SIZE, MADV_NOHUGEPAGE);
      return threadCpuUs();
    };
    clobbering();
    expect(errnoName(errno())).toBe('EINVAL'); // the clock does set errno
    const backend = new PagemapScanBackend(child.pid!, {
      syncFirst: true,
      clocks: { threadCpuUs: clobbering, wallMs: () => performance.now() },
    });
    try {
      child.kill('SIGKILL');
      await exited;
      const err = await backend.scanRangeAsync(0, 2 ** 35 - 1, 0, {}, new RegionList()).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(KernelError);
      expect((err as KernelError).errnoName).not.toBe('EINVAL');
      expect((err as KernelError).describe()).toMatch(/does not exist/);
    } finally {
      backend.close();
    }
  });
});

describe('CPU pressure decides the pool walk', () => {
  it('reads "some avg10" of /proc/pressure/cpu, and walks on the pool only below the bound', () => {
    const text =
      'some avg10=84.93 avg60=81.82 avg300=75.93 total=13056870288\n' +
      'full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n';
    expect(parseCpuPressure(text)).toBe(84.93);
    expect(parseCpuPressure('full avg10=3.00 avg60=0.00 avg300=0.00 total=0\n')).toBeNull();
    expect(poolWalkPays(84.93)).toBe(false);
    expect(poolWalkPays(POOL_PRESSURE_MAX)).toBe(true);
    expect(poolWalkPays(0)).toBe(true);
    expect(poolWalkPays(null)).toBe(true); // no PSI: as on a quiet machine
  });
});

describe('Scanner.scanAsync on a whole process', () => {
  let fx: Fixture;
  beforeAll(async () => {
    fx = await launchFixture();
  });
  afterAll(() => fx?.kill());

  it.each([
    [4096, 1 << 14, Infinity],
    [1, 1, Infinity],
    [2, 3, Infinity],
    [7, 2, Infinity],
    [7, 2, 1],
  ])(
    'vecLen %i, pipeVecLen %i, poolCalls %d: scan()’s regions, pages and summaries',
    async (vecLen, p, poolCalls) => {
      // Waits for calls on the pool, counted: the pool is used whatever the CPU pressure.
      let waits = 0;
      const clocks = {
        threadCpuUs,
        wallMs: () => {
          waits += 0.5;
          return performance.now();
        },
      };
      const scanner = new Scanner(fx.pid, {
        backend: 'scan',
        vectors: { vecLen, pipeVecLen: p, poolCalls, clocks },
        pool: 'always',
      });
      const reference = new Scanner(fx.pid, { backend: 'scan' });
      try {
        // The same maps for both, so that a mapping the child's runtime makes between the two
        // scans cannot differ (the fixture's own regions do not change).
        const got = await scanner.scanAsync();
        const want = reference.scan([], {}, got.vmas);
        expect(got.vmas.length).toBeGreaterThan(10);
        // Vectors of a few regions: some VMA takes more than one, so calls on the pool.
        if (vecLen < 100) expect(waits).toBeGreaterThan(0);
        expect(regionsOf(got.regions)).toEqual(regionsOf(want.regions));
        expect(got.summaries).toEqual(want.summaries);
        expect([...got.scannedPages]).toEqual([...want.scannedPages]);
        // Regions of two VMAs are never merged: each region lies inside its own VMA.
        for (let i = 0; i < got.regions.length; i++) {
          const v = got.vmas[got.regions.vmaIndex[i]];
          expect(got.regions.startPage[i]).toBeGreaterThanOrEqual(v.startPage);
          expect(got.regions.endPage[i]).toBeLessThanOrEqual(v.endPage);
        }
      } finally {
        scanner.close();
        reference.close();
      }
    },
  );

  it('one scan at a time: a scan() during its scanAsync is refused, and then works', async () => {
    const scanner = new Scanner(fx.pid, {
      backend: 'scan',
      vectors: { vecLen: 1, pipeVecLen: 1 },
      pool: 'always',
    });
    try {
      const walk = scanner.scanAsync();
      expect(() => scanner.scan()).toThrow(/under way/);
      const got = await walk;
      expect(got.regions.length).toBeGreaterThan(0);
      expect(scanner.scan().regions.length).toBeGreaterThan(0);
    } finally {
      scanner.close();
    }
  });
});
