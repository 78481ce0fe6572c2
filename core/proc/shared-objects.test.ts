/**
 * Shared objects across a real process tree (testing/group-tree.py): each object its parent
 * mapped before forking is one object with every member, named as every view names it; separate
 * objects with the same name stay apart; partial mappings are placed at their offsets.
 */
import { afterAll, expect, it } from 'vitest';
import { startGroupTree, type GroupTree } from '../../testing/group-tree.ts';
import { GroupReader } from './group.ts';
import { readMaps, type Vma } from './maps.ts';
import { groupSharedObjects } from './shared-objects.ts';

let t: GroupTree | null = null;
afterAll(() => t?.close());

it('maps of a tree give each shared object once, with the members that map it', async () => {
  t = await startGroupTree(3, 16);
  const members = new GroupReader({ kind: 'tree', root: t.info.pid }).read().members;
  expect(members.length).toBe(5);
  const maps = members.map((m): [number, Vma[]] => [m.pid, readMaps(m.pid)]);
  const objects = groupSharedObjects(maps);
  const pids = members.map((m) => m.pid).sort((a, b) => a - b);
  const byLabel = (label: string) => objects.filter((o) => o.label === label);
  for (const [label, kind] of [
    ['shared anonymous', 'shared anonymous'],
    ['memfd:pagescope-group', 'memfd'],
    ['SysV shm (private)', 'sysv'],
  ] as const) {
    const found = byLabel(label);
    expect(found, label).toHaveLength(1);
    expect(found[0].kind).toBe(kind);
    expect(found[0].members).toEqual(pids);
    expect(found[0].mappings).toHaveLength(5);
    expect(found[0].pagesMapped).toBe(16);
  }
  // Besides these three, only files are mapped MAP_SHARED (glibc's gconv-modules.cache).
  const shmem = objects.filter((o) => o.kind !== 'file');
  expect(shmem.map((o) => o.kind).sort()).toEqual(['memfd', 'shared anonymous', 'sysv']);
  for (const o of objects.filter((o) => o.kind === 'file')) expect(o.label).toBe(o.path);
});

it('keeps two objects of one name apart and places partial mappings at their offsets', () => {
  const vma = (i: number, inode: number, start: number, pages: number, offsetPages: number) =>
    ({
      index: i,
      startPage: start,
      endPage: start + pages,
      startHex: '',
      endHex: '',
      perms: 'rw-s',
      offset: offsetPages * 4096,
      dev: '00:01',
      inode,
      path: '/dev/zero (deleted)',
      label: 'shared anonymous',
      kind: 'shmem',
    }) satisfies Vma;
  const objects = groupSharedObjects([
    [10, [vma(0, 7, 100, 4, 0), vma(1, 8, 200, 4, 0)]],
    [11, [vma(0, 7, 300, 4, 2)]], // pages 2..5 of object 7
    [12, [{ ...vma(0, 9, 400, 4, 0), perms: 'rw-p' }]], // private: not shared
  ]);
  expect(objects.map((o) => [o.key, o.members, o.pagesMapped])).toEqual([
    ['00:01:7', [10, 11], 6],
    ['00:01:8', [10], 4],
  ]);
  expect(objects[0].mappings[1].firstPage).toBe(2);
});

it('takes the first SysV segment after boot (shmid 0, so inode 0 in maps) as an object', () => {
  // Seen on a freshly booted machine: the group view left out the tree's SysV segment.
  const sysv = (pid: number, start: number) =>
    ({
      index: 0,
      startPage: start,
      endPage: start + 4,
      startHex: '',
      endHex: '',
      perms: 'rw-s',
      offset: 0,
      dev: '00:01',
      inode: 0,
      path: '/SYSV00000000 (deleted)',
      label: 'SysV shm (private)',
      kind: 'shmem',
    }) satisfies Vma;
  const objects = groupSharedObjects([
    [10, [sysv(10, 100)]],
    [11, [sysv(11, 300)]],
  ]);
  expect(objects.map((o) => [o.key, o.kind, o.members, o.pagesMapped])).toEqual([
    ['00:01:0', 'sysv', [10, 11], 4],
  ]);
});
