/**
 * The parent-death exec chain on its own, with real processes: a middle Node process spawns a
 * wrapped `sleep` and is SIGKILLed, and the sleep dies; the chain ends in the program itself
 * (same pid); and a chain whose parent is already gone runs nothing.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { chainStage, dieWithParent, findSetpriv, untilExeced } from './parent-death.ts';
import { alive, procRef, signalIfSame, type ProcRef } from '../../testing/proc-facts.ts';

const HERE = path.dirname(new URL(import.meta.url).pathname);

describe('parent-death exec chain', () => {
  it('ends in the program itself, with the same pid', async (ctx) => {
    if (!findSetpriv()) ctx.skip('no setpriv (util-linux) here');
    const run = dieWithParent(['sleep', '30']);
    expect(run.wrapped).toBe(true);
    const child = spawn(run.file, run.args, { stdio: 'ignore' });
    try {
      await new Promise((r) => child.once('spawn', r));
      await untilExeced(child.pid!, () => child.exitCode !== null);
      expect(chainStage(child.pid!)).toBe('program');
      expect(fs.readFileSync(`/proc/${child.pid}/cmdline`, 'utf8')).toBe(
        ['sleep', '30', ''].join('\0'),
      );
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('kills the program when its parent is SIGKILLed', async (ctx) => {
    if (!findSetpriv()) ctx.skip('no setpriv (util-linux) here');
    // The middle process (plain Node with tsx loaded, so it is the sleep's real parent) prints the wrapped sleep's pid, then waits to be killed.
    const script = `
      import { spawn } from 'node:child_process';
      import { dieWithParent, untilExeced } from ${JSON.stringify(path.join(HERE, 'parent-death.ts'))};
      const run = dieWithParent(['sleep', '300']);
      const c = spawn(run.file, run.args, { stdio: 'ignore' });
      c.once('spawn', async () => {
        await untilExeced(c.pid, () => c.exitCode !== null);
        console.log(c.pid);
      });
      setInterval(() => {}, 1000);
    `;
    // tsx as a loader in this very process (its CLI would put a process in between).
    const middle = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let sleepPid = 0;
    let sleepRef: ProcRef | null = null;
    try {
      sleepPid = await new Promise<number>((resolve, reject) => {
        middle.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim())));
        middle.once('exit', (code) => reject(new Error(`middle process exited (${code})`)));
      });
      expect(sleepPid).toBeGreaterThan(0);
      sleepRef = procRef(sleepPid);
      expect(alive(sleepPid)).toBe(true);
      middle.kill('SIGKILL');
      await vi.waitFor(() => expect(alive(sleepPid)).toBe(false), {
        timeout: 10_000,
        interval: 50,
      });
    } finally {
      middle.kill('SIGKILL');
      signalIfSame(sleepRef);
    }
  });

  it('runs nothing when the parent it expects is not its parent (died before the prctl)', (ctx) => {
    if (!findSetpriv()) ctx.skip('no setpriv (util-linux) here');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagescope-pdeath-'));
    const marker = path.join(dir, 'ran');
    try {
      const run = dieWithParent(['touch', marker]);
      // The chain's expected parent pid is the argument after the script's name.
      const i = run.args.indexOf(String(process.pid));
      expect(i).toBeGreaterThan(0);
      const wrong = [...run.args];
      wrong[i] = '1';
      const r = spawnSync(run.file, wrong, { stdio: 'ignore' });
      expect(r.status).toBe(125);
      expect(fs.existsSync(marker)).toBe(false);
      // And with the right parent, it runs.
      expect(spawnSync(run.file, run.args, { stdio: 'ignore' }).status).toBe(0);
      expect(fs.existsSync(marker)).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
