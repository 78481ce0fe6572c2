// CliWatch (bench/lib/cli-watch.ts), how bench 11 watches: the built CLI (dist/, which the test
// run's global setup builds) in a process of its own, against a real python3 target.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { until } from '../../testing/wait.ts';
import {
  cleanupAfterEach,
  expectTargetRunsOn,
  startPyTarget,
} from '../../testing/watch-support.ts';
import { CliWatch, whileWatching } from './cli-watch.ts';

const { track, defer } = cleanupAfterEach();

describe('CliWatch', () => {
  it('starts on the start line, reads the ticks as they come with the watch process’s CPU, and stops it cleanly', async () => {
    const t = track(await startPyTarget(64));
    expect(await t.send(`l ${Array.from({ length: 64 }, (_, i) => i).join(' ')}`)).toBe('ok');
    const w = new CliWatch(t.pid, 50, null);
    defer(() => w.child.kill('SIGKILL'));
    const start = await w.started;
    const startedAt = w.startAtMs!;
    expect(startedAt).toBeGreaterThan(0);
    expect(startedAt).toBeLessThanOrEqual(performance.now());
    expect(start).toMatchObject({ pid: t.pid, intervalMs: 50, sampleFraction: 1 });
    expect(start.pages).toBeGreaterThanOrEqual(64);
    // Tick 1 may have come in the start line's chunk (50 ms ticks): none came before it.
    for (const k of w.ticks) expect(k.atMs).toBe(startedAt);
    expect(w.cpuSinceLast()).toEqual({ schedMs: null, statMs: null });
    await until('three ticks', () => w.ticks.length >= 3, 30_000);
    // A tick read after this moment is stamped after it (as it comes, not at some earlier time).
    const seenAt = performance.now();
    const seen = w.ticks.length;
    await until('one more tick', () => w.ticks.length > seen, 30_000);
    expect(w.ticks[seen].atMs).toBeGreaterThanOrEqual(seenAt);
    const cpu = w.cpuSinceLast();
    expect(cpu.schedMs).toBeGreaterThan(0);
    expect(cpu.statMs).toBeGreaterThanOrEqual(0);
    expect(w.ticks.map((k) => k.tick)).toEqual(w.ticks.map((_, i) => i + 1));
    const readAt = performance.now();
    for (const [i, k] of w.ticks.entries()) {
      // Lines that came in one chunk share its time: in order, never before the start line's.
      expect(k.atMs).toBeGreaterThanOrEqual(i ? w.ticks[i - 1].atMs : startedAt);
      expect(k.atMs).toBeLessThanOrEqual(readAt);
      // Every page of the target's loop is rewritten within a tick: counted.
      expect(k.writtenPages).toBeGreaterThan(0);
      expect(k.targetCpuMs).toBeGreaterThanOrEqual(0);
      expect(k.ownCpuMs).toBeGreaterThanOrEqual(0);
    }
    await w.stop();
    expect(w.child.exitCode).toBe(0);
    expect(w.done).toMatchObject({ reason: 'interrupted by SIGINT' });
    expect(w.done!.faultCostUs).toBeGreaterThan(0);
    expect(fs.existsSync(`/proc/${w.child.pid}`)).toBe(false);
    await expectTargetRunsOn(t, [1, 2]);
  });

  it.each(['SIGINT', 'SIGTERM'] as const)(
    'a bench ended by %s ends its watches first (they run detached: the signal reaches the bench only)',
    async (sig) => {
      const t = track(await startPyTarget(16));
      // A bench: one watch started, then waiting (as a bench between its runs). Ticks 5 min
      // apart: a watch that outlived the bench would not end by writing to its closed stdout.
      const code = [
        `const { CliWatch } = await import(${JSON.stringify(new URL('./cli-watch.ts', import.meta.url).pathname)});`,
        `const w = new CliWatch(${t.pid}, 300000, null);`,
        `await w.started;`,
        `console.log(w.child.pid);`,
        `setInterval(() => {}, 1000);`,
      ].join('\n');
      const bench = spawn(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', code],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      let out = '';
      bench.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
      const benchExit = new Promise<NodeJS.Signals | number | null>((res) =>
        bench.once('exit', (c, s) => res(s ?? c)),
      );
      defer(() => bench.kill('SIGKILL'));
      const watchPid = Number(
        await until('the watch started', () => /^\d+\n/.exec(out)?.[0], 30_000),
      );
      defer(() => {
        try {
          process.kill(watchPid, 'SIGKILL');
        } catch {
          // gone, as it should be
        }
      });
      expect(fs.existsSync(`/proc/${watchPid}`)).toBe(true);
      bench.kill(sig);
      // The bench dies by the signal (re-raised: its default action), its watch ends too.
      expect(await benchExit).toBe(sig);
      const alive = (): boolean => {
        try {
          return !/\) Z /.test(fs.readFileSync(`/proc/${watchPid}/stat`, 'latin1'));
        } catch {
          return false;
        }
      };
      await until('the watch to end', () => !alive(), 30_000);
      await expectTargetRunsOn(t, [1, 2]);
    },
  );

  it('a watch that cannot start says why, and its stop says it failed', async () => {
    // A pid no process has (pid_max is at most 2^22).
    const w = new CliWatch(4_194_304 + 1, 100, null);
    defer(() => w.child.kill('SIGKILL'));
    await expect(w.started).rejects.toThrow(/ended \(2\) before watching: .*4194305/);
    await expect(w.stop()).rejects.toThrow(/pagescope watch exited 2/);
  });

  it('whileWatching: a run that fails throws its own error, not its failing stop’s', async () => {
    const w = new CliWatch(4_194_304 + 1, 100, null); // cannot start: its stop fails
    defer(() => w.child.kill('SIGKILL'));
    await expect(
      whileWatching(w, async () => {
        await w.started;
      }),
    ).rejects.toThrow(/ended \(2\) before watching/);
    // A run that succeeds (once the watch ended): the stop's failure is thrown.
    const w2 = new CliWatch(4_194_304 + 1, 100, null);
    defer(() => w2.child.kill('SIGKILL'));
    await expect(whileWatching(w2, () => w2.started.catch(() => 1))).rejects.toThrow(
      /pagescope watch exited 2/,
    );
  });
});
