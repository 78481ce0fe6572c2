/**
 * The injector's promise: a thread caught inside a blocking system call resumes and completes it
 * as if nothing happened. A C fixture (compiled here with gcc) blocks in nanosleep, read and
 * futex in turn; we inject a userfaultfd while it sits in each and check how each call ended.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readMaps } from '../proc/maps.ts';
import { withHeldThread } from './injector.ts';
import { syscallSite } from './syscall-site.ts';
import { LineProcess, REPO } from '../../testing/watch-support.ts';
import { tracesLeft } from '../../testing/traces.ts';
import { WriteWatcher } from './watcher.ts';

const SYS_read = 0;
const SYS_getpid = 39;
const SYS_getppid = 110;
const SYS_futex = 202;
const SYS_restart_syscall = 219;
const SYS_clock_nanosleep = 230;

/** The system call a thread is blocked in, from /proc/PID/syscall (-1 when running). */
function currentSyscall(pid: number): number {
  return Number(fs.readFileSync(`/proc/${pid}/syscall`, 'latin1').split(' ')[0]);
}

let dir = '';
let exe = '';
const procs: LineProcess[] = [];

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagescope-sleeper-'));
  exe = path.join(dir, 'watch-sleeper');
  execFileSync('gcc', ['-O1', '-o', exe, path.join(REPO, 'testing/watch-sleeper.c')]);
});

afterAll(() => {
  for (const p of procs) p.kill();
  fs.rmSync(dir, { recursive: true, force: true });
});

function attachAndRelease(pid: number): void {
  const w = WriteWatcher.attach(pid);
  w.close();
}

describe('injection into a thread blocked in a system call', () => {
  it('nanosleep, read and futex complete normally, with their own results and timing', async () => {
    const p = new LineProcess(spawn(exe, [], { stdio: ['pipe', 'pipe', 'inherit'] }));
    procs.push(p);
    expect(await p.next()).toBe('ready nanosleep');
    const sleepingSince = performance.now();
    // Inside the call, and long enough in it that a restart from scratch would show (+250 ms).
    await vi.waitFor(() => {
      expect(currentSyscall(p.pid)).toBe(SYS_clock_nanosleep);
      expect(performance.now() - sleepingSince).toBeGreaterThan(250);
    });
    attachAndRelease(p.pid);
    // Still inside the call after the attach (restarted through restart_syscall, 219): the
    // attach did land while the thread was blocked in it.
    expect([SYS_clock_nanosleep, SYS_restart_syscall]).toContain(currentSyscall(p.pid));
    // Restarted with the time that was left: about 3 s in all. Restarted from scratch it would
    // be 3.25 s or more; interrupted, it would return -1 EINTR early.
    const [, ret, err, ms] = (await p.next()).split(' ');
    expect([ret, err]).toEqual(['0', '0']);
    expect(Number(ms)).toBeGreaterThanOrEqual(2999);
    expect(Number(ms)).toBeLessThan(3240);

    expect(await p.next()).toBe('ready read');
    await vi.waitFor(() => expect(currentSyscall(p.pid)).toBe(SYS_read));
    attachAndRelease(p.pid);
    expect(currentSyscall(p.pid)).toBe(SYS_read);
    p.child.stdin!.write('hello\n');
    expect(await p.next()).toBe('read 6 0 hello');

    expect(await p.next()).toBe('ready futex');
    const waitingSince = performance.now();
    await vi.waitFor(() => {
      expect(currentSyscall(p.pid)).toBe(SYS_futex);
      expect(performance.now() - waitingSince).toBeGreaterThan(200);
    });
    attachAndRelease(p.pid);
    expect([SYS_futex, SYS_restart_syscall]).toContain(currentSyscall(p.pid));
    const [, fret, ferr, fms] = (await p.next()).split(' ');
    expect([fret, ferr]).toEqual(['-1', String(os.constants.errno.ETIMEDOUT)]);
    expect(Number(fms)).toBeGreaterThanOrEqual(2999);
    expect(Number(fms)).toBeLessThan(3190); // from scratch: 3.2 s or more
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
    const p = new LineProcess(spawn(exe, [], { stdio: ['pipe', 'pipe', 'inherit'] }));
    procs.push(p);
    expect(await p.next()).toBe('ready nanosleep');
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
