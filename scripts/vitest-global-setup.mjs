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
//
// And it starts the run's one Chromium when the run has a file that drives one (e2e/helpers.ts'
// launchBrowser connects to it, each test in contexts of its own): a launch is ~1 s of CPU
// (Debian's wrapper script, the browser and its helper processes), once per file otherwise.
// PAGESCOPE_SHARED_CHROMIUM=0 turns it off (each file launches its own, as a file run outside
// vitest does). Its CPU is no file's: with PAGESCOPE_TEST_CPU_LOG set, it gets a line of its own.
import { ChildProcess, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  chromiumMissing,
  ensureRendererBuilt,
  SHARED_CHROMIUM_ENV,
  startSharedChromium,
} from '../e2e/helpers.ts';
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

/** Whether a file of this run drives Chromium (true when the run's files cannot be known). */
async function runDrivesChromium(project) {
  const vitest = project?.vitest;
  if (typeof vitest?.globTestSpecifications !== 'function') return true;
  const specs = await vitest.globTestSpecifications(vitest.filenamePattern ?? []);
  return specs.some((s) => /\b(appRig|launchBrowser)\(/.test(fs.readFileSync(s.moduleId, 'utf8')));
}

/** Starts the shared Chromium when the run needs it (see the top); its undo. */
async function sharedChromium(project) {
  if (process.env.PAGESCOPE_SHARED_CHROMIUM === '0' || process.env[SHARED_CHROMIUM_ENV]) {
    return async () => {};
  }
  if (chromiumMissing() !== null || !(await runDrivesChromium(project))) return async () => {};
  const browser = await startSharedChromium((why) =>
    process.stderr.write(
      `\npagescope test run: the shared Chromium exited (${why}) at ${new Date().toISOString()}: ` +
        `the e2e files after this fail to connect to it\n`,
    ),
  );
  process.env[SHARED_CHROMIUM_ENV] = browser.wsEndpoint;
  const started = Date.now();
  return async () => {
    const cpu = browser.cpuMs();
    await browser.close();
    delete process.env[SHARED_CHROMIUM_ENV];
    const log = process.env.PAGESCOPE_TEST_CPU_LOG;
    if (log) {
      // Its CPU until now (the close's own is left out), as testing/file-cpu.ts logs a file's.
      const line = {
        file: '(shared Chromium)',
        wallMs: Date.now() - started,
        cpuMs: Math.round(cpu.cpuMs),
        sysMs: Math.round(cpu.sysMs),
        endMs: Date.now(),
        load1: os.loadavg()[0],
      };
      fs.appendFileSync(log, JSON.stringify(line) + '\n');
    }
  };
}

export default async function setup(project) {
  reportWorkerDeaths();
  const undoPython = realPythonFirst();
  await buildNode();
  ensureRendererBuilt();
  const closeChromium = await sharedChromium(project);
  return async () => {
    await closeChromium();
    undoPython();
  };
}
