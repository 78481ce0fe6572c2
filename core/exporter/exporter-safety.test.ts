/**
 * `pagescope exporter` is safe by default: loopback unless told otherwise, a bearer token (from a
 * file, never argv) off loopback, bad input refused in one sentence with exit code 2, SIGHUP
 * reloads the target list (a bad list is refused and the old one kept), SIGTERM detaches from
 * every process leaving no trace. Real CLI, real writers (testing/rate-writer.c), real cgroup.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAfterEach } from '../../testing/watch-support.ts';
import {
  buildWriter,
  CLI,
  have,
  samples,
  startExporter,
  startWriter,
  tempDir,
} from '../../testing/exporter-support.ts';
import { procRef, signalIfSame } from '../../testing/proc-facts.ts';
import { tracesLeft } from '../../testing/traces.ts';
import { limit, until } from '../../testing/wait.ts';
import { cgroupRoot, commTarget, matchTargets } from './targets.ts';

const { defer, track } = cleanupAfterEach();
let dir = '';
let exeA = '';
let exeB = '';
const commOf = (exe: string): string => path.basename(exe);

beforeAll(() => {
  dir = tempDir();
  exeA = buildWriter(dir);
  exeB = buildWriter(dir);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** `pagescope exporter ARGS` to its end (killed at a scaled 30 s), without blocking the loop. */
function run(args: string[]): Promise<{ code: number | null; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'exporter', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), limit(30_000));
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, err });
    });
  });
}

const attachedPids = async (scrape: () => Promise<{ body: string }>): Promise<string[]> =>
  samples((await scrape()).body, 'pagescope_attached').map((s) => s.labels.pid);

describe('pagescope exporter, safe by default', () => {
  it('refuses bad input in one sentence with exit code 2, before serving anything', async () => {
    const token = path.join(dir, 'short-token');
    fs.writeFileSync(token, 'abc\n');
    const cases: Array<[string[], RegExp]> = [
      [[], /Say what to watch/],
      [['--comm', 'x', '--listen', '0.0.0.0:0'], /give --token-file FILE/],
      [
        ['--comm', 'x', '--listen', '0.0.0.0:0', '--token-file', path.join(dir, 'none')],
        /Cannot read the token file/,
      ],
      [['--comm', 'x', '--listen', '0.0.0.0:0', '--token-file', token], /at least 16 characters/],
      [['--comm', '('], /not a regular expression/],
      [['--pid', 'abc'], /process id/],
      [['--comm', 'x', '--listen', 'nowhere:80'], /IP address/],
      [['--comm', 'x', '--targets', path.join(dir, 'none')], /Cannot read the targets file/],
      [['--comm', 'x', '--max-overhead', '0'], /percent from 0.1 to 100/],
      // A token on the command line would be readable by every user in /proc/PID/cmdline.
      [['--comm', 'x', '--token', 'secretsecretsecret'], /unknown option/],
    ];
    // The CLIs side by side: each refusal is its own process.
    const runs = await Promise.all(cases.map(([args]) => run(args)));
    for (const [i, [args, message]] of cases.entries()) {
      const r = runs[i];
      expect(r.err, args.join(' ')).toMatch(message);
      expect(r.err.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.code, args.join(' ')).toBe(2);
    }
  });

  it('off loopback, answers only a scraper with the bearer token from the file', async () => {
    const tokenFile = path.join(dir, 'token');
    const token = 'f00dfeedf00dfeedf00dfeed0123';
    fs.writeFileSync(tokenFile, token + '\n', { mode: 0o600 });
    const e = track(
      await startExporter([
        '--comm',
        'no-such-proc',
        '--listen',
        '0.0.0.0:0',
        '--token-file',
        tokenFile,
      ]),
    );
    expect(e.log()).toContain('bearer token required');
    expect((await e.scrape()).status).toBe(401);
    expect((await e.scrape('f00dfeedf00dfeedf00dfeed0124')).status).toBe(401);
    const ok = await e.scrape(token);
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('pagescope_target_processes{target="comm:no-such-proc"} 0');
    // SIGHUP reads the token file again (a rotated token).
    fs.writeFileSync(tokenFile, token + 'x\n');
    e.child.kill('SIGHUP');
    await until(
      'the new token accepted',
      async () => (await e.scrape(token + 'x')).status === 200,
      10_000,
    );
    expect((await e.scrape(token)).status).toBe(401);
    expect(await e.stop()).toBe(0);
  });

  it('on loopback by default: the port is not reachable on other addresses', async () => {
    const e = track(await startExporter(['--comm', 'no-such-proc', '--listen', '0']));
    expect(e.log()).toMatch(/serving http:\/\/127\.0\.0\.1:\d+\/metrics/);
    expect((await e.scrape()).status).toBe(200);
    const outside = Object.values(os.networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
    if (outside) {
      const refused = await fetch(`http://${outside}:${e.port}/metrics`).then(
        () => 'answered',
        (err: Error & { cause?: { code?: string } }) => err.cause?.code ?? err.message,
      );
      expect(refused).toBe('ECONNREFUSED');
    }
    expect(await e.stop()).toBe(0);
  });

  it('SIGHUP reloads --targets (a bad file is refused, the old list kept); SIGTERM detaches from all, leaving no trace', async () => {
    const a = track(await startWriter(exeA, 500));
    const b = track(await startWriter(exeB, 500));
    const targets = path.join(dir, 'targets');
    fs.writeFileSync(targets, `# the first writer\ncomm:${commOf(exeA)}\n`);
    const e = track(
      await startExporter(['--targets', targets, '--listen', '0', '--interval', '500']),
    );
    await until(
      'A attached',
      async () => (await attachedPids(e.scrape)).includes(String(a.pid)),
      30_000,
    );
    fs.writeFileSync(targets, `comm:${commOf(exeB)}\npid:${a.pid}\n`);
    e.child.kill('SIGHUP');
    await until(
      () => `B attached, A kept under pid:${a.pid} (${e.log()})`,
      async () => {
        const { body } = await e.scrape();
        return (
          samples(body, 'pagescope_attached', { pid: String(b.pid) }).length &&
          samples(body, 'pagescope_attached', { pid: String(a.pid), target: `pid:${a.pid}` }).length
        );
      },
      30_000,
    );
    // Without A's line, A is detached and clean at once (its session closed).
    fs.writeFileSync(targets, `comm:${commOf(exeB)}\n`);
    e.child.kill('SIGHUP');
    await until(
      'A detached',
      async () => !(await attachedPids(e.scrape)).includes(String(a.pid)),
      30_000,
    );
    await until(
      () => `A clean: ${tracesLeft(a.pid).join('; ')}`,
      () => tracesLeft(a.pid).length === 0,
      10_000,
    );
    // A bad line: refused, said, and B still watched.
    fs.writeFileSync(targets, `comm:${commOf(exeB)}\nprocess 12\n`);
    e.child.kill('SIGHUP');
    await until(
      'the refusal said',
      () => /reload refused, the old targets stay: .*line 2/.test(e.log()),
      10_000,
    );
    expect(await attachedPids(e.scrape)).toEqual([String(b.pid)]);
    const t0 = performance.now();
    expect(await e.stop()).toBe(0);
    console.log(`SIGTERM to exit: ${Math.round(performance.now() - t0)} ms`);
    expect(tracesLeft(b.pid)).toEqual([]);
    expect(tracesLeft(a.pid)).toEqual([]);
    expect(a.child.exitCode).toBe(null);
    expect(b.child.exitCode).toBe(null);
  });

  it('watches each process of a cgroup singly, labelled with its cgroup', async (ctx) => {
    const root = cgroupRoot();
    const name = `pgs-exporter-test-${process.pid}`;
    const cg = path.join(root, name);
    try {
      fs.mkdirSync(cg);
    } catch (err) {
      ctx.skip(`cannot make a cgroup under ${root} (${(err as NodeJS.ErrnoException).code})`);
    }
    defer(() => fs.rmdirSync(cg));
    const w1 = track(await startWriter(exeA, 200));
    const w2 = track(await startWriter(exeB, 200));
    defer(() => {
      w1.kill();
      w2.kill();
    });
    for (const w of [w1, w2]) fs.writeFileSync(path.join(cg, 'cgroup.procs'), String(w.pid));
    const e = track(await startExporter(['--cgroup', `/${name}`, '--listen', '0']));
    const body = await until(
      () => `both writers attached (${e.log()})`,
      async () => {
        const { body } = await e.scrape();
        return samples(body, 'pagescope_attached').length === 2 ? body : null;
      },
      30_000,
    );
    for (const w of [w1, w2])
      expect(samples(body, 'pagescope_attached', { pid: String(w.pid) })[0].labels).toMatchObject({
        cgroup: `/${name}`,
        target: `cgroup:/${name}`,
      });
    expect(await e.stop()).toBe(0);
    // The cgroup can go only once empty: the writers end first (the defers run newest first).
    w1.kill();
    w2.kill();
    await until(
      'the cgroup empty',
      () => fs.readFileSync(path.join(cg, 'cgroup.procs'), 'utf8') === '',
      10_000,
    );
  });

  it('counts a refused watch by reason and keeps the page states (a writer already traced by strace)', async (ctx) => {
    if (!have('strace')) ctx.skip('strace is not installed (.ci/run installs it)');
    const exe = buildWriter(dir);
    const comm = commOf(exe);
    // strace stays the writer's tracer (and parent): the writer is its child, pid found by comm.
    const tracer = spawn('strace', ['-f', '-o', '/dev/null', exe, '200', '4096', '120'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    defer(() => tracer.kill('SIGKILL'));
    await until(
      'the traced writer ready',
      () => (tracer.stdout!.read() as Buffer | null)?.toString().includes('ready'),
      20_000,
    );
    // The writer by its comm (strace's child): killed by its pid at the end, so it does not
    // outlive the test (strace's death would only detach it).
    const writer = procRef(matchTargets([commTarget(comm)]).get(`comm:${comm}`)![0].pid);
    defer(() => {
      tracer.stdout!.destroy();
      signalIfSame(writer);
    });
    const e = track(await startExporter(['--comm', comm, '--listen', '0']));
    const target = `comm:${comm}`;
    const body = await until(
      () => `the refusal counted (${e.log()})`,
      async () => {
        const { body } = await e.scrape();
        return samples(body, 'pagescope_attach_errors_total', { target }).length ? body : null;
      },
      30_000,
    );
    expect(samples(body, 'pagescope_attach_errors_total', { target })).toEqual([
      {
        name: 'pagescope_attach_errors_total',
        labels: { target, reason: 'already-traced' },
        value: 1,
      },
    ]);
    expect(samples(body, 'pagescope_writes_watched', { comm })[0].value).toBe(0);
    expect(samples(body, 'pagescope_resident_bytes', { comm })[0].value).toBeGreaterThan(
      4096 * 4096,
    );
    expect(e.log()).toMatch(/writes not watched \(.*already being traced/);
    expect(await e.stop()).toBe(0);
  });
});
