/**
 * The group on postgres (Debian's package, run as nobody in a temporary directory by
 * testing/postgres.ts): the postmaster's tree holds its helpers and one backend per connection,
 * a new connection's backend joins and a closed one leaves, and `scan --tree` shows the shared
 * buffers (shared anonymous memory) once, mapped by every member, with each backend's share.
 * Prints the figures beside smaps_rollup's for the report.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cannotRunPostgres, startPostgres, type Postgres } from '../../testing/postgres.ts';
import { until } from '../../testing/wait.ts';
import { GroupReader } from './group.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/pagescope.mjs');
const why = cannotRunPostgres();
let pg: Postgres | null = null;

// Each session fills a table of its own (its pages go through the shared buffers), then stays.
const fill = (n: number): string =>
  `create table t${n} as select g, repeat('x', 100) as pad from generate_series(1, 20000) g; select count(*) from t${n}`;

beforeAll(async () => {
  if (why) return;
  pg = await startPostgres('32MB');
  await pg.connect(fill(1));
  await pg.connect(fill(2));
});

afterAll(() => pg?.stop());

function rollup(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    for (const m of fs
      .readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8')
      .matchAll(/^(\w+):\s+(\d+) kB$/gm))
      out[m[1]] = Number(m[2]);
  } catch {
    // exited
  }
  return out;
}

it('follows the postmaster tree: a new backend joins, a closed one leaves', async (ctx) => {
  if (!pg) return ctx.skip(why!);
  const reader = new GroupReader({ kind: 'tree', root: pg.postmaster });
  const first = reader.read();
  // postmaster, checkpointer, background writer, walwriter, autovacuum launcher, logical
  // replication launcher, and the two sessions' backends (some may still be starting).
  expect(first.members.length).toBeGreaterThanOrEqual(6);
  const session = await pg.connect(fill(3));
  const joined = await until('the third backend to join', () => reader.read().diff.joined[0]);
  expect(joined.ppid).toBe(pg.postmaster);
  session.stdin!.end(); // the session ends: its backend exits
  const left = await until('the backend to leave', () => reader.read().diff.left[0]);
  expect(left.pid).toBe(joined.pid);
});

it('scan --tree: the shared buffers once, every member mapping them, with shares', (ctx) => {
  if (!pg) return ctx.skip(why!);
  const run = spawnSync(
    process.execPath,
    [BIN, 'scan', '--tree', String(pg.postmaster), '--json'],
    {
      encoding: 'utf8',
      timeout: 120_000,
    },
  );
  expect(run.status, run.stderr).toBe(0);
  const g = JSON.parse(run.stdout) as {
    members: Array<{ pid: number; name: string; pages: { present: number } }>;
    objects: Array<{
      kind: string;
      label: string;
      members: number[];
      pagesMapped: number;
      presentUnion: number;
      shares: Array<{ pid: number; present: number; share: number }>;
      object: { allocated: number; resident: number; swapped: number; source: string } | null;
    }>;
    residentOnce: number;
    residentSum: number;
    sharedSwapped: number;
    scanMs: number;
    readMs: number;
  };
  // The main shared memory: the largest shared anonymous object (32 MB of buffers and more).
  const buffers = g.objects
    .filter((o) => o.kind === 'shared anonymous')
    .sort((a, b) => b.pagesMapped - a.pagesMapped)[0];
  expect(buffers.pagesMapped * 4096).toBeGreaterThan(32 << 20);
  expect(buffers.members.length).toBe(g.members.length);
  expect(buffers.object?.source).toBe('object');
  // The sessions' table pages went through the buffers: more than one member holds some.
  expect(buffers.shares.filter((s) => s.present > 0).length).toBeGreaterThan(1);
  expect(buffers.presentUnion).toBeLessThanOrEqual(buffers.object!.resident);
  expect(g.residentOnce).toBeLessThan(g.residentSum);

  const roll = g.members.map((m) => rollup(m.pid));
  const kb = (pages: number): number => pages * 4;
  const sum = (k: string): number => roll.reduce((a, r) => a + (r[k] ?? 0), 0);
  console.log(
    `postgres tree: ${g.members.length} members read in ${g.readMs.toFixed(1)} ms, scanned in ${g.scanMs.toFixed(0)} ms; ` +
      `shared buffers object ${kb(buffers.pagesMapped)} kB mapped, ${kb(buffers.object!.resident)} kB resident in the object, ` +
      `${kb(buffers.presentUnion)} kB in some page table, ${kb(buffers.object!.swapped)} kB swapped; ` +
      `group resident once ${kb(g.residentOnce)} kB vs members' sum ${kb(g.residentSum)} kB; ` +
      `smaps_rollup: Rss sum ${sum('Rss')} kB, Pss sum ${sum('Pss')} kB, Pss_Shmem sum ${sum('Pss_Shmem')} kB, Swap sum ${sum('Swap')} kB`,
  );
  // The page tables' present pages are what smaps_rollup calls Rss (read moments apart).
  expect(Math.abs(kb(g.residentSum) - sum('Rss'))).toBeLessThan(sum('Rss') * 0.2);
});
