/**
 * `pagescope demo` through the real CLI entry point (bin/pagescope.mjs): what it prints, how it
 * ends (after --seconds, on SIGINT), that it leaves no process or temp file, and bad input.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { parseSeconds } from '../cli/commands/demo.ts';
import { PagescopeError } from '../kernel/errors.ts';
import { alive, procRef, signalIfSame, type ProcRef } from '../../testing/proc-facts.ts';
import { until } from '../../testing/wait.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/pagescope.mjs');

interface Run {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  exited: Promise<number | null>;
}

const running: ChildProcess[] = [];
const demoPids: Array<ProcRef | null> = [];
afterEach(() => {
  for (const c of running) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const ref of demoPids) signalIfSame(ref);
});

function run(args: string[]): Run {
  // cwd elsewhere on purpose: the workload must be found from any directory.
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: '/',
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  running.push(child);
  const r: Run = {
    child,
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
  };
  child.stdout!.on('data', (d: Buffer) => (r.stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (r.stderr += d.toString()));
  return r;
}

/** The first match of `re` in what the run printed, once it printed it. */
function waitFor(r: Run, re: RegExp): Promise<RegExpExecArray> {
  return until(
    () => `${re} in the output: ${r.stdout}\n${r.stderr}`,
    () => re.exec(r.stdout),
  );
}

describe('pagescope demo', () => {
  it('prints the pid, what the demo does and how to look at it, and ends after --seconds', async () => {
    const r = run(['demo', '--seconds', '1']);
    const pid = Number((await waitFor(r, /running as pid (\d+)/))[1]);
    demoPids.push(procRef(pid));
    expect(alive(pid)).toBe(true);
    expect(fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim()).toBe('pagescope-demo');
    expect(await r.exited).toBe(0);
    expect(r.stdout).toContain('pagescope serve');
    expect(r.stdout).toContain(`pagescope scan --pid ${pid}`);
    for (const name of [
      'sweep',
      'hot',
      'random',
      'zero',
      'file',
      'thp',
      'swap',
      'guard',
      'growth',
    ]) {
      expect(r.stdout).toMatch(new RegExp(`^${name}\\s+0x[0-9a-f]+-0x[0-9a-f]+\\s`, 'm'));
    }
    expect(r.stdout).toContain(`pid ${pid} stopped`);
    expect(r.stderr).toBe('');
    expect(alive(pid)).toBe(false);
    expect(fs.existsSync(`/tmp/pagescope-demo-${pid}.dat`)).toBe(false);
  });

  it('stops the workload and exits 0 on SIGINT', async () => {
    const r = run(['demo']);
    const pid = Number((await waitFor(r, /running as pid (\d+)/))[1]);
    demoPids.push(procRef(pid));
    await waitFor(r, /^growth\s/m);
    // Only the CLI gets the signal (a terminal's Ctrl-C would reach both): the CLI must end it.
    r.child.kill('SIGINT');
    expect(await r.exited).toBe(0);
    expect(alive(pid)).toBe(false);
  });

  it('refuses a bad --seconds with one line and exit code 2, starting nothing', () => {
    const res = spawnSync(process.execPath, [BIN, 'demo', '--seconds', 'abc'], {
      encoding: 'utf8',
    });
    expect(res.status).toBe(2);
    expect(res.stdout).toBe('');
    expect(res.stderr).toBe(
      'pagescope: --seconds "abc" is not a duration: give a positive number of seconds, e.g. --seconds 30.\n',
    );
  });

  it('parses --seconds: positive numbers only', () => {
    expect(parseSeconds(undefined)).toBeNull();
    expect(parseSeconds('1.5')).toBe(1.5);
    expect(parseSeconds('30')).toBe(30);
    for (const bad of ['0', '-3', '', ' ', '1e3', '0x10', 'Infinity', '99999999']) {
      expect(() => parseSeconds(bad), bad).toThrow(PagescopeError);
    }
  });
});
