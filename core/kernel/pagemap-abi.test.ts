/**
 * The hand-written PAGEMAP_SCAN ABI against the running kernel, on memory of our own process.
 * Cases mirror the sanity section of tools/testing/selftests/mm/pagemap_ioctl.c: argument
 * checks (size, flags, category bits, alignment, vec), walk_end, vec_len and max_pages.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errnoName } from './errors.ts';
import { addressOf, closeFd, errno, ioctl, O_RDONLY, openFile } from './libc.ts';
import { MAP_ANONYMOUS, MAP_PRIVATE, memset, mmap, munmap, PROT_RW } from './mm.ts';
import {
  ALL_CATEGORIES,
  Category,
  PAGE_REGION_SIZE,
  PAGE_SIZE,
  PAGEMAP_SCAN,
  PM_SCAN_ARG_SIZE,
  PM_SCAN_CHECK_WPASYNC,
  PM_SCAN_WP_MATCHING,
  PmScanArg,
} from './pagemap-abi.ts';

const PAGES = 32;
const P = BigInt(PAGE_SIZE);
const { WRITTEN, PRESENT } = Category;

let fd = -1;
let mem = 0n;
const vec = new BigUint64Array(new ArrayBuffer(64 * PAGE_REGION_SIZE));

interface Call {
  ret: number;
  err: string | null;
  walkEnd: bigint;
  regions: Array<{ start: bigint; end: bigint; categories: number }>;
}

/** One PAGEMAP_SCAN on our own process. Defaults: the whole test mapping, big vec, all categories. */
function scan(over: Partial<Record<keyof typeof PmScanArg, bigint | number>> = {}): Call {
  const arg = new BigUint64Array(new ArrayBuffer(PM_SCAN_ARG_SIZE));
  const fields: Record<string, bigint | number> = {
    size: PM_SCAN_ARG_SIZE,
    start: mem,
    end: mem + BigInt(PAGES) * P,
    vec: addressOf(vec),
    vecLen: vec.length / 3,
    returnMask: ALL_CATEGORIES & ~Category.SOFT_DIRTY,
    ...over,
  };
  for (const [k, v] of Object.entries(fields))
    arg[PmScanArg[k as keyof typeof PmScanArg]] = BigInt.asUintN(64, BigInt(v));
  vec.fill(0n);
  const ret = ioctl(fd, PAGEMAP_SCAN, arg);
  const err = ret < 0 ? errnoName(errno()) : null;
  const regions = [];
  for (let i = 0; i < Math.max(ret, 0); i++)
    regions.push({ start: vec[i * 3], end: vec[i * 3 + 1], categories: Number(vec[i * 3 + 2]) });
  return { ret, err, walkEnd: arg[PmScanArg.walkEnd], regions };
}

const page = (i: number): bigint => mem + BigInt(i) * P;

beforeAll(() => {
  fd = openFile('/proc/self/pagemap', O_RDONLY);
  // Even pages written, odd pages untouched.
  const addr = mmap(0, PAGES * PAGE_SIZE, PROT_RW, MAP_PRIVATE | MAP_ANONYMOUS);
  expect(addr).not.toBe(-1);
  mem = BigInt(addr);
  for (let i = 0; i < PAGES; i += 2) memset(Number(page(i)), 0x5a, PAGE_SIZE);
});

afterAll(() => {
  if (mem) munmap(Number(mem), PAGES * PAGE_SIZE);
  if (fd >= 0) closeFd(fd);
});

describe('struct layout', () => {
  it('has the sizes the kernel expects: 96-byte pm_scan_arg, 24-byte page_region', () => {
    expect(PM_SCAN_ARG_SIZE).toBe(96);
    expect(PAGE_REGION_SIZE).toBe(24);
    expect(Object.values(PmScanArg)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(PAGEMAP_SCAN).toBe((0xc0000000 | (PM_SCAN_ARG_SIZE << 16) | (0x66 << 8) | 16) >>> 0);
  });

  it('rejects any size but 96 with EINVAL and accepts 96', () => {
    for (const size of [0, 88, 95, 97, 104])
      expect(scan({ size }).err, `size ${size}`).toBe('EINVAL');
    expect(scan().err).toBeNull();
  });

  it('reads start/end at words 2/3 and writes regions {start, end, categories} into vec', () => {
    const r = scan();
    expect(r.ret).toBe(PAGES); // even pages written|present, odd pages pte_none -> written
    for (let i = 0; i < PAGES; i++) {
      expect(r.regions[i].start).toBe(page(i));
      expect(r.regions[i].end).toBe(page(i + 1));
      // Measured quirk: an untouched page inside an existing page table reports WRITTEN.
      expect(r.regions[i].categories).toBe(i % 2 === 0 ? WRITTEN | PRESENT : WRITTEN);
    }
  });

  it('writes walk_end at word 4 (the end of the range when the walk completes)', () => {
    expect(scan().walkEnd).toBe(page(PAGES));
    expect(scan({ start: page(3), end: page(7) }).walkEnd).toBe(page(7));
  });

  it('reads category_mask at word 9, return_mask at 11, inverted at 8, anyof at 10', () => {
    const present = scan({ categoryMask: PRESENT, returnMask: PRESENT });
    expect(present.ret).toBe(PAGES / 2);
    expect(present.regions.every((r) => r.end - r.start === P && r.categories === PRESENT)).toBe(
      true,
    );
    const absent = scan({ categoryInverted: PRESENT, categoryMask: PRESENT, returnMask: WRITTEN });
    expect(absent.regions.map((r) => r.start)).toEqual(
      Array.from({ length: PAGES / 2 }, (_, i) => page(2 * i + 1)),
    );
    const anyof = scan({ categoryAnyofMask: PRESENT | Category.SWAPPED, returnMask: PRESENT });
    expect(anyof.ret).toBe(PAGES / 2);
    // return_mask 0: every page matches and reports categories 0, so the regions merge into one.
    const none = scan({ categoryMask: WRITTEN, returnMask: 0 });
    expect(none.regions).toEqual([{ start: page(0), end: page(PAGES), categories: 0 }]);
  });
});

describe('argument sanity (selftest pagemap_ioctl.c)', () => {
  it('rejects unknown flags with EINVAL', () => {
    expect(scan({ flags: 1 << 2 }).err).toBe('EINVAL');
    expect(scan({ flags: -1 }).err).toBe('EINVAL');
    expect(scan({ flags: PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC | 0xff }).err).toBe('EINVAL');
  });

  it('rejects an unknown category bit in any of the four masks with EINVAL', () => {
    const unknown = ALL_CATEGORIES + 1; // the first bit past GUARD
    for (const field of ['categoryMask', 'categoryAnyofMask', 'categoryInverted', 'returnMask'])
      expect(scan({ [field]: unknown }).err, field).toBe('EINVAL');
    expect(scan({ returnMask: 0x1000 }).err).toBe('EINVAL');
  });

  it('rejects an unaligned start with EINVAL', () => {
    expect(scan({ start: mem + 1n }).err).toBe('EINVAL');
    expect(scan({ start: mem + 2048n }).err).toBe('EINVAL');
  });

  it('rejects vec NULL with vec_len != 0, accepts vec NULL with vec_len 0', () => {
    // The kernel's pagemap_scan_get_args: `if (!arg->vec && arg->vec_len) return -EINVAL;`
    // (measured EINVAL on 6.18; a vec pointing at unmapped memory is the EFAULT case).
    expect(scan({ vec: 0, vecLen: 4 }).err).toBe('EINVAL');
    expect(scan({ vec: 0, vecLen: 0 }).ret).toBe(0);
    expect(scan({ vecLen: 0 }).ret).toBe(0);
  });

  it('rejects a vec in unmapped memory with EFAULT', () => {
    expect(scan({ vec: 0xfffffffffff000n - 0x1000n, vecLen: 4 }).err).toBe('EFAULT');
  });

  it('accepts a zero-sized range and sets walk_end to start', () => {
    const r = scan({ start: page(4), end: page(4) });
    expect(r.ret).toBe(0);
    expect(r.walkEnd).toBe(page(4));
  });

  it('rounds an unaligned end up to a page', () => {
    const r = scan({ start: page(0), end: page(2) + 1n });
    expect(r.walkEnd).toBe(page(3));
    expect(r.regions.at(-1)!.end).toBe(page(3));
  });

  it('refuses CHECK_WPASYNC on memory not registered for async write-protect with EPERM', () => {
    expect(scan({ flags: PM_SCAN_CHECK_WPASYNC }).err).toBe('EPERM');
  });
});

describe('vec_len, walk_end and max_pages', () => {
  it('stops when vec is full and says where in walk_end', () => {
    for (const vecLen of [1, 2, 3]) {
      const r = scan({ vecLen });
      expect(r.ret).toBe(vecLen);
      expect(r.walkEnd).toBe(page(vecLen));
    }
  });

  it('a walk continued from walk_end with a 1-region vec gives the same regions as a big vec', () => {
    const big = scan({ categoryMask: PRESENT, returnMask: PRESENT }).regions;
    const small: Call['regions'] = [];
    let start = mem;
    for (let i = 0; i < 2 * PAGES && start < page(PAGES); i++) {
      const r = scan({ start, vecLen: 1, categoryMask: PRESENT, returnMask: PRESENT });
      small.push(...r.regions);
      expect(r.walkEnd).toBeGreaterThan(start);
      start = r.walkEnd;
    }
    expect(small).toEqual(big);
  });

  it('max_pages stops after exactly that many matching pages', () => {
    const r = scan({ maxPages: 5, categoryMask: PRESENT, returnMask: PRESENT });
    expect(r.ret).toBe(5);
    expect(r.regions.at(-1)!.end).toBe(page(9));
    const rest = scan({ start: r.walkEnd, categoryMask: PRESENT, returnMask: PRESENT });
    expect(r.regions.length + rest.regions.length).toBe(PAGES / 2);

    // A region longer than max_pages is cut inside it.
    const cut = scan({ maxPages: 3 });
    expect(cut.regions.reduce((n, x) => n + Number((x.end - x.start) / P), 0)).toBe(3);
    expect(cut.walkEnd).toBe(page(3));
  });
});
