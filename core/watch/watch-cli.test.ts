/**
 * `pagescope watch` end to end: the real CLI in a child process against real targets.
 *
 * Three cases at a time (describe.concurrent, and vi.setConfig's maxConcurrency: the two
 * describes run beside each other too, three cases in all). Each case has its own target and
 * its own CLI and mostly waits for ticks and for the CLI to start, attach and calibrate, so the
 * file takes about a third of the sum of its cases (60 s one at a time in CI). Three, not more:
 * the --max-overhead case needs its target to get CPU time in each tick. Cleanup is per test
 * (cleanupOf: a concurrent test's afterEach would end another's target) and every CLI runs
 * asynchronously (spawnSync would stop the other cases while it runs).
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import {
  CLI,
  cleanupOf,
  expectTargetRunsOn,
  hex,
  runAsync,
  watchTargetArgs,
  startCli,
  startPyTarget,
} from '../../testing/watch-support.ts';
import { tracesLeft } from '../../testing/traces.ts';
import { cannotRunAsNobody } from '../../testing/as-nobody.ts';
import { limit } from '../../testing/wait.ts';

vi.setConfig({ maxConcurrency: 3 });

/** `pagescope ARGS...` to its end (under `prefix`, e.g. setpriv, when given), not blocking. */
async function run(
  args: string[],
  prefix: string[] = [],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number; out: string; err: string }> {
  const cmd = prefix.length ? prefix[0] : process.execPath;
  const r = await runAsync(
    cmd,
    [...prefix.slice(1), ...(prefix.length ? [process.execPath] : []), CLI, ...args],
    { env, timeoutMs: 90_000 },
  );
  return { code: r.code ?? -1, out: r.out, err: r.err };
}

function jsonLines(text: string): Array<Record<string, unknown>> {
  return text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe.concurrent('pagescope watch --pid', () => {
  // First: the longest case (its interval may stretch up to 64 times), so it is not the tail.
  it('--max-overhead samples pages to keep the estimated slowdown down, and says the counts are estimates', async (ctx) => {
    const { track } = cleanupOf(ctx);
    // 64 MiB rewritten every few ms: an exact watch at 100 ms costs this target a fault per page
    // per tick (about 16k x ~20 us: more than all its time); a 2% budget must make pagescope
    // sample. Ten ticks at 100 ms: at most ~64 s even where the bound stretches the interval to
    // its longest (x64, 6.4 s) from the first tick (a busy machine: the target's share of a CPU
    // is small, and a shorter interval leaves too little of its CPU time per tick to divide by).
    // Ten, not six: at load 12 the target got 3-10 ms of CPU a tick, and a sample of 1/1024 to
    // 1/128 of its pages saw none of the few it wrote in six ticks.
    const pages = 16384;
    const t = track(await startPyTarget(pages));
    expect(await t.send(`l ${Array.from({ length: pages }, (_, i) => i).join(' ')}`)).toBe('ok');
    const r = await run(
      watchTargetArgs(t, '--interval', '100', '--ticks', '10', '--json', '--max-overhead', '2'),
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const ticks = jsonLines(r.out).filter((l) => l.tick !== undefined);
    expect(ticks).toHaveLength(10);
    // Slow start: the first tick is already a small sample (64 MiB at 1-30 us a fault, as
    // machines here calibrate it, cannot be watched exactly within 2%), never exact and over
    // budget: its sample, every page of it faulting, fits one interval's budget of a whole CPU
    // (x2: the calibration the start used may differ from the one printed at the end). No fixed
    // fraction: the start picks it from the calibrated cost (1/64 at ~20 us, 1/32 at ~1 us).
    expect(ticks[0].exact).toBe(false);
    const faultCostUs = jsonLines(r.out).at(-1)!.faultCostUs as number;
    expect((ticks[0].sampleFraction as number) * pages * faultCostUs).toBeLessThanOrEqual(
      2 * 100_000 * 0.02,
    );
    for (const l of ticks) {
      expect(l.sampleFraction as number).toBeLessThan(1);
      // What is listed is what the sample saw; the estimate extrapolates from it.
      expect(l.writtenEst as number).toBeGreaterThanOrEqual(l.writtenPages as number);
    }
    // What an exact watch would have cost (the extrapolated pages at the calibrated cost, over
    // the target's CPU time, floored as the estimate floors it: 5 ms of at most 100 ms), against
    // what the sample cost: well under half. Every tick that saw a write counts: how much CPU the
    // target got in a tick (a busy machine) changes both sides alike. The faults' part of the
    // estimate only: pagescope's own CPU time that competed with the target (estOwnPct) is the
    // same whatever the sample, and on a loaded machine it can be most of the estimate.
    const sampled = ticks.slice(1).filter((l) => (l.writtenEst as number) > 0);
    expect(sampled.length, JSON.stringify(ticks)).toBeGreaterThan(0);
    const cpuMs = (l: Record<string, unknown>): number => Math.max(l.targetCpuMs as number, 5);
    const ratio = (l: Record<string, unknown>): number =>
      ((l.estOverheadPct as number) - (l.estOwnPct as number)) /
      Math.min(100, ((l.writtenEst as number) * faultCostUs) / (cpuMs(l) * 10));
    const ratios = sampled.map(ratio).sort((a, b) => a - b);
    expect(ratios[Math.floor(ratios.length / 2)]).toBeLessThan(0.5);
    expect(tracesLeft(t.pid)).toEqual([]);
    await expectTargetRunsOn(t, [1]);
  });

  it('reports exactly the pages a running python3 writes, tick after tick, as JSON lines', async (ctx) => {
    const { track } = cleanupOf(ctx);
    const t = track(await startPyTarget(32));
    expect(await t.send('l 2 3 9')).toBe('ok');
    const r = await run(watchTargetArgs(t, '--interval', '100', '--ticks', '4', '--json'));
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const lines = jsonLines(r.out);
    expect(lines).toHaveLength(6);
    expect(lines[0]).toMatchObject({ start: true, pid: t.pid, pages: 32 });
    lines.slice(1, 5).forEach((l, i) => {
      expect(l.tick).toBe(i + 1);
      expect(typeof l.t).toBe('number');
      expect(l.writtenPages).toBe(3);
      expect(l).toMatchObject({ exact: true, sampleFraction: 1, writtenEst: 3, writtenErr: 0 });
      expect(l.estOverheadPct).toBeGreaterThanOrEqual(0);
      // The range it may be in, around it.
      expect(l.estOverheadLowPct).toBeLessThanOrEqual(l.estOverheadPct as number);
      expect(l.estOverheadHighPct).toBeGreaterThanOrEqual(l.estOverheadPct as number);
      // What the estimate is a share of: the target's own CPU time in the tick.
      expect(l.targetCpuMs).toBeGreaterThanOrEqual(0);
      expect(typeof l.estLowConfidence).toBe('boolean');
      expect(l.written).toEqual([
        [hex(t.startPage + 2), hex(t.startPage + 4)],
        [hex(t.startPage + 9), hex(t.startPage + 10)],
      ]);
    });
    expect(lines[5]).toEqual({
      done: true,
      reason: '4 ticks done',
      ticks: 4,
      faultCostUs: expect.any(Number),
    });
    expect(tracesLeft(t.pid)).toEqual([]);
    await expectTargetRunsOn(t, [1]);
  });

  it('prints a human line per tick with the busiest VMAs', async (ctx) => {
    const { track } = cleanupOf(ctx);
    const t = track(await startPyTarget(16));
    expect(await t.send('l 4')).toBe('ok');
    const r = await run([
      'watch',
      '--pid',
      String(t.pid),
      '--writable',
      '--interval',
      '100',
      '--ticks',
      '2',
    ]);
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines[0]).toMatch(/^watching \d+: \d+ VMA pieces?, \d+ pages? .* granularity 1 page\.$/);
    expect(lines[1]).toMatch(
      /^being watched costs the target about \d+\.\d\d us per first write .* are estimates of the share of the target's CPU time spent on write faults and on pagescope's own work that competed with it\.$/,
    );
    expect(lines[2]).toMatch(/^tick 1 .* written [1-9]\d* pages .*busiest: /);
    expect(lines[3]).toMatch(/^tick 2 /);
    expect(lines[4]).toMatch(/^done after 2 ticks; process \d+ was released\.$/);
    expect(tracesLeft(t.pid)).toEqual([]);
  });

  it('detaches cleanly on SIGTERM and says so in the last JSON line', async (ctx) => {
    const { track } = cleanupOf(ctx);
    const t = track(await startPyTarget(16));
    expect(await t.send('l 1')).toBe('ok');
    const cli = track(startCli(watchTargetArgs(t, '--interval', '50', '--json'), 'pipe'));
    expect(JSON.parse(await cli.next(30_000))).toMatchObject({ start: true });
    expect(JSON.parse(await cli.next(30_000))).toMatchObject({ tick: 1 });
    cli.child.kill('SIGTERM');
    let last: Record<string, unknown> = {};
    for (;;) {
      last = JSON.parse(await cli.next()) as Record<string, unknown>;
      if (last.done) break;
    }
    expect(last).toMatchObject({ done: true, reason: 'interrupted by SIGTERM' });
    await new Promise((r) => cli.child.once('exit', r));
    expect(cli.child.exitCode).toBe(0);
    expect(tracesLeft(t.pid)).toEqual([]);
  });

  it('says in one sentence what is wrong with bad input, with exit code 2', async (ctx) => {
    const { track } = cleanupOf(ctx);
    const t = track(await startPyTarget(4));
    const cases: Array<[string[], RegExp]> = [
      [['watch', '--pid', String(t.pid)], /Say what to watch: --range/],
      [['watch', '--pid', String(t.pid), '--range', '0x1000'], /is not a range/],
      [['watch', '--pid', String(t.pid), '--range', '0x1001-0x3000'], /not page-aligned/],
      [
        ['watch', '--pid', String(t.pid), '--writable', '--ticks', '0'],
        /--ticks must be a whole number/,
      ],
      [
        ['watch', '--pid', String(t.pid), '--writable', '--interval', 'fast'],
        /--interval \(ms\) must be/,
      ],
      [
        ['watch', '--pid', String(t.pid), '--vma', 'no-such-mapping'],
        /No mapping of process \d+ matches/,
      ],
      [['watch', '--pid', '999999999', '--writable'], /not a process id|No process/],
      [['watch', '--writable'], /Say which process to watch/],
      [
        ['watch', '--pid', String(t.pid), '--writable', '--max-overhead', '0'],
        /--max-overhead must be a percent from 0.1 to 100/,
      ],
      [['watch', '--pid', String(t.pid), '--writable', '--', 'true'], /either --pid or a command/],
    ];
    // In-process (the same main() bin/pagescope.mjs runs) to keep this fast; one case through
    // the real binary below.
    const { main } = await import('../cli/main.ts');
    const write = process.stderr.write.bind(process.stderr);
    for (const [args, message] of cases) {
      let err = '';
      process.stderr.write = ((chunk: string | Uint8Array) => {
        err += String(chunk);
        return true;
      }) as typeof process.stderr.write;
      let code: number;
      try {
        code = await main(args);
      } finally {
        process.stderr.write = write;
      }
      expect(code, args.join(' ')).toBe(2);
      expect(err, args.join(' ')).toMatch(message);
      expect(err.trim().split('\n'), args.join(' ')).toHaveLength(1);
    }
    const r = await run(cases[0][0]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(cases[0][1]);
    expect(tracesLeft(t.pid)).toEqual([]);
  });
});

describe.concurrent('pagescope watch -- COMMAND (launch mode)', () => {
  // Writes for ~1.5 s: the watch must attach, follow the exec and tick (100 ms) several times
  // while it runs (0.6 s were too few on a loaded machine once python3 started without pyenv's
  // shim, 0.35 s sooner).
  const script = [
    'import mmap, time',
    'm = mmap.mmap(-1, 64 * 4096)',
    'for i in range(150):',
    '    for p in range(8): m[p * 4096] = i % 200 + 1',
    '    time.sleep(0.01)',
  ].join('\n');

  it('launches the command, watches it from its start through its exec of the real program, ends when it exits', async () => {
    // python3 is often a launcher script (pyenv shim -> env -> bash -> python): the watch follows.
    const r = await run(['watch', '--json', '--interval', '100', '--', 'python3', '-c', script]);
    expect(r.code).toBe(0);
    const lines = jsonLines(r.out);
    const done = lines[lines.length - 1];
    expect(done).toMatchObject({ done: true });
    expect(String(done.reason)).toMatch(/exited/);
    const ticks = lines.filter((l) => l.tick !== undefined);
    expect(ticks.length).toBeGreaterThan(2);
    expect(ticks.some((l) => (l.writtenPages as number) >= 8)).toBe(true);
  });

  it('the launched command dies with pagescope when pagescope is killed with SIGKILL', async (ctx) => {
    const { track } = cleanupOf(ctx);
    const setpriv = spawnSync('sh', ['-c', 'command -v setpriv'], { encoding: 'utf8' }).stdout;
    if (!setpriv.trim()) ctx.skip('setpriv (util-linux) is not installed: no parent-death signal');
    const marker = `pagescope-launch-${process.pid}-${Date.now()}`;
    const cli = track(
      startCli([
        'watch',
        '--json',
        '--interval',
        '100',
        '--',
        'python3',
        '-c',
        'import time; time.sleep(60)',
        marker,
      ]),
    );
    expect(JSON.parse(await cli.next(30_000))).toMatchObject({ start: true });
    await cli.next(30_000); // the first tick: attached and running
    const launched = (): number[] =>
      fs
        .readdirSync('/proc')
        .filter((d) => /^\d+$/.test(d))
        .filter((d) => {
          try {
            return fs.readFileSync(`/proc/${d}/cmdline`, 'latin1').endsWith(`${marker}\0`);
          } catch {
            return false;
          }
        })
        .map(Number)
        .filter((pid) => pid !== cli.child.pid); // pagescope's own command line ends with it too
    expect(launched().length).toBeGreaterThan(0);
    cli.child.kill('SIGKILL');
    await vi.waitFor(() => expect(launched()).toEqual([]), { timeout: 5000 });
  });

  it('ends cleanly, with the reason, when the command is over before the first tick', async () => {
    // `true` must be over by the first tick: the interval is a quiet machine's 1 s, scaled (at
    // 200 ms a loaded CI runner had not run it to its end yet).
    const r = await run(['watch', '--json', '--interval', String(limit(1000)), '--', 'true']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    // Watching had started (the line that says so), then the command was over.
    expect(jsonLines(r.out)).toEqual([
      expect.objectContaining({ start: true }),
      {
        done: true,
        reason: expect.stringMatching(/exited/),
        ticks: 0,
        faultCostUs: expect.any(Number),
      },
    ]);
  });

  it("refuses to attach to another user's process as an unprivileged user, and launch mode works for that user", async (ctx) => {
    const { defer } = cleanupOf(ctx);
    const setpriv = spawnSync('sh', ['-c', 'command -v setpriv'], {
      encoding: 'utf8',
    }).stdout.trim();
    if (!setpriv) ctx.skip('needs setpriv to run pagescope as an unprivileged user');
    const why = cannotRunAsNobody();
    if (why) ctx.skip(why);
    const asNobody = [setpriv, '--reuid=65534', '--regid=65534', '--clear-groups'];
    // tsx keeps a cache in $TMPDIR/tsx-UID: as nobody that would be a /tmp/tsx-65534 left behind.
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pagescope-nobody-'));
    fs.chmodSync(tmp, 0o777);
    defer(() => fs.rmSync(tmp, { recursive: true, force: true }));
    const env = { ...process.env, TMPDIR: tmp, TSX_DISABLE_CACHE: '1' };
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    defer(() => sleeper.kill('SIGKILL'));
    const denied = await run(
      ['watch', '--pid', String(sleeper.pid), '--writable', '--ticks', '1'],
      asNobody,
      env,
    );
    expect(denied.code).toBe(2);
    expect(denied.err).toMatch(
      /Permission denied to attach to process \d+: .*launch the target from pagescope/,
    );
    const bin = fs.existsSync('/usr/bin/sleep') ? '/usr/bin/sleep' : 'sleep';
    const launched = await run(
      ['watch', '--json', '--interval', '100', '--ticks', '2', '--writable', '--', bin, '5'],
      asNobody,
      env,
    );
    // Nobody may not make a cgroup: the launch says, once, that it is held by its process group.
    expect(launched.err).toMatch(
      /^(pagescope: No cgroup for this launch \(.+\): it is held by its process group only[^\n]*\n)?$/,
    );
    expect(launched.code).toBe(0);
    expect(jsonLines(launched.out).pop()).toMatchObject({
      done: true,
      reason: '2 ticks done',
      ticks: 2,
    });
    expect(fs.readdirSync(tmp)).toEqual([]);
  });
});
