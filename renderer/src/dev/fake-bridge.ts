/**
 * A synthetic host for looking at the UI while developing (`?fake` in the URL). It invents a
 * process whose pages change over time. Never used by tests: the e2e suite runs the real host.
 * It answers with Responses through a HostLink, so its errors reach the UI the way a real host's
 * do (bridgeOver).
 */
import { bridgeOver, type Bridge } from '../../../core/protocol/bridge.ts';
import type { ErrorCode } from '../../../core/protocol/errors.ts';
import type { Frame } from '../../../core/protocol/frame.ts';
import type {
  HostEvent,
  Method,
  Params,
  Response,
  Result,
  SessionInfo,
  VmaInfo,
  VmaKindName,
} from '../../../core/protocol/messages.ts';
import { HISTOGRAM_WIDTH, PageBit } from '../../../core/protocol/page-bits.ts';

const P = PageBit;

/** A failure the fake host answers with. */
class FakeFailure {
  constructor(
    readonly code: ErrorCode,
    readonly message: string,
  ) {}
}
const SPECS: Array<[string, VmaKindName, string, number]> = [
  ['/usr/bin/pagescope-demo', 'file', 'r-xp', 300],
  ['', 'heap', 'rw-p', 24_000],
  ['', 'anon', 'rw-p', 65_536],
  ['', 'anon', 'rw-p', 16_384],
  ['/var/tmp/demo-data.bin', 'file', 'rw-s', 32_768],
  ['', 'anon', 'rw-p', 8_192],
  ['', 'anon', '---p', 2_048],
  ['/usr/lib/x86_64-linux-gnu/libc.so.6', 'file', 'r-xp', 420],
  ['', 'stack', 'rw-p', 2_048],
  ['', 'vdso', 'r-xp', 2],
];

export function createFakeBridge(): Bridge {
  const frameL = new Set<(f: Frame) => void>();
  const eventL = new Set<(e: HostEvent) => void>();
  let start = 0x55d0_0000_0;
  const vmas: VmaInfo[] = [];
  let offset = 0;
  SPECS.forEach(([path, kind, perms, pages], index) => {
    const startPage = start;
    vmas.push({
      index,
      start: '0x' + (startPage * 4096).toString(16),
      end: '0x' + ((startPage + pages) * 4096).toString(16),
      startPage,
      endPage: startPage + pages,
      offset,
      perms,
      path,
      kind,
      watched: 'no',
    });
    offset += pages;
    start += pages + 5000;
  });
  const total = offset;
  const bits = new Uint16Array(total);
  let tick = 0;
  let timer: ReturnType<typeof setInterval> | null = null;
  let view: { buckets: number; window?: { startIndex: number; endIndex: number } } = {
    buckets: 10_000,
  };
  let intervalMs = 200;
  const sessionId = 7;
  const t0 = performance.now();

  const mutate = (): Float64Array => {
    const written: number[] = [];
    for (const v of vmas) {
      const n = v.endPage - v.startPage;
      for (let i = 0; i < n; i++) {
        const p = v.offset + i;
        let b = P.MAPPED;
        if (v.kind === 'file') b |= P.FILE | ((i * 7) % 10 < 7 ? P.PRESENT : 0);
        else if (v.perms === '---p') b = i % 512 < 2 ? P.MAPPED | P.GUARD : 0;
        else if (v.index === 2) b |= (i / n) * 40 < tick % 40 ? P.PRESENT : 0;
        else if (v.index === 3) b |= P.PRESENT | P.HUGE;
        else if (v.index === 5) b |= i % 3 === 0 ? P.PRESENT | P.ZERO : P.SWAPPED;
        else b |= i < n * 0.7 ? P.PRESENT : 0;
        if (v.watched === 'yes') b |= P.WATCHED;
        bits[p] = b;
      }
      if (v.watched === 'yes') {
        const s = v.offset + ((tick * 997) % n);
        const len = Math.min(600, v.offset + n - s);
        written.push(s, s + len);
        const hot = v.offset + Math.floor(n * 0.1);
        written.push(hot, hot + 64);
      }
    }
    for (let r = 0; r < written.length; r += 2)
      for (let p = written[r]; p < written[r + 1]; p++) bits[p] |= P.WRITTEN;
    return Float64Array.from(written);
  };

  const emit = () => {
    tick++;
    const written = mutate();
    const buckets = Math.min(view.buckets, total);
    const B = Math.ceil(total / buckets);
    const nb = Math.ceil(total / B);
    const histogram = new Uint32Array(nb * HISTOGRAM_WIDTH);
    let present = 0;
    let swapped = 0;
    let wr = 0;
    let watched = 0;
    for (let p = 0; p < total; p++) {
      const b = bits[p];
      const row = Math.floor(p / B) * HISTOGRAM_WIDTH;
      for (let k = 0; k < HISTOGRAM_WIDTH; k++) if (b & (1 << k)) histogram[row + k]++;
      if (b & P.PRESENT) present++;
      if (b & P.SWAPPED) swapped++;
      if (b & P.WRITTEN) wr++;
      if (b & P.WATCHED) watched++;
    }
    const w = view.window;
    const vmaCounts = new Uint32Array(vmas.length * 3);
    vmas.forEach((v, i) => {
      for (let p = v.offset; p < v.offset + v.endPage - v.startPage; p++) {
        if (bits[p] & P.PRESENT) vmaCounts[i * 3]++;
        if (bits[p] & P.SWAPPED) vmaCounts[i * 3 + 1]++;
        if (bits[p] & P.WRITTEN) vmaCounts[i * 3 + 2]++;
      }
    });
    const frame: Frame = {
      sessionId,
      tick,
      vmaVersion: 1,
      totalPages: total,
      counters: {
        tick,
        t: performance.now() - t0,
        present,
        swapped,
        written: wr,
        watched,
        scanMs: 2.4,
        lagMs: 0,
        skipped: 0,
        // The model of core/watch/overhead.ts with this kernel's measured 1.4 us per fault.
        estOverheadPct: watched ? (wr * 1.4) / (intervalMs * 10) : 0,
        estOverheadLowPct: watched ? (wr * 1.4 * 0.65) / (intervalMs * 10) : 0,
        estOverheadHighPct: watched ? (wr * 1.4 * 1.55) / (intervalMs * 10) : 0,
        sampleFraction: 1,
        writtenEst: wr,
        writtenErr: 0,
        intervalMs: 100,
      },
      overview: { buckets: nb, pagesPerBucket: B, histogram },
      window: w
        ? {
            startIndex: w.startIndex,
            endIndex: w.endIndex,
            bits: bits.slice(w.startIndex, w.endIndex),
          }
        : null,
      written,
      vmaCounts,
    };
    for (const l of frameL) l(frame);
  };

  const info = (): SessionInfo => ({
    sessionId,
    pid: 4242,
    name: 'pagescope-demo',
    intervalMs,
    paused: false,
    warnings: ['No swap is configured on this machine, so no page can be swapped out.'],
    launched: true,
  });

  const handlers: { [M in Method]?: (p: Params<M>) => Result<M> } = {
    hello: () => ({ version: 1, capabilities: {}, warnings: ['THP mode is madvise.'] }),
    listProcesses: () => ({
      processes: [
        {
          pid: 1,
          name: 'systemd',
          cmdline: '/sbin/init',
          user: 'root',
          uid: 0,
          rssKiB: 12000,
          state: 'S',
        },
        {
          pid: 812,
          name: 'python3',
          cmdline: 'python3 -m http.server',
          user: 'ana',
          uid: 1000,
          rssKiB: 24100,
          state: 'S',
        },
        {
          pid: 1310,
          name: 'node',
          cmdline: 'node server.js',
          user: 'ana',
          uid: 1000,
          rssKiB: 98200,
          state: 'S',
        },
        {
          pid: 2201,
          name: 'chromium',
          cmdline: 'chromium',
          user: 'ana',
          uid: 1000,
          rssKiB: 412000,
          state: 'S',
        },
      ],
    }),
    launchDemo: () => {
      setTimeout(() => {
        for (const l of eventL) l({ event: 'vmas', sessionId, vmas, totalPages: total });
        timer = setInterval(emit, intervalMs);
      }, 30);
      return info();
    },
    attach: () => {
      throw new FakeFailure('permission', 'Permission denied: cannot trace that process.');
    },
    setView: (p) => {
      view = { buckets: p.buckets, window: p.window };
      return {};
    },
    watch: (p) => {
      for (const v of vmas) if (p.vmaIndices?.includes(v.index) || p.ranges) v.watched = 'yes';
      return { vmas: vmas.map((v) => ({ ...v })) };
    },
    unwatch: () => {
      for (const v of vmas) v.watched = 'no';
      return {};
    },
    resetWritten: () => ({}),
    pause: () => {
      if (timer) clearInterval(timer);
      timer = null;
      return {};
    },
    resume: () => {
      timer = setInterval(emit, intervalMs);
      return {};
    },
    setMaxOverhead: () => ({}),
    setInterval: (p) => {
      intervalMs = p.intervalMs;
      if (timer) {
        clearInterval(timer);
        timer = setInterval(emit, intervalMs);
      }
      return {};
    },
    detach: () => {
      if (timer) clearInterval(timer);
      timer = null;
      return {};
    },
  };

  let nextId = 1;
  return bridgeOver({
    async exchange<M extends Method>(method: M, params: Params<M>): Promise<Response<M>> {
      const id = nextId++;
      const h = handlers[method] as ((p: Params<M>) => Result<M>) | undefined;
      try {
        if (!h) throw new FakeFailure('bad-request', `${method} is not faked.`);
        return { id, ok: true, result: h(params) };
      } catch (err) {
        if (!(err instanceof FakeFailure)) throw err;
        return { id, ok: false, error: { code: err.code, message: err.message } };
      }
    },
    onFrame(l) {
      frameL.add(l);
      return () => frameL.delete(l);
    },
    onEvent(l) {
      eventL.add(l);
      return () => eventL.delete(l);
    },
  });
}
