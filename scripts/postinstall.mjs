#!/usr/bin/env node
// The project's postinstall. Electron's own install script is denied in package.json
// (allowScripts), so this tries its download here, with a short timeout, and carries on with
// one clear line when it fails (no network, a proxy, ELECTRON_SKIP_BINARY_DOWNLOAD). Then, in a
// source checkout, it builds dist/ so `npm install` leaves everything ready. It never fails the
// install. In the installed npm package (no electron, no sources) it does nothing.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const rel = (p) => path.join(root, p);
const say = (line) => console.log(`pagescope: ${line}`);
const DOWNLOAD_TIMEOUT_MS = Number(process.env.PAGESCOPE_ELECTRON_TIMEOUT_MS ?? 45_000);

function installElectron() {
  const install = rel('node_modules/electron/install.js');
  if (!fs.existsSync(install)) return;
  if (fs.existsSync(rel('node_modules/electron/dist'))) return;
  if (process.env.ELECTRON_SKIP_BINARY_DOWNLOAD) {
    say(
      'ELECTRON_SKIP_BINARY_DOWNLOAD is set: no Electron binary; `npm start` will serve the UI to a browser.',
    );
    return;
  }
  const r = spawnSync(process.execPath, [install], {
    cwd: rel('node_modules/electron'),
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: DOWNLOAD_TIMEOUT_MS,
    encoding: 'utf8',
  });
  if (r.status === 0 && fs.existsSync(rel('node_modules/electron/dist'))) {
    say('Electron binary installed.');
    return;
  }
  const lines = `${r.stderr ?? ''}`.split('\n').map((l) => l.trim());
  const why =
    r.error?.code === 'ETIMEDOUT'
      ? `no answer within ${DOWNLOAD_TIMEOUT_MS / 1000} s`
      : (lines.find((l) => /error/i.test(l) && !l.startsWith('at ')) ?? `exit code ${r.status}`);
  say(
    `could not download the Electron binary (${why.slice(0, 160)}); \`npm start\` will serve the UI to a browser instead.`,
  );
}

/**
 * In a source checkout, build dist/ (scripts/build.mjs: the Node bundles and the UI). The npm
 * package ships dist/ built and has no sources: nothing to do there.
 */
function build() {
  const script = rel('scripts/build.mjs');
  if (!fs.existsSync(script) || !fs.existsSync(rel('renderer'))) return;
  const r = spawnSync(process.execPath, [script], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 300_000,
    encoding: 'utf8',
  });
  if (r.status === 0) say('built dist/ (the CLI, the Electron main and preload, the UI).');
  else {
    const why = `${r.stderr ?? ''}`.trim().split('\n').pop() ?? '';
    say(`the build failed (${why.slice(0, 160)}); run \`npm run build\` to see why.`);
  }
}

try {
  installElectron();
} catch (err) {
  say(`skipping the Electron download (${String(err).slice(0, 160)}).`);
}
try {
  build();
} catch (err) {
  say(`skipping the build (${String(err).slice(0, 160)}).`);
}
process.exit(0);
