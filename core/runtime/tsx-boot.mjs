// Runs a TypeScript entry from the source tree (see entry.ts): `node tsx-boot.mjs FILE.ts ARGS…`
// as a process, or a Worker on this file with argv [FILE.ts]. Registers tsx's loader (a new
// process or thread does not inherit one), hides itself from process.argv, then imports FILE.ts.
// Development and tests only: the build (dist/) never goes through here.
import { register } from 'tsx/esm/api';
import { pathToFileURL } from 'node:url';

const file = process.argv[2];
if (!file) throw new Error('tsx-boot.mjs: no entry file given.');
process.argv.splice(1, 2, file);
register();
await import(pathToFileURL(file).href);
