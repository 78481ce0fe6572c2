// Vitest's global setup: rebuild the Node bundles (esbuild, about a second) before any test, so
// tests that run the real CLI (bin/pagescope.mjs -> dist/cli.mjs) or Electron's main bundle run
// the code as it is now, not a stale build; and the UI (dist/renderer) when it is older than its
// sources, here once rather than in the first e2e file that needs it: system files run in
// parallel, and two of them building it at once would each serve the other a half-written folder.
//
// It also says how a test worker died: vitest reports only "Worker exited unexpectedly", with
// no signal, exit code or pid, which left a loaded run's dead worker unexplained. The global
// setup runs in vitest's own process, where its workers are forked, so a line on stderr names
// the pid and the signal or exit code, and when (to match with a kernel trace of signals).
//
// And it puts the real python3 first on the PATH every test and the programs it starts see:
// where python3 is a pyenv shim (a bash script that starts pyenv, ~0.35 s of CPU), each of a run's
// hundreds of python3 targets paid that shim before Python started (0.04 s).
import { ChildProcess, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureRendererBuilt } from '../e2e/helpers.ts';
import { buildNode } from './build.mjs';

function reportWorkerDeaths() {
  const emit = ChildProcess.prototype.emit;
  ChildProcess.prototype.emit = function (event, ...args) {
    // Only a worker vitest still listens to as running (its `emitUnexpectedExit`): one it is
    // stopping got SIGTERM, and SIGKILL 500 ms later when it had not gone (seen at load 40).
    if (event === 'exit' && this.listeners('exit').some((f) => f.name === 'emitUnexpectedExit')) {
      const [code, signal] = args;
      process.stderr.write(
        `\npagescope test run: vitest worker pid ${this.pid} died: ` +
          `${signal ? `signal ${signal}` : `exit code ${code}`} at ${new Date().toISOString()}\n`,
      );
    }
    return emit.call(this, event, ...args);
  };
}

/**
 * Puts a folder with python3 -> the binary it ends up running first on PATH and names that binary
 * in PAGESCOPE_PYTHON; its undo.
 */
function realPythonFirst() {
  let exe;
  try {
    exe = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], {
      encoding: 'utf8',
    }).trim();
  } catch {
    return () => {}; // no python3: the tests that need it say so
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagescope-python-'));
  fs.symlinkSync(exe, path.join(dir, 'python3'));
  process.env.PATH = `${dir}${path.delimiter}${process.env.PATH ?? ''}`;
  // testing/targets.ts' pythonExecutable() asks python3 for the same path otherwise: once per file.
  process.env.PAGESCOPE_PYTHON ??= exe;
  return () => fs.rmSync(dir, { recursive: true, force: true });
}

export default async function setup() {
  reportWorkerDeaths();
  const undoPython = realPythonFirst();
  await buildNode();
  ensureRendererBuilt();
  return undoPython;
}
