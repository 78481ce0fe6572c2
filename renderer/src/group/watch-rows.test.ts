import { expect, it } from 'vitest';
import type { GroupWatchTick } from '../../../core/protocol/messages.ts';
import { quietTick, watchStart } from './test-fixtures.ts';
import {
  applyTick,
  failedLines,
  memberWritten,
  objectWritten,
  startedWatch,
  startingWatch,
  unlistedObjects,
  watchSummary,
} from './watch-rows.ts';

const start = watchStart({
  members: [
    { pid: 10, ppid: 1, name: 'parent', watchedPages: 100 },
    { pid: 11, ppid: 10, name: 'child', watchedPages: 100 },
  ],
  failed: [{ pid: 12, name: 'odd', why: 'it is a kernel thread' }],
});

function tick(n: number, over: Partial<GroupWatchTick> = {}): GroupWatchTick {
  return quietTick(n, {
    estOverheadPct: 0.4,
    writtenOnce: 24,
    writtenSum: 32,
    members: [
      {
        pid: 10,
        name: 'parent',
        writtenPages: 16,
        writtenTotal: 16 * n,
        privatePages: 0,
        sharedPages: 16,
        exact: true,
        writtenEst: 16,
      },
      {
        pid: 11,
        name: 'child',
        writtenPages: 16,
        writtenTotal: 16 * n,
        privatePages: 0,
        sharedPages: 16,
        exact: true,
        writtenEst: 16,
      },
    ],
    objects: [
      {
        key: '0:99',
        kind: 'memfd',
        label: 'memfd:x',
        identity: 'inode 99',
        writtenPages: 24,
        writtenSoFar: 24 + n,
        ranges: [[0, 24]],
        shares: [
          { pid: 10, pages: 16, share: 12 },
          { pid: 11, pages: 16, share: 12 },
        ],
        sharesSoFar: [
          { pid: 10, pages: 16 * n, share: 12 * n },
          { pid: 11, pages: 16 * n, share: 12 * n },
        ],
      },
    ],
    ...over,
  });
}

it('shows each member’s and each object’s written pages, this tick and since the start', () => {
  expect(memberWritten(null, 10, 4096)).toBeNull();
  expect(memberWritten(startingWatch(), 10, 4096)).toBeNull();
  let w = startedWatch(startingWatch(), start);
  expect(memberWritten(w, 10, 4096)).toEqual({ tick: 'no tick yet', total: '—' });
  w = applyTick(w, tick(1));
  w = applyTick(w, tick(2));
  expect(memberWritten(w, 10, 4096)).toEqual({
    tick: '16 pages (64 KiB)',
    total: '32 pages (128 KiB)',
  });
  expect(memberWritten(w, 12, 4096)?.tick).toBe('not watched');
  const names = new Map([[10, 'parent']]);
  const o = objectWritten(w, '0:99', 4096, names)!;
  expect(o.tick).toBe('24 pages (96 KiB)');
  expect(o.soFar).toBe('26 pages (104 KiB)');
  expect(o.shares.map((s) => s.text)).toEqual([
    'parent (pid 10): wrote 16 pages, share 12',
    'child (pid 11): wrote 16 pages, share 12',
  ]);
  expect(o.sharesSoFar.map((s) => s.text)).toEqual([
    'parent (pid 10): wrote 32 pages, share 24',
    'child (pid 11): wrote 32 pages, share 24',
  ]);
  // Written before, not in this tick: 0 now, its distinct pages kept.
  w = applyTick(w, tick(3, { objects: [] }));
  expect(objectWritten(w, '0:99', 4096, names)).toMatchObject({
    tick: '0 pages (0 KiB)',
    soFar: '26 pages (104 KiB)',
    shares: [],
  });
  expect(objectWritten(w, '0:99', 4096, names)?.sharesSoFar).toHaveLength(2);
  expect(unlistedObjects(w, new Set())).toEqual([
    { key: '0:99', label: 'memfd:x', what: 'memfd, inode 99' },
  ]);
  expect(unlistedObjects(w, new Set(['0:99']))).toEqual([]);
});

it('labels estimates as estimates, and says each member not watched in one sentence', () => {
  let w = startedWatch(startingWatch(), start);
  const k = tick(1, { exact: false });
  k.members[0] = { ...k.members[0], exact: false, writtenPages: 5, writtenEst: 20.4 };
  w = applyTick(w, k);
  expect(memberWritten(w, 10, 4096)?.tick).toBe('≈ 20 pages (estimate; 5 seen)');
  const line = watchSummary(w, 4096);
  expect(line).toContain('Some members were sampled: their figures are estimates.');
  expect(line).toContain('Estimated cost: about 0.4% of the members’ CPU time (an estimate');
  w = applyTick(w, tick(2, { failed: [{ pid: 13, name: 'new', why: 'process 13 exited.' }] }));
  expect(failedLines(w)).toEqual([
    'Not watching odd (pid 12): it is a kernel thread.',
    'Not watching new (pid 13): process 13 exited.',
  ]);
});
