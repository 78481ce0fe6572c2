/** The process list: fields, odd command names, and processes that vanish while being read. */
import { spawn } from 'node:child_process';
import { afterAll, expect, it } from 'vitest';
import { pythonExecutable } from '../../testing/targets.ts';
import { listProcesses, processAlive, readProcess } from './processes.ts';

const children: Array<ReturnType<typeof spawn>> = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

it('lists our own process with its fields', () => {
  const me = listProcesses().find((p) => p.pid === process.pid)!;
  expect(me).toBeDefined();
  expect(me.uid).toBe(process.getuid!());
  expect(me.user).toBe(process.getuid!() === 0 ? 'root' : expect.any(String));
  expect(me.rssKiB).toBeGreaterThan(1000);
  expect(me.state).toMatch(/^[RS]$/);
  expect(me.cmdline).toContain(process.argv[1].split('/').pop()!);
  expect(me.kernelThread).toBe(false);
  expect(me.ppid).toBe(process.ppid);
  expect(processAlive(process.pid)).toBe(true);
});

it('hides kernel threads unless asked', () => {
  const all = listProcesses({ includeKernelThreads: true });
  expect(all.some((p) => p.kernelThread && p.cmdline === '')).toBe(true);
  expect(listProcesses().some((p) => p.kernelThread)).toBe(false);
});

it('reads a command name with spaces and parentheses', async () => {
  const child = spawn(pythonExecutable(), [
    '-c',
    "import time; open('/proc/self/comm','w').write('we (ird) n'); print('ready', flush=True); time.sleep(60)",
  ]);
  children.push(child);
  await new Promise((resolve) => child.stdout!.once('data', resolve));
  const p = readProcess(child.pid!)!;
  expect(p.name).toBe('we (ird) n');
  expect(p.state).toMatch(/^[RS]$/);
  expect(p.cmdline).toMatch(/^\S*python\S* -c import time/);
});

it('returns null for a pid that does not exist', () => {
  expect(readProcess(4_000_000 + (process.pid % 1000))).toBeNull();
  expect(processAlive(4_000_000 + (process.pid % 1000))).toBe(false);
});

it('tolerates processes that exit while the list is being read', async () => {
  let spawned = 0;
  let stop = false;
  const churn = (async () => {
    while (!stop) {
      const c = spawn('true');
      spawned++;
      await new Promise((resolve) => c.once('exit', resolve));
    }
  })();
  try {
    for (let i = 0; i < 15; i++) {
      expect(() => listProcesses()).not.toThrow();
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    stop = true;
    await churn;
  }
  expect(spawned).toBeGreaterThan(0);
});
