/**
 * MADV_HUGEPAGE on a RegionList's big arrays (huge-arrays.ts): asked for only once a prepared
 * list passes HUGE_AFTER regions, for the arrays' memory past the regions (VmFlags "hg" in
 * /proc/self/smaps), never for small lists; the arrays still read and write as before.
 */
import fs from 'node:fs';
import { expect, it } from 'vitest';
import { koffi } from '../kernel/libc.ts';
import { probeCapabilities } from '../kernel/capabilities.ts';
import { adviseHugeRest, HUGE_MIN, HUGE_PLACER } from './huge-arrays.ts';
import { HUGE_AFTER, RegionList } from './region-list.ts';

/** VmFlags of the VMA of /proc/self/smaps holding `addr`. */
function vmFlagsAt(addr: number): string[] {
  let inside = false;
  for (const line of fs.readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (m) inside = parseInt(m[1], 16) <= addr && addr < parseInt(m[2], 16);
    else if (inside && line.startsWith('VmFlags:')) return line.slice(8).trim().split(/\s+/);
  }
  throw new Error(`no VMA holds 0x${addr.toString(16)}`);
}

const HUGE = 2 << 20;
/** Whether the 4 KiB page at `byte` past the start of `a`'s data is in a VMA advised huge. */
const hugeAt = (a: ArrayBufferView, byte: number): boolean =>
  vmFlagsAt(Number(koffi.address(a)) + byte).includes('hg');
/** Offset in `a` of the first whole 2 MiB page at or past `byte`. */
const hugeFrom = (a: ArrayBufferView, byte: number): number => {
  const addr = Number(koffi.address(a));
  return Math.ceil((addr + byte) / HUGE) * HUGE - addr;
};

it('a prepared list asks for huge pages past HUGE_AFTER regions only, for the rest of its arrays', (ctx) => {
  if (probeCapabilities().thpMode === 'unavailable') ctx.skip('this kernel has no THP');
  expect(HUGE_MIN).toBe(4 << 20);
  expect(new RegionList(1 << 20).hugeAt).toBe(Infinity); // not prepared: never
  const small = new RegionList(0);
  small.prepare(HUGE_AFTER); // too small to be worth it
  expect(small.hugeAt).toBe(Infinity);

  const list = new RegionList(0);
  expect(list.prepare(1 << 21)).toBe(true);
  expect(list.prepare(1000)).toBe(false); // big enough already: nothing allocated
  expect(list.hugeAt).toBe(HUGE_AFTER);
  // One buffer of 22 bytes a region for the four arrays.
  const buffer = list.startPage.buffer;
  expect(buffer.byteLength).toBe(22 << 21);
  for (const a of [list.endPage, list.categories, list.vmaIndex]) expect(a.buffer).toBe(buffer);
  expect(hugeAt(list.startPage, hugeFrom(list.startPage, 0))).toBe(false);

  const n = 1 << 21;
  for (let i = 0; i < HUGE_AFTER; i++) list.push(2 * i, 2 * i + 1, i & 0xffff, i);
  // 16, 16, 8 and 4 MiB arrays: each of 4 MiB or more with a whole 2 MiB page past its first
  // 65,536 regions (the first three always; categories depending on where it lies).
  const arrays = [list.startPage, list.endPage, list.categories, list.vmaIndex];
  const fits = arrays.filter(
    (a) =>
      a.byteLength >= HUGE_MIN &&
      hugeFrom(a, HUGE_AFTER * a.BYTES_PER_ELEMENT) + HUGE <= a.byteLength,
  );
  expect(fits).toContain(list.vmaIndex);
  expect(adviseHugeRest(list)).toBe(fits.length);
  expect(list.hugeAt).toBe(Infinity);
  for (const a of fits) {
    const from = hugeFrom(a, HUGE_AFTER * a.BYTES_PER_ELEMENT);
    expect(hugeAt(a, from)).toBe(true);
    expect(hugeAt(a, from - 4096)).toBe(false); // where the regions written so far are
  }
  // Nothing past the arrays' own memory: the first page of the next array is not advised.
  expect(hugeAt(list.categories, 0)).toBe(false);
  // Still four separate arrays: regions written across the buffer read back unchanged.
  for (let i = HUGE_AFTER; i < n; i++) list.push(2 * i, 2 * i + 1, i & 0xffff, i);
  expect(list.length).toBe(n);
  for (let i = 0; i < n; i += 997) {
    if (
      list.startPage[i] !== 2 * i ||
      list.endPage[i] !== 2 * i + 1 ||
      list.categories[i] !== (i & 0xffff) ||
      list.vmaIndex[i] !== i
    )
      expect.fail(`region ${i} reads back wrong`);
  }
  // The last slot of each array does not spill into the next one.
  expect([
    list.endPage[n - 1],
    list.vmaIndex[n - 1],
    list.startPage[0],
    list.categories[0],
  ]).toEqual([2 * n - 1, n - 1, 0, 0]);
  expect(list.grows).toBe(0);
});

it('HUGE_PLACER lays the arrays out so that huge pages begin right at region HUGE_AFTER', (ctx) => {
  if (probeCapabilities().thpMode === 'unavailable') ctx.skip('this kernel has no THP');
  const want = 1 << 21;
  const list = new RegionList(0);
  list.prepare(want, HUGE_PLACER);
  const buffer = list.startPage.buffer;
  expect(buffer.byteLength).toBe(want * 22 + HUGE_PLACER.slack);
  const arrays = [list.startPage, list.endPage, list.vmaIndex, list.categories];
  let end = 0;
  for (const a of arrays) {
    expect(a.buffer).toBe(buffer);
    expect(a.length).toBe(want);
    expect(a.byteOffset).toBeGreaterThanOrEqual(end); // in order, no overlap
    end = a.byteOffset + a.byteLength;
    expect((Number(koffi.address(a)) + HUGE_AFTER * a.BYTES_PER_ELEMENT) % HUGE).toBe(0);
  }
  expect(end).toBeLessThanOrEqual(buffer.byteLength);
  // Asked before any region is written (as the walk does, before the regions that pass hugeAt):
  // from entry HUGE_AFTER on, not a page before.
  expect(adviseHugeRest(list)).toBe(4);
  for (const a of arrays) {
    expect(hugeAt(a, HUGE_AFTER * a.BYTES_PER_ELEMENT)).toBe(true);
    expect(hugeAt(a, HUGE_AFTER * a.BYTES_PER_ELEMENT - 4096)).toBe(false);
  }
  for (let i = 0; i < want; i++) list.push(2 * i, 2 * i + 1, i & 0xffff, i);
  for (let i = 0; i < want; i += 4999)
    if (
      list.endPage[i] !== 2 * i + 1 ||
      list.vmaIndex[i] !== i ||
      list.categories[i] !== (i & 0xffff)
    )
      expect.fail(`region ${i} reads back wrong`);
});
