/**
 * A web host for host tests (no UI files, frames cut into small pieces so each crosses the
 * socket in several messages) and a python3 that holds 8 MiB and sleeps, to open a session on;
 * both started before the file's tests and ended after them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll } from 'vitest';
import { startWebHost, type WebHost } from '../core/host/server.ts';
import { pythonExecutable } from './targets.ts';

export function hostWithSleeper(framePieceBytes: number): { web: WebHost; target: ChildProcess } {
  const rig = {} as { web: WebHost; target: ChildProcess };
  beforeAll(async () => {
    rig.web = await startWebHost({ rendererDir: '/nonexistent-renderer-dir', framePieceBytes });
    rig.target = spawn(
      pythonExecutable(),
      ['-c', 'import time\nx = bytearray(8 << 20)\ntime.sleep(120)'],
      { stdio: 'ignore' },
    );
  });
  afterAll(async () => {
    await rig.web.close();
    rig.target.kill('SIGKILL');
  });
  return rig;
}
