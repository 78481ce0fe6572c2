/**
 * symbols.ts on live processes: sampled write faults of the C fixture (plain, stripped, with a
 * debug file by .gnu_debuglink and by build-id), a C++ one (demangled), and node with
 * --perf-basic-prof (JIT names).
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultSampler, type FaultSample } from '../kernel/perf-event.ts';
import { demangle, demangler, dropRustHash, frameLabel, Symbolizer } from './symbols.ts';
import { buildC } from '../../testing/c-build.ts';
import { buildWhoWriter, PAGES, WhoWriter } from '../../testing/who-target.ts';
import { until } from '../../testing/wait.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
let build: ReturnType<typeof buildWhoWriter>;
beforeAll(() => {
  build = buildWhoWriter();
});
afterAll(() => fs.rmSync(build.dir, { recursive: true, force: true }));

const inA = (w: WhoWriter, a: number): boolean => a >= w.rangeA && a < w.rangeA + PAGES * 4096;

/** Starts `exe`, samples one "fresh" round, symbolizes each range-A sample's stack. */
async function sampleA(
  exe: string,
  debugDirs?: string[],
): Promise<{
  leaf: string[];
  stacks: ReturnType<Symbolizer['stack']>[];
  sym: Symbolizer;
  w: WhoWriter;
  samples: FaultSample[];
}> {
  const w = await WhoWriter.start(exe);
  const s = FaultSampler.open(w.pid);
  try {
    await w.run('fresh');
    const samples = s.drain().samples.filter((x) => inA(w, x.addr));
    expect(samples.length).toBe(PAGES);
    const sym = new Symbolizer(w.pid, { debugDirs });
    const stacks = samples.map((x) => sym.stack(x.stack));
    return { leaf: stacks.map((st) => frameLabel(st.frames[0])), stacks, sym, w, samples };
  } finally {
    s.close();
  }
}

describe('Symbolizer', () => {
  it('names the writing function, its callers and the thread (frame pointers, .symtab)', async () => {
    const r = await sampleA(build.exe);
    try {
      expect(new Set(r.leaf)).toEqual(new Set(['fill_alpha']));
      for (const st of r.stacks) {
        expect(st.frames[1].fn).toBe('thread_a');
        expect(st.frames[0].module).toBe('who-writer');
        expect(st.partial).toBe(false);
      }
      expect(r.sym.threadName(r.samples[0].tid)).toBe('writer-a');
      expect(r.sym.threadName(2 ** 22 + 7)).toBe(`thread ${2 ** 22 + 7}`);
    } finally {
      r.w.kill();
    }
  });

  it('a stripped binary: module and offset, said plainly', async () => {
    const r = await sampleA(build.stripped);
    try {
      for (const st of r.stacks) {
        expect(st.frames[0].fn).toBeNull();
        expect(st.frames[0].kind).toBe('native');
      }
      expect(r.leaf[0]).toMatch(/^who-writer-stripped\+0x[0-9a-f]+$/);
    } finally {
      r.w.kill();
    }
  });

  it('a stripped binary with its debug file next to it (.gnu_debuglink)', async () => {
    const dir = path.join(build.dir, 'linked');
    fs.mkdirSync(dir);
    const exe = path.join(dir, 'who-writer-linked');
    execFileSync('objcopy', ['--only-keep-debug', build.exe, path.join(dir, 'ww.debug')]);
    execFileSync('objcopy', [
      '--strip-all',
      `--add-gnu-debuglink=${path.join(dir, 'ww.debug')}`,
      build.exe,
      exe,
    ]);
    const r = await sampleA(exe);
    try {
      expect(new Set(r.leaf)).toEqual(new Set(['fill_alpha']));
    } finally {
      r.w.kill();
    }
  });

  it('a stripped binary with its debug file found by build-id', async () => {
    const id = execFileSync('readelf', ['-n', build.stripped], { encoding: 'utf8' }).match(
      /Build ID: ([0-9a-f]+)/,
    )![1];
    const dbg = path.join(build.dir, 'debug');
    fs.mkdirSync(path.join(dbg, '.build-id', id.slice(0, 2)), { recursive: true });
    execFileSync('objcopy', [
      '--only-keep-debug',
      build.exe,
      path.join(dbg, '.build-id', id.slice(0, 2), `${id.slice(2)}.debug`),
    ]);
    const r = await sampleA(build.stripped, [dbg]);
    try {
      expect(new Set(r.leaf)).toEqual(new Set(['fill_alpha']));
    } finally {
      r.w.kill();
    }
  });

  it('a C++ writer: the function name demangled', async (ctx) => {
    if (demangler() === 'none') ctx.skip('c++filt (binutils) is not installed');
    const exe = buildC(
      path.join(here, '../../testing/who-writer.cpp'),
      ['-O1', '-fno-omit-frame-pointer'],
      {
        compiler: 'g++',
        name: 'who-writer-cpp',
      },
    );
    const child = spawn(exe, [], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      const lines = readline.createInterface({ input: child.stdout! });
      const got: string[] = [];
      lines.on('line', (l) => got.push(l));
      const hello = await until('the C++ writer to start', () => got.shift());
      const [, addrHex, pagesText] = hello.split(' ');
      const start = parseInt(addrHex, 16);
      const s = FaultSampler.open(child.pid!);
      child.stdin!.write('go\n');
      await until('the C++ writer to write', () => got.shift() === 'done');
      const samples = s
        .drain()
        .samples.filter((x) => x.addr >= start && x.addr < start + Number(pagesText) * 4096);
      s.close();
      expect(samples.length).toBe(Number(pagesText));
      const sym = new Symbolizer(child.pid!);
      const names = new Set(samples.map((x) => demangle(sym.frame(x.ip).fn!)));
      expect(names).toEqual(new Set(['pagescope::Painter<char>::paint(char*, int)']));
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('node with --perf-basic-prof: the JS function that wrote', async () => {
    // fillPages is optimized first (JIT code, named in /tmp/perf-PID.map), then writes fresh pages.
    const code =
      'function fillPages(a) { for (let i = 0; i < a.length; i += 4096) a[i] = 1; }' +
      'for (let k = 0; k < 2000; k++) fillPages(new Uint8Array(8192));' +
      '%OptimizeFunctionOnNextCall(fillPages); fillPages(new Uint8Array(8192));' +
      'console.log("ready");' +
      'process.stdin.on("data", () => { const b = new Uint8Array(16 << 20);' +
      '  fillPages(b); globalThis.keep = b;' +
      '  console.log("done " + b.byteOffset); });';
    const child = spawn(
      process.execPath,
      ['--perf-basic-prof', '--allow-natives-syntax', '-e', code],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    try {
      const got: string[] = [];
      readline.createInterface({ input: child.stdout! }).on('line', (l) => got.push(l));
      await until('node to start', () => got.shift() === 'ready');
      // node's call chains are deep (~0.5 KiB a sample): a buffer that holds 4,096 of them
      const s = FaultSampler.open(child.pid!, { bufferPages: 1024 });
      child.stdin!.write('go\n');
      await until('node to write', () => got.shift()?.startsWith('done'));
      const d = s.drain();
      s.close();
      const samples = d.samples;
      expect(d.lost).toBe(0);
      const sym = new Symbolizer(child.pid!);
      const byFn = new Map<string, number>();
      for (const x of samples) {
        const f = sym.frame(x.ip);
        const k = f.fn ?? frameLabel(f, x.ip);
        byFn.set(k, (byFn.get(k) ?? 0) + 1);
      }
      const top = [...byFn].sort((a, b) => b[1] - a[1]);
      // 16 MiB = 4,096 pages written by fillPages
      const js = top.find(([n]) => /fillPages/.test(n));
      expect(js, JSON.stringify(top.slice(0, 5))).toBeTruthy();
      expect(js![1]).toBeGreaterThanOrEqual(4096 * 0.95);
      expect(
        sym.frame(samples.find((x) => /fillPages/.test(sym.frame(x.ip).fn ?? ''))!.ip).kind,
      ).toBe('jit');
    } finally {
      child.kill('SIGKILL');
      fs.rmSync(`/tmp/perf-${child.pid}.map`, { force: true });
    }
  });
});

describe('demangling', () => {
  it('C++ and Rust names read as written; others unchanged', (ctx) => {
    if (demangler() === 'none') ctx.skip('c++filt (binutils) is not installed');
    expect(demangle('_ZN9pagescope7PainterIcE5paintEPci')).toBe(
      'pagescope::Painter<char>::paint(char*, int)',
    );
    expect(demangle('_ZN4core3fmt5write17h0123456789abcdefE')).toBe('core::fmt::write');
    expect(demangle('fill_alpha')).toBe('fill_alpha');
    expect(dropRustHash('a::b::h0123456789abcdef')).toBe('a::b');
  });
});
