/**
 * `record --who`, then `report` and `export --format pprof|collapsed`, end to end on the C
 * fixture: the real CLI in child processes; the recording read back by the reader, the pprof
 * profile decoded back by pprof-format.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Profile } from 'pprof-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRecording } from '../record/reader.ts';
import { CLI, cleanupAfterEach } from '../../testing/watch-support.ts';
import { buildWhoWriter, PAGES, WhoWriter } from '../../testing/who-target.ts';
import { until } from '../../testing/wait.ts';

const { defer } = cleanupAfterEach();
let build: ReturnType<typeof buildWhoWriter>;
let file: string;
const ROUNDS = 3;

const cli = (...args: string[]): { code: number | null; out: string; err: string; raw: Buffer } => {
  const r = spawnSync(process.execPath, [CLI, ...args], { timeout: 60_000 });
  return { code: r.status, out: r.stdout.toString(), err: r.stderr.toString(), raw: r.stdout };
};

beforeAll(async () => {
  build = buildWhoWriter();
  file = path.join(build.dir, 'who.pgsrec');
  const w = await WhoWriter.start(build.exe);
  defer(() => w.kill());
  const range = (s: number): string => `0x${s.toString(16)}-0x${(s + PAGES * 4096).toString(16)}`;
  const rec = spawn(
    process.execPath,
    [
      CLI,
      'record',
      '--pid',
      String(w.pid),
      '--watch',
      range(w.rangeA),
      '--watch',
      range(w.rangeB),
    ].concat(['--interval', '100', '--who', '-o', file]),
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let err = '';
  rec.stderr.on('data', (d: Buffer) => (err += d.toString()));
  defer(() => rec.kill('SIGKILL'));
  // recording has started once the file holds a tick
  await until(
    () => `the recorder to start (${err})`,
    () => fs.existsSync(file) && readRecording(file).ticks.length > 1,
    60_000,
  );
  // One round per tick at most: a page written twice within one tick faults (and counts) once.
  for (let i = 0; i < ROUNDS; i++) {
    await w.run('go');
    const ticksNow = readRecording(file).ticks.length;
    await until('two more ticks', () => readRecording(file).ticks.length >= ticksNow + 2, 60_000);
  }
  rec.kill('SIGINT');
  await until('the recorder to end', () => rec.exitCode !== null, 60_000);
  expect(rec.exitCode).toBe(0);
});
afterAll(() => fs.rmSync(build.dir, { recursive: true, force: true }));

describe('record --who', () => {
  it('the recording holds each tick its writers: each range to its function and thread', () => {
    const rec = readRecording(file);
    expect(rec.header.version).toBe(2);
    let a = 0;
    let b = 0;
    let wrong = 0;
    for (const w of rec.who.values())
      for (const x of w.writers) {
        if (x.fn === 'fill_alpha' && x.thread === 'writer-a') a += x.pages;
        else if (x.fn === 'fill_beta' && x.thread === 'writer-b') b += x.pages;
        else wrong += x.pages;
      }
    expect(a).toBeGreaterThanOrEqual(0.95 * ROUNDS * PAGES);
    expect(b).toBeGreaterThanOrEqual(0.95 * ROUNDS * PAGES);
    // (a write caught between its fault and a tick's scan faults again: counted in both ticks)
    expect(a).toBeLessThanOrEqual(ROUNDS * (PAGES + 2));
    expect(wrong).toBeLessThanOrEqual(0.05 * ROUNDS * 2 * PAGES);
  });

  it('report: a top-writers table overall and per VMA; --json has them too', () => {
    const r = cli('report', file);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Top writers \(page writes attributed from /m);
    expect(r.out).toMatch(/^\s+fill_alpha\s+writer-a \d+\s+\d+\s+\d+\.\d%$/m);
    expect(r.out).toMatch(/^Top writers per VMA/m);
    const j = JSON.parse(cli('report', file, '--json').out) as {
      writers: { perVma: Array<{ writers: Array<{ fn: string; pages: number }> }> };
    };
    const fns = j.writers.perVma.flatMap((v) => v.writers.map((x) => x.fn));
    expect(fns).toContain('fill_alpha');
    expect(fns).toContain('fill_beta');
  });

  it('export --format pprof: decoded back, pages per stack with the writing function at the leaf', () => {
    const out = path.join(build.dir, 'who.pb');
    expect(cli('export', file, '--format', 'pprof', '-o', out).code).toBe(0);
    const p = Profile.decode(fs.readFileSync(out));
    const str = (i: unknown): string => p.stringTable.strings[Number(i)];
    expect(str(p.sampleType[0].type)).toBe('pages_written');
    expect(str(p.sampleType[0].unit)).toBe('pages');
    const fnName = new Map(p.function.map((f) => [Number(f.id), str(f.name)]));
    const locFn = new Map(
      p.location.map((l) => [Number(l.id), fnName.get(Number(l.line[0].functionId))]),
    );
    let alpha = 0;
    for (const s of p.sample) {
      const leaf = locFn.get(Number(s.locationId[0]));
      if (leaf === 'fill_alpha') {
        alpha += Number(s.value[0]);
        expect(locFn.get(Number(s.locationId[1]))).toBe('thread_a');
        const thread = s.label.find((l) => str(l.key) === 'thread');
        expect(str(thread?.str)).toBe('writer-a');
      }
    }
    expect(alpha).toBeGreaterThanOrEqual(0.95 * ROUNDS * PAGES);
  });

  it('export --format pprof: `go tool pprof -top` reads it and ranks fill_alpha', (ctx) => {
    // Go's own reader, where Go is installed (it is not on these machines).
    if (spawnSync('go', ['version']).status !== 0) ctx.skip('Go is not installed here');
    const out = path.join(build.dir, 'who-go.pb');
    expect(cli('export', file, '--format', 'pprof', '-o', out).code).toBe(0);
    const r = spawnSync('go', ['tool', 'pprof', '-top', out], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/fill_alpha/);
    expect(r.stdout).toMatch(/fill_beta/);
  });

  it('export --format collapsed: folded stacks, root first', () => {
    const r = cli('export', file, '--format', 'collapsed');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^writer-a \d+;(?:[^;\n]+;)*thread_a;fill_alpha \d+$/m);
  });

  it('a recording without writers: one sentence, exit code 2', () => {
    const r = cli('export', path.join(build.dir, 'nothing.pgsrec'), '--format', 'pprof');
    expect(r.code).toBe(2);
    const plain = path.join(build.dir, 'plain.pgsrec');
    fs.copyFileSync(file, plain);
    const bad = cli('record', '--pid', String(process.pid), '--who', '-o', plain);
    expect(bad.code).toBe(2);
    expect(bad.err.trim()).toMatch(
      /--who names the writers of watched pages: add --watch, --vma or --writable\.$/,
    );
  });
});
