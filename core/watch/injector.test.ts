/**
 * The injector's promise: a thread caught inside a blocking system call resumes and completes it
 * as if nothing happened. A C fixture (compiled here with gcc) blocks in nanosleep, read and
 * futex in turn; we inject a userfaultfd while it sits in each (waiting until /proc says it is
 * there, never assuming it) and check how each call ended.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMaps } from '../proc/maps.ts';
import { withHeldThread } from './injector.ts';
import { syscallSite } from './syscall-site.ts';
import { buildC } from '../../testing/c-build.ts';
import { LineProcess, REPO } from '../../testing/watch-support.ts';
import { tracesLeft } from '../../testing/traces.ts';
import { WriteWatcher } from './watcher.ts';
import { eventually, limit, until } from '../../testing/wait.ts';

const SYS_read = 0;
const SYS_getpid = 39;
const SYS_getppid = 110;
const SYS_futex = 202;
const SYS_restart_syscall = 219;
const SYS_clock_nanosleep = 230;

/** The system call a thread is blocked in, from /proc/PID/syscall (NaN or -1 when running). */
function currentSyscall(pid: number): number {
  return Number(fs.readFileSync(`/proc/${pid}/syscall`, 'latin1').split(' ')[0]);
}

let exe = '';
const procs: LineProcess[] = [];

beforeAll(() => {
  exe = buildC(path.join(REPO, 'testing/watch-sleeper.c'));
});

afterAll(() => {
  for (const p of procs) p.kill();
});

/** The CLOCK_MONOTONIC instant (ns) a "ready CALL T0" line of the sleeper gives. */
function readyAt(line: string, call: string): bigint {
  const m = new RegExp(`^ready ${call} (\\d+)$`).exec(line);
  if (!m) throw new Error(`expected "ready ${call} T0", the sleeper said ${JSON.stringify(line)}`);
  return BigInt(m[1]);
}

/** Milliseconds since a CLOCK_MONOTONIC instant (process.hrtime is that clock on Linux). */
const msSince = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;

/**
 * After an attach inside a timed call: the thread goes back into the call (or restart_syscall),
 * checked once it sits in a system call again. When the attach held it past the call's end,
 * the call is over by then and only its timing (checked by the caller) can tell.
 */
async function expectBackInCall(
  pid: number,
  calls: number[],
  t0: bigint,
  callMs: number,
): Promise<void> {
  const nr = await until('the thread back in a system call', () => {
    const n = currentSyscall(pid);
    return Number.isNaN(n) || n < 0 ? null : { n };
  });
  if (msSince(t0) < callMs) expect(calls).toContain(nr.n);
}

function attachAndRelease(pid: number): void {
  const w = WriteWatcher.attach(pid);
  w.close();
}

describe('injection into a thread blocked in a system call', () => {
  it('nanosleep, read and futex complete normally, with their own results and timing', async () => {
    // How long each timed call lasts, and how far into it the attach comes: both scale with the
    // machine's slowness, so a loaded machine's slow attach still lands inside the call. A call
    // longer than the way in plus an attach (tens of ms) tells a restart from scratch (callMs
    // more) from a resumed call: 1.5 s does, as 3 s did, in half the time.
    const callMs = limit(1500);
    const intoMs = limit(250);
    const p = new LineProcess(spawn(exe, [String(callMs)], { stdio: ['pipe', 'pipe', 'inherit'] }));
    procs.push(p);

    const sleepT0 = readyAt(await p.next(), 'nanosleep');
    // Inside the call, and long enough in it that a restart from scratch would show.
    await eventually(`the thread ${intoMs} ms into nanosleep`, () => {
      expect(currentSyscall(p.pid)).toBe(SYS_clock_nanosleep);
      expect(msSince(sleepT0)).toBeGreaterThan(intoMs);
    });
    attachAndRelease(p.pid);
    const attachedAt = msSince(sleepT0);
    // Still inside the call after the attach (restarted through restart_syscall, 219), when the
    // call had time left: the attach did land while the thread was blocked in it.
    await expectBackInCall(p.pid, [SYS_clock_nanosleep, SYS_restart_syscall], sleepT0, callMs);
    // Restarted with the time that was left: callMs in all (or as long as the attach held it).
    // Restarted from scratch it would be callMs more after the attach; interrupted, it would
    // return -1 EINTR early.
    const [, ret, err, ms] = (await p.next()).split(' ');
    expect([ret, err]).toEqual(['0', '0']);
    expect(Number(ms)).toBeGreaterThanOrEqual(callMs - 1);
    expect(Number(ms)).toBeLessThan(Math.max(callMs, attachedAt) + intoMs - 10);

    expect(await p.next()).toBe('ready read');
    await eventually('the thread in read', () => expect(currentSyscall(p.pid)).toBe(SYS_read));
    attachAndRelease(p.pid);
    // A read has no time to run out: the thread is back in it until we write.
    await eventually('the thread back in read', () => expect(currentSyscall(p.pid)).toBe(SYS_read));
    p.child.stdin!.write('hello\n');
    expect(await p.next()).toBe('read 6 0 hello');

    const waitT0 = readyAt(await p.next(), 'futex');
    await eventually(`the thread ${intoMs} ms into a futex wait`, () => {
      expect(currentSyscall(p.pid)).toBe(SYS_futex);
      expect(msSince(waitT0)).toBeGreaterThan(intoMs);
    });
    attachAndRelease(p.pid);
    const waitAttachedAt = msSince(waitT0);
    await expectBackInCall(p.pid, [SYS_futex, SYS_restart_syscall], waitT0, callMs);
    const [, fret, ferr, fms] = (await p.next()).split(' ');
    expect([fret, ferr]).toEqual(['-1', String(os.constants.errno.ETIMEDOUT)]);
    expect(Number(fms)).toBeGreaterThanOrEqual(callMs - 1);
    // From scratch: callMs more after the attach.
    expect(Number(fms)).toBeLessThan(Math.max(callMs, waitAttachedAt) + intoMs - 10);
    await new Promise((r) => p.child.once('exit', r));
    expect(p.child.exitCode).toBe(0);
  });

  it('finds a syscall instruction in [vdso] from our own, or by a search without it', async () => {
    const p = new LineProcess(spawn(exe, [], { stdio: ['pipe', 'pipe', 'inherit'] }));
    procs.push(p);
    await p.next();
    const vmas = readMaps(p.pid);
    const vdso = vmas.find((v) => v.kind === 'vdso')!;
    const viaVdso = syscallSite(p.pid, vmas);
    expect(viaVdso >> 12n).toBeGreaterThanOrEqual(BigInt(vdso.startPage));
    expect(viaVdso >> 12n).toBeLessThan(BigInt(vdso.endPage));
    const searched = syscallSite(
      p.pid,
      vmas.filter((v) => v.kind !== 'vdso'),
    );
    expect(searched).not.toBe(viaVdso);
    const fd = fs.openSync(`/proc/${p.pid}/mem`, 'r');
    for (const at of [viaVdso, searched]) {
      const b = Buffer.alloc(2);
      fs.readSync(fd, b, 0, 2, at);
      expect([...b]).toEqual([0x0f, 0x05]);
    }
    fs.closeSync(fd);
    expect(tracesLeft(p.pid)).toEqual([]);
    p.kill();
  });

  it('runs calls in a held thread through syscall stops and gives it back untraced', async () => {
    // A 1 s nanosleep (scaled) to hold the thread in: the test waits for its end.
    const p = new LineProcess(
      spawn(exe, [String(limit(1000))], { stdio: ['pipe', 'pipe', 'inherit'] }),
    );
    procs.push(p);
    readyAt(await p.next(), 'nanosleep');
    const insn = syscallSite(p.pid);
    const { value, heldMs } = withHeldThread(p.pid, p.pid, { syscallAddress: insn }, (t) => [
      t.call(SYS_getpid),
      t.call(SYS_getppid),
    ]);
    expect(value).toEqual([BigInt(p.pid), BigInt(process.pid)]);
    expect(heldMs).toBeGreaterThan(0);
    expect(tracesLeft(p.pid)).toEqual([]);
    const [, ret, err] = (await p.next()).split(' ');
    expect([ret, err]).toEqual(['0', '0']);
    p.kill();
  });
});
