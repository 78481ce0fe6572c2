/**
 * Case 13: `pagescope exporter` on 5 targets (issue 25): the exporter's own CPU and memory, and
 * what being watched costs the targets.
 *
 * Five C writers (testing/rate-writer.c: 500 pages a second each, of 64 MiB, paced by a clock)
 * run first alone (the reference: their own CPU time per second), then under the built
 * exporter (default settings: 1 s interval, --max-overhead 2) for the case's length, scraped
 * every 15 s as Prometheus would. Ours: the exporter's CPU ms per second of wall time (its whole
 * process, the session workers included, from /proc). Also reported: its resident memory (max
 * over the run), the targets' CPU per second alone and watched (a paced writer does the same
 * work either way, so the difference is what the write faults and the page-table walks cost
 * them), and their estimated overhead as the exporter states it.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { probeCapabilities } from '../../core/kernel/capabilities.ts';
import { distDir } from '../../core/runtime/entry.ts';
import { infoGoal, makeCase, skippedCase, type CaseResult } from '../lib/stats.ts';
import type { BenchContext } from './context.ts';

export const EXPORTER_NAME = '13 exporter, 5 targets';

const TARGETS = 5;
const RATE = 500;
const REGION = 16384;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TICK = 100; // USER_HZ: /proc/PID/stat's clock ticks per second on Linux

/** utime + stime of a process (all its threads), ms. */
function cpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / TICK;
}

function rssKiB(pid: number): number {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'latin1');
  return Number(/^VmRSS:\s+(\d+)/m.exec(s)?.[1] ?? 0);
}

async function startWriter(exe: string): Promise<ChildProcess> {
  const child = spawn(exe, [String(RATE), String(REGION), '3600'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const rl = readline.createInterface({ input: child.stdout! });
  await new Promise<void>((resolve, reject) => {
    rl.once('line', () => resolve());
    child.once('exit', (c) => reject(new Error(`the writer exited with ${c}`)));
  });
  return child;
}

export async function exporterCases(ctx: BenchContext): Promise<CaseResult[]> {
  const goal = infoGoal('info: exporter CPU ms per s and memory; targets CPU alone vs watched');
  const caps = probeCapabilities();
  if (!caps.pagemapScan || !caps.uffdWpAsync)
    return [
      skippedCase(EXPORTER_NAME, goal, `needs PAGEMAP_SCAN and userfaultfd async write-protect`),
    ];
  const cli = path.join(distDir(), 'cli.mjs');
  if (!fs.existsSync(cli)) return [skippedCase(EXPORTER_NAME, goal, 'dist/cli.mjs is not built')];
  const seconds = ctx.quick ? 60 : 600;
  const refSeconds = ctx.quick ? 20 : 60;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagescope-bench-exporter-'));
  const writers: ChildProcess[] = [];
  let exporter: ChildProcess | null = null;
  try {
    const exe = path.join(dir, 'pgsbenchw');
    try {
      execFileSync('gcc', ['-O1', '-o', exe, path.join(distDir(), '../testing/rate-writer.c')]);
    } catch {
      return [skippedCase(EXPORTER_NAME, goal, 'gcc could not build testing/rate-writer.c')];
    }
    for (let i = 0; i < TARGETS; i++) writers.push(await startWriter(exe));
    const pids = writers.map((w) => w.pid!);
    const sumCpu = (): number => pids.reduce((a, p) => a + cpuMs(p), 0);

    ctx.log(`${TARGETS} writers alone for ${refSeconds} s`);
    let c0 = sumCpu();
    let t0 = performance.now();
    await sleep(refSeconds * 1000);
    const aloneMsPerS = ((sumCpu() - c0) / (performance.now() - t0)) * 1000;

    let err = '';
    exporter = spawn(
      process.execPath,
      [cli, 'exporter', '--comm', 'pgsbenchw', '--listen', '127.0.0.1:0'],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    exporter.stderr!.setEncoding('utf8');
    exporter.stderr!.on('data', (s: string) => (err += s));
    const deadline = performance.now() + 60_000;
    let port = 0;
    while (!port) {
      if (performance.now() > deadline || exporter.exitCode !== null)
        throw new Error(`the exporter did not start: ${err}`);
      port = Number(/serving http:\/\/[^ ]*:(\d+)\//.exec(err)?.[1] ?? 0);
      await sleep(100);
    }
    const scrape = async (): Promise<string> =>
      (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    while ((await scrape()).match(/^pagescope_attached\{/gm)?.length !== TARGETS) {
      if (performance.now() > deadline) throw new Error(`not every writer was attached: ${err}`);
      await sleep(200);
    }
    ctx.log(`the exporter on ${TARGETS} writers for ${seconds} s`);
    const epid = exporter.pid!;
    const e0 = cpuMs(epid);
    c0 = sumCpu();
    t0 = performance.now();
    let maxRss = rssKiB(epid);
    const overheads: number[] = [];
    let body = '';
    while (performance.now() - t0 < seconds * 1000) {
      await sleep(15_000);
      body = await scrape();
      maxRss = Math.max(maxRss, rssKiB(epid));
      for (const m of body.matchAll(/^pagescope_estimated_overhead_ratio\{[^}]*\} (\S+)$/gm))
        overheads.push(Number(m[1]));
    }
    const wallS = (performance.now() - t0) / 1000;
    const exporterMsPerS = (cpuMs(epid) - e0) / wallS;
    const watchedMsPerS = (sumCpu() - c0) / wallS;
    const endRss = rssKiB(epid);
    const meanOverhead = overheads.length
      ? overheads.reduce((a, b) => a + b, 0) / overheads.length
      : NaN;
    const perTarget = (x: number) => (x / TARGETS).toFixed(2);
    return [
      makeCase(EXPORTER_NAME, exporterMsPerS, null, goal, {
        note:
          `ours: exporter CPU ms per s of wall time over ${wallS.toFixed(0)} s (${TARGETS} targets, 1 s interval, ` +
          `--max-overhead 2, scraped every 15 s); RSS max ${(maxRss / 1024).toFixed(0)} MiB, at the end ` +
          `${(endRss / 1024).toFixed(0)} MiB; targets' CPU ms/s each: alone ${perTarget(aloneMsPerS)}, ` +
          `watched ${perTarget(watchedMsPerS)}; their estimated overhead (mean of scrapes) ` +
          `${(meanOverhead * 100).toFixed(2)}%`,
        exporter_cpu_ms_per_s: exporterMsPerS,
        exporter_rss_max_kib: maxRss,
        exporter_rss_end_kib: endRss,
        target_cpu_ms_per_s_alone: aloneMsPerS / TARGETS,
        target_cpu_ms_per_s_watched: watchedMsPerS / TARGETS,
        target_estimated_overhead_mean: meanOverhead,
        seconds: wallS,
      }),
    ];
  } finally {
    exporter?.kill('SIGTERM');
    if (exporter && exporter.exitCode === null)
      await new Promise((r) => {
        exporter!.once('exit', r);
        setTimeout(r, 20_000);
      });
    for (const w of writers) w.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
