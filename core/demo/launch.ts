/**
 * spawnDemo(): starts the demo workload (workload.ts) as a child of this process and waits for
 * its ready line.
 *
 * A child, because attaching to a descendant works even where Yama's ptrace_scope = 1 allows
 * nothing else. Its stdin is a pipe held by us: when this process exits, for any reason, the pipe
 * closes and the workload exits too, so a demo never outlives the pagescope that launched it.
 * As a second line (a workload too busy to read its stdin, a pipe someone else holds), it is
 * started with a parent-death SIGTERM (core/kernel/parent-death.ts), on which it cleans up and
 * exits; the ready line carries its own pid, so the exec chain is invisible to callers.
 * `stopDemo()` ends it on purpose (closing stdin, then SIGTERM, then SIGKILL if it hangs).
 * And it is contained like a launched command (core/kernel/containment.ts): it joins a cgroup
 * of its own before it runs, which is killed and removed when it exits or pagescope dies, so
 * nothing it could ever start outlives either.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { PagescopeError } from '../kernel/errors.ts';
import { containLaunch } from '../kernel/containment.ts';
import { dieWithParent } from '../kernel/parent-death.ts';
import { entryCommand } from '../runtime/entry.ts';
import type { DemoReady } from './regions.ts';

export interface SpawnDemoOptions {
  /** Where the workload's stderr goes ('pipe' keeps it for the error message; the default). */
  stdio?: 'pipe' | 'inherit' | 'ignore';
  /** How long to wait for the ready line before giving up and killing the child (default 20 s). */
  timeoutMs?: number;
}

export interface DemoProcess {
  child: ChildProcess;
  pid: number;
  regions: Record<string, { start: string; end: string }>;
  /** The temp file behind the `file` region; the workload removes it when it exits. */
  file: string;
  features: DemoReady['features'];
}

export async function spawnDemo(options: SpawnDemoOptions = {}): Promise<DemoProcess> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  // process.execPath is the Electron binary inside Electron: ELECTRON_RUN_AS_NODE makes it a
  // plain Node there, and is ignored by Node itself.
  const { command, args } = entryCommand('demo/workload');
  const containment = containLaunch();
  const run = dieWithParent([command, ...args], 'TERM', containment.cgroup);
  let child: ChildProcess;
  try {
    child = spawn(run.file, run.args, {
      stdio: ['pipe', 'pipe', options.stdio ?? 'pipe'],
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      detached: containment.detached,
    });
  } catch (err) {
    containment.end();
    throw err;
  }
  containment.adopt(child);
  // A write to a dead child's stdin must not crash the host.
  child.stdin?.on('error', () => {});

  return new Promise<DemoProcess>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    let settled = false;
    const finish = (err: Error | null, value?: DemoProcess): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.off('exit', onExit);
      child.off('error', onError);
      child.stdout?.off('data', onData);
      // Keep draining: the workload must never block on a full pipe.
      child.stdout?.resume();
      child.stderr?.resume();
      if (err) {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        reject(err);
      } else {
        resolve(value!);
      }
    };
    const onData = (chunk: Buffer): void => {
      stdout += chunk.toString('utf8');
      const nl = stdout.indexOf('\n');
      if (nl < 0) return;
      const line = stdout.slice(0, nl);
      let ready: DemoReady;
      try {
        ready = JSON.parse(line) as DemoReady;
      } catch {
        finish(
          new PagescopeError(
            `The demo workload printed something other than its ready line: ${JSON.stringify(line.slice(0, 200))}.`,
            'demo-failed',
          ),
        );
        return;
      }
      if (ready?.ready !== true || typeof ready.pid !== 'number' || !ready.regions) {
        finish(
          new PagescopeError(
            `The demo workload's ready line is malformed: ${line.slice(0, 200)}.`,
            'demo-failed',
          ),
        );
        return;
      }
      finish(null, {
        child,
        pid: ready.pid,
        regions: ready.regions,
        file: ready.file,
        features: ready.features,
      });
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      const why = stderr.trim().split('\n').slice(-3).join(' ').trim();
      finish(
        new PagescopeError(
          `The demo workload ${how} before it was ready${why ? `: ${why}` : ''}.`,
          'demo-failed',
        ),
      );
    };
    const onError = (err: Error): void => {
      finish(
        new PagescopeError(`Could not start the demo workload: ${err.message}.`, 'demo-failed'),
      );
    };
    const timer = setTimeout(() => {
      finish(
        new PagescopeError(
          `The demo workload did not report ready within ${timeoutMs} ms; it was stopped.`,
          'demo-timeout',
        ),
      );
    }, timeoutMs);
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => {
      if (stderr.length < 4096) stderr += chunk.toString('utf8');
    });
    child.on('exit', onExit);
    child.on('error', onError);
  });
}

/**
 * Ends a demo: closes its stdin (it exits and removes its temp file), then SIGTERM after
 * `graceMs`, then SIGKILL. Resolves when the child has exited.
 */
export async function stopDemo(child: ChildProcess, graceMs = 2000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdin?.end();
  const term = setTimeout(() => child.kill('SIGTERM'), graceMs);
  const kill = setTimeout(() => child.kill('SIGKILL'), graceMs * 2);
  await exited;
  clearTimeout(term);
  clearTimeout(kill);
}
