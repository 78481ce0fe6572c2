/**
 * A launched command that leaves descendants behind, for the containment tests
 * (core/kernel/containment.ts): `sh` starts a background sleep, a grandchild that calls setsid
 * and double-forks (its sleep is orphaned in a session of its own, out of every process group
 * of ours), and a foreground sleep. Each sleep has a duration no other process on the machine
 * has, so a test finds them in /proc without knowing their pids. No test-runner imports.
 */
import fs from 'node:fs';
import { alive } from './proc-facts.ts';

let n = 0;

export interface LaunchTree {
  /** The command to launch. */
  command: string[];
  /** The unique sleep durations, one per process the tree leaves (as written on their argv). */
  sleeps: string[];
}

/**
 * `withSetsid: false` leaves out the setsid grandchild (the process-group fallback cannot hold
 * it, as containment.ts says). `exitAtOnce`: the shell exits instead of waiting, leaving its
 * descendants behind (a launch that ends normally).
 */
export function launchTree(opts: { withSetsid?: boolean; exitAtOnce?: boolean } = {}): LaunchTree {
  const base = 700 + (process.pid % 97) + (++n % 50) / 100;
  const a = `${base.toFixed(2)}1`;
  const b = `${base.toFixed(2)}2`;
  const c = `${base.toFixed(2)}3`;
  const setsid = opts.withSetsid === false ? '' : `setsid sh -c "sleep ${c} & exit 0"; `;
  const tail = opts.exitAtOnce ? `sleep ${b} & exit 0` : `sleep ${b}; wait`;
  return {
    command: ['sh', '-c', `sleep ${a} & ${setsid}${tail}`],
    sleeps: opts.withSetsid === false ? [a, b] : [a, b, c],
  };
}

/** The live pids of `sleep DURATION` for each duration, in order (0 where none runs). */
export function sleepPids(durations: string[]): number[] {
  const found = new Map<string, number>();
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    let argv: string[];
    try {
      argv = fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (argv.length === 3 && argv[0] === 'sleep' && durations.includes(argv[1]) && alive(+e))
      found.set(argv[1], Number(e));
  }
  return durations.map((d) => found.get(d) ?? 0);
}

/** A line for a failed wait: which sleeps still run. */
export function describeSleeps(durations: string[]): string {
  const pids = sleepPids(durations);
  return durations.map((d, i) => `sleep ${d}: ${pids[i] ? `pid ${pids[i]}` : 'gone'}`).join(', ');
}

/** Kills whatever of the tree is left (test cleanup, so a failed test leaks nothing). */
export function killSleeps(durations: string[]): void {
  for (const pid of sleepPids(durations))
    if (pid)
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
}
