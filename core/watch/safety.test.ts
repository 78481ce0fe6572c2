/**
 * Target safety: every refusal is a sentence, every odd state of the target (traced, seccomp,
 * its own userfaultfd, stopped, exiting, pagescope killed mid-watch) leaves it running correctly
 * (its own checksum) and without any trace of us.
 *
 * Three cases at a time (describe.concurrent, vi.setConfig's maxConcurrency): each has its own
 * target, and most of a case is waiting for its python3 to start and answer. An attach, tick or
 * close in this process is synchronous, so two never interleave; cleanup is per test (cleanupOf:
 * a concurrent test's afterEach would end another's target) and CLIs run without blocking.
 */
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PagescopeError } from '../kernel/errors.ts';
import { readMaps } from '../proc/maps.ts';
import { RegionList } from '../scan/region-list.ts';
import { Session } from '../session/session.ts';
import {
  cleanupOf,
  expectTargetRunsOn,
  hex,
  LineProcess,
  pagesOf,
  startCli,
  startPyTarget,
  targetRange,
  REPO,
  runCli,
  tickedPages,
  watchTargetArgs,
} from '../../testing/watch-support.ts';
import {
  ownFdsFor,
  tracerPid,
  tracesLeft,
  userfaultfdCount,
  uwVmas,
} from '../../testing/traces.ts';
import { buildC } from '../../testing/c-build.ts';
import { until } from '../../testing/wait.ts';
import { readTargetStatus, withHeldThread } from './injector.ts';
import { BUSY_FIRST_GAP_MS } from './registration.ts';
import { syscallSite } from './syscall-site.ts';
import { WriteWatcher } from './watcher.ts';

vi.setConfig({ maxConcurrency: 3 });

function stateOf(pid: number): string {
  const st = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  return st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3);
}

function attachError(pid: number, options?: { force?: boolean }): PagescopeError {
  try {
    WriteWatcher.attach(pid, options).close();
  } catch (err) {
    expect(err).toBeInstanceOf(PagescopeError);
    return err as PagescopeError;
  }
  throw new Error('attach unexpectedly succeeded');
}

/** A second tracer: strace when installed, else python3 seizing the target with ctypes. */
function startTracer(pid: number): { kill(): void; name: string } {
  let strace: string | null = null;
  try {
    strace = execFileSync('sh', ['-c', 'command -v strace'], { encoding: 'utf8' }).trim() || null;
  } catch {
    strace = null;
  }
  if (strace) {
    const c = spawn(strace, ['-p', String(pid), '-o', '/dev/null'], { stdio: 'ignore' });
    return { kill: () => c.kill('SIGKILL'), name: 'strace' };
  }
  console.log('strace is not installed: a python3 ctypes PTRACE_SEIZE helper is the other tracer');
  const c = spawn(
    'python3',
    [
      '-c',
      `import ctypes,time\nl=ctypes.CDLL(None)\nl.ptrace.argtypes=[ctypes.c_long,ctypes.c_long,ctypes.c_void_p,ctypes.c_void_p]\nassert l.ptrace(0x4206,${pid},None,None)==0\ntime.sleep(60)`,
    ],
    { stdio: 'ignore' },
  );
  return { kill: () => c.kill('SIGKILL'), name: 'python3' };
}

describe.concurrent('refusals, each said in a sentence, each leaving the target as it was', () => {
  it('refuses a target that is already traced (gdb/strace) and the target runs on', async (ctx) => {
    const { track } = cleanupOf(ctx);
    const t = track(await startPyTarget(16));
    const tracer = track(startTracer(t.pid));
    await until('the other tracer to attach', () => tracerPid(t.pid) !== 0);
    const err = attachError(t.pid);
    expect(err.code).toBe('already-traced');
    expect(err.message).toMatch(/already being traced by process \d+ .*detach that tracer first/);
    tracer.kill();
    await until('the other tracer to go', () => tracerPid(t.pid) === 0);
    await expectTargetRunsOn(t, [1, 2]);
    expect(tracesLeft(t.pid)).toEqual([]);
  });

  it('refuses a target under a seccomp filter unless forced; forced, it watches and detaches', async (ctx) => {
    const { defer, track } = cleanupOf(ctx);
    const t = track(await startPyTarget(16, ['--seccomp']));
    expect(fs.readFileSync(`/proc/${t.pid}/status`, 'latin1')).toMatch(/^Seccomp:\s+2$/m);
    const err = attachError(t.pid);
    expect(err.code).toBe('seccomp');
    expect(err.message).toMatch(/seccomp filter.*--force/);
    expect(tracesLeft(t.pid)).toEqual([]);
    const w = WriteWatcher.attach(t.pid, { force: true });
    defer(() => w.close());
    w.arm([targetRange(t)]);
    await expectTargetRunsOn(t, [4]);
    expect(tickedPages(w, t.startPage)).toEqual([4]);
    w.close();
    expect(tracesLeft(t.pid)).toEqual([]);
  });

  it('refuses pagescope itself and kernel threads with a reason', () => {
    expect(attachError(process.pid).code).toBe('self');
    const kthread = attachError(2); // kthreadd
    expect(kthread.code).toBe('kernel-thread');
    expect(kthread.message).toMatch(/kernel thread: it has no user memory/);
  });

  it('undoes everything when the injected userfaultfd() fails inside the target', async (ctx) => {
    const { track } = cleanupOf(ctx);
    const t = track(await startPyTarget(16, ['--seccomp-deny-uffd']));
    const err = attachError(t.pid, { force: true });
    expect(err.code).toBe('uffd-failed');
    expect(err.message).toMatch(/could not create a userfaultfd: EPERM/);
    expect(tracesLeft(t.pid)).toEqual([]);
    await expectTargetRunsOn(t, [3]);
  });

  it('says the process does not exist for a pid that is gone', async () => {
    const t = await startPyTarget(4);
    t.kill();
    await until('exit', () => t.child.exitCode !== null || t.child.signalCode !== null);
    const err = attachError(t.pid);
    expect(err.code).toBe('no-process');
    expect(err.message).toMatch(/No process with pid \d+ exists \(it may have exited\)/);
  });

  it('reports the range the target watches with its own userfaultfd (EBUSY) and watches the rest', async (ctx) => {
    const { defer, track } = cleanupOf(ctx);
    const t = track(await startPyTarget(64));
    expect(await t.send('uffd 0 8')).toBe('ok');
    expect(userfaultfdCount(t.pid)).toBe(1);
    const w = WriteWatcher.attach(t.pid);
    defer(() => w.close());
    const states = w.arm([targetRange(t)]);
    expect(states).toEqual([
      expect.objectContaining({
        startPage: t.startPage,
        endPage: t.startPage + 8,
        status: 'refused',
        refusal: { code: 'own-userfaultfd' },
        reason: expect.stringMatching(
          /^the process already uses its own userfaultfd on this range$/,
        ),
      }),
      expect.objectContaining({ startPage: t.startPage + 8, status: 'watched' }),
    ]);
    // Never retried (registration.ts): ticks through more than the every-tick window of a
    // retried piece make not one register, so a process that unregisters for a moment (a GC
    // cycle, a lazy restore) finds its range free.
    const out = new RegionList();
    const calls = w.registerCalls;
    let ticks = 0;
    const endAt = performance.now() + BUSY_FIRST_GAP_MS + 500;
    await until(
      'ticks past the first retry gap',
      () => {
        const tick = w.tick(out);
        ticks++;
        expect(tick.ended).toBeUndefined();
        expect(tick.appeared).toEqual([]); // never watched, never refused anew
        expect(tick.writtenPages).toBe(0); // nothing writes
        return performance.now() >= endAt;
      },
      10_000,
      100, // the pace of the ticks
    );
    expect(ticks).toBeGreaterThan(2);
    expect(w.registerCalls - calls).toBe(0);
    await t.send('w 20 30');
    expect(tickedPages(w, t.startPage)).toEqual([20, 30]);
    w.close();
    // Its own userfaultfd is its business: still one, and nothing of ours.
    expect(userfaultfdCount(t.pid)).toBe(1);
    expect(tracesLeft(t.pid, 1)).toEqual([]);
  });
});

/** The strict-mode fixture (testing/seccomp-strict.c), compiled once (testing/c-build.ts). */
let strictExe = '';
const strictDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagescope-strict-'));
beforeAll(() => {
  strictExe = buildC(path.join(REPO, 'testing/seccomp-strict.c'));
});
afterAll(() => fs.rmSync(strictDir, { recursive: true, force: true }));

/** A process in seccomp strict mode that answers "ok N" to each byte on its stdin. */
async function startStrictTarget(): Promise<LineProcess> {
  const p = new LineProcess(spawn(strictExe, [], { stdio: ['pipe', 'pipe', 'inherit'] }));
  expect(await p.next()).toBe(`ready ${p.pid}`);
  expect(readTargetStatus(p.pid)?.seccomp).toBe(1);
  return p;
}

/** It is alive, not a zombie, still in strict mode, and answers its next byte. */
async function expectStrictRunsOn(p: LineProcess, answer: number): Promise<void> {
  expect(p.child.exitCode).toBeNull();
  expect(p.child.signalCode).toBeNull();
  expect(readTargetStatus(p.pid)?.state).not.toBe('Z');
  expect(readTargetStatus(p.pid)?.seccomp).toBe(1);
  p.child.stdin!.write('x');
  expect(await p.next()).toBe(`ok ${answer}`);
}

const STRICT =
  /runs in seccomp strict mode, where any system call but read, write and exit kills it/;

describe.concurrent(
  'seccomp strict mode: any injected call would kill the target, so none is made',
  () => {
    it('attach refuses it, with or without force, and it runs on', async (ctx) => {
      const { track } = cleanupOf(ctx);
      const t = track(await startStrictTarget());
      for (const force of [false, true]) {
        const err = attachError(t.pid, { force });
        expect(err.code).toBe('seccomp');
        expect(err.message).toMatch(STRICT);
        expect(err.message).toMatch(/not even with --force/);
      }
      expect(tracesLeft(t.pid)).toEqual([]);
      await expectStrictRunsOn(t, 1);
    });

    it('the CLI: watch and record --pid P --writable, with or without --force, say so in one line, exit 2', async (ctx) => {
      const { track } = cleanupOf(ctx);
      const t = track(await startStrictTarget());
      const out = path.join(strictDir, 'strict.pgsrec');
      const runs = [
        ['watch', '--pid', String(t.pid), '--writable'],
        ['watch', '--pid', String(t.pid), '--writable', '--force'],
        ['record', '--pid', String(t.pid), '--writable', '--force', '--duration', '5', '-o', out],
      ];
      let answers = 0;
      for (const args of runs) {
        const r = await runCli(args, { timeoutMs: 60_000 });
        expect(r.code, r.err).toBe(2);
        const lines = r.err.trimEnd().split('\n');
        expect(lines, r.err).toHaveLength(1);
        expect(lines[0]).toMatch(
          /^pagescope: Process \d+ \(seccomp-strict\) runs in seccomp strict/,
        );
        await expectStrictRunsOn(t, ++answers);
        expect(fs.existsSync(out)).toBe(false);
      }
      expect(tracesLeft(t.pid)).toEqual([]);
    });

    it("the host's session (what the UI's attach and watch go through) refuses it, forced or not", async (ctx) => {
      const { track } = cleanupOf(ctx);
      const t = track(await startStrictTarget());
      for (const force of [false, true]) {
        const session = await Session.attach(t.pid, { sessionId: 1, force });
        try {
          const v = session.vmas.length ? session.vmas : await vmasOf(session);
          const w = v.find((x) => x.perms.startsWith('rw'))!;
          await expect(session.watch([{ start: w.start, end: w.end }], [])).rejects.toMatchObject({
            code: 'seccomp',
            message: expect.stringMatching(STRICT),
          });
        } finally {
          await session.close();
        }
      }
      await expectStrictRunsOn(t, 1);
    });

    it('the stop re-checks the thread it holds: no register is changed in a strict-mode thread', async (ctx) => {
      const { track } = cleanupOf(ctx);
      const t = track(await startStrictTarget());
      // Past preflight (as if the thread entered strict mode after it): the held thread is checked.
      let called = false;
      expect(() =>
        withHeldThread(t.pid, t.pid, { syscallAddress: syscallSite(t.pid) }, () => {
          called = true;
        }),
      ).toThrow(STRICT);
      expect(called).toBe(false);
      expect(tracerPid(t.pid)).toBe(0);
      await expectStrictRunsOn(t, 1);
    });
  },
);

function vmasOf(session: Session): Promise<Array<{ start: string; end: string; perms: string }>> {
  return new Promise((resolve) => {
    const off = session.onEvent((e) => {
      if (e.event === 'vmas') {
        off();
        resolve(e.vmas);
      }
    });
  });
}

describe.concurrent('special mappings and holes', () => {
  it('refuses [vdso] and [vvar] per VMA with a reason and watches the rest of the range', async (ctx) => {
    const { defer, track } = cleanupOf(ctx);
    const t = track(await startPyTarget(8));
    const vmas = readMaps(t.pid);
    const special = vmas.filter((v) => v.kind === 'vdso' || v.kind === 'vvar');
    expect(special.length).toBeGreaterThan(0);
    const w = WriteWatcher.attach(t.pid);
    defer(() => w.close());
    const ranges = [...special, { startPage: t.startPage, endPage: t.startPage + 8 }].map((v) => ({
      startPage: v.startPage,
      endPage: v.endPage,
    }));
    const states = w.arm(ranges);
    for (const v of special)
      expect(states).toContainEqual(
        expect.objectContaining({
          path: v.path,
          status: 'refused',
          reason: expect.stringMatching(/special mapping/),
        }),
      );
    expect(states).toContainEqual(
      expect.objectContaining({ startPage: t.startPage, status: 'watched' }),
    );
    await t.send('w 6');
    expect(tickedPages(w, t.startPage)).toEqual([6]);
    w.close();
    expect(tracesLeft(t.pid)).toEqual([]);
  });
});

describe('the target changes state mid-watch', () => {
  // Alone, after the concurrent cases above: it counts every userfaultfd this process holds,
  // and a watcher of another case running beside it would hold one.
  it('the target exiting ends the watch with a reason, no exception and no leaked descriptor', async (ctx) => {
    const { track } = cleanupOf(ctx);
    const t = track(await startPyTarget(16));
    expect(ownFdsFor(t.pid)).toEqual([]);
    const w = WriteWatcher.attach(t.pid);
    expect(ownFdsFor(t.pid).length).toBeGreaterThanOrEqual(3); // userfaultfd, pagemap, mem
    w.arm([targetRange(t)]);
    t.child.stdin!.write('q\n');
    const out = new RegionList();
    const res = await vi.waitFor(() => {
      const r = w.tick(out);
      expect(r.ended).toMatch(/exited/);
      return r;
    });
    expect(res.endedBy).toBe('exit');
    expect(w.tick(out).ended).toMatch(/exited/);
    expect(() => w.getWritten(targetRange(t), { reset: false }, out)).toThrow(PagescopeError);
    w.close();
    expect(ownFdsFor(t.pid)).toEqual([]);
  });

  it.concurrent(
    'a SIGSTOPped target is reported as stopped, writes nothing, and is watched again after SIGCONT',
    async (ctx) => {
      const { defer, track } = cleanupOf(ctx);
      const t = track(await startPyTarget(16));
      const w = WriteWatcher.attach(t.pid);
      defer(() => w.close());
      w.arm([targetRange(t)]);
      expect(await t.send('l 2 3')).toBe('ok');
      const out = new RegionList();
      w.tick(out);
      process.kill(t.pid, 'SIGSTOP');
      await until('the stop', () => stateOf(t.pid) === 'T');
      w.tick(out); // writes up to the stop
      const stopped = w.tick(out);
      expect(stopped.targetState).toBe('stopped');
      expect(stopped.writtenPages).toBe(0);
      expect(stopped.ended).toBeUndefined();
      process.kill(t.pid, 'SIGCONT');
      await vi.waitFor(() => {
        const again = w.tick(out);
        expect(again.targetState).toBe('running');
        expect(pagesOf(out, t.startPage)).toEqual([2, 3]);
      });
      w.close();
      expect(tracesLeft(t.pid)).toEqual([]);
    },
  );

  it.concurrent(
    'attaching to a stopped target leaves it stopped; it runs on after SIGCONT',
    async (ctx) => {
      const { defer, track } = cleanupOf(ctx);
      const t = track(await startPyTarget(16));
      process.kill(t.pid, 'SIGSTOP');
      await until('the stop', () => stateOf(t.pid) === 'T');
      const w = WriteWatcher.attach(t.pid);
      defer(() => w.close());
      w.arm([targetRange(t)]);
      // The detach puts it back into its group stop (it may pass through the wake-up first).
      await vi.waitFor(() => expect(stateOf(t.pid)).toBe('T'));
      expect(tracerPid(t.pid)).toBe(0);
      process.kill(t.pid, 'SIGCONT');
      await expectTargetRunsOn(t, [9]);
      expect(tickedPages(w, t.startPage)).toEqual([9]);
      w.close();
      expect(tracesLeft(t.pid)).toEqual([]);
    },
  );

  it.concurrent(
    'pagescope killed with SIGKILL mid-watch leaves no trace in the target',
    async (ctx) => {
      const { track } = cleanupOf(ctx);
      const t = track(await startPyTarget(32));
      expect(await t.send('l 1 5')).toBe('ok');
      const cli = track(startCli(watchTargetArgs(t, '--interval', '50', '--json')));
      expect(JSON.parse(await cli.next(30_000))).toMatchObject({ start: true });
      const first = JSON.parse(await cli.next(30_000)) as { tick: number };
      expect(first.tick).toBe(1);
      const second = JSON.parse(await cli.next()) as { written: string[][] };
      expect(second.written).toEqual([
        [hex(t.startPage + 1), hex(t.startPage + 2)],
        [hex(t.startPage + 5), hex(t.startPage + 6)],
      ]);
      expect(uwVmas(t.pid).length).toBe(1);
      cli.child.kill('SIGKILL');
      await until('pagescope to die', () => cli.child.signalCode !== null);
      await until('the kernel to release the registration', () => uwVmas(t.pid).length === 0);
      expect(tracesLeft(t.pid)).toEqual([]);
      await expectTargetRunsOn(t, [7]);
    },
  );
});
