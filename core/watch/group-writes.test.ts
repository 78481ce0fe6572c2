/**
 * groupWrites on hand-made maps: object pages line up by file offset across members mapped at
 * different addresses, a page written by several members is one page of the object, shares add
 * up to the union, and private mappings stay each member's own.
 */
import { expect, it } from 'vitest';
import { parseMaps } from '../proc/maps.ts';
import { groupWrites } from './group-writes.ts';

// Member 1 maps the memfd's pages 0-15 at 0x10000; member 2 maps pages 8-23 (offset 0x8000) at
// 0x50000, and the same object again, pages 0-3, at 0x90000. Both have a private heap.
const maps1 = parseMaps(
  [
    '00010000-00020000 rw-s 00000000 00:01 77 /memfd:buf (deleted)',
    '00030000-00034000 rw-p 00000000 00:00 0 [heap]',
  ].join('\n'),
);
const maps2 = parseMaps(
  [
    '00050000-00060000 rw-s 00008000 00:01 77 /memfd:buf (deleted)',
    '00070000-00074000 rw-p 00000000 00:00 0 [heap]',
    '00090000-00094000 rw-s 00000000 00:01 77 /memfd:buf (deleted)',
  ].join('\n'),
);

it('places writes at object pages and counts each written page once, with shares', () => {
  const g = groupWrites([
    // member 1: object pages 8-11 (0x18-0x1c), heap 2 pages.
    {
      pid: 1,
      maps: maps1,
      regions: [
        [0x18, 0x1c, 0],
        [0x30, 0x32, 1],
      ],
    },
    // member 2: object pages 10-13 (0x52-0x56) and 0-1 through its second mapping; heap 1 page.
    {
      pid: 2,
      maps: maps2,
      regions: [
        [0x52, 0x56, 0],
        [0x70, 0x71, 1],
        [0x90, 0x92, 2],
      ],
    },
  ]);
  expect(g.objects.length).toBe(1);
  const o = g.objects[0];
  expect(o.key).toBe('00:01:77');
  expect(o.kind).toBe('memfd');
  expect(o.ranges).toEqual([
    [0, 2],
    [8, 14],
  ]);
  expect(o.writtenPages).toBe(8);
  // Pages 10-11 written by both: 0.5 each. 1: 2 + 1 = 3; 2: 2 + 1 + 2 = 5.
  expect(o.shares).toEqual([
    { pid: 2, pages: 6, share: 5 },
    { pid: 1, pages: 4, share: 3 },
  ]);
  expect(o.shares.reduce((a, s) => a + s.share, 0)).toBe(o.writtenPages);
  expect(g.members).toEqual([
    { pid: 1, writtenPages: 6, privatePages: 2, sharedPages: 4 },
    { pid: 2, writtenPages: 7, privatePages: 1, sharedPages: 6 },
  ]);
  expect(g.writtenSum).toBe(13);
  expect(g.writtenOnce).toBe(2 + 1 + 8);
});

it('keeps a private mapping of the same file each member’s own', () => {
  const m = parseMaps('00010000-00012000 rw-p 00000000 08:01 99 /data/file');
  const g = groupWrites([
    { pid: 1, maps: m, regions: [[0x10, 0x12, 0]] },
    { pid: 2, maps: m, regions: [[0x10, 0x12, 0]] },
  ]);
  expect(g.objects).toEqual([]);
  expect(g.writtenOnce).toBe(4);
});
