/**
 * Containment of launches with real processes (core/kernel/containment.ts): `pagescope watch --
 * CMD`, `record -- CMD`, `demo` and `record --demo` are SIGKILLed while the command they
 * launched has a background child, a foreground child and a grandchild that called setsid and
 * double-forked; every one of them must be gone within a bounded wait, and no cgroup of that
 * pagescope may remain. A launch that ends normally (the command exits, leaving children) ends
 * them too. The process-group fallback holds for the plain children. (`serve` is covered in
 * core/host/serve-process.test.ts.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { launchCgroupsOf, ownCgroupDir } from './containment.ts';
import { describeSleeps, killSleeps, launchTree, sleepPids } from '../../testing/launch-tree.ts';
import { alive, procRef, signalIfSame } from '../../testing/proc-facts.ts';
import { until } from '../../testing/wait.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(ROOT, 'bin', 'pagescope.mjs');

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const f of cleanups.splice(0).reverse())
    try {
      f();
    } catch {
      // best effort
    }
});

/** Why a cgroup per launch cannot be made here (then the cgroup tests skip), or null. */
function noCgroups(): string | null {
  const dir = ownCgroupDir();
  if (!dir) return 'no cgroup v2 hierarchy on this machine';
  const probe = path.join(dir, `pagescope-probe-${process.pid}`);
  try {
    fs.mkdirSync(probe);
    fs.rmdirSync(probe);
    fs.accessSync(path.join(dir, 'cgroup.procs'), fs.constants.W_OK);
    return null;
  } catch (err) {
    return `cannot create cgroups under ${dir} (${(err as Error).message}): the fallback is tested below`;
  }
}

interface Cli {
  child: ChildProcess;
  output(): string;
}

function cli(args: string[], env: NodeJS.ProcessEnv = process.env): Cli {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  cleanups.push(() => child.kill('SIGKILL'));
  return { child, output: () => out.slice(-2000) };
}

function tmpFile(name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagescope-contain-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, name);
}

function cgroupOf(pid: number): string {
  try {
    return /^0::(.*)$/m.exec(fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8'))?.[1] ?? '';
  } catch {
    return '';
  }
}

/** SIGKILLs `c` once the tree runs, then waits until every sleep and every cgroup is gone. */
async function killHostAndExpectNothingLeft(
  c: Cli,
  sleeps: string[],
  opts: { inCgroup: boolean },
): Promise<void> {
  cleanups.push(() => killSleeps(sleeps));
  const host = c.child.pid!;
  const pids = await until(
    () => `the launched tree (${describeSleeps(sleeps)}); pagescope said: ${c.output()}`,
    () => {
      const p = sleepPids(sleeps);
      return p.every(Boolean) ? p : null;
    },
    60_000,
  );
  const cgroups = pids.map(cgroupOf);
  c.child.kill('SIGKILL');
  await until(
    () => `every launched process to end (${describeSleeps(sleeps)})`,
    () => pids.every((p) => !alive(p)),
    15_000,
  );
  // Each was in the launch's cgroup, the setsid one too.
  if (opts.inCgroup)
    for (const cg of cgroups) expect(cg).toMatch(new RegExp(`/pagescope-${host}-\\d+\\.\\d+$`));
  await until(
    () => `no cgroup of pagescope ${host} (left: ${launchCgroupsOf(host).join(', ')})`,
    () => launchCgroupsOf(host).length === 0,
    15_000,
  );
}

describe('every process a launch starts ends with pagescope', () => {
  it('watch -- CMD, SIGKILLed: children, grandchildren and a setsid double-fork are gone', async (ctx) => {
    const why = noCgroups();
    if (why) ctx.skip(why);
    const tree = launchTree();
    const c = cli(['watch', '--', ...tree.command]);
    await killHostAndExpectNothingLeft(c, tree.sleeps, { inCgroup: true });
  });

  it('record -- CMD, SIGKILLed: the same', async (ctx) => {
    const why = noCgroups();
    if (why) ctx.skip(why);
    const tree = launchTree();
    const c = cli(['record', '--writable', '-o', tmpFile('x.pgsrec'), '--', ...tree.command]);
    await killHostAndExpectNothingLeft(c, tree.sleeps, { inCgroup: true });
  });

  it('a launch that ends normally ends what the command left behind, and removes its cgroup', async (ctx) => {
    const why = noCgroups();
    if (why) ctx.skip(why);
    // The shell exits at once; its three sleeps would live on.
    const tree = launchTree({ exitAtOnce: true });
    cleanups.push(() => killSleeps(tree.sleeps));
    const c = cli(['watch', '--', ...tree.command]);
    const host = c.child.pid!;
    const code = await new Promise<number | null>((r) => c.child.once('exit', (code) => r(code)));
    expect(code, c.output()).not.toBeNull();
    await until(
      () => `the launched tree to end (${describeSleeps(tree.sleeps)})`,
      () => sleepPids(tree.sleeps).every((p) => !p),
      15_000,
    );
    await until(
      () => `no cgroup of pagescope ${host} (left: ${launchCgroupsOf(host).join(', ')})`,
      () => launchCgroupsOf(host).length === 0,
      15_000,
    );
  });

  for (const args of [['demo'], ['record', '--demo', '--duration', '600']]) {
    it(`${args.join(' ')}, SIGKILLed: the demo workload runs in a cgroup of its own, which ends with it`, async (ctx) => {
      const why = noCgroups();
      if (why) ctx.skip(why);
      const c = cli(args[0] === 'record' ? [...args, '-o', tmpFile('d.pgsrec')] : args);
      const host = c.child.pid!;
      const procs = await until(
        () => `the demo in a cgroup of pagescope ${host}; pagescope said: ${c.output()}`,
        () => {
          const cg = launchCgroupsOf(host)[0];
          if (!cg) return null;
          const p = fs
            .readFileSync(path.join(cg, 'cgroup.procs'), 'utf8')
            .split('\n')
            .filter(Boolean);
          // One pid: the exec chain ends in the workload itself, in the same process.
          return p.length > 0 ? p.map(Number) : null;
        },
        60_000,
      );
      for (const ref of procs.map(procRef)) cleanups.push(() => signalIfSame(ref));
      c.child.kill('SIGKILL');
      await until(
        () => `the demo (pids ${procs.join(', ')}) to end`,
        () => procs.every((p) => !alive(p)),
        15_000,
      );
      await until(
        () => `no cgroup of pagescope ${host} (left: ${launchCgroupsOf(host).join(', ')})`,
        () => launchCgroupsOf(host).length === 0,
        15_000,
      );
    });
  }

  it('without cgroups (PAGESCOPE_CONTAINMENT=process-group), its process group still ends with it', async () => {
    // The setsid grandchild is left out: a process group cannot hold it (containment.ts).
    const tree = launchTree({ withSetsid: false });
    const c = cli(['watch', '--', ...tree.command], {
      ...process.env,
      PAGESCOPE_CONTAINMENT: 'process-group',
    });
    await killHostAndExpectNothingLeft(c, tree.sleeps, { inCgroup: false });
  });

  // The fallback is said, once, on stderr: by `watch -- CMD` (on the main thread) and by
  // `record -- CMD` (its session worker launches), never in cgroup mode.
  const FALLBACK =
    /^pagescope: No cgroup for this launch \(([^\n]*)\): it is held by its process group only/gm;
  const runToEnd = async (args: string[], env: NodeJS.ProcessEnv): Promise<string> => {
    const c = cli(args, env);
    const code = await new Promise<number | null>((r) => c.child.once('exit', (code) => r(code)));
    expect(code, c.output()).toBe(0);
    return c.output();
  };
  const watchArgs = ['watch', '--writable', '--ticks', '2', '--interval', '50', '--', 'sleep', '3'];
  const recordArgs = () => [
    'record',
    '--ticks',
    '2',
    '--interval',
    '50',
    '-o',
    tmpFile('n.pgsrec'),
  ];

  for (const [name, args] of [
    ['watch -- CMD', () => watchArgs],
    ['record -- CMD', () => [...recordArgs(), '--', 'sleep', '3']],
  ] as const) {
    it(`${name} falling back to its process group says so once on stderr, with the reason`, async () => {
      const out = await runToEnd([...args()], {
        ...process.env,
        PAGESCOPE_CONTAINMENT: 'process-group',
      });
      const said = [...out.matchAll(FALLBACK)];
      expect(
        said.map((m) => m[1]),
        out,
      ).toEqual(['PAGESCOPE_CONTAINMENT=process-group']);
      expect(out).toMatch(/calls setsid outlives pagescope, and it has no controlling terminal\./);
    });
  }

  it('the demo workload (never out of its process group) is not announced', async () => {
    const out = await runToEnd(['demo', '--seconds', '1'], {
      ...process.env,
      PAGESCOPE_CONTAINMENT: 'process-group',
    });
    expect(out).not.toMatch(FALLBACK);
  });

  it('a launch in a cgroup says nothing about containment', async (ctx) => {
    const why = noCgroups();
    if (why) ctx.skip(why);
    const env = { ...process.env };
    delete env.PAGESCOPE_CONTAINMENT;
    expect(await runToEnd(watchArgs, env)).not.toMatch(FALLBACK);
  });
});
