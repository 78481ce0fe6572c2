/**
 * perf-event.ts against the real kernel on a real process (testing/who-writer.c): two threads
 * writing known ranges from known functions. "fresh" drops and rewrites each range, so every
 * page faults once even with nothing else watching.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FaultCounter,
  FaultSampler,
  pageFaultAttr,
  perfEventOpen,
  PerfUnavailableError,
} from './perf-event.ts';
import { closeFd, errno, koffi, libc } from './libc.ts';
import { buildWhoWriter, functionRange, PAGES, WhoWriter } from '../../testing/who-target.ts';
import { cannotRunAsNobody, NOBODY } from '../../testing/as-nobody.ts';
import { until } from '../../testing/wait.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let build: ReturnType<typeof buildWhoWriter>;
let w: WhoWriter;

beforeAll(async () => {
  build = buildWhoWriter();
  w = await WhoWriter.start(build.exe);
});
afterAll(() => {
  w?.kill();
  fs.rmSync(build.dir, { recursive: true, force: true });
});

const inRange = (a: number, start: number): boolean => a >= start && a < start + PAGES * 4096;

describe('FaultSampler', () => {
  it('samples every fault with its address, thread, writing function and call chain', async () => {
    const s = FaultSampler.open(w.pid);
    try {
      s.drain();
      await w.run('fresh');
      const d = s.drain();
      const names = w.threads();
      const a = d.samples.filter((x) => inRange(x.addr, w.rangeA));
      const b = d.samples.filter((x) => inRange(x.addr, w.rangeB));
      expect(a.length).toBe(PAGES);
      expect(b.length).toBe(PAGES);
      expect(new Set(a.map((x) => x.tid))).toEqual(new Set([names.get('writer-a')]));
      expect(new Set(b.map((x) => x.tid))).toEqual(new Set([names.get('writer-b')]));
      expect(new Set(a.map((x) => x.addr >> 12)).size).toBe(PAGES);
      const [fa0, fa1] = functionRange(w.pid, build.exe, 'fill_alpha');
      const [fb0, fb1] = functionRange(w.pid, build.exe, 'fill_beta');
      const [ta0, ta1] = functionRange(w.pid, build.exe, 'thread_a');
      for (const x of a) {
        expect(x.ip >= fa0 && x.ip < fa1).toBe(true);
        expect(x.stack[0]).toBe(x.ip);
        // frame pointers: the caller is thread_a
        expect(x.stack[1] >= ta0 && x.stack[1] < ta1).toBe(true);
      }
      for (const x of b) expect(x.ip >= fb0 && x.ip < fb1).toBe(true);
      expect(d.lost).toBe(0);
      // the count is exact and every fault was sampled
      expect(d.faults).toBe(d.samples.length);
      // time is monotonic within a thread
      for (let i = 1; i < a.length; i++)
        expect(a[i].timeNs).toBeGreaterThanOrEqual(a[i - 1].timeNs);
    } finally {
      s.close();
    }
  });

  it('samples threads created after it was opened (inherit), short-lived ones too', async () => {
    const s = FaultSampler.open(w.pid);
    try {
      const before = new Set(w.threads().values());
      await w.run('spawn'); // writer-c: created, writes its range, exits
      const d = s.drain();
      const c = d.samples.filter((x) => inRange(x.addr, w.rangeC));
      expect(c.length).toBe(PAGES);
      const tids = new Set(c.map((x) => x.tid));
      expect(tids.size).toBe(1);
      expect(before.has([...tids][0])).toBe(false);

      const [g0, g1] = functionRange(w.pid, build.exe, 'fill_gamma');
      for (const x of c) expect(x.ip >= g0 && x.ip < g1).toBe(true);
    } finally {
      s.close();
    }
  });

  it('a period of 16 keeps about one sample in 16', async () => {
    const s = FaultSampler.open(w.pid, { period: 16 });
    try {
      await w.run('fresh');
      const n = s
        .drain()
        .samples.filter((x) => inRange(x.addr, w.rangeA) || inRange(x.addr, w.rangeB)).length;
      // 512 faults / 16 = 32, counted per (thread, CPU) event: a migration leaves a remainder.
      expect(n).toBeGreaterThanOrEqual(16);
      expect(n).toBeLessThanOrEqual(48);
    } finally {
      s.close();
    }
  });

  it('a ring buffer too small to hold a tick reports lost samples instead of hiding them', async () => {
    const s = FaultSampler.open(w.pid, { bufferPages: 1 });
    try {
      await w.run('fresh');
      const d = s.drain();
      const seen = d.samples.filter((x) => inRange(x.addr, w.rangeA) || inRange(x.addr, w.rangeB));
      expect(seen.length).toBeLessThan(2 * PAGES);
      expect(d.lost).toBeGreaterThan(0);
      expect(seen.length + d.lost).toBeGreaterThanOrEqual(2 * PAGES);
      expect(d.samples.length + d.lost).toBe(d.faults);
    } finally {
      s.close();
    }
  });

  it('close() leaves the target with no perf events', async () => {
    const s = FaultSampler.open(w.pid);
    s.close();
    s.close();
    expect(s.drain().samples).toEqual([]);
    // the target's own fds are untouched; our process holds no perf fd any more
    const ours = fs
      .readdirSync('/proc/self/fd')
      .map((f) => {
        try {
          return fs.readlinkSync(`/proc/self/fd/${f}`);
        } catch {
          return '';
        }
      })
      .filter((l) => l.includes('perf_event'));
    expect(ours).toEqual([]);
    await w.run('go');
  });

  it('the kernel refuses to mmap an inherited per-thread event (why the sampler is per CPU)', () => {
    const attr = pageFaultAttr({ period: 1, inherit: true, callchain: false });
    const fd = perfEventOpen(attr, w.pid, -1);
    expect(fd).toBeGreaterThanOrEqual(0);
    const mmap = libc.func('void *mmap(void *, size_t, int, int, int, int64_t)');
    try {
      const p = mmap(null, 2 * 4096, 3, 1, fd, 0);
      expect(BigInt(koffi.address(p))).toBe(0xffffffffffffffffn);
      expect(errno()).toBe(os.constants.errno.EINVAL);
    } finally {
      closeFd(fd);
    }
  });

  it('bad options are refused in one sentence', () => {
    expect(() => FaultSampler.open(w.pid, { period: 0 })).toThrow(/whole number >= 1/);
    expect(() => FaultSampler.open(w.pid, { bufferPages: 3 })).toThrow(/power of two/);
    expect(() => FaultSampler.open(2 ** 22 + 12345)).toThrow(/does not exist/);
  });

  it('as user nobody, on a root process: one sentence says perf is not allowed', async (ctx) => {
    const why = cannotRunAsNobody();
    if (why) ctx.skip(why);
    if (process.getuid?.() !== 0) ctx.skip('needs a root-owned target');
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pagescope-nobody-'));
    fs.chmodSync(tmp, 0o777);
    try {
      const code =
        `import { FaultSampler } from ${JSON.stringify(path.join(ROOT, 'core/kernel/perf-event.ts'))};` +
        `try { FaultSampler.open(${w.pid}); console.log('opened'); } catch (e) { console.log(e.name + ': ' + e.message); }`;
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', code],
        {
          cwd: ROOT,
          uid: NOBODY,
          gid: NOBODY,
          env: { ...process.env, TMPDIR: tmp, TSX_DISABLE_CACHE: '1' },
        },
      );
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      await until('the nobody child to finish', () => child.exitCode !== null, 60_000);
      expect(out.trim()).toMatch(
        /^PerfUnavailableError: perf is not allowed to sample process \d+ \(EACCES; kernel.perf_event_paranoid = \d.*everything else works$/,
      );
      expect(out.trim().split('\n')).toHaveLength(1);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
    void PerfUnavailableError;
  });
});

describe('FaultCounter', () => {
  it('counts the faults of each thread exactly', async () => {
    const cnt = FaultCounter.open(w.pid);
    try {
      const names = w.threads();
      const before = cnt.read();
      await w.run('fresh');
      const after = cnt.read();
      const ta = names.get('writer-a')!;
      const tb = names.get('writer-b')!;
      expect(after.get(ta)! - before.get(ta)!).toBe(PAGES);
      expect(after.get(tb)! - before.get(tb)!).toBe(PAGES);
    } finally {
      cnt.close();
    }
  });
});
