/**
 * The --max-overhead controller: picks the watcher's sample fraction tick by tick so that the
 * ESTIMATED share of the target's CPU time spent on write faults (overhead.ts) stays at or under
 * a budget, from the first tick on.
 *
 * Strategy (DAMON bounds its monitoring cost the same way: fewer regions sampled, not fewer
 * samples skipped; TCP's slow start the way it opens): the watch STARTS at the sample the budget
 * surely allows and GROWS while the measured cost leaves room.
 * - start(): the largest power of two whose sample, every page of it faulting once and every
 *   2 MiB block of it flushed once when the first tick re-protects it (FLUSH_COST), costs no
 *   more than ONE interval's budget of the target's CPU (its share before the arm, at least
 *   START_MIN_SHARE). A page protected at the arm faults at the target's first write to it,
 *   whenever that comes, so a burst right after arming pays the whole first sample at once,
 *   however long the interval: only a small first sample bounds it (redis, 1M keys, under a 5%
 *   bound: a first sample of one or two 2 MiB blocks, 650-930 faults, cost +16-23% of its CPU
 *   in a 0.5 s burst right after arming, while the interval was stretched to 1.6-3.2 s). Below
 *   1/32 the sample is made of 64 KiB units spread over the space (sampling.ts), so that is a
 *   few dozen pages for a watch of ~100 MiB (1/1024 of it), not a 2 MiB block or none. Only
 *   where even MIN_SAMPLE_FRACTION could cost more (a watch of tens of GiB) is the interval
 *   stretched as well.
 * - After each tick, the pages the target would have faulted on with every page protected (the
 *   exact count, or the sampled tick's extrapolation) give the share an exact watch would cost
 *   (overhead.ts's model, uncapped, divided by the target's CPU time in the tick when it is
 *   known, floored at MIN_CPU_SHARE of the tick); sampling f of the pages costs about f of that.
 *   Fractions are powers of two between 1 and MIN_SAMPLE_FRACTION, so the sample changes rarely
 *   (each change costs one tick without a stated error):
 * - too costly, judged by the tick's OWN faults (counted, not extrapolated): down to the largest
 *   power of two at which those faults would fit, at least one step;
 * - room to spare: widen one step (x2 a tick: slow start) only when the doubled sample would
 *   still fit with a 20% margin, by the extrapolation and by the worst case of the pages it
 *   would add (all of them faulting each tick, on top of what this tick paid), so a load at the
 *   edge of the budget does not flap; an empty sample too (it saw nothing, so it says nothing of
 *   the pages it would add); and not back to a fraction that was over the budget until
 *   HOLD_TICKS ticks in a row were within it (as TCP keeps a threshold after a loss): with few
 *   units in the sample the extrapolation can say a fraction fits that its own faults just said
 *   does not (a C writer of 64 MiB under a CPU hog alternated 1/32 and 1/16 tick by tick, every
 *   other tick over).
 * One noisy figure cannot swing it: the CPU time is floored (a tick in which the target barely
 * ran is not divided by ~0, and does not widen the sample: a sleeping target keeps its sample
 * for its next burst), the extrapolation only ever widens one step, and the calibrated cost is
 * a median timed by the CPU clock (overhead.ts).
 * With no budget (null) the watch stays exact: fraction 1. A bound of 100% (or more) is no bound
 * either: the estimate is a share of the target's CPU time, and a paced writer that sleeps most
 * of the tick reads near or over 100% with every page it writes (an exporter at
 * --max-overhead 100 sampled two of three such writers at 1/2, one rate 21% low), so a user who
 * allows all of the target's time gets the exact watch, whatever path set the bound (CLI, UI,
 * exporter): start() and next() always say fraction 1 at the interval set.
 *
 * pagescope's own CPU time that competed with the target (overhead.ts competingOwnMs: the
 * watch's CPU time per tick, up to the target's wait for a CPU, by its share of the machine's)
 * counts against the same budget. It is a cost per tick, which no sample makes smaller: while it
 * takes over OWN_SHARE of the budget the interval is doubled (start() assumes one tick of ours,
 * measured once there were ticks), the faults are held under what it leaves (at least
 * 1 - OWN_SHARE of the budget), and the interval is given back only where our work would still
 * fit its share at half of it.
 *
 * The estimate has an error of its own (overhead.ts: a target's fault cost 0.65-1.55x the
 * calibrated one, run to run), so the controller keeps the estimate under maxPct /
 * ESTIMATE_ERROR: a bound of 5% holds the estimate at 4% or less. With the x2 steps the estimate
 * usually settles well under that (bench case 8b: estimated 2.2-3.8%, paid 2.5-3.7%).
 *
 * A contended tick (the target waited for a CPU CONTENDED_SHARE or more of its runnable time)
 * holds the estimate's stated HIGH END under the bound as well, not only its figure: its faults'
 * and flushes' high end (overhead.ts estimateOverhead highPct, less our own part) by raising the
 * cost per fault the tick is judged by (highScale), and our own part at its high end, all of our
 * CPU time that competed with the target rather than the target's share of it (TickLoad.ownHighMs).
 * Beside a CPU hog redis paid for its faults towards the high end (bench 11e: 2.8 us of CPU per
 * added fault against 0.9 modelled) and lost about twice our CPU time in its own, where its share
 * of it was charged (CONTENDED_SHARE, overhead.ts ownHighMs).
 *
 * At the smallest sample the budget may still not fit (a writer that rewrites all its memory
 * every tick pays a fault per sampled page per tick: 1/4096 of 64 GiB is 4,096 faults, ~100 ms
 * at this VM's ~25 us per fault). The interval is then lengthened (x2 per tick, up to x64): a
 * page rewritten all the time faults once per tick whatever the tick's length, so a longer tick
 * spreads the same faults over more time. Room to spare gives the interval back first (the
 * user chose it), halving it only when twice the cost would still fit with the margin, then
 * widens the sample.
 */
import { FINE_BELOW, FINE_UNIT_PAGES, sampleUnitPages } from './sampling.ts';

/**
 * What a tick that flushed the target's whole TLB costs it for the refill, us (overhead.ts, where
 * it is measured; here so that this module need not import overhead.ts, which imports it).
 */
export const TLB_REFILL_US = 100;
/** The refill at the high end of the range the estimate states, us (overhead.ts, as above). */
export const TLB_REFILL_HIGH_US = 300;

/**
 * The smallest sample: 1/4096 (64 KiB units below 1/32: one unit per 256 MiB watched, so the
 * first sample of any watch under ~10 GiB can be a few dozen pages).
 */
export const MIN_SAMPLE_FRACTION = 1 / 4096;
/** The longest the interval is stretched: x64 the one set (100 ms -> 6.4 s). */
export const MAX_STRETCH = 64;
const WIDEN_MARGIN = 1.2;
/** Ticks within the budget before a fraction found too costly is tried again. */
export const HOLD_TICKS = 8;
/**
 * Below this share of the tick, the target's CPU time in it is too small to divide by: it is
 * floored there (overhead.ts estimateOverhead marks such a figure low confidence).
 */
export const MIN_CPU_SHARE = 0.05;
/**
 * The span whose MIN_CPU_SHARE floors the CPU time (cpuFloorMs): 100 ms, so 5 ms of CPU. A
 * floor proportional to the whole interval diluted a burst in a stretched tick: redis's 0.5 s
 * burst in a 6.4 s tick (load 27) ran ~100 ms of CPU, was divided by 320 ms and read 8-10%
 * where watching added 19-41% to its CPU per request (bench case 11e).
 */
export const FLOOR_SPAN_MS = 100;

/** The least CPU time a tick's faults are divided by, ms (the estimate and next() alike). */
export function cpuFloorMs(intervalMs: number): number {
  return intervalMs > 0 ? Math.min(intervalMs, FLOOR_SPAN_MS) * MIN_CPU_SHARE : 0;
}
/**
 * The least share of a CPU start() assumes the target has (an idle or starved target measured
 * before the arm says little about its next burst; a quarter keeps the first interval within 4x
 * of a whole CPU's).
 */
export const START_MIN_SHARE = 0.25;
/**
 * What re-protecting the written pages of one 2 MiB block (one TLB flush of the target's
 * address space) costs the target, in calibrated faults. Measured (bench case 11, issue 22,
 * load 16-38, the VM a PVM guest): under --max-overhead 5, where the sample's 64 KiB units put
 * almost every fault in a block of its own, redis paid 85 +/- 31 us of CPU per added fault (four
 * rows of 8-12 interleaved rounds, pooled) against 36 us modelled (22.7 calibrated x its
 * contention); exactly watched, with ~70 faults per flushed block, the model held (27-40 us per
 * fault). In pagescope's own process, re-protecting 7 written pages each in a block of its own
 * while a sibling thread ran on the other CPU cost the protecting thread 250-280 us more per
 * tick than the same scan with nothing written (~35 us a block: a remote flush is waited for),
 * and the thread whose pages they were paid 70 +/- 96 us per tick beyond its faults (too noisy
 * at load 26 to fit by itself). One calibrated fault per flushed block brings the model to 2x c
 * per sparse fault, inside the 1.5x of the 85 measured (and the 35 us of a flush seen above).
 * With it the bounded rows took half the faults and redis's measured excess did not halve: what
 * remains is not per flush, nor per tick that finds nothing (bench case 11i). Isolated faults
 * (overhead.ts top comment) are now calibrated and priced: in our process, 1.2-4x c per fault
 * in a reader of 16-64 MiB, by load and size (block layout and re-protect alone: nothing). They
 * do not explain all of redis's excess: in a 0.5 s burst right after arming (11c, load 14-16) it
 * paid 270 +/- 72 us per added fault, 45 faults a run; nor does a dropped shadow of its memory
 * (a re-read of 4,096 warm pages here cost the same after an munmap, an mprotect, a
 * re-protect or a userfaultfd registration as after nothing). The rest is unexplained.
 * On the VM of 2026-12-06 (a KVM guest whose faults cost ~0.85 us), a re-protected block cost a
 * reading thread 1.4-2.3 us quiet, 0.4-2.3 us beside a CPU hog (bench/c/tlbflush.c, 70 blocks a
 * tick), whether its flush was 4 pages or the whole TLB: one or two faults' worth there;
 * the whole-TLB flushes of a tick add about one refill of the target's TLB (overhead.ts
 * TLB_REFILL_US, counted once a tick: TickLoad.wholeTlbFlushes).
 */
export const FLUSH_COST = 1;
/**
 * The share of the budget pagescope's own work that competes with the target (TickLoad.ownMs)
 * may take before the interval is lengthened for it (OverheadBudget.next).
 */
export const OWN_SHARE = 0.5;
/** How far the calibrated fault cost may be from a target's own (overhead.ts). */
export const ESTIMATE_ERROR = 1.25;
/**
 * The wait share (TickLoad.waitShare) from which a tick counts as contended, and the estimate's
 * stated high end, not only its figure, is held under the bound (next()). Measured (bench 11e,
 * redis beside `stress-ng --cpu 2`, a VM whose faults cost 0.6 us; 48 rounds of three over two
 * runs): a 0.5 s burst right after arming ran at 0.90x of unwatched throughput (95% interval
 * 0.83-0.95) and 0.965x in CPU per request (0.94-0.98) while the figure read 1.5-2.2% and its
 * high end 3-5.5%: a contended target pays for each fault and flush well above the calibrated
 * cost (2.8 us of CPU per added fault against 0.9 modelled), towards the high end, and the
 * figure's room for error (ESTIMATE_ERROR) does not cover it. Beside the hog redis waited for a
 * CPU 30-55% of its runnable time; without it, on a VM shared with a load of 3.5-5.5 from other
 * work, 24-37% (bench 11b/11c): contended there too. On an idle machine a target that has a CPU
 * to itself waits next to nothing, and is judged by the figure.
 */
export const CONTENDED_SHARE = 0.2;
/** A bound at or over this many percent bounds nothing: the watch stays exact (see top). */
export const NO_BOUND_PCT = 100;

/** A sample's size: its pages and the 2 MiB blocks (page-table spans) they lie in. */
export interface SampleSize {
  pages: number;
  blocks: number;
}

/**
 * What a page's fault and a 2 MiB block's flush may cost a target at the high end the estimate
 * states (overhead.ts: the calibrated cost x the range's high factor and the contention's, and
 * the tick's TLB refill), us: what start() sizes the first sample by where the machine had no
 * idle CPU at the arm (the driver), as a contended tick is held by its high end (next()).
 */
export interface StartHighCost {
  usPerFault: number;
  usPerBlock: number;
  /** A tick's TLB refill after whole-TLB flushes (overhead.ts TLB_REFILL_HIGH_US). */
  usPerRefill: number;
}

/** What the controller sets: the sample fraction and the interval's stretch (1 = as set). */
export interface BudgetChoice {
  fraction: number;
  stretch: number;
}

/** What a tick tells the controller. */
export interface TickLoad {
  /** Written pages of all watched memory this tick: exact, or the sampled extrapolation. */
  writtenPagesAtFull: number;
  /** ms the tick covered (since the previous one). */
  elapsedMs: number;
  /** Pages that faulted this tick (what the sample cost); omitted: the fraction's share. */
  faultedPages?: number;
  /**
   * 2 MiB blocks the tick re-protected written pages in (overhead.ts reprotectFlushes): each
   * one TLB flush the target pays, FLUSH_COST faults' worth; omitted: 0.
   */
  flushedBlocks?: number;
  /**
   * Of those, the blocks whose flush was the target's whole TLB (overhead.ts reprotectFlushes):
   * any makes the tick cost one TLB refill more (overhead.ts TLB_REFILL_US); omitted: 0.
   */
  wholeTlbFlushes?: number;
  /** Pages the sample covered this tick; 0 = none (it saw nothing, so says nothing). */
  sampledPages?: number;
  /**
   * CPU time the target's threads ran in the tick, ms (overhead.ts TargetCpuClock); omitted or
   * null: unknown, the wall time `elapsedMs` is the denominator instead.
   */
  targetCpuMs?: number | null;
  /**
   * Factor on the calibrated cost per fault this tick (overhead.ts contentionFactor: the
   * target's wait for a CPU makes its faults dearer); omitted: 1.
   */
  costFactor?: number;
  /**
   * The share of its runnable time the target waited for a CPU in the tick (overhead.ts
   * contentionShare); omitted: 0. At CONTENDED_SHARE or more the estimate's stated high end
   * (`highPct`) is held under the bound as well (next()).
   */
  waitShare?: number;
  /**
   * The high end of the range the tick's estimate states, percent of the target's CPU time
   * (overhead.ts estimateOverhead highPct: the faults and flushes at the dear end of their cost,
   * with each flush's TLB refill, and our own competing time); omitted: not held.
   */
  highPct?: number;
  /**
   * pagescope's own CPU time in the tick that was taken from the target, ms (overhead.ts
   * competingOwnMs); omitted: 0. It does not shrink with the sample (a tick costs about the same
   * whatever it finds), but with the interval: see next().
   */
  ownMs?: number;
  /**
   * The high end of `ownMs`: all of our CPU time in the tick that competed with the target
   * (overhead.ts competingOwnMs without the machine's share: up to its run-queue wait), as the
   * estimate's stated high end counts it; omitted: `ownMs`. A contended tick (`waitShare`) holds
   * it in place of `ownMs` (next()).
   */
  ownHighMs?: number;
  /**
   * Whether `ownMs` holds a whole tick of ours; omitted: it does. Not at a watch's first tick:
   * the watching thread's part of a tick is counted at the next one, so the first tick's figure
   * holds none, and says nothing of the room our own work leaves: no widening on it (next()).
   */
  ownMeasured?: boolean;
  /**
   * Pages the sample at twice the fraction would add (the driver counts them: sampledPages):
   * the worst case of widening, every one of them faulting each tick. Omitted: not checked.
   */
  widerPages?: () => number;
}

/** The largest power of two (1, 1/2, 1/4, ...) at or under `f`, never below the minimum. */
export function powerOfTwoAtMost(f: number): number {
  if (!(f < 1)) return 1;
  if (!(f > MIN_SAMPLE_FRACTION)) return MIN_SAMPLE_FRACTION;
  return Math.max(MIN_SAMPLE_FRACTION, 2 ** Math.floor(Math.log2(f)));
}

export class OverheadBudget {
  /** The smallest fraction whose sample is not empty (see next); starts at the minimum. */
  private floor = MIN_SAMPLE_FRACTION;
  /** What the estimate is held under: the budget less room for the estimate's error. */
  private readonly aimPct: number;
  /** The smallest fraction found over the budget lately: not widened into (see top). */
  private ceiling = Infinity;
  /** Ticks within the budget since the ceiling was set. */
  private calm = 0;

  constructor(
    /** The budget, percent of the target's time (0 < maxPct <= 100). */
    readonly maxPct: number,
    /** Calibrated cost of one write-protect fault, microseconds (overhead.ts). */
    readonly usPerFault: number,
    /** Room for the estimate's error (1 = none: the estimate itself is held under maxPct). */
    estimateError = ESTIMATE_ERROR,
  ) {
    this.aimPct = maxPct / estimateError;
  }

  /** All of the target's time allowed (maxPct >= NO_BOUND_PCT): the watch stays exact. */
  get unbounded(): boolean {
    return this.maxPct >= NO_BOUND_PCT;
  }

  /**
   * The choice for the first tick of a watch of `watchedPages` pages at `intervalMs` (slow
   * start): the largest power-of-two fraction whose sample, every page of it faulting once,
   * costs at most one interval's budget (less its error) of the target's CPU, so a burst of
   * writes right after the arm, which pays for the whole sample at once however long the
   * interval, is bounded from its first interval on; at least MIN_SAMPLE_FRACTION, and where
   * even that sample could cost more, the interval stretched x2 until it fits (at most
   * MAX_STRETCH). `sampledPagesAt(f)`: the pages the sample at fraction f really covers (whole
   * units: in a small watch more or fewer than f x watchedPages), alone or with the 2 MiB
   * blocks they lie in; default f x watchedPages. Each of those blocks, once written, is one
   * TLB flush of the target when the first tick re-protects it: FLUSH_COST faults' worth, as
   * next() counts it (unknown blocks: one per sample unit, the worst case, since below 1/32
   * the units are spread one to a block).
   * `cpuShare`: the share of a CPU the target ran at just before (the driver measures it from
   * its construction to the arm; default 1): the budget is a share of ITS CPU time, so a target
   * that gets a third of a CPU on a busy machine allows a third of the faults (redis at load
   * ~18: first ticks at 12-20% when a whole CPU was assumed). Taken as at least
   * START_MIN_SHARE: an idle target's share before the arm says nothing of its next burst.
   * `ownTickMs`: the CPU time one of our ticks is expected to take (the driver's OWN_TICK_MS, or
   * what its ticks took so far); the interval is stretched until the target's share of it is
   * within OWN_SHARE of one interval's budget, as next() holds it afterwards.
   * `high`: given where the machine had no idle CPU at the arm (a burst will wait for a CPU):
   * the sample is sized by what its pages and blocks cost at the high end the estimate states,
   * held under the bound itself (not less the figure's error), and our tick counts whole, not
   * the target's share of it, as a contended tick is held afterwards (next()). Beside
   * `stress-ng --cpu 2` a 0.5 s redis burst right after arming paid its whole first sample,
   * 2,040 faults at 1/32, +5.2 +/- 1.3% of its CPU per request against 1.5% estimated (bench
   * 11e).
   */
  start(
    watchedPages: number,
    intervalMs: number,
    sampledPagesAt: (fraction: number) => number | SampleSize = (f) => f * watchedPages,
    cpuShare = 1,
    ownTickMs = 0,
    high: StartHighCost | null = null,
  ): BudgetChoice {
    if (this.unbounded) return { fraction: 1, stretch: 1 };
    const perFaultUs = high ? high.usPerFault : this.usPerFault;
    const perBlockUs = high ? high.usPerBlock : FLUSH_COST * this.usPerFault;
    const perRefillUs = high ? high.usPerRefill : TLB_REFILL_US;
    const worstMs = (pages: number, blocks = 0): number =>
      (Math.max(0, pages) * perFaultUs + Math.max(0, blocks) * perBlockUs) / 1000;
    // Every page of the sample faulting once, and every block of it flushed once.
    const sampleWorstMs = (f: number): number => {
      const s = sampledPagesAt(f);
      const pages = typeof s === 'number' ? s : s.pages;
      const blocks =
        typeof s === 'number' ? Math.ceil(Math.max(0, pages) / sampleUnitPages(f)) : s.blocks;
      // Units of whole blocks are re-protected block by block, each flush over the x86 ceiling:
      // one TLB refill a tick (TLB_REFILL_US); 64 KiB units are flushed page by page.
      const refillMs = blocks > 0 && sampleUnitPages(f) > FINE_UNIT_PAGES ? perRefillUs / 1000 : 0;
      return worstMs(pages, blocks) + refillMs;
    };
    const share = Math.min(1, Math.max(START_MIN_SHARE, Number.isFinite(cpuShare) ? cpuShare : 1));
    const allowedMs = (Math.max(0, intervalMs) * (high ? this.maxPct : this.aimPct) * share) / 100;
    // Our own tick within its share of the budget (next(): OWN_SHARE), from the first tick on:
    // of `ownTickMs` of our CPU the target loses its share (overhead.ts competingOwnMs: the
    // scheduler takes our time from all that runs, by the CPU each gets).
    const ownTakenMs = Math.max(0, ownTickMs) * (high ? 1 : share);
    let stretch = 1;
    while (stretch < MAX_STRETCH && ownTakenMs > allowedMs * stretch * OWN_SHARE) stretch *= 2;
    // The faults' room per interval as set, at a stretch of k: the budget less our own tick, at
    // least 1 - OWN_SHARE of it (next()'s rule), so faults and tick together fit the budget.
    const roomMs = (k: number): number =>
      Math.max(allowedMs * (1 - OWN_SHARE), allowedMs - ownTakenMs / k);
    const faultsMs = roomMs(stretch);
    const all = worstMs(watchedPages);
    let fraction = Math.max(this.floor, all > 0 ? powerOfTwoAtMost(faultsMs / all) : 1);
    // A tick's TLB refill (TLB_REFILL_US) is paid once a tick however little the target ran,
    // and the figure divides it by the CPU floor (cpuFloorMs: 5 ms) where the target barely
    // ran: where that alone would be over the aim (a bound under 2.5%: 100 us is 2% of 5 ms),
    // the sample keeps units that are flushed page by page (FINE_UNIT_PAGES, under the x86
    // ceiling of 33): no whole-TLB flush, no refill. A writer that ran 0.5 ms of CPU a 500 ms
    // tick, sampled at 1/32, read 2.09-2.19% under the default 2% bound (exporter test).
    if (TLB_REFILL_US / 1000 > (cpuFloorMs(intervalMs) * this.aimPct) / 100)
      fraction = Math.max(this.floor, Math.min(fraction, FINE_BELOW / 2));
    // The real sample (whole units) may cover more than its share of a small watch, and its
    // blocks' flushes come on top: smaller until it fits.
    let sampledMs = sampleWorstMs(fraction);
    while (fraction > this.floor && sampledMs > faultsMs) {
      fraction /= 2;
      sampledMs = sampleWorstMs(fraction);
    }
    while (stretch < MAX_STRETCH && sampledMs > roomMs(stretch) * stretch) stretch *= 2;
    return { fraction, stretch };
  }

  /** The sample fraction and stretch for the next tick, given the current ones and this tick's load. */
  next(current: BudgetChoice, load: TickLoad): BudgetChoice {
    if (this.unbounded) return { fraction: 1, stretch: 1 };
    const { stretch } = current;
    // The target's own CPU time in the tick when known (floored: a tick in which it barely ran
    // says little), else the tick's wall time.
    const cpu = load.targetCpuMs;
    const denominatorMs =
      cpu !== undefined && cpu !== null && cpu >= 0
        ? Math.max(cpu, cpuFloorMs(load.elapsedMs))
        : load.elapsedMs;
    const basePerFault = this.usPerFault * (load.costFactor ?? 1);
    const pctAt = (us: number, pages: number): number =>
      denominatorMs > 0 ? (Math.max(0, pages) * us) / (denominatorMs * 10) : Infinity;
    // pagescope's own work that competed with the target (TickLoad.ownMs): a cost per tick, so a
    // longer interval, not a smaller sample, is what lowers it. While it takes more than
    // OWN_SHARE of the budget the interval is doubled (the faults' decision below still applies
    // to the sample); the faults are held under what it leaves, and never under 1 - OWN_SHARE of
    // the budget (else a costly tick would drive the sample to its minimum while the stretch
    // alone can fix it). Giving the interval back doubles it too: counted in each halving below.
    const ownSharePct =
      load.ownMs !== undefined && load.ownMs > 0 && denominatorMs > 0
        ? (100 * load.ownMs) / denominatorMs
        : 0;
    // A contended tick holds our own part's high end (TickLoad.ownHighMs): beside a CPU hog the
    // target lost more than its share of our CPU time (CONTENDED_SHARE).
    const ownHighPct =
      this.contended(load) &&
      load.ownHighMs !== undefined &&
      load.ownHighMs > 0 &&
      denominatorMs > 0
        ? (100 * load.ownHighMs) / denominatorMs
        : 0;
    const ownPct = Math.max(ownSharePct, ownHighPct);
    const aimPct = Math.max(this.aimPct * (1 - OWN_SHARE), this.aimPct - ownPct);
    // A tick's TLB refill after whole-TLB flushes (TLB_REFILL_US, once a tick): its own term,
    // not scaled by the cost per fault, as the estimate counts it; on a contended tick held at
    // the high end's (TLB_REFILL_HIGH_US), over the bound less our own part, as the faults are
    // (highScale). What one refill would be judged at, whether or not this tick paid one (a
    // wider sample's may: nextForFaults).
    const holdsHigh = this.holdsHigh(load);
    const room = Math.max(this.maxPct * (1 - OWN_SHARE), this.maxPct - ownPct);
    const refillPct = Math.max(
      pctAt(TLB_REFILL_US, 1),
      holdsHigh ? (pctAt(TLB_REFILL_HIGH_US, 1) * aimPct) / room : 0,
    );
    const usPerFault =
      basePerFault *
      this.highScale(
        load,
        pctAt(basePerFault, 1),
        ownSharePct,
        ownPct,
        aimPct,
        room,
        denominatorMs,
      );
    const pct = (pages: number): number => pctAt(usPerFault, pages);
    const chosen = this.nextForFaults(current, load, pct, aimPct, ownPct, refillPct);
    if (ownPct > this.aimPct * OWN_SHARE && chosen.stretch <= stretch && stretch < MAX_STRETCH)
      return { fraction: chosen.fraction, stretch: Math.min(MAX_STRETCH, stretch * 2) };
    return chosen;
  }

  /**
   * A contended tick (TickLoad.waitShare at CONTENDED_SHARE or more): the factor by which the
   * cost per fault next() judges by is raised so that holding the figure under `aimPct` holds
   * the estimate's stated high end (TickLoad.highPct) under the bound: the high end of the
   * tick's own faults and flushes (highPct less our own part at the high end it states,
   * `ownPct`: all of our competing CPU time, TickLoad.ownHighMs, or its share where not given;
   * and less the tick's TLB refill at its high end, which next() judges apart) over their
   * figure (`pctPerPage` x the pages paid) is how much dearer they may be than judged; with
   * the bound less our own part (at least 1 - OWN_SHARE of it, `room`) as the room for them.
   * 1 (judged by the figure) when the tick was not contended, the high end is not given, the
   * tick paid nothing, or the target barely ran (its high end is then not divided by a floored
   * CPU time and says nothing; next() does not widen on it either).
   */
  private highScale(
    load: TickLoad,
    pctPerPage: number,
    ownSharePct: number,
    ownPct: number,
    aimPct: number,
    room: number,
    denominatorMs: number,
  ): number {
    if (!this.holdsHigh(load)) return 1;
    const flushes = FLUSH_COST * Math.max(0, load.flushedBlocks ?? 0);
    const paid = (load.faultedPages ?? 0) + (load.faultedPages ? flushes : 0);
    const figure = pctPerPage * paid;
    if (!(figure > 0)) return 1;
    // The stated high end holds our own part at its high end (overhead.ts ownHighMs), or at
    // the share where the tick did not say, and the tick's TLB refill at its high end
    // (TLB_REFILL_HIGH_US, next() judges it apart): what is left is the faults' and flushes'.
    const statedOwnPct = load.ownHighMs !== undefined ? ownPct : ownSharePct;
    const refillHighPct =
      (load.wholeTlbFlushes ?? 0) > 0 && denominatorMs > 0
        ? TLB_REFILL_HIGH_US / (denominatorMs * 10)
        : 0;
    const highFaults = Math.max(0, load.highPct! - statedOwnPct - refillHighPct);
    return Math.max(1, (highFaults / figure) * (aimPct / room));
  }

  /** Whether next() holds the tick's stated high end (contended, and the high end given). */
  private holdsHigh(load: TickLoad): boolean {
    const high = load.highPct;
    return high !== undefined && Number.isFinite(high) && this.contended(load);
  }

  /**
   * Whether a tick was contended (its wait share at CONTENDED_SHARE or more) with the target
   * running enough to judge by (not under the CPU floor).
   */
  private contended(load: TickLoad): boolean {
    if (!((load.waitShare ?? 0) >= CONTENDED_SHARE)) return false;
    const cpu = load.targetCpuMs;
    return !(cpu !== undefined && cpu !== null && cpu < cpuFloorMs(load.elapsedMs));
  }

  /**
   * Whether our own work (`ownPct` of the budget's measure) would still be within its share at
   * half the interval, with the margin: else giving the interval back would only have it
   * lengthened again next tick.
   */
  private ownFitsHalved(ownPct: number): boolean {
    return ownPct * 2 * WIDEN_MARGIN <= this.aimPct * OWN_SHARE;
  }

  /** next() for the faults, held under `aimPct` (the budget less our own work, `ownPct`). */
  private nextForFaults(
    current: BudgetChoice,
    load: TickLoad,
    pct: (pages: number) => number,
    aimPct: number,
    ownPct: number,
    refillPct: number,
  ): BudgetChoice {
    const { fraction, stretch } = current;
    const cpu = load.targetCpuMs;
    // Growth only where the worst case surely fits: a sample that saw no writes (or few) says
    // little about the pages a wider one would add (redis, 1M keys: 1/64 saw none, and the
    // x2 a tick that followed reached hot blocks at 1/8 within half a second: 20% of its CPU).
    // What the tick cost, in faults: its own faults and the flushes of their re-protect
    // (overhead.ts FLUSH_COST: a sparse sample pays about one per fault).
    const flushes = FLUSH_COST * Math.max(0, load.flushedBlocks ?? 0);
    const paidPages = (load.faultedPages ?? load.writtenPagesAtFull * fraction) + flushes;
    // A whole-TLB flush: one refill a tick (`refillPct`, next()). A sample of whole-block units
    // may pay it whenever it faults (each block re-protected from its first written page on,
    // over the x86 ceiling: overhead.ts reprotectFlushes); one of 64 KiB units is flushed page
    // by page.
    const tickRefillPct = (load.wholeTlbFlushes ?? 0) > 0 ? refillPct : 0;
    const refillAt = (f: number): number =>
      sampleUnitPages(Math.min(1, f)) > FINE_UNIT_PAGES ? refillPct : tickRefillPct;
    const paidPct = pct(paidPages) + tickRefillPct;
    const widerRefillPct = refillAt(fraction * 2);
    const widenFits = (): boolean =>
      load.widerPages === undefined
        ? widerRefillPct === 0 || (paidPct + widerRefillPct) * WIDEN_MARGIN <= aimPct
        : (pct(paidPages + load.widerPages()) + widerRefillPct) * WIDEN_MARGIN <= aimPct;
    // A sample that sees nothing is blind (redis's 1/64 held only cold blocks): it grows
    // anyway, trading the interval for coverage: at the least stretch at which the wider
    // sample's worst case fits (the target's CPU time taken to grow with the tick); not at all
    // where even the longest interval could not hold it.
    const growBlind = (): BudgetChoice => {
      const wider = Math.min(1, fraction * 2);
      if (load.widerPages === undefined) return current;
      const worst = (pct(paidPages + load.widerPages()) + widerRefillPct) * WIDEN_MARGIN;
      let k = stretch;
      while (k < MAX_STRETCH && (worst * stretch) / k > aimPct) k *= 2;
      return (worst * stretch) / k <= aimPct ? { fraction: wider, stretch: k } : current;
    };
    // A sample that covered no page (a small watch, a small fraction) saw nothing
    // at all: twice the fraction becomes the floor, so the sample is never empty again and the
    // budget is kept by the interval instead.
    // A tick in which the target barely ran says nothing about what it costs when it runs:
    // no widening on it (else a sleeping target would be widened to exact, and its next burst
    // would start unbounded; an empty sample grown on it was stretched x32, its worst case
    // divided by the floor: redis armed 1 s before a 10 s run saw nothing in the whole run);
    // stepping down still applies.
    const barelyRan = cpu !== undefined && cpu !== null && cpu < cpuFloorMs(load.elapsedMs);
    // Nor on a tick whose own cost is not known yet (TickLoad.ownMeasured: a watch's first): the
    // sample widened there is re-protected in that tick, whose own CPU time, the first tick's
    // code run cold as well, comes on top in the next one (redis beside a CPU hog, widened
    // 1/64 -> 1/32 at its first tick: 4.8-5.6% at the second, 3.5-4.2% of it ours).
    const mayGrow = !barelyRan && load.ownMeasured !== false;
    if (load.sampledPages === 0 && fraction < 1) {
      if (!mayGrow) return current;
      // Not into pages whose worst case would not fit (a hot 2 MiB block entering at 1/32):
      // then at the interval at which it does, as a blind sample grows below.
      const grown = widenFits() ? { fraction: fraction * 2, stretch } : growBlind();
      if (grown.fraction > fraction) this.floor = Math.min(1, Math.max(this.floor, grown.fraction));
      return grown;
    }
    const exactPct = pct(load.writtenPagesAtFull);
    if (!mayGrow && paidPct <= aimPct) return current;
    if (exactPct === 0) {
      if (stretch > 1) {
        // Half the interval: the sample's pages may all fault twice as often.
        const worst = load.sampledPages === undefined ? 0 : pct(load.sampledPages);
        return (worst + ownPct) * 2 * WIDEN_MARGIN <= this.aimPct && this.ownFitsHalved(ownPct)
          ? { fraction, stretch: stretch / 2 }
          : current;
      }
      if (++this.calm >= HOLD_TICKS) this.ceiling = Infinity;
      const wider = fraction < 1 ? Math.min(1, fraction * 2) : 1;
      if (wider === fraction || wider >= this.ceiling) return current;
      if (widenFits()) return { fraction: wider, stretch };
      return growBlind();
    }
    // What this tick cost: its own faults (2 MiB blocks make the share sampled differ from the
    // fraction asked in a small watch), else the fraction's share of the exact cost.
    const nowPct = paidPct;
    const fits = aimPct / exactPct;
    if (nowPct > aimPct) {
      // Down to where this tick's own faults would have fitted, at least one step (the sampled
      // share may exceed the fraction; see above). Not by the extrapolation: at a small sample
      // it is noisy, and one high reading would drop the sample further than the cost paid says.
      const byOwn = nowPct > 0 ? (fraction * aimPct) / nowPct : fits;
      const target = Math.max(this.floor, powerOfTwoAtMost(Math.min(byOwn, fraction / 2)));
      if (target < fraction) {
        this.ceiling = Math.min(this.ceiling, fraction);
        this.calm = 0;
        return { fraction: target, stretch };
      }
      // At the smallest sample and still over: a longer interval.
      return { fraction, stretch: Math.min(MAX_STRETCH, stretch * 2) };
    }
    if (++this.calm >= HOLD_TICKS) this.ceiling = Infinity;
    // Room to spare. Half the interval may cost up to twice as much (a writer that rewrites its
    // pages faults once per tick whatever the tick's length).
    if (stretch > 1) {
      if ((nowPct + ownPct) * 2 * WIDEN_MARGIN <= this.aimPct && this.ownFitsHalved(ownPct))
        return { fraction, stretch: stretch / 2 };
      return current;
    }
    if (
      fraction < 1 &&
      fits >= fraction * 2 * WIDEN_MARGIN &&
      fraction * 2 < this.ceiling &&
      widenFits()
    )
      return { fraction: fraction * 2, stretch };
    return current;
  }
}
