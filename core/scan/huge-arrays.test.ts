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

it('advises the big arrays (their whole 2 MiB pages only) and leaves small ones', (ctx) => {
  if (probeCapabilities().thpMode === 'unavailable') ctx.skip('this kernel has no THP');
  const small = new RegionList(1024);
  expect(adviseHugePages(small)).toBe(0);
  const list = new RegionList(0);
  expect(list.prepare(1 << 20)).toBe(true); // 8 MiB + 8 MiB + 2 MiB + 4 MiB
  expect(list.prepare(1000)).toBe(false); // big enough already: nothing allocated
  // startPage, endPage and vmaIndex are HUGE_MIN (4 MiB) or more; categories (2 MiB) is not.
  expect(HUGE_MIN).toBe(4 << 20);
  expect(adviseHugePages(list)).toBe(3);
  for (const a of [list.startPage, list.endPage, list.vmaIndex]) {
    const addr = Number(koffi.address(a));
    const firstHuge = Math.ceil(addr / (2 << 20)) * (2 << 20);
    expect(vmFlagsAt(firstHuge)).toContain('hg');
  }
  // Still plain arrays: regions written past the first huge page read back.
  for (let i = 0; i < 1 << 20; i += 4099) list.push(2 * i, 2 * i + 1, i & 0xff, i & 7);
  expect(list.length).toBe(Math.ceil((1 << 20) / 4099));
  expect(list.endPage[list.length - 1]).toBe(2 * (list.length - 1) * 4099 + 1);
});
