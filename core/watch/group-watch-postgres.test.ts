/**
 * A group watch over postgres (Debian's package, run as nobody in a temporary directory by
 * testing/postgres.ts) under pgbench: the shared buffers are one object whose written pages are
 * the union of every backend's writes (two sessions updating two tables: both tables' buffers
 * are there, which no single backend's watch sees), pgbench's backends are followed as they
 * connect, their writes to the same hot buffers are counted once, and the watch over the
 * postmaster's tree goes on when they exit. Prints the figures for the report.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  cannotRunPostgres,
  postgresBin,
  startPostgres,
  type Postgres,
} from '../../testing/postgres.ts';
import { until } from '../../testing/wait.ts';
import { isSharedMapping } from '../proc/shared-objects.ts';
import { GroupWatch, type GroupTick } from './group-watch.ts';
import type { ObjectWrites } from './group-writes.ts';

const why = cannotRunPostgres();
let pg: Postgres | null = null;
let gw: GroupWatch | null = null;
const clients: ChildProcess[] = [];

const fill = (n: number): string =>
  `create table t${n} as select g, repeat('x', 100) as pad from generate_series(1, 20000) g`;

beforeAll(async () => {
  if (why) return;
  pg = await startPostgres('32MB');
});

afterAll(() => {
  gw?.close();
  for (const c of clients) c.kill('SIGKILL');
  pg?.stop();
});

/** Runs `sql` in an open psql session; resolves with what it printed. */
function query(session: ChildProcess, sql: string): Promise<string> {
  const mark = `done-${Math.random().toString(36).slice(2)}`;
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (d: Buffer): void => {
      text += d.toString();
      const at = text.indexOf(mark);
      if (at < 0) return;
      session.stdout!.off('data', onData);
      resolve(text.slice(0, at).trim());
    };
    session.stdout!.on('data', onData);
    session.once('exit', (code) => reject(new Error(`psql exited (${code}) during ${sql}`)));
    session.stdin!.write(`${sql};\n\\echo ${mark}\n`);
  });
}

/** The main shared memory: the largest shared anonymous object written this tick. */
const buffers = (t: GroupTick): ObjectWrites | undefined =>
  t.writes.objects
    .filter((o) => o.kind === 'shared anonymous')
    .sort((a, b) => b.writtenPages - a.writtenPages)[0];

it('the shared buffers: the union of every backend’s writes, each page once', async (ctx) => {
  if (!pg) return ctx.skip(why!);
  const s1 = await pg.connect(fill(1));
  const s2 = await pg.connect(fill(2));
  const p1 = Number(await query(s1, 'select pg_backend_pid()'));
  const p2 = Number(await query(s2, 'select pg_backend_pid()'));
  const blocks = async (s: ChildProcess, t: string): Promise<number> =>
    Number(await query(s, `select pg_relation_size('${t}') / 8192`));
  const b1 = await blocks(s1, 't1');
  const b2 = await blocks(s2, 't2');
  gw = new GroupWatch({
    spec: { kind: 'tree', root: pg.postmaster },
    select: (vmas) =>
      vmas
        .filter((v) => isSharedMapping(v) && v.perms[1] === 'w')
        .map((v) => ({ startPage: v.startPage, endPage: v.endPage })),
    intervalMs: 200,
  });
  const t0 = performance.now();
  gw.start();
  const startMs = performance.now() - t0;
  const members = gw.members().map((m) => m.member.pid);
  expect(members).toContain(pg.postmaster);
  expect(members).toContain(p1);
  expect(members).toContain(p2);
  gw.tick();

  // Each session rewrites its own table: every block gets a new tuple version, so each backend
  // writes at least one OS page (the block's header) of each of its table's buffers.
  await query(s1, 'update t1 set g = g + 1');
  await query(s2, 'update t2 set g = g + 1');
  const tick = gw.tick();
  const buf = buffers(tick)!;
  const share = (pid: number): number => buf.shares.find((s) => s.pid === pid)?.pages ?? 0;
  console.log(
    `postgres: ${members.length} members attached in ${startMs.toFixed(0)} ms; t1 ${b1} blocks, t2 ${b2} blocks; ` +
      `buffers written ${buf.writtenPages} pages once, backend 1 ${share(p1)}, backend 2 ${share(p2)}, ` +
      `by ${buf.shares.length} members: ${buf.shares.map((s) => `${s.pid}:${s.pages}`).join(' ')}`,
  );
  expect(share(p1)).toBeGreaterThanOrEqual(b1);
  expect(share(p2)).toBeGreaterThanOrEqual(b2);
  // Both tables' buffers are in the union: no backend's writes missing.
  expect(buf.writtenPages).toBeGreaterThanOrEqual(b1 + b2);
  const sum = buf.shares.reduce((n, s) => n + s.pages, 0);
  expect(buf.writtenPages).toBeLessThanOrEqual(sum);
  expect(buf.writtenPages).toBe(buf.ranges.reduce((n, [a, b]) => n + b - a, 0));
  s1.stdin!.end();
  s2.stdin!.end();
});

it('under pgbench: new backends followed, hot buffers counted once, exits survived', async (ctx) => {
  if (!pg) return ctx.skip(why!);
  if (!gw) return ctx.skip('the first case did not start the watch');
  const w = gw;
  const bin = postgresBin()!;
  const pgbench = fs.existsSync(path.join(bin, 'pgbench')) ? path.join(bin, 'pgbench') : 'pgbench';
  const conn = ['-h', pg.dir, '-p', String(pg.port), '-U', 'postgres'];
  await new Promise<void>((resolve, reject) => {
    const init = spawn(pgbench, ['-i', '-s', '2', '-q', ...conn, 'postgres'], { stdio: 'ignore' });
    init.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`pgbench -i: ${code}`)),
    );
  });
  w.tick();
  const before = new Set(w.members().map((m) => m.member.pid));
  // Long enough for four attaches on a loaded machine (seconds each); ended once seen.
  const bench = spawn(pgbench, ['-c', '4', '-T', '120', '-n', ...conn, 'postgres'], {
    stdio: 'ignore',
  });
  clients.push(bench);
  const benchDone = new Promise<number | null>((r) => bench.once('exit', (c) => r(c)));
  // Ticks while it runs: the four backends join, and write the hot rows' buffers together.
  const joined = new Set<number>();
  const tickMs: number[] = [];
  let overlapSeen: { union: number; sum: number; writers: number } | null = null;
  let exited = false;
  void benchDone.then(() => (exited = true));
  await until(
    () => `pgbench's backends to join and write (joined ${[...joined].join(',')})`,
    () => {
      const t0 = performance.now();
      const t = w.tick();
      const ms = performance.now() - t0;
      if (!t.joined.length && !t.left.length) tickMs.push(ms); // steady ticks: no attach
      for (const m of t.joined) joined.add(m.pid);
      const buf = buffers(t);
      const benchWriters = buf?.shares.filter((s) => joined.has(s.pid) && s.pages > 0) ?? [];
      if (buf && benchWriters.length >= 2) {
        const sum = buf.shares.reduce((n, s) => n + s.pages, 0);
        expect(buf.writtenPages).toBeLessThanOrEqual(sum);
        if (buf.writtenPages < sum)
          overlapSeen = { union: buf.writtenPages, sum, writers: benchWriters.length };
      }
      return (joined.size >= 4 && overlapSeen) || exited;
    },
    120_000,
    200,
  );
  expect(exited).toBe(false);
  expect(joined.size).toBeGreaterThanOrEqual(4);
  for (const pid of joined) expect(before.has(pid)).toBe(false);
  expect(overlapSeen).not.toBeNull();
  console.log(
    `pgbench -c 4: ${joined.size} backends joined; a tick with ${overlapSeen!.writers} pgbench backends writing: ` +
      `buffers ${overlapSeen!.union} pages once vs ${overlapSeen!.sum} summed; ` +
      `steady tick ms (no joins) median ${tickMs.sort((a, b) => a - b)[tickMs.length >> 1]?.toFixed(1)}, max ${tickMs[tickMs.length - 1]?.toFixed(1)} over ${tickMs.length} ticks (${w.members().length} members)`,
  );
  bench.kill('SIGINT'); // pgbench closes its connections: the backends exit
  await benchDone;
  // The backends exit with pgbench (its first connection, which checks the tables, already
  // did): they leave the group and the watch goes on.
  await until(
    'pgbench’s backends to leave',
    () => {
      w.tick();
      const now = new Set(w.members().map((m) => m.member.pid));
      return [...joined].every((p) => !now.has(p));
    },
    60_000,
    200,
  );
  const after = w.members().map((m) => m.member.pid);
  for (const pid of joined) expect(after).not.toContain(pid);
  expect(after).toContain(pg.postmaster);
  // Still counting: a new session's writes show up.
  const s = await pg.connect('select 1');
  clients.push(s);
  await until('the new session’s backend to join', () => w.tick().joined.length > 0, 60_000, 200);
  await query(s, 'update pgbench_branches set bbalance = bbalance + 1');
  expect(buffers(w.tick())?.writtenPages ?? 0).toBeGreaterThan(0);
  s.stdin!.end();
});
