/**
 * A session's worker thread registers tsx, whose loader starts an esbuild service as a child of
 * this process; when the worker ends, nothing in Node waits for that child. reap.ts must collect
 * it: after the session is closed, the esbuild it brought is gone from /proc entirely, not a
 * zombie (`[esbuild] <defunct>`) kept for as long as the host runs.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { Session } from '../session/session.ts';
import { helperZombies } from './reap.ts';

function childrenNamed(name: string): number[] {
  const out: number[] = [];
  for (const tid of fs.readdirSync('/proc/self/task')) {
    let kids = '';
    try {
      kids = fs.readFileSync(`/proc/self/task/${tid}/children`, 'latin1');
    } catch {
      continue;
    }
    for (const k of kids.split(' ').filter(Boolean)) {
      try {
        const stat = fs.readFileSync(`/proc/${k}/stat`, 'latin1');
        if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) === name) out.push(Number(k));
      } catch {
        // gone
      }
    }
  }
  return out;
}

// Without tsx's disk cache the worker's loader must transform, so it starts its esbuild; and the
// worker from the sources, through tsx, not from dist/ as the other tests start it.
const given = { cache: process.env.TSX_DISABLE_CACHE, entries: process.env.PAGESCOPE_ENTRIES };
process.env.TSX_DISABLE_CACHE = '1';
delete process.env.PAGESCOPE_ENTRIES;
const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
afterAll(() => {
  sleeper.kill('SIGKILL');
  for (const [name, value] of [
    ['TSX_DISABLE_CACHE', given.cache],
    ['PAGESCOPE_ENTRIES', given.entries],
  ] as const)
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
});

describe('helper zombies', () => {
  it("a closed session's esbuild is reaped, not left as a zombie", async (ctx) => {
    const before = new Set(childrenNamed('esbuild'));
    const session = await Session.attach(sleeper.pid!, { sessionId: 1, intervalMs: 100 });
    const mine = childrenNamed('esbuild').filter((p) => !before.has(p));
    if (mine.length === 0) ctx.skip('the session worker started no esbuild here (tsx without it)');
    await session.close();
    await expect
      .poll(() => mine.filter((p) => fs.existsSync(`/proc/${p}`)), { timeout: 10_000 })
      .toEqual([]);
    expect(helperZombies()).toEqual([]);
  });
});
