/**
 * Case 8: how long the installed `pagescope` command takes to start, against `node -e 0` (Node's
 * own start-up on this machine, in the same run). Runs the built CLI as a user does
 * (bin/pagescope.mjs -> dist/cli.mjs, rebuilt first so the figure is of the current sources):
 * `--help` (argument parsing only) and `ps` (reads /proc, prints a table). The three commands
 * are interleaved round by round, so a busy neighbour slows all of them alike.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { goalAtMost, makeCase, median, type CaseResult } from '../lib/stats.ts';
import type { BenchContext } from './context.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/pagescope.mjs');
export const STARTUP_NAMES = ['8a pagescope --help start-up', '8b pagescope ps start-up'];

/** Wall time of one run of `node ARGS`, in ms; throws when it fails. */
function timeRun(args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

export async function startupCases(ctx: BenchContext): Promise<CaseResult[]> {
  ctx.log('  building the CLI (scripts/build.mjs --node)');
  timeRun([path.join(ROOT, 'scripts/build.mjs'), '--node']);
  const commands = { node: ['-e', '0'], help: [BIN, '--help'], ps: [BIN, 'ps'] };
  const times: Record<keyof typeof commands, number[]> = { node: [], help: [], ps: [] };
  const rounds = ctx.quick ? 5 : 15;
  // One warm-up round: the first run pays for the page cache.
  for (const args of Object.values(commands)) timeRun(args);
  for (let i = 0; i < rounds; i++) {
    for (const [k, args] of Object.entries(commands))
      times[k as keyof typeof commands].push(timeRun(args));
  }
  const ref = median(times.node);
  const note = (what: string) =>
    `median of ${rounds} runs of \`node bin/pagescope.mjs ${what}\` (the bundled CLI) vs \`node -e 0\`, interleaved`;
  return [
    makeCase(STARTUP_NAMES[0], median(times.help), ref, goalAtMost(3, 'within 3x node -e 0'), {
      note: note('--help'),
    }),
    makeCase(STARTUP_NAMES[1], median(times.ps), ref, goalAtMost(3, 'within 3x node -e 0'), {
      note: note('ps'),
    }),
  ];
}
