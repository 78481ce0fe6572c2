/**
 * Helpers for the exporter's tests: the C writer with a known dirty rate (rate-writer.c, built
 * once (testing/c-build.ts) and copied under a name of the test's own, so `--comm` matches
 * nothing else on the machine),
 * `pagescope exporter` as a child (its port read from its first line), a scrape, and the
 * exposition parsed into samples. Waiting is wait.ts; traces are traces.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { buildC, copyBuilt } from './c-build.ts';
import { until } from './wait.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.join(here, '..');
export const CLI = path.join(REPO, 'bin/pagescope.mjs');
export const PAGE = 4096;

/** A fresh temporary folder (removed by the caller's cleanup). */
export function tempDir(prefix = 'pgs-exporter-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** rate-writer.c, built, as DIR/NAME (NAME is also its comm: keep it under 16 characters). */
export function buildWriter(
  dir: string,
  name = `pgsw${crypto.randomBytes(4).toString('hex')}`,
): string {
  return copyBuilt(buildC(path.join(REPO, 'testing/rate-writer.c')), dir, name);
}

export interface Writer {
  child: ChildProcess;
  pid: number;
  kill(): void;
}

/** Starts the writer dirtying `rate` pages per second of `region` pages; resolves at "ready". */
export async function startWriter(
  exe: string,
  rate: number,
  region = 32768,
  seconds = 300,
): Promise<Writer> {
  const child = spawn(exe, [String(rate), String(region), String(seconds)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const rl = readline.createInterface({ input: child.stdout! });
  await new Promise<void>((resolve, reject) => {
    rl.once('line', (l) => (l === 'ready' ? resolve() : reject(new Error(`writer said ${l}`))));
    child.once('exit', (code) => reject(new Error(`writer exited with ${code}`)));
  });
  return {
    child,
    pid: child.pid!,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

export interface ExporterProcess {
  child: ChildProcess;
  port: number;
  /** Everything it wrote to stderr so far. */
  log(): string;
  /** GET /metrics (with the token when given): status and body. */
  scrape(token?: string): Promise<{ status: number; body: string }>;
  /** SIGTERM, then the exit code (SIGKILL after `ms`: a test failure, not a clean stop). */
  stop(ms?: number): Promise<number | null>;
  kill(): void;
}

/**
 * Starts `pagescope exporter ARGS` and resolves once it serves (its "serving" line). With a
 * prefix that execs (setpriv), the child's pid is the exporter's.
 */
export async function startExporter(
  args: string[],
  /** A command that runs it (setpriv ..., to run it with fewer privileges). */
  prefix: string[] = [],
): Promise<ExporterProcess> {
  const argv = [...prefix, process.execPath, CLI, 'exporter', ...args];
  const child = spawn(argv[0], argv.slice(1), {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (s: string) => (err += s));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const port = await until(
    () => `the exporter's "serving" line (stderr: ${err})`,
    () => {
      if (child.exitCode !== null)
        throw new Error(`exporter exited with ${child.exitCode}: ${err}`);
      const m = /serving http:\/\/[^ ]*:(\d+)\/metrics/.exec(err);
      return m ? Number(m[1]) : 0;
    },
    30_000,
  );
  return {
    child,
    port,
    log: () => err,
    scrape: async (token) => {
      const r = await fetch(`http://127.0.0.1:${port}/metrics`, {
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
      return { status: r.status, body: await r.text() };
    },
    stop: async (ms = 20_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), ms);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a text exposition (comments skipped; label values unescaped). */
export function parseExposition(body: string): Sample[] {
  const out: Sample[] = [];
  for (const line of body.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]] = l[2].replace(/\\n/g, '\n').replace(/\\(.)/g, '$1');
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** The samples named `name` whose labels include `match`. */
export function samples(body: string, name: string, match: Record<string, string> = {}): Sample[] {
  return parseExposition(body).filter(
    (s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v),
  );
}

export { freePort, have } from './ports.ts';
