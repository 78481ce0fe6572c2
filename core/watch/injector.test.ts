/**
 * The injector's promise: a thread caught inside a blocking system call resumes and completes it
 * as if nothing happened. A C fixture (compiled here with gcc) blocks in nanosleep, read and
 * futex in turn; we inject a userfaultfd while it sits in each and check how each call ended.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  detach,
  interrupt,
  PTRACE_EVENT_STOP,
  seize,
  SIGTRAP,
  singlestep,
  stopFromSiginfo,
  threadState,
  waitFor,
} from '../kernel/ptrace.ts';
import { findSyscallInstruction } from './injector.ts';
import { LineProcess, REPO, sleep, tracesLeft } from './test-support.ts';
import { WriteWatcher } from './watcher.ts';

let dir = '';
let exe = '';
const procs: LineProcess[] = [];

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagescope-sleeper-'));
  exe = path.join(dir, 'watch-sleeper');
  execFileSync('gcc', ['-O1', '-o', exe, path.join(REPO, 'core/testing/watch-sleeper.c')]);
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
    await sleep(250);
    attachAndRelease(p.pid);
    // Restarted with the time that was left (restart_syscall): about 400 ms in all. Restarted
    // from scratch it would be 650+; interrupted, it would return -1 EINTR early.
    const [, ret, err, ms] = (await p.next()).split(' ');
    expect([ret, err]).toEqual(['0', '0']);
    expect(Number(ms)).toBeGreaterThanOrEqual(399);
    expect(Number(ms)).toBeLessThan(640);

    expect(await p.next()).toBe('ready read');
    await sleep(100);
    attachAndRelease(p.pid);
    p.child.stdin!.write('hello\n');
    expect(await p.next()).toBe('read 6 0 hello');

    expect(await p.next()).toBe('ready futex');
    await sleep(200);
    attachAndRelease(p.pid);
    const [, fret, ferr, fms] = (await p.next()).split(' ');
    expect([fret, ferr]).toEqual(['-1', String(os.constants.errno.ETIMEDOUT)]);
    expect(Number(fms)).toBeGreaterThanOrEqual(299);
    expect(Number(fms)).toBeLessThan(490); // from scratch: 500+
    await new Promise((r) => p.child.once('exit', r));
    expect(p.child.exitCode).toBe(0);
  });

  it('finds a syscall instruction by reading the target, and leaves no trace', async () => {
    const p = new LineProcess(spawn(exe, [], { stdio: ['pipe', 'pipe', 'inherit'] }));
    procs.push(p);
    await p.next();
    const insn = findSyscallInstruction(p.pid);
    const fd = fs.openSync(`/proc/${p.pid}/mem`, 'r');
    const b = Buffer.alloc(2);
    fs.readSync(fd, b, 0, 2, insn);
    fs.closeSync(fd);
    expect([...b]).toEqual([0x0f, 0x05]);
    attachAndRelease(p.pid);
    expect(tracesLeft(p.pid)).toEqual([]);
    p.kill();
  });

  it('tells the kind of a ptrace stop from PTRACE_GETSIGINFO when the notification is gone', async () => {
    const p = new LineProcess(spawn(exe, [], { stdio: ['pipe', 'pipe', 'inherit'] }));
    procs.push(p);
    await p.next();
    expect(stopFromSiginfo(p.pid)).toBeNull(); // not traced: no stop
    expect(seize(p.pid)).toBe(0);
    try {
      interrupt(p.pid);
      const w = waitFor(p.pid)!; // consumed here, as another thread's event loop would
      expect(w.event).toBe(PTRACE_EVENT_STOP);
      expect(threadState(p.pid, p.pid)).toBe('t');
      expect(stopFromSiginfo(p.pid)).toMatchObject({ stopped: true, event: PTRACE_EVENT_STOP });
      singlestep(p.pid);
      expect(waitFor(p.pid)).toMatchObject({ stopSignal: SIGTRAP, event: 0 });
      expect(stopFromSiginfo(p.pid)).toMatchObject({
        stopped: true,
        stopSignal: SIGTRAP,
        event: 0,
      });
    } finally {
      detach(p.pid);
    }
    expect(tracesLeft(p.pid)).toEqual([]);
    p.kill();
  });
});
