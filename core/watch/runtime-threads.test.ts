/**
 * yieldRuntimeThreads in a real Node process (tsx loaded, as pagescope runs from source): the
 * threads started with the process go to nice 19, the main thread and a worker thread started
 * later (which could be a session's, ticking a watch) keep their priority.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { limit } from '../../testing/wait.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));

interface Report {
  lowered: number[];
  workerTid: number;
  threads: Array<{ tid: number; nice: number; start: number }>;
}

it('lowers the threads started with the process to nice 19, not the main thread nor a later worker', async () => {
  const script = `
    import fs from 'node:fs';
    import { Worker } from 'node:worker_threads';
    import { threadStartAndNice, yieldRuntimeThreads } from ${JSON.stringify(path.join(HERE, 'runtime-threads.ts'))};
    // A worker started after the process: it tells its thread id (/proc/thread-self).
    const w = new Worker("const { parentPort } = process.getBuiltinModule('node:worker_threads'); parentPort.postMessage(process.getBuiltinModule('node:fs').readlinkSync('/proc/thread-self')); setInterval(() => {}, 1000);", { eval: true });
    w.once('message', (link) => {
      const workerTid = Number(String(link).split('/').pop());
      const lowered = yieldRuntimeThreads();
      const again = yieldRuntimeThreads();
      const threads = fs.readdirSync('/proc/self/task').map((t) => ({ tid: Number(t), ...threadStartAndNice(Number(t)) }));
      console.log(JSON.stringify({ lowered, again, workerTid, threads }));
      process.exit(0);
    });
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += String(d)));
  const code = await new Promise<number | null>((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), limit(60_000));
    child.once('exit', (c) => {
      clearTimeout(t);
      resolve(c);
    });
  });
  expect(code, `the child process's exit (its output: ${out})`).toBe(0);
  const r = JSON.parse(out.trim().split('\n').pop()!) as Report & { again: number[] };
  const nice = (tid: number) => r.threads.find((t) => t.tid === tid)?.nice;
  const mainPid = r.threads.reduce((a, t) => Math.min(a, t.tid), Infinity);
  expect(r.lowered.length, `threads lowered (report: ${out})`).toBeGreaterThanOrEqual(2);
  for (const tid of r.lowered) expect(nice(tid), `thread ${tid} after lowering`).toBe(19);
  expect(r.lowered).not.toContain(mainPid);
  expect(nice(mainPid), 'the main thread').toBe(0);
  expect(r.lowered).not.toContain(r.workerTid);
  expect(nice(r.workerTid), 'the worker thread started later').toBe(0);
  expect(r.again, 'a second call').toEqual([]);
});
