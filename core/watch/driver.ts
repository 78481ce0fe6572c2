/**
 * The watch driver: one write watch of one process, driven tick by tick. Used by the session
 * worker (the UI) and by `pagescope watch` (the CLI), so both follow a process the same way.
 *
 * Strategy:
 * - It owns the WriteWatcher (attached now, at the exec stop of a launched command, or lazily at
 *   the first arm), the selection (explicit page ranges plus an optional function of the maps,
 *   re-applied every tick when `follow` is set, so matching VMAs that appear later are added),
 *   and the refusals by VMA piece as typed codes (refusal.ts).
 * - It owns the tick grid (ticker.ts): `start(onTick)` calls the owner's onTick on the grid with
 *   the tick's timing (lagMs, skipped); the owner does its own sampling there and calls
 *   `collect()` for the watcher's part of the tick.
 * - Launch mode: the target is our child. A launcher (shell script, pyenv shim, env) replaces
 *   itself with the real program at any moment; the watch of the old program then ends by exec
 *   and the driver attaches again (in this thread: our own child) and re-applies the selection
 *   to the new address space. While the child is alive, an exit-looking tick between two
 *   programs is retried (up to 20 ticks) instead of ending the watch.
 * - The cost of being watched: each watching step carries the tick's figures (WatchFigures): the
 *   ESTIMATED share of the target's CPU time spent on write faults (overhead.ts, from the pages
 *   that faulted and the CPU time the target's threads ran since the previous collect, read from
 *   /proc per thread) and, while sampling, the extrapolated count with its stated error. With a
 *   budget (setMaxOverhead) the watch starts at the sample the budget surely allows (armed that
 *   way, so the first tick is bounded), and the OverheadBudget controller picks each next tick's
 *   sample fraction, and lengthens the interval when even the smallest sample costs too much
 *   (the figures say which interval each tick ran at).
 * - The watcher's own CPU time is the target's on a machine the target fills: a tick reads no
 *   more than it must and redoes nothing that did not change (tick.ts: the last pieces over
 *   unchanged maps; sampling.ts: each piece's units), and the tick's, the figures' and the
 *   budget's code runs once before the first arm (tick.ts warmTick, warmFigures), so compiling
 *   it is not the first ticks' cost. Every thread of ours keeps its priority: V8's helper
 *   threads once ran at nice 19 here, and under a CPU hog the threads that wait on them (GC,
 *   compiles, the worker's messages) waited seconds for them: `record` of a game beside
 *   `stress-ng --cpu 8` kept 16-65 of 100 ticks, 93-100 at their own priority. What it still
 *   takes is counted: the watch's CPU time per tick (the watching thread in its ticks, and the
 *   process's other threads), charged to the estimate and the budget up to the target's wait
 *   for a CPU in the tick, by the target's share of the machine's busy CPU time (overhead.ts
 *   competingOwnMs), so the budget lengthens the interval when our own ticks are what costs.
 * Everything runs on the thread that created the driver (ptrace rule, see watcher.ts).
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus as osCpus, loadavg } from 'node:os';
import { MapsReader, type Vma } from '../proc/maps.ts';
import { processAlive } from '../proc/processes.ts';
import { RegionList } from '../scan/region-list.ts';
import type { PageRange } from '../scan/scanner.ts';
import type { Refusal } from './refusal.ts';
import {
  competingOwnMs,
  CONTENTION_HIGH,
  contentionFactor,
  contentionShare,
  costRange,
  estimateOverhead,
  faultCost,
  TLB_REFILL_HIGH_US,
  type FaultCost,
  lifetimeCpuShare,
  MachineCpuClock,
  OwnCpuClock,
  ownHighMs,
  reprotectFlushes,
  TargetCpuClock,
} from './overhead.ts';
import { threadCpuUs } from '../kernel/libc.ts';
import {
  FLUSH_COST,
  OverheadBudget,
  type SampleSize,
  type StartHighCost,
} from './overhead-budget.ts';
import {
  tickEstimate,
  tickFlushes,
  tickLoad,
  writtenAtFull,
  type TickReadings,
} from './tick-figures.ts';
import { Ticker, type TickTiming } from './ticker.ts';
import { REGISTER_BUDGET_MS } from './registration.ts';
import {
  forSampledUnits,
  normalizeRanges,
  rangesWithin,
  SAMPLE_BLOCK_PAGES,
  sampleUnitPages,
  WriteWatcher,
  type VmaWatchState,
  type WatchTick,
} from './watcher.ts';

export interface WatchDriverOptions {
  /** The target process. */
  pid: number;
  /** ms between ticks (the grid; changeable with setInterval). */
  intervalMs: number;
  /** Attach even when the target runs under a seccomp filter. */
  force?: boolean;
  /** Launch mode: the target is this child of ours (re-attached across its execs). */
  child?: ChildProcess | null;
  /** A watcher already attached to `pid` (launch mode: attached at the exec stop). */
  watcher?: WriteWatcher | null;
  /** What to watch as a function of the maps (CLI --vma/--writable), besides armed ranges. */
  select?: (vmas: Vma[]) => PageRange[];
  /** Re-apply `select` every tick, so matching VMAs that appear later are watched too. */
  follow?: boolean;
  /** Keep the estimated overhead under this percent by sampling (default: exact watching). */
  maxOverheadPct?: number | null;
  /**
   * Where the machine's busy CPU time is read (overhead.ts MachineCpuClock): /proc/stat at each
   * collect by default; a group watch hands its members one reading per group tick.
   */
  readMachineBusyMs?: () => number | null;
  /** Whether the machine had no idle CPU at the arm (default cpusAllBusy: /proc/stat). */
  cpusAllBusy?: () => boolean;
}

/** What watching cost the target this tick, and how exact the count is. */
export interface WatchFigures {
  /**
   * ESTIMATED share of the target's CPU time spent on write faults this tick, and on pagescope's
   * own work that competed with it, percent (overhead.ts estimateOverhead); -1 when unknown.
   */
  estOverheadPct: number;
  /**
   * The part of estOverheadPct that is pagescope's own CPU time taken from the target
   * (overhead.ts competingOwnMs), percent.
   */
  estOwnPct: number;
  /**
   * pagescope's own CPU time for the watch since the previous tick (overhead.ts OwnCpuClock: the
   * watching thread in its ticks, the process's other threads), ms, whether it competed or not.
   * The watching thread's time in a tick is measured when the tick ends: it is in the NEXT
   * tick's figure (tick 1's holds none of it; the process's other threads count as they run).
   */
  ownCpuMs: number;
  /**
   * The range that share may be in, percent (overhead.ts estimateOverhead: the fault cost's
   * range, the CPU time not floored at the high end).
   */
  estOverheadLowPct: number;
  estOverheadHighPct: number;
  /** CPU time the target's threads ran in the tick, ms; -1 when unknown (then divided by wall time). */
  targetCpuMs: number;
  /** The estimate is shaky (the target barely ran, its CPU time was unknown, or faults > CPU). */
  estLowConfidence: boolean;
  /** Share of the watched pages sampled this tick: 1 = exact. */
  sampleFraction: number;
  /** Written pages of all watched memory: exact, or extrapolated from the sample. */
  writtenEst: number;
  /** +/- pages around writtenEst at about 95% confidence: 0 when exact, -1 when unknown. */
  writtenErr: number;
  /** The interval this tick ran at, ms: the one set, or longer while the budget stretches it. */
  intervalMs: number;
}

/** The watcher's part of one tick. */
export type WatchStep =
  /** Nothing is watched (no watcher attached). */
  | { kind: 'idle' }
  | {
      kind: 'watching';
      /** Written regions of this tick (category WRITTEN, in address order); reused next tick. */
      written: RegionList;
      writtenPages: number;
      /** Pieces that appeared this tick (watched or refused) and vanished ones. */
      appeared: VmaWatchState[];
      disappeared: VmaWatchState[];
      /** Refusals new this tick: of pieces that appeared, or that `follow` tried to add. */
      refused: VmaWatchState[];
      /** Pieces still waiting to be registered after this tick (watcher.ts WatchTick.pending). */
      pending: VmaWatchState[];
      targetState?: WatchTick['targetState'];
      figures: WatchFigures;
      /** The maps read this tick for `follow`, when they were. */
      vmas: Vma[] | null;
    }
  /** Launch mode: the child executed a new program; watched again from its start. */
  | { kind: 'reattached'; states: VmaWatchState[] }
  /** Launch mode: the child is between two programs; the next tick tries again. */
  | { kind: 'waiting' }
  /** The watch is over (the target exited or executed another program); the watcher is closed. */
  | { kind: 'ended'; reason: string; endedBy: NonNullable<WatchTick['endedBy']> };

/** A step of a tick with something watched (what collect hooks receive). */
export type WatchingStep = Extract<WatchStep, { kind: 'watching' }>;

const MAX_REATTACH_RETRIES = 20;
/**
 * The wait share a burst on a machine with no idle CPU is taken to have (startHighCost): redis
 * beside `stress-ng --cpu 2` waited 30-55% of its runnable time (bench 11e/11h).
 */
const START_WAIT_SHARE = 0.5;

/**
 * What a page's fault and a block's flush cost at the estimate's high end (overhead.ts
 * estimateOverhead: the range's high factor, the contention's at START_WAIT_SHARE, and the
 * tick's TLB refill, TLB_REFILL_HIGH_US): what --max-overhead sizes its first sample by on a
 * machine with no idle CPU (OverheadBudget.start).
 */
export function startHighCost(
  cost: Pick<FaultCost, 'usPerFault' | 'q1Us' | 'q3Us'>,
): StartHighCost {
  const perFault =
    cost.usPerFault * costRange(cost).high * (1 + CONTENTION_HIGH * START_WAIT_SHARE);
  return {
    usPerFault: perFault,
    usPerBlock: FLUSH_COST * perFault,
    usPerRefill: TLB_REFILL_HIGH_US,
  };
}

/**
 * Whether every CPU is busy with something else: /proc/stat's procs_running (the tasks running
 * or runnable now, the reader included) over the machine's online CPUs (its `cpuN` lines: the
 * figures are the whole machine's, so not the CPUs this process may use, which under taskset or
 * a cpuset would read a machine with idle CPUs busy), or the 1-minute load average at or over
 * them: the instant's count alone read an idle CPU at 21 of 24 arms in bench 11e beside
 * `stress-ng --cpu 2` (why is not known; a CLI watch armed beside the same hog by hand read it
 * busy). A target that starts writing then waits for a CPU (a burst right after arming beside a
 * CPU hog). False when neither can be read. `read`: where the figures come from (tests);
 * `cpus` default: the `cpuN` lines of `procStat`, else os.cpus() (also the online CPUs).
 */
export function cpusAllBusy(
  read: { procStat?: () => string; load1?: () => number; cpus?: () => number } = {},
): boolean {
  let running = 0;
  let online = 0;
  try {
    const text = (read.procStat ?? readProcStat)();
    const m = /\nprocs_running (\d+)/.exec(text);
    running = m ? Number(m[1]) - 1 : 0;
    online = text.match(/^cpu\d+ /gm)?.length ?? 0;
  } catch {
    // unreadable: the load average alone
  }
  const cpus = read.cpus ? read.cpus() : online > 0 ? online : osCpus().length || 1;
  const load = (read.load1 ?? (() => loadavg()[0]))();
  return running >= cpus || (Number.isFinite(load) && load >= cpus);
}

const readProcStat = (): string => readFileSync('/proc/stat', 'latin1');
/**
 * The CPU time one tick of ours is taken to cost before any was measured, ms (the budget's
 * start): a watch of redis's writable mappings took ~1.0 ms of the watching thread's CPU per
 * tick (bench 11c). From the first tick on, a running mean of the ticks' own measure (ownTickMs, 3/4 old + 1/4 new) takes over.
 */
export const OWN_TICK_MS = 1;
const MAX_ARM_ROUNDS = 20;

/** The figures' and budget's code has run once in this runtime (WatchDriver.warmFigures). */
let figuresWarmed = false;

const pieceKey = (p: PageRange): string => `${p.startPage}-${p.endPage}`;

/**
 * Pages of `ranges` in the sample at `fraction` (sampling.ts: whole 2 MiB blocks, or 64 KiB
 * units below 1/32) and the 2 MiB blocks they lie in (each one TLB flush when re-protected),
 * what the budget's start() sizes the first tick by; f x pages (and one block per unit) where
 * the blocks are too many to visit cheaply (over a million: 2 TiB).
 */
export function sampleSize(ranges: readonly PageRange[], fraction: number): SampleSize {
  const B = SAMPLE_BLOCK_PAGES;
  let blocks = 0;
  let pages = 0;
  for (const r of ranges) {
    blocks += Math.ceil(r.endPage / B) - Math.floor(r.startPage / B);
    pages += r.endPage - r.startPage;
  }
  if (fraction >= 1) return { pages, blocks };
  if (blocks > 1e6)
    return { pages: fraction * pages, blocks: (fraction * pages) / sampleUnitPages(fraction) };
  let n = 0;
  let inBlocks = 0;
  let lastBlock = -1;
  for (const r of ranges)
    forSampledUnits(r.startPage, r.endPage, fraction, (s, e) => {
      n += e - s;
      const b = Math.floor(s / B);
      if (b !== lastBlock) inBlocks++; // units come in address order, a block's together
      lastBlock = b;
    });
  return { pages: n, blocks: inBlocks };
}

/** Pages of `ranges` in the sample at `fraction` (sampleSize's pages). */
export function sampledPages(ranges: readonly PageRange[], fraction: number): number {
  return sampleSize(ranges, fraction).pages;
}

export class WatchDriver {
  readonly pid: number;
  readonly child: ChildProcess | null;
  private watcherValue: WriteWatcher | null;
  private readonly force: boolean;
  private readonly select: ((vmas: Vma[]) => PageRange[]) | null;
  private readonly follow: boolean;
  /** Ranges armed explicitly (arm(ranges)), re-applied after a re-attach. */
  private ranges: PageRange[] = [];
  private readonly refused = new Map<string, VmaWatchState>();
  private readonly out = new RegionList(4096);
  private readonly ticker: Ticker;
  private onTick: ((t: TickTiming) => void) | null = null;
  private budget: OverheadBudget | null = null;
  /** The next arm is the watch's first under the budget: arm at its start() fraction. */
  private budgetStartPending = false;
  /** The target's threads' CPU time, read at every collect (null until armed). */
  private cpuClock: TargetCpuClock | null = null;
  /** pagescope's own CPU time for the watch (OwnCpuClock), read at every collect from the first arm. */
  private readonly ownClock = new OwnCpuClock();
  /** The machine's busy CPU time, read at every collect (competingOwnMs: the target's share). */
  private readonly machineClock: MachineCpuClock;
  /** Whether the machine has no idle CPU (WatchDriverOptions.cpusAllBusy). */
  private readonly cpusAllBusy: () => boolean;
  /** The maps read each tick for `follow`, parsed only when they changed (maps.ts MapsReader). */
  private readonly maps: MapsReader;
  /** Our CPU time per tick, ms: OWN_TICK_MS, then a running mean of the ticks' (budget start). */
  private ownTickMs = OWN_TICK_MS;
  /** The watching thread's CPU time in ticks (and collects outside them) since the last reading, us. */
  private tickThreadUs = 0;
  /** Inside the owner's onTick (its collect is measured with it). */
  private inTick = false;
  /** The target's CPU time from the driver's construction to the budget's start (its share). */
  private readonly preArmClock: TargetCpuClock;
  private preArmAtMs: number;
  /** The interval set (constructor, setInterval); the grid runs at it x `stretch`. */
  private setIntervalMs: number;
  /** How much the budget lengthened the interval (1 = as set). */
  private stretch = 1;
  /** elapsedMs() at the last collect with a watcher (the time the next tick's faults cover). */
  private lastCollectMs: number | null = null;
  private reattachRetries = 0;
  private reattachedCount = 0;
  /** A watch is wanted: attached (or re-attaching) from the first arm or launch to unwatch. */
  private wanted: boolean;
  /** The pages the sample at twice the fraction would add, and what they were counted for. */
  private wider: { sig: string; pages: number } | null = null;
  /** Run on each watching step, right after the scan, before collect() returns (core/who). */
  private readonly collectHooks: Array<(step: WatchingStep) => void> = [];

  constructor(options: WatchDriverOptions) {
    this.pid = options.pid;
    this.child = options.child ?? null;
    this.watcherValue = options.watcher ?? null;
    this.wanted = this.watcherValue !== null;
    this.force = options.force === true;
    this.select = options.select ?? null;
    this.follow = options.follow === true && this.select !== null;
    this.setIntervalMs = options.intervalMs;
    this.machineClock = new MachineCpuClock(options.readMachineBusyMs);
    this.cpusAllBusy = options.cpusAllBusy ?? (() => cpusAllBusy());
    // The watching thread's CPU time in the owner's ticks is the watch's own (OwnCpuClock).
    this.ticker = new Ticker(
      (t) => {
        const a = threadCpuUs();
        this.inTick = true;
        try {
          this.onTick?.(t);
        } finally {
          this.inTick = false;
          this.tickThreadUs += threadCpuUs() - a;
        }
      },
      { intervalMs: options.intervalMs },
    );
    this.maps = new MapsReader(this.pid);
    this.preArmClock = new TargetCpuClock(this.pid);
    this.preArmClock.sinceLastMs(); // primed: the share is measured from here
    this.preArmAtMs = performance.now();
    this.setMaxOverhead(options.maxOverheadPct ?? null);
  }

  /** The watcher, while one is attached. */
  get watcher(): WriteWatcher | null {
    return this.watcherValue;
  }

  /** Whether the target is our launched child. */
  get launched(): boolean {
    return this.child !== null;
  }

  /** Whether anything was asked to be watched (armed ranges or a selection function). */
  get hasSelection(): boolean {
    return this.ranges.length > 0 || this.select !== null;
  }

  /** How many times the driver attached again after the child executed a new program. */
  get reattachCount(): number {
    return this.reattachedCount;
  }

  // ---- the tick grid ----

  /** Starts ticking: `onTick` runs on the grid, the first point `firstInMs` from now. */
  start(onTick: (t: TickTiming) => void, firstInMs = 0): void {
    this.onTick = onTick;
    this.ticker.start(firstInMs);
  }

  private warmFaultCost(): void {
    try {
      faultCost();
    } catch {
      // Not calibrated here: the first tick's figures say why.
    }
  }

  pause(): void {
    this.ticker.stop();
  }

  /** A new grid from now (a tick at once); no-op unless paused. */
  resume(): void {
    this.ticker.resume();
  }

  get paused(): boolean {
    return !this.ticker.running;
  }

  /** The interval set (the grid may run longer while the budget stretches it). */
  get intervalMs(): number {
    return this.setIntervalMs;
  }

  /**
   * The grid's interval now: the one set, x the budget's stretch (from the first arm on, the
   * slow start's). An owner that starts the grid after arming starts it this far ahead, so the
   * first tick does not re-protect the sample sooner than the bound allows.
   */
  get gridIntervalMs(): number {
    return this.ticker.intervalMs;
  }

  /** A new interval (kept stretched while the budget needs it); the grid restarts one from now. */
  setInterval(intervalMs: number): void {
    this.setIntervalMs = intervalMs;
    this.ticker.setInterval(intervalMs * this.stretch);
  }

  private setStretch(stretch: number): void {
    if (stretch === this.stretch) return;
    this.stretch = stretch;
    this.ticker.setInterval(this.setIntervalMs * stretch);
  }

  /**
   * Bound the estimated overhead to `maxPct` percent by sampling from the next tick on; null
   * returns to exact watching. Calibrates the fault cost first (a few ms, once per process).
   */
  setMaxOverhead(maxPct: number | null): void {
    this.budget = maxPct === null ? null : new OverheadBudget(maxPct, faultCost().usPerFault);
    const w = this.watcherValue;
    if (!this.budget && w && w.sampleFraction !== 1) w.setSampleFraction(1);
    if (!this.budget) this.setStretch(1);
    this.budgetStartPending = this.budget !== null;
    // Already watching something: narrow to the start at once (narrowing only unprotects);
    // else the first arm starts it.
    const watched = w && !w.ended ? this.watchedRanges() : [];
    if (this.budget && w && watched.length) this.startBudget(w, watched);
  }

  get maxOverheadPct(): number | null {
    return this.budget?.maxPct ?? null;
  }

  /** How long the owner's last onTick took, ms (sampling + collect + output). */
  get lastTickMs(): number {
    return this.ticker.lastTickMs;
  }

  /** ms since the driver was made, on the clock the tick timings use. */
  elapsedMs(): number {
    return this.ticker.elapsedMs();
  }

  // ---- the selection and refusals ----

  /**
   * Watches `ranges` from now on, plus what `select` picks in the maps now. Attaches first when
   * no watcher is. Returns the state of every piece armed; refusals are kept (refusalAt).
   */
  arm(ranges: PageRange[] = []): VmaWatchState[] {
    this.ranges = normalizeRanges([...this.ranges, ...ranges]);
    this.wanted = true;
    this.watcherValue ??= WriteWatcher.attach(this.pid, {
      force: this.force,
      ownChild: this.launched,
    });
    // The fault cost's calibration (overhead.ts, once per process: ~20 ms of CPU, hundreds of
    // ms on a loaded machine) is made in the wait for the first tick rather than inside it.
    setImmediate(() => this.warmFaultCost());
    return this.armSelection(ranges);
  }

  /** Stops watching: closes the watcher, forgets the selection and the refusals. */
  unwatch(): void {
    this.closeWatcher();
    this.wanted = false;
    this.ranges = [];
    this.refused.clear();
  }

  /** ResetWriteWatch of everything watched (no-op when nothing is). */
  reset(): void {
    this.watcherValue?.reset();
  }

  /** The refusal of the piece [startPage, endPage), if it was refused. */
  refusalAt(startPage: number, endPage: number): Refusal | undefined {
    return this.refused.get(pieceKey({ startPage, endPage }))?.refusal;
  }

  /** The registered (really watched) pieces now, sorted and merged. */
  watchedRanges(): PageRange[] {
    const w = this.watcherValue;
    if (!w) return [];
    return normalizeRanges(w.watchedPieces().filter((p) => p.status === 'watched'));
  }

  private record(states: readonly VmaWatchState[]): void {
    for (const s of states) {
      if (s.status === 'refused') this.refused.set(pieceKey(s), s);
      else this.refused.delete(pieceKey(s));
    }
  }

  /** Arms `extra` (new explicit ranges; all of them after a re-attach) and the selection. */
  private armSelection(extra: PageRange[]): VmaWatchState[] {
    for (let round = 0; ; round++) {
      const w = this.watcherValue;
      if (!w) return [];
      let wanted = extra;
      let vmasRead: Vma[] | null = null;
      if (this.select) {
        let vmas: Vma[];
        try {
          // Through the reader the ticks use: the first tick finds the same text, parsed.
          vmas = this.maps.read();
        } catch (err) {
          if (this.launched) return [];
          throw err;
        }
        wanted = [...extra, ...this.select(vmas)];
        vmasRead = vmas;
      }
      if (this.budgetStartPending) this.startBudget(w, [...this.watchedRanges(), ...wanted]);
      if (this.lastCollectMs === null) this.warmFigures(wanted);
      // Bounded (registration.ts): what the time does not allow, or what changes under it on a
      // busy process, is pending and registered by the next ticks.
      const states = wanted.length
        ? w.arm(wanted, { vmas: vmasRead ?? undefined, budgetMs: REGISTER_BUDGET_MS })
        : [];
      if (!this.cpuClock || this.cpuClock.pid !== this.pid)
        this.cpuClock = new TargetCpuClock(this.pid);
      if (this.lastCollectMs === null) {
        this.cpuClock.sinceLastMs(); // the first tick counts from here
        this.ownClock.sinceLastMs(0);
        this.machineClock.sinceLastMs();
        this.tickThreadUs = 0;
      }
      if (!(this.launched && w.endedBy === 'exec' && round < MAX_ARM_ROUNDS)) {
        this.record(states);
        return states;
      }
      if (!this.reattach()) return [];
      extra = this.ranges;
    }
  }

  /**
   * Runs the figures' and the budget's code once (a tick's, on made-up counts; `ranges` the
   * ranges about to be armed), once per thread's runtime, before the first arm registers
   * anything: as the tick's own (tick.ts warmTick), compiled and first run before the target pays
   * for being watched rather than in the first tick, whose CPU time the second tick's estimate
   * counts. Nothing of this driver changes (a budget of its own, the clocks not read).
   */
  private warmFigures(ranges: readonly PageRange[]): void {
    if (figuresWarmed) return;
    figuresWarmed = true;
    try {
      // Made-up figures: the code is what is warmed (the calibration is not forced here).
      const cost = { usPerFault: 20, q1Us: 15, q3Us: 30 };
      const interval = this.setIntervalMs;
      const est = estimateOverhead({
        faultedPages: 8,
        usPerFault: cost.usPerFault,
        intervalMs: interval,
        targetCpuMs: 50,
        range: costRange(cost),
        targetWaitMs: 5,
        flushedBlocks: 8,
        ownCpuMs: 1,
        machineBusyMs: 150,
        wholeTlbFlushes: 1,
      });
      reprotectFlushes(this.out, 33, 16);
      const budget = new OverheadBudget(this.budget?.maxPct ?? 5, cost.usPerFault);
      const f = this.watcherValue?.sampleFraction ?? 1;
      const sorted = normalizeRanges([...ranges]);
      for (const written of [est.pct > 0 ? 40 : 0, 0])
        budget.next(
          { fraction: f, stretch: 1 },
          {
            writtenPagesAtFull: written,
            faultedPages: written * f,
            flushedBlocks: 1,
            wholeTlbFlushes: 1,
            sampledPages: 64,
            elapsedMs: interval,
            targetCpuMs: 50,
            costFactor: contentionFactor(50, 5, interval),
            // Contended, so the high end's path is warmed too.
            waitShare: contentionShare(50, 50),
            highPct: est.highPct,
            ownMs: competingOwnMs(1, 50, 5, interval, 150),
            ownHighMs: ownHighMs(1, 50, 5, interval),
            // A made-up count: counting the units hashes every block, and each pass
            // brings forSampledUnits closer to being optimized after the arm (sampling.ts).
            widerPages: () => sorted.length,
          },
        );
    } catch {
      // A warm-up that failed leaves the first tick cold; it never stops the arm.
    }
  }

  /** Slow start: the sample the budget surely allows for `ranges` at the interval set. */
  private startBudget(w: WriteWatcher, ranges: readonly PageRange[]): void {
    if (!this.budget) return;
    const pages = normalizeRanges([...ranges]).reduce((n, r) => n + r.endPage - r.startPage, 0);
    // The share of a CPU the target ran at since the driver was made (or the last start): at
    // least the calibration's few tens of ms; unknown (a whole CPU) when shorter.
    const wallMs = performance.now() - this.preArmAtMs;
    const cpuMs = this.preArmClock.pid === this.pid ? this.preArmClock.sinceLastMs() : null;
    this.preArmAtMs = performance.now();
    // A window too short to tell (the fault cost was calibrated earlier): its life's share.
    const share =
      cpuMs !== null && wallMs >= 20 ? cpuMs / wallMs : (lifetimeCpuShare(this.pid) ?? 1);
    const start = this.budget.start(
      pages,
      this.setIntervalMs,
      (f) => sampleSize(ranges, f),
      share,
      this.ownTickMs,
      this.cpusAllBusy() ? startHighCost(faultCost()) : null,
    );
    if (start.fraction !== w.sampleFraction) w.setSampleFraction(start.fraction);
    this.setStretch(start.stretch);
    this.budgetStartPending = false;
  }

  /** Launch mode: attach to the new program of our child. False when it is gone meanwhile. */
  private reattach(): boolean {
    try {
      this.watcherValue?.close();
      this.watcherValue = WriteWatcher.attach(this.pid, { force: this.force, ownChild: true });
      this.lastCollectMs = null;
      this.budgetStartPending = this.budget !== null; // a new watcher starts exact: start again
      this.refused.clear();
      this.reattachedCount++;
      return true;
    } catch {
      this.watcherValue = null;
      return false; // exited meanwhile: the next tick says so
    }
  }

  private closeWatcher(): void {
    try {
      this.watcherValue?.close();
    } catch {
      // The target may be gone; closing our descriptor is all that is left.
    }
    this.watcherValue = null;
    this.lastCollectMs = null;
    this.setStretch(1); // nothing watched costs the target nothing: back to the interval set
  }

  /** Runs `hook` on every watching step from now on (right after the scan); returns its removal. */
  onCollect(hook: (step: WatchingStep) => void): () => void {
    this.collectHooks.push(hook);
    return () => {
      const i = this.collectHooks.indexOf(hook);
      if (i >= 0) this.collectHooks.splice(i, 1);
    };
  }

  // ---- one tick ----

  /**
   * The watcher's part of a tick: re-applies a following selection, reads and resets the pages
   * written since the last tick, and follows a launched child across execs. `vmas`: the maps
   * as the caller read them this tick (the session does), else the watcher reads them.
   */
  collect(vmas?: readonly Vma[]): WatchStep {
    if (this.inTick) return this.collectStep(vmas);
    // Called outside the grid's ticks (an owner with a clock of its own): measured here.
    const a = threadCpuUs();
    try {
      return this.collectStep(vmas);
    } finally {
      this.tickThreadUs += threadCpuUs() - a;
    }
  }

  private collectStep(vmas?: readonly Vma[]): WatchStep {
    const w = this.watcherValue;
    if (!w) {
      // Launch mode after a failed re-attach: the child may have a new program by now.
      if (this.launched && this.wanted) return this.retryAttach(`process ${this.pid} exited`);
      return { kind: 'idle' };
    }
    const refused: VmaWatchState[] = [];
    let followed: Vma[] | null = null;
    if (this.follow && !w.ended) {
      try {
        followed = this.maps.read();
        const more = this.select!(followed);
        // Only when the selection reaches beyond what is watched: inside the watched ranges
        // the tick itself registers what appeared and retries what is pending, so re-arming
        // all of it every tick (most ticks) only cost the watcher CPU time, which on a machine
        // whose CPUs the target already fills is taken from the target (bench 11c).
        if (more.length && !rangesWithin(more, w.watchedRanges())) {
          const states = w.arm(more, { vmas: followed });
          this.record(states);
          refused.push(...states.filter((s) => s.status === 'refused'));
        }
      } catch {
        // the process is gone: the tick says so below
      }
    }
    // The maps read for `follow` serve the tick too (one read of /proc/PID/maps a tick, not two).
    const tick = w.tick(this.out, vmas ?? followed ?? undefined);
    if (tick.ended) {
      // Our child may be caught between two programs of a launcher chain: its maps briefly look
      // like an exit, or the re-attach meets the exec half done. While it is alive (not yet a
      // zombie) that is never the end: attach again, or retry next tick.
      if (this.launched && (tick.endedBy === 'exec' || processAlive(this.pid)))
        return this.retryAttach(tick.ended);
      this.closeWatcher();
      this.wanted = false;
      return { kind: 'ended', reason: tick.ended, endedBy: tick.endedBy ?? 'exit' };
    }
    this.reattachRetries = 0;
    this.record(tick.appeared);
    refused.push(...tick.appeared.filter((s) => s.status === 'refused'));
    const step: WatchingStep = {
      kind: 'watching',
      figures: this.figures(w, tick),
      written: this.out,
      writtenPages: tick.writtenPages,
      appeared: tick.appeared,
      disappeared: tick.disappeared,
      pending: tick.pending,
      refused,
      targetState: tick.targetState,
      vmas: followed,
    };
    for (const hook of this.collectHooks) hook(step);
    return step;
  }

  /** This tick's figures; then, with a budget, the sample fraction for the next tick. */
  private figures(w: WriteWatcher, tick: WatchTick): WatchFigures {
    const now = this.ticker.elapsedMs();
    const tickIntervalMs = this.ticker.intervalMs;
    const firstTick = this.lastCollectMs === null;
    const coveredMs = firstTick ? tickIntervalMs : now - this.lastCollectMs!;
    this.lastCollectMs = now;
    const cpuMs = this.cpuClock?.sinceLastMs() ?? null;
    const waitMs = cpuMs === null ? null : (this.cpuClock?.lastWaitMs ?? null);
    // The watching thread's time in the ticks before this one (tickThreadUs): this tick's own
    // is added when it ends (the Ticker's callback), so it is counted in the next tick's figure.
    const ownMs = this.ownClock.sinceLastMs(this.tickThreadUs);
    this.tickThreadUs = 0;
    const busyMs = this.machineClock.sinceLastMs();
    this.ownTickMs = 0.75 * this.ownTickMs + 0.25 * ownMs;
    const readings: TickReadings = {
      coveredMs,
      cpuMs,
      waitMs,
      ownMs,
      ownMeasured: !firstTick,
      busyMs,
    };
    const flushes = tickFlushes(tick, this.out);
    const est = tickEstimate(tick, flushes, faultCost(), readings);
    const s = tick.exact ? undefined : tick.sample;
    const figures: WatchFigures = {
      estOverheadPct: est.pct,
      estOwnPct: est.ownPct,
      ownCpuMs: ownMs,
      estOverheadLowPct: est.lowPct,
      estOverheadHighPct: est.highPct,
      targetCpuMs: cpuMs ?? -1,
      estLowConfidence: est.lowConfidence,
      sampleFraction: s ? s.fraction : 1,
      writtenEst: writtenAtFull(tick),
      writtenErr: s ? (s.errorPages ?? -1) : tick.exact ? 0 : -1,
      intervalMs: tickIntervalMs,
    };
    if (this.budget) {
      const next = this.budget.next(
        { fraction: w.sampleFraction, stretch: this.stretch },
        tickLoad(tick, flushes, est, readings, () => {
          const ranges = this.watchedRanges();
          const f = w.sampleFraction;
          // The same watched ranges and fraction as last time (most ticks): the same count,
          // not every block of them hashed again (sampling.ts Sampler.unitsOf says why).
          let sig = `${f}`;
          for (const r of ranges) sig += ` ${r.startPage}-${r.endPage}`;
          if (this.wider?.sig !== sig)
            // Not a difference of sizes: below 1/32 and at 1/32 the samples are not nested.
            this.wider = { sig, pages: w.enteringPages(Math.min(1, f * 2)) };
          return this.wider.pages;
        }),
      );
      if (next.fraction !== w.sampleFraction) w.setSampleFraction(next.fraction);
      this.setStretch(next.stretch);
    }
    return figures;
  }

  private retryAttach(reason: string): WatchStep {
    if (this.reattach()) return { kind: 'reattached', states: this.armSelection(this.ranges) };
    if (processAlive(this.pid) && ++this.reattachRetries <= MAX_REATTACH_RETRIES)
      return { kind: 'waiting' };
    this.closeWatcher();
    this.wanted = false;
    return { kind: 'ended', reason, endedBy: 'exit' };
  }

  /** Stops the grid and closes the watcher (the target keeps nothing of us). Idempotent. */
  close(): void {
    this.ticker.stop();
    this.onTick = null;
    this.closeWatcher();
  }
}
