/**
 * The session worker thread: all sampling of one process happens here, and so does every
 * ptrace call of the write watcher (ptrace requests are valid only from the attaching thread).
 *
 * This file only wires the parts together and dispatches the main thread's requests:
 * - target.ts opens the target (pid, demo, or a command launched and attached at exec);
 * - the watch driver (core/watch/driver.ts) owns the tick grid, the watcher and refusals;
 * - each tick: vma-table.ts reads the maps, the backend scans every VMA (PAGEMAP_SCAN), the
 *   driver collects the written pages, aggregate() reduces to the view the UI asked for and
 *   frame-builder.ts makes the Frame, posted with its typed arrays transferred.
 * Ticks run on a fixed grid of `intervalMs`; a late tick says how late (lagMs) and how many grid
 * points it skipped, so work never piles up and lag is never silent. Pausing stops the grid;
 * the process is never touched while paused.
 */
import type { ChildProcess } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { capabilityWarnings, probeCapabilities } from '../kernel/capabilities.ts';
import { errorCode, KernelError, PagescopeError, userMessage } from '../kernel/errors.ts';
import { processAlive } from '../proc/processes.ts';
import { HUGE_PLACER } from '../scan/huge-arrays.ts';
import { PagemapScanBackend } from '../scan/pagemap-scan-backend.ts';
import { RegionList } from '../scan/region-list.ts';
import { Scanner, type PageRange } from '../scan/scanner.ts';
import { WatchDriver, type WatchFigures } from '../watch/driver.ts';
import { childExitPhrase, endChild, LaunchedProgramEnded, whenExited } from '../watch/launch.ts';
import { adoptPrestartedHelper } from '../watch/remote-attach.ts';
import type { TickTiming } from '../watch/ticker.ts';
import { aggregate, type ViewSpec } from './aggregate.ts';
import { errorInfo } from './errors.ts';
import { buildFrame, writtenPagePairs } from './frame-builder.ts';
import { openTarget, type SessionTarget } from './target.ts';
import { VmaTable, vmaInfos } from './vma-table.ts';
import { WhoAttributor, type WhoTick } from '../who/attribution.ts';
import { whoRecord } from '../who/who-record.ts';
import type {
  FromWorker,
  ProgramExit,
  ToWorker,
  WorkerCall,
  WorkerInit,
} from './worker-protocol.ts';

const port = parentPort!;
const init = workerData as WorkerInit;
const post = (msg: FromWorker, transfer: ArrayBuffer[] = []): void =>
  port.postMessage(msg, transfer);

class SessionWorker {
  readonly pid: number;
  private scanner: Scanner;
  private readonly driver: WatchDriver;
  private readonly table: VmaTable;
  /** This tick's scan of every VMA (reused: the aggregate reads it before the next tick). */
  private readonly regions = new RegionList(4096);
  /** The watcher's written regions as [start, end, ...] pages, adjacent ones merged (reused). */
  private writtenScratch = new Float64Array(2048);
  private frames = 0;
  private ended = false;
  private lastWarning = '';
  private view: ViewSpec;
  /** Who wrote each tick's pages (init.who), and this tick's answer. */
  private who: WhoAttributor | null = null;
  private whoTick: WhoTick | null = null;

  constructor(private readonly target: SessionTarget) {
    this.pid = target.pid;
    this.view = init.view;
    this.scanner = new Scanner(this.pid);
    this.table = new VmaTable(this.pid);
    this.driver = new WatchDriver({
      pid: this.pid,
      intervalMs: init.intervalMs,
      force: init.force,
      child: target.child && target.watcher ? target.child : null,
      watcher: target.watcher,
    });
    this.table.read(); // fails now (no process, permission) rather than on the first tick
  }

  get backendName(): string {
    return this.scanner.backend.name;
  }

  start(): void {
    // One hook for the session's life: the attributor may be opened and closed later (setWho).
    this.driver.onCollect((step) => {
      if (this.who) this.whoTick = this.who.tick(step.written);
    });
    if (init.who) {
      try {
        this.who = WhoAttributor.open(this.pid, { period: init.who.period, byVma: true });
      } catch (err) {
        post({ type: 'warning', message: userMessage(err) });
      }
    }
    this.driver.start((t) => this.tick(t), 0);
  }

  handle(msg: ToWorker): void {
    switch (msg.type) {
      case 'setView':
        this.view = msg.view;
        break;
      case 'setInterval':
        this.driver.setInterval(msg.intervalMs);
        break;
      case 'setMaxOverhead':
        this.driver.setMaxOverhead(msg.maxOverheadPct);
        break;
      case 'pause':
        this.driver.pause();
        break;
      case 'resume':
        if (!this.ended) this.driver.resume();
        break;
      case 'call':
        this.call(msg.callId, msg.call).catch(() => {});
        break;
      case 'stop':
        this.stop();
        void whenExited(this.target.child, 2500).then(() => post({ type: 'stopped' }));
        break;
    }
  }

  private postVmas(): void {
    post({
      type: 'vmas',
      vmaVersion: this.table.version,
      vmas: this.vmaInfos(),
      totalPages: this.table.layout.totalPages,
    });
  }

  private vmaInfos() {
    return vmaInfos(
      this.table.vmas,
      this.table.layout,
      this.driver.watchedRanges(),
      (s, e) => this.driver.refusalAt(s, e),
      this.target.labels,
    );
  }

  private end(reason: string, exit?: ProgramExit): void {
    if (this.ended) return;
    this.stop();
    post({ type: 'ended', reason, ...(exit ? { exit } : {}) });
  }

  private tick(timing: TickTiming): void {
    const t = performance.now();
    const tMs = this.driver.elapsedMs();
    try {
      if (this.table.read() || this.frames === 0) this.postVmas();
      if (this.table.vmas.length === 0 && !processAlive(this.pid)) {
        this.processGone();
        return;
      }
      const regions = this.regions;
      this.scanAll(regions);
      const vmas = this.table.vmas;
      let written = this.writtenScratch.subarray(0, 0);
      let watched: PageRange[] = [];
      let figures: WatchFigures | null = null;
      // The maps read at the start of this tick: the watcher need not read them again.
      this.whoTick = null;
      const step = this.driver.collect(vmas);
      if (step.kind === 'watching') {
        const merged = writtenPagePairs(step.written, this.writtenScratch);
        this.writtenScratch = merged.scratch;
        written = merged.pairs;
        figures = step.figures;
        watched = this.driver.watchedRanges();
        if (step.appeared.length || step.disappeared.length) this.postVmas();
      } else if (step.kind === 'ended') {
        // A launched command is attached from its start with nothing armed: its exit is the
        // session's end (said by the exit event), not news about a watch nobody asked for.
        if (this.driver.hasSelection)
          post({ type: 'warning', message: `Write watching stopped: ${step.reason}.` });
        this.postVmas();
      } else if (step.kind === 'reattached') {
        this.who?.newProgram();
        watched = this.driver.watchedRanges();
        this.postVmas();
      }
      const agg = aggregate(this.table.layout, regions, watched, written, this.view);
      const { frame, transfer } = buildFrame({
        sessionId: init.sessionId,
        tick: ++this.frames,
        vmaVersion: this.table.version,
        totalPages: this.table.layout.totalPages,
        tMs,
        scanMs: performance.now() - t,
        lagMs: timing.lagMs,
        skipped: timing.skipped,
        intervalMs: timing.intervalMs,
        agg,
        watch: figures,
      });
      post({ type: 'frame', frame }, transfer);
      const w = this.whoTick as WhoTick | null; // set by the collect hook
      // A tick without a single sampled fault has nothing to record.
      if (w && w.writeSamples + w.otherSamples + w.lost > 0)
        post({ type: 'who', tick: this.frames, who: whoRecord(w) });
      this.whoTick = null;
    } catch (err) {
      if (!processAlive(this.pid)) {
        this.processGone();
        return;
      }
      // "Does not exist" of a process that lives: it is between two programs (an exec of a
      // launcher chain); the next tick samples the new one. Not a failure to report.
      if (err instanceof KernelError && err.errnoName === 'ESRCH') return;
      const message = userMessage(err);
      if (message !== this.lastWarning) {
        this.lastWarning = message;
        post({ type: 'warning', message: `A sample failed: ${message}` });
      }
    }
  }

  /**
   * Scans every VMA of the table into `regions`. The backend walks each VMA straight into our
   * list: Scanner.scan would also build per-VMA summaries and a Map every tick, which the frame
   * does not use. The pagemap descriptor belongs to the address space it was opened on: once
   * the target executes a new program (a launcher's shim execs the real one) it answers ESRCH
   * while the process lives on. Then the scanner is opened again on the new address space, the
   * maps are read again, and the tick is scanned again (a launcher chain may exec again
   * meanwhile: up to 3 times, then the tick is skipped).
   */
  private scanAll(regions: RegionList): void {
    for (let attempt = 0; ; attempt++) {
      // Sized once from the pages to walk (each region covers one at least), not grown by
      // copying: a 1M-region process's first tick otherwise copies its arrays ~10 times.
      let bound = 0;
      for (const v of this.table.vmas) if (v.kind !== 'vsyscall') bound += v.endPage - v.startPage;
      regions.prepare(bound, HUGE_PLACER);
      try {
        const backend = this.scanner.backend;
        // [vsyscall] is not the process's memory; PAGEMAP_SCAN refuses it (as in Scanner).
        const vmas = this.table.vmas.filter((v) => v.kind !== 'vsyscall');
        if (backend instanceof PagemapScanBackend) {
          // One walk over every VMA, not one ioctl per VMA: a process with ~400 VMAs (a game,
          // a database) spent 4.5 ms of CPU per tick in per-call overhead against 1.6 ms for
          // the same regions in one walk (issue 22, OpenTTD recorded at 10 Hz).
          if (vmas.length === 0) return;
          const n = vmas.length;
          const starts = new Float64Array(n);
          const ends = new Float64Array(n);
          const indices = new Int32Array(n);
          for (let i = 0; i < n; i++) {
            starts[i] = vmas[i].startPage;
            ends[i] = vmas[i].endPage;
            indices[i] = vmas[i].index;
          }
          backend.scanPieces(starts[0], ends, indices, {}, regions, starts);
        } else {
          for (const v of vmas) backend.scanRange(v.startPage, v.endPage, v.index, {}, regions);
        }
        return;
      } catch (err) {
        const stale = err instanceof KernelError && err.errnoName === 'ESRCH';
        if (attempt >= 3 || !stale || !processAlive(this.pid)) throw err;
        this.scanner.close();
        this.scanner = new Scanner(this.pid);
        if (this.table.read()) this.postVmas();
      }
    }
  }

  private async call(callId: number, call: WorkerCall): Promise<void> {
    try {
      const result = this.doCall(call);
      post({ type: 'reply', callId, ok: true, result });
    } catch (err) {
      post({ type: 'reply', callId, ok: false, error: errorInfo(err) });
    }
  }

  private doCall(call: WorkerCall): unknown {
    if (this.ended) throw new PagescopeError(`Process ${this.pid} has exited.`, 'exited');
    switch (call.op) {
      case 'watch': {
        this.table.read();
        const vmas = this.table.vmas;
        const ranges: PageRange[] = call.ranges.map((r) => ({
          startPage: Number(BigInt(r.start) >> 12n),
          endPage: Number(BigInt(r.end) >> 12n),
        }));
        for (const i of call.vmaIndices) {
          const v = vmas[i];
          if (!v)
            throw new PagescopeError(
              `There is no VMA ${i} (the process has ${vmas.length}).`,
              'bad-request',
            );
          ranges.push({ startPage: v.startPage, endPage: v.endPage });
        }
        const inside = ranges.some((r) =>
          vmas.some((v) => v.startPage < r.endPage && r.startPage < v.endPage),
        );
        if (!inside)
          throw new PagescopeError(
            `No mapping of process ${this.pid} lies inside the requested range.`,
            'unmapped-range',
          );
        this.driver.arm(ranges);
        const infos = this.vmaInfos();
        post({
          type: 'vmas',
          vmaVersion: this.table.version,
          vmas: infos,
          totalPages: this.table.layout.totalPages,
        });
        return { vmas: infos };
      }
      case 'unwatch':
        this.driver.unwatch();
        this.postVmas();
        return {};
      case 'reset':
        this.driver.reset();
        return {};
      case 'who': {
        // Opened before the old one closes: a refusal leaves things as they were.
        const next =
          call.period === null
            ? null
            : WhoAttributor.open(this.pid, { period: call.period, byVma: true });
        this.who?.close();
        this.who = next;
        this.whoTick = null;
        return { enabled: next !== null };
      }
    }
  }

  /**
   * The process is gone (no maps, and a zombie or no pid). Our launched child's own wait status
   * says how it ended: its exit event follows (libuv reaps it), the end waits for it.
   */
  private processGone(): void {
    const child = this.target.child;
    if (!child) {
      this.end(`Process ${this.pid} exited.`);
      return;
    }
    this.driver.pause();
    void whenExited(child, 2000).then(() => this.childExited());
  }

  /** The launched child exited (its 'exit' event runs on this thread's loop). */
  childExited(): void {
    const child = this.target.child;
    const how = child ? childExitPhrase(child) : null;
    this.end(
      `Process ${this.pid} exited (${how ?? 'exit code null'}).`,
      (child && programExit(child)) ?? undefined,
    );
  }

  /**
   * Closes everything, once: a process that exits ends the session here (end()), and the main
   * thread's close() then sends 'stop' too. Descriptors are per process: closed a second time,
   * the pagemap fd's number may be another thread's by then. Traced in `pagescope exporter`:
   * its main thread's readFileSync of /proc/PID/cgroup had it; its close then failed with EBADF
   * and Node aborted (SIGABRT, "Assertion failed: ... uv_fs_close"); another time a new
   * session's worker failed with "EBADF ... fstat".
   */
  stop(): void {
    if (this.ended) return;
    this.ended = true;
    this.who?.close();
    this.who = null;
    this.driver.close();
    try {
      this.scanner.close();
    } catch {
      // already closed
    }
    endChild(this.target.child);
  }
}

/** How a launched child ended, once it has (null while it runs). */
function programExit(c: ChildProcess): ProgramExit | null {
  if (c.signalCode) return { code: null, signal: osConstants.signals[c.signalCode] ?? null };
  if (c.exitCode !== null) return { code: c.exitCode, signal: null };
  return null;
}

async function main(): Promise<void> {
  let target: SessionTarget | null = null;
  let worker: SessionWorker;
  try {
    // The attach helper the main thread started ahead (record --pid): this thread's attach uses it.
    if (init.helper) adoptPrestartedHelper(init.helper);
    target = await openTarget(init);
    worker = new SessionWorker(target);
  } catch (err) {
    target?.watcher?.close();
    const child = target?.child ?? (err instanceof LaunchedProgramEnded ? err.child : null);
    const childPid = target?.pid ?? child?.pid ?? 0;
    // A launched program that ended before the first sample (`-- /bin/false`): say how it
    // ended, not the "does not exist" of the /proc read that failed.
    // Our unreaped child that "does not exist" is dying: its exit is on the way.
    if (child && (errorCode(err) === 'no-process' || !processAlive(childPid)))
      await whenExited(child, 5000);
    const exit = child ? programExit(child) : null;
    endChild(child);
    if (exit) {
      const how =
        exit.signal !== null
          ? `was killed by signal ${exit.signal}`
          : `exited with code ${exit.code}`;
      post({
        type: 'failed',
        error: {
          code: 'exited',
          message: `The launched program (process ${childPid}) ${how} before its first sample.`,
        },
        exit,
      });
    } else post({ type: 'failed', error: errorInfo(err) });
    return;
  }
  target.child?.once('exit', () => worker.childExited());
  const caps = probeCapabilities();
  post({
    type: 'ready',
    pid: worker.pid,
    warnings: capabilityWarnings(caps),
    backend: worker.backendName,
  });
  port.on('message', (msg: ToWorker) => worker.handle(msg));
  worker.start();
}

await main();
