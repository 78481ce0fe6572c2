/**
 * MADV_HUGEPAGE on a RegionList's big arrays (huge-arrays.ts): the kernel marks exactly the
 * arrays' own memory (VmFlags "hg" in /proc/self/smaps), small arrays are left alone, and the
 * arrays still read and write as before.
 */
import fs from 'node:fs';
import { expect, it } from 'vitest';
import { koffi } from '../kernel/libc.ts';
import { probeCapabilities } from '../kernel/capabilities.ts';
import { adviseHugePages, HUGE_MIN } from './huge-arrays.ts';
import { RegionList } from './region-list.ts';

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

it('advises the big buffers (their whole 2 MiB pages only) and leaves small ones', (ctx) => {
  if (probeCapabilities().thpMode === 'unavailable') ctx.skip('this kernel has no THP');
  expect(HUGE_MIN).toBe(4 << 20);
  // Four arrays of their own: the three of 4 MiB or more are advised, categories (2 MiB) not.
  const apart = new RegionList(1 << 19); // 4 + 4 + 1 + 2 MiB
  expect(adviseHugePages(new RegionList(1024))).toBe(0);
  expect(adviseHugePages(apart)).toBe(2);
  // prepare(): one buffer of 22 bytes a region for the four arrays, advised as one.
  const list = new RegionList(0);
  expect(list.prepare(1 << 20)).toBe(true);
  expect(list.prepare(1000)).toBe(false); // big enough already: nothing allocated
  const buffer = list.startPage.buffer;
  expect(buffer.byteLength).toBe(22 << 20);
  for (const a of [list.endPage, list.categories, list.vmaIndex]) expect(a.buffer).toBe(buffer);
  expect(adviseHugePages(list)).toBe(1);
  for (const a of [apart.startPage, apart.endPage, list.startPage, list.vmaIndex]) {
    const addr = Number(koffi.address(a));
    expect(vmFlagsAt(Math.ceil(addr / (2 << 20)) * (2 << 20))).toContain('hg');
  }
  // Still four separate arrays: regions written across the buffer read back unchanged.
  const n = 1 << 20;
  for (let i = 0; i < n; i += 1001) list.push(2 * i, 2 * i + 1, i & 0xffff, i);
  const k = Math.ceil(n / 1001);
  expect(list.length).toBe(k);
  for (let j = 0; j < k; j++) {
    const i = j * 1001;
    if (
      list.startPage[j] !== 2 * i ||
      list.endPage[j] !== 2 * i + 1 ||
      list.categories[j] !== (i & 0xffff) ||
      list.vmaIndex[j] !== i
    )
      expect.fail(`region ${j} reads back wrong`);
  }
  // Filled to capacity: the last slot of each array does not spill into the next one.
  list.clear();
  for (let i = 0; i < n; i++) list.push(2 * i, 2 * i + 1, 0xffff, -1);
  expect([
    list.startPage[n - 1],
    list.endPage[n - 1],
    list.vmaIndex[0],
    list.categories[0],
  ]).toEqual([2 * (n - 1), 2 * n - 1, -1, 0xffff]);
  expect(list.grows).toBe(0);
});
