/** The picker's tree order: children under their parent, roots and siblings by pid, no loops. */
import { expect, it } from 'vitest';
import { processTree } from './process-tree.ts';

const p = (pid: number, ppid?: number) => ({ pid, ppid });
const shape = (rows: ReturnType<typeof processTree>) => rows.map((r) => [r.process.pid, r.depth]);

it('puts children under their parent, depth first, siblings by pid', () => {
  // A postmaster (100) with backends, one backend's child, and an unrelated process.
  const list = [p(1, 0), p(300, 100), p(100, 1), p(50, 1), p(200, 100), p(301, 300), p(7, 0)];
  expect(shape(processTree(list))).toEqual([
    [1, 0],
    [50, 1],
    [100, 1],
    [200, 2],
    [300, 2],
    [301, 3],
    [7, 0],
  ]);
});

it('a parent not in the list makes a root; no ppid at all keeps the list flat in pid order', () => {
  expect(shape(processTree([p(20, 999), p(21, 20)]))).toEqual([
    [20, 0],
    [21, 1],
  ]);
  expect(shape(processTree([p(3), p(1), p(2)]))).toEqual([
    [1, 0],
    [2, 0],
    [3, 0],
  ]);
});

it('survives a parent loop and a deep chain', () => {
  expect(
    shape(processTree([p(5, 6), p(6, 5)]))
      .map(([pid]) => pid)
      .sort(),
  ).toEqual([5, 6]);
  const chain = Array.from({ length: 50_000 }, (_, i) => p(i + 1, i));
  const rows = processTree(chain);
  expect(rows).toHaveLength(50_000);
  expect(rows[49_999].depth).toBe(49_999);
});
