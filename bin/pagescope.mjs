#!/usr/bin/env node
// Entry point of the `pagescope` command. The engine is TypeScript run through tsx's loader
// (no build step for the CLI); worker threads register the same loader themselves.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../core/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
