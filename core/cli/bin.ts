// The CLI's entry in the build (dist/cli.mjs, started by bin/pagescope.mjs).
import { main } from './main.ts';

process.exitCode = await main(process.argv.slice(2));
