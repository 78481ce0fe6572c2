/**
 * The session worker thread: all sampling of one process happens here, and so does every
 * ptrace call of the write watcher (ptrace requests are valid only from the attaching thread).
 *
 * Each tick: /proc/PID/maps -> Scanner.scan (PAGEMAP_SCAN) -> watcher.tick (get+reset of WRITTEN
 * on watched ranges) -> aggregate() at the view the UI asked for -> one Frame posted to the
 * main thread with its typed arrays transferred. Ticks run on a fixed grid of `intervalMs`; a
 * tick that overruns skips the grid points it missed (counted in `skipped`), so work never piles
 * up. Pausing stops the grid; the process is never touched while paused.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { capabilityWarnings, probeCapabilities } from '../kernel/capabilities.ts';
import { fromNodeError, PagescopeError, userMessage } from '../kernel/errors.ts';
import { dieWithParent, resolveProgram, untilExeced } from '../kernel/parent-death.ts';
import { errorInfo } from './errors.ts';
import { hexToPage, parseMaps, type Vma } from '../proc/maps.ts';
import { processAlive } from '../proc/processes.ts';
import type { VmaInfo } from '../protocol/messages.ts';
import { RegionList } from '../scan/region-list.ts';
import { Scanner, type PageRange } from '../scan/scanner.ts';
import { NO_ACCESS_REASON, WriteWatcher } from '../watch/watcher.ts';
import { aggregate, layoutOf, type Layout, type ViewSpec } from './aggregate.ts';
import type { FromWorker, ToWorker, WorkerCall, WorkerInit } from './worker-protocol.ts';

const port = parentPort!;
const init = workerData as WorkerInit;
let pid = init.pid;
let child: ChildProcess | null = null;
const post = (msg: FromWorker, transfer: ArrayBuffer[] = []): void =>
  port.postMessage(msg, transfer);

class SessionWorker {
  private scanner: Scanner;
  private watcher: WriteWatcher | null = null;
  private readonly writtenOut = new RegionList(1024);
  private refused = new Map<string, string>(); // "start-end" of a VMA -> reason
  private vmas: Vma[] = [];
  private layout: Layout = layoutOf([]);
  private vmaSig = '';
  private mapsText: string | null = null;
  /** This tick's scan of every VMA (reused: the aggregate reads it before the next tick). */
  private readonly regions = new RegionList(4096);
  /** The watcher's written regions as [start, end, ...] pages, adjacent ones merged (reused). */
  private writtenPairs = new Float64Array(2048);
  private vmaVersion = 0;
  private tickNo = 0;
  private skipped = 0;
  private readonly t0 = performance.now();
  private timer: NodeJS.Timeout | null = null;
  private nextDue = 0;
  private paused = false;
  private ended = false;
  private lastWarning = '';
  private view: ViewSpec;
  private intervalMs: number;

  constructor() {
    this.view = init.view;
    this.intervalMs = init.intervalMs;
    this.scanner = new Scanner(pid);
    this.readVmas(); // fails now (no process, permission) rather than on the first tick
  }

  get backendName(): string {
    return this.scanner.backend.name;
  }

  start(): void {
    this.nextDue = performance.now();
    this.schedule();
  }

  handle(msg: ToWorker): void {
    switch (msg.type) {
      case 'setView':
        this.view = msg.view;
        break;
      case 'setInterval':
        this.intervalMs = msg.intervalMs;
        if (!this.paused) {
          this.nextDue = performance.now() + this.intervalMs;
          this.schedule();
        }
        break;
      case 'pause':
        this.paused = true;
        if (this.timer) clearTimeout(this.timer);
        this.timer = null;
        break;
      case 'resume':
        if (this.paused) {
          this.paused = false;
          this.nextDue = performance.now();
          this.schedule();
        }
        break;
      case 'call':
        this.call(msg.callId, msg.call).catch(() => {});
        break;
      case 'stop':
        this.stop();
        void reapChild().then(() => post({ type: 'stopped' }));
        break;
    }
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.paused || this.ended) return;
    this.timer = setTimeout(() => this.runTick(), Math.max(0, this.nextDue - performance.now()));
  }

  private runTick(): void {
    this.timer = null;
    if (this.paused || this.ended) return;
    const started = performance.now();
    this.tick();
    const now = performance.now();
    // Next grid point after now; grid points missed while this tick ran are skipped.
    let due = this.nextDue + this.intervalMs;
    if (due <= now) {
      const missed = Math.floor((now - due) / this.intervalMs) + 1;
      this.skipped += missed;
      due += missed * this.intervalMs;
    }
    this.nextDue = Math.max(due, started);
    this.schedule();
  }

  private readVmas(): boolean {
    const path = `/proc/${pid}/maps`;
    let text: string;
    try {
      text = fs.readFileSync(path, 'latin1');
    } catch (err) {
      throw fromNodeError(err, `read ${path}`, { pid, path });
    }
    // Most ticks the layout has not changed: the same text needs no parsing, no new layout.
    if (text === this.mapsText) return false;
    const vmas = parseMaps(text);
    this.mapsText = text;
    let sig = '';
    for (const v of vmas) sig += `${v.startHex}-${v.endHex} ${v.perms} ${v.path}\n`;
    this.vmas = vmas;
    if (sig === this.vmaSig) return false;
    this.vmaSig = sig;
    this.layout = layoutOf(vmas);
    this.vmaVersion++;
    return true;
  }

  /** Registered (really watched) ranges, sorted and merged. */
  private watchedNow(): PageRange[] {
    if (!this.watcher) return [];
    const pieces = this.watcher.watchedPieces().filter((p) => p.status === 'watched');
    return sortRanges(pieces.map((p) => ({ startPage: p.startPage, endPage: p.endPage })));
  }

  private closeWatcher(): void {
    try {
      this.watcher?.close();
    } catch {
      // The target may be gone; closing our descriptor is all that is left.
    }
    this.watcher = null;
  }

  private vmaInfos(): VmaInfo[] {
    const watched = this.watchedNow();
    return this.vmas.map((v) => {
      let covered = 0;
      for (const r of watched)
        covered += Math.max(0, Math.min(r.endPage, v.endPage) - Math.max(r.startPage, v.startPage));
      const refusal = this.refused.get(`${v.startPage}-${v.endPage}`);
      const info: VmaInfo = {
        index: v.index,
        start: '0x' + v.startHex,
        end: '0x' + v.endHex,
        startPage: v.startPage,
        endPage: v.endPage,
        offset: this.layout.offsets[v.index],
        perms: v.perms,
        path: v.path,
        kind: v.kind,
        watched:
          covered === 0
            ? refusal && refusal !== NO_ACCESS_REASON
              ? 'refused'
              : 'no'
            : covered >= v.endPage - v.startPage
              ? 'yes'
              : 'partial',
      };
      if (refusal) info.watchNote = refusal;
      const label = labelOf(v);
      if (label) info.label = label;
      return info;
    });
  }

  private postVmas(): void {
    post({
      type: 'vmas',
      vmaVersion: this.vmaVersion,
      vmas: this.vmaInfos(),
      totalPages: this.layout.totalPages,
    });
  }

  private end(reason: string): void {
    if (this.ended) return;
    this.stop();
    post({ type: 'ended', reason });
  }

  private tick(): void {
    const t = performance.now();
    try {
      if (this.readVmas() || this.tickNo === 0) this.postVmas();
      if (this.vmas.length === 0 && !processAlive(pid)) {
        this.end(`Process ${pid} exited.`);
        return;
      }
      // The backend walks each VMA straight into our list: Scanner.scan would also build
      // per-VMA summaries and a Map every tick, which the frame does not use.
      const regions = this.regions;
      regions.clear();
      const backend = this.scanner.backend;
      for (const v of this.vmas)
        // [vsyscall] is not the process's memory; PAGEMAP_SCAN refuses it (as in Scanner).
        if (v.kind !== 'vsyscall') backend.scanRange(v.startPage, v.endPage, v.index, {}, regions);
      let written = this.writtenPairs.subarray(0, 0);
      let watched: PageRange[] = [];
      if (this.watcher) {
        this.writtenOut.clear();
        // The maps read at the start of this tick: the watcher need not read them again.
        const wt = this.watcher.tick(this.writtenOut, this.vmas);
        const o = this.writtenOut;
        if (this.writtenPairs.length < 2 * o.length)
          this.writtenPairs = new Float64Array(2 * o.length + 1024);
        const pairs = this.writtenPairs;
        let n = 0;
        for (let i = 0; i < o.length; i++) {
          if (n > 0 && pairs[n - 1] === o.startPage[i]) pairs[n - 1] = o.endPage[i];
          else {
            pairs[n++] = o.startPage[i];
            pairs[n++] = o.endPage[i];
          }
        }
        written = pairs.subarray(0, n);
        for (const st of wt.appeared)
          if (st.status === 'refused')
            this.refused.set(`${st.startPage}-${st.endPage}`, st.reason ?? 'refused by the kernel');
        if (wt.ended) {
          this.closeWatcher();
          post({ type: 'warning', message: `Write watching stopped: ${wt.ended}.` });
          this.postVmas();
        } else {
          watched = this.watchedNow();
          if (wt.appeared.length || wt.disappeared.length) this.postVmas();
        }
      }
      const agg = aggregate(this.layout, regions, watched, written, this.view);
      this.tickNo++;
      const frame = {
        sessionId: init.sessionId,
        tick: this.tickNo,
        vmaVersion: this.vmaVersion,
        totalPages: this.layout.totalPages,
        counters: {
          tick: this.tickNo,
          t: Math.round(t - this.t0),
          present: agg.present,
          swapped: agg.swapped,
          written: agg.writtenPages,
          watched: agg.watched,
          scanMs: Math.round((performance.now() - t) * 100) / 100,
        },
        overview: {
          buckets: agg.buckets,
          pagesPerBucket: agg.pagesPerBucket,
          histogram: agg.histogram,
        },
        window: agg.window,
        written: agg.written,
        vmaCounts: agg.vmaCounts,
      };
      const transfer = [
        agg.histogram.buffer,
        agg.written.buffer,
        agg.vmaCounts.buffer,
      ] as ArrayBuffer[];
      if (agg.window) transfer.push(agg.window.bits.buffer as ArrayBuffer);
      post({ type: 'frame', frame, skipped: this.skipped }, transfer);
    } catch (err) {
      if (!processAlive(pid)) {
        this.end(`Process ${pid} exited.`);
        return;
      }
      const message = userMessage(err);
      if (message !== this.lastWarning) {
        this.lastWarning = message;
        post({ type: 'warning', message: `A sample failed: ${message}` });
      }
    }
  }

  private async call(callId: number, call: WorkerCall): Promise<void> {
    try {
      const result = await this.doCall(call);
      post({ type: 'reply', callId, ok: true, result });
    } catch (err) {
      post({ type: 'reply', callId, ok: false, error: errorInfo(err) });
    }
  }

  private async doCall(call: WorkerCall): Promise<unknown> {
    if (this.ended) throw new PagescopeError(`Process ${pid} has exited.`, 'exited');
    switch (call.op) {
      case 'watch': {
        this.readVmas();
        const ranges: PageRange[] = call.ranges.map((r) => ({
          startPage: Number(BigInt(r.start) >> 12n),
          endPage: Number(BigInt(r.end) >> 12n),
        }));
        for (const i of call.vmaIndices) {
          const v = this.vmas[i];
          if (!v)
            throw new PagescopeError(
              `There is no VMA ${i} (the process has ${this.vmas.length}).`,
              'bad-request',
            );
          ranges.push({ startPage: v.startPage, endPage: v.endPage });
        }
        const inside = ranges.some((r) =>
          this.vmas.some((v) => v.startPage < r.endPage && r.startPage < v.endPage),
        );
        if (!inside)
          throw new PagescopeError(
            `No mapping of process ${pid} lies inside the requested range.`,
            'unmapped-range',
          );
        this.watcher ??= WriteWatcher.attach(pid, { force: init.force });
        const states = this.watcher.arm(ranges);
        for (const s of states) {
          const key = `${s.startPage}-${s.endPage}`;
          if (s.status === 'refused') this.refused.set(key, s.reason ?? 'refused by the kernel');
          else this.refused.delete(key);
        }
        const vmas = this.vmaInfos();
        post({
          type: 'vmas',
          vmaVersion: this.vmaVersion,
          vmas,
          totalPages: this.layout.totalPages,
        });
        return { vmas };
      }
      case 'unwatch':
        this.closeWatcher();
        this.refused.clear();
        this.postVmas();
        return {};
      case 'reset':
        this.watcher?.reset();
        return {};
    }
  }

  /** The launched child exited (its 'exit' event runs on this thread's loop). */
  childExited(code: number | null, signal: string | null): void {
    this.end(`Process ${pid} exited (${signal ? `signal ${signal}` : `exit code ${code}`}).`);
  }

  stop(): void {
    this.ended = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.closeWatcher();
    try {
      this.scanner.close();
    } catch {
      // already closed
    }
    killChild();
  }
}

function sortRanges(ranges: PageRange[]): PageRange[] {
  if (ranges.length < 2) return ranges;
  const sorted = [...ranges].sort((a, b) => a.startPage - b.startPage);
  const out: PageRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.startPage <= last.endPage) last.endPage = Math.max(last.endPage, r.endPage);
    else out.push({ ...r });
  }
  return out;
}

const childGone = (c: ChildProcess): boolean => c.exitCode !== null || c.signalCode !== null;

/** Ends a child we launched: SIGTERM, then SIGKILL if it lingers. */
function killChild(): void {
  const c = child;
  if (!c || childGone(c)) return;
  c.kill('SIGTERM');
  setTimeout(() => {
    if (!childGone(c)) c.kill('SIGKILL');
  }, 1000).unref();
}

/**
 * Names pagescope knows for anonymous memory the kernel shows unnamed: the demo's regions (on
 * kernels without CONFIG_ANON_VMA_NAME its prctl names are refused). A VMA gets the label of the
 * region it lies in.
 */
let labelRegions: Array<{ startPage: number; endPage: number; label: string }> = [];

function labelOf(v: Vma): string | undefined {
  if (v.path && !v.path.startsWith('[anon')) return undefined;
  return labelRegions.find((r) => v.startPage >= r.startPage && v.startPage < r.endPage)?.label;
}

/** Resolves once a launched child has exited and been reaped by this thread's loop. */
function reapChild(): Promise<void> {
  const c = child;
  if (!c || childGone(c)) return Promise.resolve();
  return new Promise((resolve) => {
    c.once('exit', () => resolve());
    setTimeout(resolve, 2500).unref();
  });
}

async function launch(l: NonNullable<WorkerInit['launch']>): Promise<void> {
  if (l.kind === 'demo') {
    // Loaded only when asked for (a literal path: the build bundles it into this worker).
    const { spawnDemo } = await import('../demo/launch.ts');
    const demo = await spawnDemo();
    child = demo.child;
    pid = demo.pid;
    labelRegions = Object.entries(demo.regions).map(([name, r]) => ({
      startPage: hexToPage(r.start.replace(/^0x/, '')),
      endPage: hexToPage(r.end.replace(/^0x/, '')),
      label: `demo: ${name}`,
    }));
    return;
  }
  // Checked here because the exec chain below (parent-death.ts) would turn "no such program"
  // into a bare exit code.
  if (!resolveProgram(l.command[0]))
    throw new PagescopeError(
      `Cannot launch "${l.command[0]}": no such program (check the name and PATH).`,
      'launch-failed',
    );
  // The child dies with this thread, which ends with the session or with the whole host.
  const run = dieWithParent(l.command, 'KILL');
  const c = spawn(run.file, run.args, { stdio: 'ignore' });
  child = c;
  await new Promise<void>((resolve, reject) => {
    c.once('spawn', resolve);
    c.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new PagescopeError(
          err.code === 'ENOENT'
            ? `Cannot launch "${l.command[0]}": no such program (check the name and PATH).`
            : `Cannot launch "${l.command[0]}": ${err.message}.`,
          'launch-failed',
        ),
      ),
    );
  });
  // Attach to the program, not to the wrapper it is still exec'ing through.
  if (run.wrapped) await untilExeced(c.pid!, () => childGone(c));
  if (childGone(c))
    throw new PagescopeError(
      `"${l.command[0]}" exited as soon as it started (${c.signalCode ? `signal ${c.signalCode}` : `exit code ${c.exitCode}`}).`,
      'launch-failed',
    );
  pid = c.pid!;
}

async function main(): Promise<void> {
  let worker: SessionWorker;
  try {
    if (init.launch) await launch(init.launch);
    worker = new SessionWorker();
  } catch (err) {
    killChild();
    post({ type: 'failed', error: errorInfo(err) });
    return;
  }
  child?.once('exit', (code, signal) => worker.childExited(code, signal));
  const caps = probeCapabilities();
  post({ type: 'ready', pid, warnings: capabilityWarnings(caps), backend: worker.backendName });
  port.on('message', (msg: ToWorker) => worker.handle(msg));
  worker.start();
}

await main();
