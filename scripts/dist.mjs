#!/usr/bin/env node
// `npm run dist`: the AppImage and the .deb (electron-builder.json) into release/. electron-builder
// packs the Electron binary that `npm install` downloaded (node_modules/electron/dist, or
// ELECTRON_OVERRIDE_DIST_PATH as for `npm start`); where it is missing this says so in one line
// and exits 1. Extra arguments go to electron-builder (e.g. `npm run dist -- --linux deb`).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const electronDist =
  process.env.ELECTRON_OVERRIDE_DIST_PATH ?? path.join(root, 'node_modules/electron/dist');

if (!fs.existsSync(path.join(electronDist, 'electron'))) {
  console.error(
    `pagescope: npm run dist needs Electron's binary, which is missing (${path.relative(root, electronDist) || electronDist}: its download failed at install time); run it where \`npm install\` can fetch Electron.`,
  );
  process.exit(1);
}

const step = (args) => spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' }).status;
if (step([path.join(root, 'scripts/build.mjs')]) !== 0) process.exit(1);
const builder = path.join(root, 'node_modules/electron-builder/cli.js');
const args = process.argv.slice(2);
process.exit(
  step([
    builder,
    '--config',
    'electron-builder.json',
    `-c.electronDist=${electronDist}`,
    ...(args.length ? args : ['--linux']),
  ]) ?? 1,
);
