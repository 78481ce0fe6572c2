/** The group view's rows and words from a scanGroup answer: tree order, sources, exact numbers. */
import { expect, it } from 'vitest';
import type { GroupScanInfo } from '../../../core/protocol/messages.ts';
import {
  groupTitle,
  memberRows,
  objectRows,
  pagesText,
  refreshDelay,
  shareText,
  summaryText,
} from './group-rows.ts';

const member = (pid: number, ppid: number, name = 'python3') => ({
  pid,
  ppid,
  name,
  resident: 100,
  swapped: 0,
  privateResident: 60,
});

const scan = (): GroupScanInfo => ({
  describe: 'tree of pid 10',
  pageSize: 4096,
  members: [member(12, 10), member(10, 1, 'parent'), member(13, 11), member(11, 10)],
  moreMembers: 0,
  skipped: [],
  objects: [
    {
      key: '0:1',
      kind: 'memfd',
      label: 'memfd:pagescope-group',
      identity: 'inode 1',
      size: 32,
      resident: 24,
      fromObject: { swapped: 2, resident: 24, allocated: 26, source: 'object' },
      shares: [
        { pid: 10, present: 16, share: 12 },
        { pid: 11, present: 0, share: 0 },
        { pid: 12, present: 16, share: 12 },
      ],
    },
    {
      key: '0:2',
      kind: 'sysv',
      label: 'SysV shm key 0x0',
      identity: 'shmid 2',
      size: 3,
      resident: 1,
      fromObject: { swapped: 1, resident: null, allocated: null, source: 'smaps' },
      shares: [{ pid: 10, present: 1, share: 1 / 3 }],
    },
    {
      key: '8:3',
      kind: 'file',
      label: '/usr/lib/x.so',
      identity: 'inode 3',
      size: 1,
      resident: 1,
      fromObject: null,
      shares: [{ pid: 10, present: 1, share: 1 }],
    },
  ],
  moreObjects: 0,
  residentOnce: 264,
  residentSum: 400,
  sharedSwapped: 3,
  scanMs: 12,
});

it('lists members under their parent', () => {
  expect(memberRows(scan()).map((r) => [r.member.pid, r.depth])).toEqual([
    [10, 0],
    [11, 1],
    [13, 2],
    [12, 1],
  ]);
});

it('shows each object once, with where each figure came from and every member’s share', () => {
  const [memfd, sysv, file] = objectRows(scan());
  expect(memfd.label).toBe('memfd:pagescope-group');
  expect(memfd.what).toBe('memfd, inode 1');
  expect(memfd.size).toBe('32 pages (128 KiB)');
  expect(memfd.resident).toBe(
    '24 pages (96 KiB) in page tables; 24 pages (96 KiB) from the object',
  );
  expect(memfd.swapped).toBe('2 pages (8 KiB) from the object');
  expect(memfd.shares.map((s) => [s.pid, s.name, s.text])).toEqual([
    [10, 'parent', '16 present, share 12'],
    [12, 'python3', '16 present, share 12'],
  ]);
  expect(memfd.zero).toEqual({ pids: [11], text: '0 present, share 0: python3 (pid 11)' });
  expect(sysv.zero).toBeNull();
  // smaps cannot tell resident: only the page tables' figure is shown.
  expect(sysv.resident).toBe('1 page (4 KiB) in page tables');
  expect(sysv.swapped).toBe('1 page (4 KiB) from smaps');
  expect(sysv.shares[0].text).toBe('1 present, share ≈ 0.33');
  expect(file.swapped).toMatch(/^not counted/);
});

it('names at most ZERO_NAMES members with no page present, and counts the rest', () => {
  const s = scan();
  s.members = Array.from({ length: 30 }, (_, i) => member(100 + i, 1));
  s.objects = [
    { ...s.objects[0], shares: s.members.map((m) => ({ pid: m.pid, present: 0, share: 0 })) },
  ];
  const [row] = objectRows(s);
  expect(row.shares).toEqual([]);
  expect(row.zero?.pids).toHaveLength(30);
  expect(row.zero?.text).toMatch(
    /^0 present, share 0: python3 \(pid 100\), .*\(pid 111\) and 18 more$/,
  );
});

it('says exact numbers exactly', () => {
  expect(pagesText(1, 4096)).toBe('1 page (4 KiB)');
  expect(pagesText(262144, 4096)).toBe('262,144 pages (1,024 MiB)');
  expect(pagesText(3, 16384)).toBe('3 pages (48 KiB)');
  expect(shareText(10.5)).toBe('10.5');
  expect(shareText(2 / 3)).toBe('≈ 0.67');
  expect(summaryText(scan())).toContain('counted once: 264 pages (1,056 KiB)');
});

it('names the group and refreshes gently', () => {
  expect(groupTitle({ kind: 'tree', root: 10 })).toBe('Tree of pid 10');
  expect(groupTitle({ kind: 'cgroup', path: '/sys/fs/cgroup/a' })).toBe('Cgroup /sys/fs/cgroup/a');
  expect(refreshDelay(10)).toBe(2000);
  expect(refreshDelay(1000)).toBe(5000);
  expect(refreshDelay(60_000)).toBe(30_000);
});
