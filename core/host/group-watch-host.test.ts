/**
 * watchGroup and stopGroupWatch through the host service (the one both hosts use), on a real
 * python3 tree sharing memory (testing/group-tree.py): the group thread attaches every member,
 * each groupTick event (checked against the protocol's schema) gives the memfd once, its written
 * pages the union of the members' writes with each member's pages and share; Stop, a newer watch
 * and the connection closing each leave every member exactly as before (no userfaultfd, no uw
 * flag, no WPALLOWED page, no tracer) and give the host-wide session slot back; bad input gets
 * one sentence and no watch.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGroupTree, type GroupTree } from '../../testing/group-tree.ts';
import { failed } from '../../testing/host-refusal.ts';
import { tracesLeft } from '../../testing/traces.ts';
import { until } from '../../testing/wait.ts';
import type { GroupWatchStart, GroupWatchTick } from '../protocol/group.ts';
import {
  hostEventSchema,
  responseSchema,
  type HostEvent,
  type Response,
} from '../protocol/messages.ts';
import { HostService, type HostConnection } from './service.ts';

let service: HostService;
let conn: HostConnection;
let tree: GroupTree;
let id = 1;
const events: HostEvent[] = [];

beforeAll(async () => {
  service = new HostService();
  conn = service.connect({ frame: () => {}, event: (e) => events.push(e) });
  tree = await startGroupTree(2, 32);
});

afterAll(async () => {
  await service?.closeAll();
  tree?.close();
});

const ask = (method: string, params: unknown): Promise<Response> =>
  conn.handle({ id: id++, method, params });

async function startWatch(c = conn, root = tree.info.pid): Promise<GroupWatchStart> {
  const r = await c.handle({
    id: id++,
    method: 'watchGroup',
    params: { group: { kind: 'tree', root }, intervalMs: 1000 },
  });
  const check = responseSchema('watchGroup').safeParse(r);
  expect(check.success, `${JSON.stringify(r).slice(0, 400)} ${check.error?.message ?? ''}`).toBe(
    true,
  );
  if (!r.ok) throw new Error(r.error.message);
  return r.result as GroupWatchStart;
}

const ticksOf = (watchId: number): GroupWatchTick[] =>
  events.flatMap((e) => (e.event === 'groupTick' && e.watchId === watchId ? [e.tick] : []));

function members(): number[] {
  const { pid, children, grandchild } = tree.info;
  return [pid, ...children, grandchild];
}

function clean(): string[] {
  return members().flatMap((p) => tracesLeft(p).map((t) => `${p}: ${t}`));
}

describe('watchGroup', () => {
  it('streams the memfd’s written pages once, with each member’s pages and share; Stop releases every member', async () => {
    const { pid, children } = tree.info;
    const start = await startWatch();
    expect(start.members.map((m) => m.pid).sort()).toEqual(members().sort());
    expect(start.failed).toEqual([]);
    expect(start.watching).toBe('the writable mappings');
    expect(service.reservedSessions).toBe(1); // a watch counts against the host's cap
    // The watch is on: each member carries our write protection now.
    expect(clean().length).toBeGreaterThan(0);
    await until('a first tick', () => ticksOf(start.watchId).length > 0);
    const before = ticksOf(start.watchId).length;

    // Pages 0..15 by the parent, 8..23 by child 0: 24 distinct pages, 8 written by both.
    await tree.send(`write ${pid} memfd 0 16`);
    await tree.send(`write ${children[0]} memfd 8 16`);
    const memfdIn = (k: GroupWatchTick) =>
      k.objects.find((o) => o.label === 'memfd:pagescope-group');
    const seen = await until('the memfd’s 24 distinct pages written, in the ticks', () => {
      const ks = ticksOf(start.watchId).slice(before);
      const last = ks
        .map(memfdIn)
        .filter((o) => o !== undefined)
        .at(-1);
      return last?.writtenSoFar === 24 ? ks : null;
    });
    for (const e of events) expect(hostEventSchema.safeParse(e).success).toBe(true);
    const withMemfd = seen.map(memfdIn).filter((o) => o !== undefined);
    // Each member's pages over the ticks: its own 16, whichever ticks they fell in.
    const pagesBy = (p: number) =>
      withMemfd.reduce((n, o) => n + (o.shares.find((s) => s.pid === p)?.pages ?? 0), 0);
    expect(pagesBy(pid)).toBe(16);
    expect(pagesBy(children[0])).toBe(16);
    // The same, added up by the host since the start (what the UI shows "since watching").
    const soFar = withMemfd.at(-1)!.sharesSoFar;
    expect(soFar.find((s) => s.pid === pid)?.pages).toBe(16);
    expect(soFar.find((s) => s.pid === children[0])?.pages).toBe(16);
    expect(soFar.reduce((n, s) => n + s.share, 0)).toBeCloseTo(
      withMemfd.reduce((n, o) => n + o.writtenPages, 0),
      9,
    );
    for (const o of withMemfd) {
      // The shares add up to the union, each page once.
      expect(o.shares.reduce((n, s) => n + s.share, 0)).toBeCloseTo(o.writtenPages, 9);
      expect(o.ranges.reduce((n, [a, b]) => n + b - a, 0)).toBe(o.writtenPages);
    }
    if (withMemfd.length === 1) {
      // Both writes in one tick (the usual case): the union, and 8 + 8/2 each.
      const [o] = withMemfd;
      expect(o.writtenPages).toBe(24);
      expect(o.ranges).toEqual([[0, 24]]);
      expect(o.shares.map((s) => [s.pid, s.pages, s.share]).sort()).toEqual(
        [
          [pid, 16, 12],
          [children[0], 16, 12],
        ].sort(),
      );
    } else expect(withMemfd.map((o) => o.writtenPages)).toEqual([16, 16]); // one writer a tick
    // Per member: the tick's pages, and the ticks added up.
    const lastTick = seen.at(-1)!;
    const parent = lastTick.members.find((m) => m.pid === pid)!;
    expect(parent.exact).toBe(true);
    expect(parent.writtenTotal).toBeGreaterThanOrEqual(16);

    const stop = await ask('stopGroupWatch', { watchId: start.watchId });
    expect(responseSchema('stopGroupWatch').safeParse(stop).success).toBe(true);
    expect(stop.ok).toBe(true);
    // Resolved only once the thread released every member: nothing of ours is left.
    expect(clean()).toEqual([]);
    expect(service.reservedSessions).toBe(0);
    failed(await ask('stopGroupWatch', { watchId: start.watchId }), 'unknown-session');
  });

  it('a newer watch stops the older, and closing the connection stops the watch', async () => {
    const other = service.connect({ frame: () => {}, event: (e) => events.push(e) });
    const a = await startWatch(other);
    const b = await startWatch(other);
    expect(b.watchId).not.toBe(a.watchId);
    failed(
      await other.handle({ id: id++, method: 'stopGroupWatch', params: { watchId: a.watchId } }),
      'unknown-session',
    );
    await until('a tick of the newer watch', () => ticksOf(b.watchId).length > 0);
    await other.close();
    expect(clean()).toEqual([]);
    expect(service.reservedSessions).toBe(0);
  });

  it('says when every member has exited, in one sentence', async () => {
    const t = await startGroupTree(1, 8);
    try {
      const s = await startWatch(conn, t.info.pid);
      await until('a first tick', () => ticksOf(s.watchId).length > 0);
      t.close();
      const ended = await until('the watch to end', () =>
        events.find((e) => e.event === 'groupWatchEnded' && e.watchId === s.watchId),
      );
      expect(ended).toMatchObject({
        reason: `Every member of the tree of pid ${t.info.pid} has exited.`,
      });
      failed(await ask('stopGroupWatch', { watchId: s.watchId }), 'unknown-session');
    } finally {
      t.close();
    }
  });

  it('refuses a pid that is not running and garbage, in one sentence, watching nothing', async () => {
    const msg = failed(
      await ask('watchGroup', { group: { kind: 'tree', root: 4_000_000 } }),
      'no-process',
    );
    expect(msg).toContain('4000000');
    for (const params of [
      {},
      { group: { kind: 'tree', root: 0 } },
      { group: { kind: 'tree', root: tree.info.pid }, intervalMs: 5 },
      { group: { kind: 'tree', root: tree.info.pid }, intervalMs: 1.5e9 },
      { group: { kind: 'tree', root: tree.info.pid }, select: 'everything' },
      { group: { kind: 'cgroup', path: 'a\0b' } },
      { group: 'tree' },
    ])
      failed(await ask('watchGroup', params), 'bad-request');
    for (const params of [{}, { watchId: 'one' }, { watchId: 0 }, { watchId: 1, extra: true }])
      failed(await ask('stopGroupWatch', params), 'bad-request');
    failed(await ask('stopGroupWatch', { watchId: 123456 }), 'unknown-session');
    expect(clean()).toEqual([]);
  });
});
