/**
 * One child process run to its end, its output collected: what the benchmark cases that drive
 * real programs (redis-benchmark, pgbench, `pagescope record`) all need. One helper, not a copy
 * per case.
 */
import { spawn } from 'node:child_process';

export interface RunOptions {
  uid?: number;
  gid?: number;
  cwd?: string;
  /**
   * In a session of its own (setsid), so in a scheduler autogroup of its own: a benchmark's
   * client then does not share the CPU share of the benchmark's own process (see
   * real-targets.ts).
   */
  detached?: boolean;
  /** What an error calls it (default: `cmd`). */
  name?: string;
  /** Written to its stdin, which is then closed (default: closed at once). */
  input?: string;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  /** performance.now() when it was spawned and when it exited. */
  fromMs: number;
  toMs: number;
}

/**
 * Runs `cmd args` to its end: its stdout and stderr and its wall window, or an error naming
 * the command, its exit code (or signal) and the start of its stderr.
 */
export function runCommand(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const { input, name = cmd, ...spawnOpts } = opts;
    const fromMs = performance.now();
    const c = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], ...spawnOpts });
    let stdout = '';
    let stderr = '';
    c.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    c.once('error', reject);
    c.once('exit', (code, signal) =>
      code === 0
        ? resolve({ stdout, stderr, fromMs, toMs: performance.now() })
        : reject(new Error(`${name} exited ${code ?? signal}: ${stderr.trim().slice(0, 300)}`)),
    );
    // EPIPE from a child that exits without reading its input is its exit's business.
    c.stdin!.on('error', () => {});
    if (input !== undefined) c.stdin!.end(input);
    else c.stdin!.end();
  });
}
