#!/usr/bin/env node
// `npm start`: build what is stale, then open the Electron window; where the Electron binary is
// missing (it is downloaded at install time, which some machines cannot do), say so in one line
// and serve the same UI through the web host instead (`pagescope serve`, arguments passed on).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const rel = (p) => path.join(root, p);
const say = (line) => console.log(`pagescope: ${line}`);

/** Newest modification time of the files under `paths` (0 when none exist). */
function newest(paths) {
  let t = 0;
  const walk = (p) => {
    let st;
    try {
      st = fs.statSync(p);
    } catch {
      return;
    }
    if (st.isDirectory()) {
      if (path.basename(p) === 'node_modules') return;
      for (const e of fs.readdirSync(p)) walk(path.join(p, e));
    } else t = Math.max(t, st.mtimeMs);
  };
  for (const p of paths) walk(rel(p));
  return t;
}

function mtime(p) {
  try {
    return fs.statSync(rel(p)).mtimeMs;
  } catch {
    return 0;
  }
}

function run(cmd, args) {
  return spawnSync(cmd, args, { cwd: root, stdio: 'inherit' }).status === 0;
}

const BUILD = rel('scripts/build.mjs');

function buildRendererIfStale() {
  if (!fs.existsSync(rel('renderer'))) return;
  const sources = newest(['renderer', 'core/protocol']);
  if (mtime('dist/renderer/index.html') >= sources) return;
  say('building the UI (npm run build:renderer)...');
  if (!run(process.execPath, [BUILD, '--renderer']))
    say('building the UI failed (see above); the window will say how to build it.');
}

/** The CLI, Electron's main and preload and the session worker: esbuild, about a second. */
function buildNodeIfStale() {
  if (!fs.existsSync(rel('core'))) return true;
  const sources = newest(['electron', 'core']);
  const outputs = ['dist/cli.mjs', 'dist/electron/main.mjs', 'dist/electron/preload.cjs'];
  if (Math.min(...outputs.map(mtime)) >= sources) return true;
  return run(process.execPath, [BUILD, '--node']);
}

/**
 * Ties the child's life to ours. npm runs this script under `sh -c`, and npm passes a signal on
 * to that shell only: `kill -TERM <npm>` ends the shell and leaves us running under pid 1, and a
 * SIGHUP kills npm without passing anything on. So: every ending signal we receive goes to the
 * child (the Electron app or the web host, which detach their sessions and end the commands
 * they launched, then exit), and when our parent goes away we end the child as if we had
 * received SIGTERM. We exit when the child has exited.
 */
function forward(child) {
  const stop = (sig) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT']) process.on(sig, () => stop(sig));
  const parent = process.ppid;
  const orphaned = setInterval(() => {
    if (process.ppid !== parent) {
      clearInterval(orphaned);
      stop('SIGTERM');
    }
  }, 200);
  child.on('exit', (code, signal) => {
    clearInterval(orphaned);
    process.exit(code ?? (signal ? 1 : 0));
  });
}

buildRendererIfStale();
const built = buildNodeIfStale();
// Where electron's own index.js looks: dist/ + path.txt, or ELECTRON_OVERRIDE_DIST_PATH.
const electronDist = process.env.ELECTRON_OVERRIDE_DIST_PATH ?? rel('node_modules/electron/dist');
let electronPath = null;
if (fs.existsSync(electronDist)) {
  let name = 'electron';
  try {
    name = fs.readFileSync(rel('node_modules/electron/path.txt'), 'utf8').trim() || name;
  } catch {
    // no path.txt: the binary's default name on Linux
  }
  electronPath = path.join(electronDist, name);
}

if (electronPath && fs.existsSync(electronPath) && built) {
  const args = [rel('dist/electron/main.mjs'), ...process.argv.slice(2)];
  if (process.getuid?.() === 0) args.unshift('--no-sandbox');
  forward(spawn(electronPath, args, { cwd: root, stdio: 'inherit' }));
} else {
  say(
    'the Electron binary is missing (node_modules/electron/dist), so the UI is served to your browser instead: pagescope serve',
  );
  forward(
    spawn(process.execPath, [rel('bin/pagescope.mjs'), 'serve', ...process.argv.slice(2)], {
      cwd: root,
      stdio: 'inherit',
    }),
  );
}
