/**
 * The stat reader (stat.ts): a command name holding spaces, parentheses and what looks like
 * fields, split from lines as the kernel writes them and from a real process that renamed itself,
 * and read from real /proc files: a process's and its main thread's, and the budget's lifetime
 * CPU share built on them.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { afterAll, expect, it } from 'vitest';
import { pythonExecutable } from '../../testing/targets.ts';
import { lifetimeCpuShare } from '../watch/overhead.ts';
import { parseStat, readStat, readStatFile, statField, statNumber } from './stat.ts';

const children: Array<ReturnType<typeof spawn>> = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

it('splits a line whose command name holds spaces, parentheses and fields', () => {
  // The fields after the name: state R, ppid 77, ... utime (14) 120, stime (15) 30.
  const rest = 'R 77 12 12 0 -1 4194560 100 0 0 0 120 30 0 0 20 0 1 0 555 10000 20';
  for (const comm of ['a', 'we (ird) n', 'x) S 1 2 (', ') )', '(', '']) {
    const s = parseStat(`4242 (${comm}) ${rest}\n`);
    expect(s.comm).toBe(comm);
    expect(statField(s, 3)).toBe('R');
    expect(statNumber(s, 4)).toBe(77);
    expect(statNumber(s, 14) + statNumber(s, 15)).toBe(150);
    expect(statNumber(s, 22)).toBe(555);
    expect(statNumber(s, 24)).toBe(20); // the last field (its newline is not part of the number)
    expect(statField(s, 99)).toBe('');
    expect(statNumber(s, 99)).toBeNaN();
  }
});

it('reads a real process that named itself with spaces and parentheses, and its threads', async () => {
  // It burns 0.2 s of CPU first, so its lifetime share is more than nothing.
  const child = spawn(pythonExecutable(), [
    '-c',
    [
      'import time',
      "open('/proc/self/comm','w').write('p) R 1 (x y')",
      't = time.process_time()',
      'while time.process_time() - t < 0.2: pass',
      "print('ready', flush=True)",
      'time.sleep(60)',
    ].join('\n'),
  ]);
  children.push(child);
  await new Promise((resolve) => child.stdout!.once('data', resolve));
  const pid = child.pid!;
  const s = readStat(pid)!;
  expect(s.comm).toBe('p) R 1 (x y');
  expect(statField(s, 3)).toMatch(/^[RS]$/);
  expect(statNumber(s, 4)).toBe(process.pid);
  expect(statNumber(s, 14) + statNumber(s, 15)).toBeGreaterThanOrEqual(20); // clock ticks
  const main = readStatFile(`/proc/${pid}/task/${pid}/stat`);
  expect(main.comm).toBe(s.comm);
  expect(statNumber(main, 22)).toBe(statNumber(s, 22)); // start time
  // Its lifetime CPU share (overhead.ts): 0.2 s or more of CPU over its age.
  const share = lifetimeCpuShare(pid)!;
  expect(share).toBeGreaterThan(0);
  expect(share).toBeLessThanOrEqual(os.availableParallelism() * 1.5);
  expect(readStat(4_000_000 + (process.pid % 1000))).toBeNull();
  expect(lifetimeCpuShare(4_000_000 + (process.pid % 1000))).toBeNull();
});
