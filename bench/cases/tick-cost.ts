/**
 * Case 11i (issue 22): is there a cost of being watched beyond the faults and the flushes, one
 * paid per tick? Bench 11's bounded redis rows read 6 +/- 2% more CPU per request watched while
 * its faults and flushes made 1-2%; redis's own noise (+/-4-6% over 16 rounds) could not tell.
 *
 * A C loop (bench/c/spin.c) does fixed units of work and reports its own CPU time per unit, so
 * the machine's load does not enter the figure the way it enters a throughput. Each round runs,
 * in a rotating order, the same spin (RUN_MS of wall time) under these arms:
 *   plain, plain2  nothing armed (two, so their ratio is the noise floor: A/A)
 *   armed          the written mapping W registered at a sparse sample, never ticked (the
 *                  userfaultfd registration alone)
 *   quiet100       a mapping Q of the same size, never written, watched exactly at 100 ms: every
 *                  tick scans and re-protects nothing (our wake-up and PAGEMAP_SCAN, no fault,
 *                  no flush)
 *   sparse100/400  W watched at SPARSE (a few 64 KiB units of it) at 100 / 400 ms: a few faults
 *                  and flushes per tick, as under --max-overhead
 * Per round an arm's figure is its CPU per unit against the mean of the round's two plain runs
 * (plain2's against plain's: the noise floor); the mean and
 * standard error over the rounds say whether it is above the A/A noise. The excess beyond what
 * overhead.ts models (faults + FLUSH_COST x flushed blocks, x the calibrated fault cost) is also
 * given per tick, which is what the model would need were it real. Three loads: pure arithmetic
 * ("alu"), arithmetic plus reads of a 4 MiB set the TLB holds ("tlb": a flush of the target's
 * TLB is paid in page walks there), and plus reads all over W ("mem": a working set neither the
 * TLB nor the caches hold, as redis's 1M keys).
 */
import { probeCapabilities } from '../../core/kernel/capabilities.ts';
import { RegionList } from '../../core/scan/region-list.ts';
import { sampleSize } from '../../core/watch/driver.ts';
import { faultCost, FLUSH_COST, reprotectFlushes } from '../../core/watch/overhead.ts';
import { WriteWatcher } from '../../core/watch/watcher.ts';
import { meanAndError } from '../lib/ab-rounds.ts';
import { LineProcess } from '../lib/native.ts';
import { infoGoal, makeCase, skippedCase, type CaseResult } from '../lib/stats.ts';
import type { BenchContext } from './context.ts';

export const TICK_COST_NAME =
  '11i per-tick cost: a C loop CPU per unit of work, watched sparsely at 100/400 ms vs unwatched';

const MIB = 64;
/**
 * The sparse sample: the smallest fraction from 1/1024 up whose sample of W holds at least
 * SPARSE_PAGES pages (the units are picked by a hash of their address: 1/1024 of 64 MiB may
 * hold none), a few 64 KiB units each in a 2 MiB block of its own, as under --max-overhead.
 */
const SPARSE_PAGES = 48;
/** A write every EVERY units (~2.6 us each): a few faults per tick in the sparse sample. */
const EVERY = 8;
/** Reads per unit and the pages they range over (W's first 4 MiB, or all of it). */
const MODES = {
  alu: { reads: 0, span: 1024 },
  tlb: { reads: 16, span: 1024 },
  mem: { reads: 16, span: MIB * 256 },
} as const;
type Mode = keyof typeof MODES;
const ARMS = ['plain', 'plain2', 'armed', 'quiet100', 'sparse100', 'sparse400'] as const;
type Arm = (typeof ARMS)[number];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Spin {
  proc: LineProcess;
  pid: number;
  w: { startPage: number; endPage: number };
  q: { startPage: number; endPage: number };
}

async function startSpin(bin: string): Promise<Spin> {
  const proc = new LineProcess(bin, [String(MIB)]);
  const r = (await proc.line()).split(' ');
  if (r[0] !== 'ready') throw new Error(`spin said "${r.join(' ')}" instead of ready`);
  const page = (hex: string) => Number(BigInt(`0x${hex}`) >> 12n);
  return {
    proc,
    pid: Number(r[5]),
    w: { startPage: page(r[1]), endPage: page(r[2]) },
    q: { startPage: page(r[3]), endPage: page(r[4]) },
  };
}

export interface ArmRun {
  units: number;
  cpuMs: number;
  wallMs: number;
  preempted: number;
  ticks: number;
  faults: number;
  flushes: number;
  /** Our own time in tick(), ms per tick. */
  ourTickMs: number;
}

async function runArm(
  s: Spin,
  w: WriteWatcher,
  arm: Arm,
  mode: Mode,
  ms: number,
  sparse: number,
): Promise<ArmRun> {
  const out = new RegionList(4096);
  const interval = arm === 'quiet100' || arm === 'sparse100' ? 100 : arm === 'sparse400' ? 400 : 0;
  if (arm !== 'plain' && arm !== 'plain2') {
    w.setSampleFraction(arm === 'quiet100' ? 1 : sparse);
    w.arm([arm === 'quiet100' ? s.q : s.w]);
    w.tick(out); // starts clean: whatever the arm left marked
  }
  s.proc.send(`s ${ms} ${MODES[mode].reads} ${EVERY} ${MODES[mode].span}`);
  const answer = s.proc.line();
  let done = false;
  void answer.finally(() => (done = true)).catch(() => {});
  let ticks = 0;
  let faults = 0;
  let flushes = 0;
  let ourMs = 0;
  let next = performance.now() + interval;
  while (!done) {
    await sleep(interval ? Math.max(0, Math.min(20, next - performance.now())) : 20);
    if (done || !interval || performance.now() < next) continue;
    const t0 = performance.now();
    const tick = w.tick(out);
    ourMs += performance.now() - t0;
    ticks++;
    faults += tick.faultedPages;
    if (tick.faultedPages > 0) flushes += reprotectFlushes(out).blocks;
    next = t0 + interval;
  }
  const [ok, units, cpuNs, wallNs, sw] = (await answer).split(' ');
  if (ok !== 'ok') throw new Error(`spin answered "${ok}"`);
  if (arm !== 'plain' && arm !== 'plain2') {
    // The faults since the last tick (or, never ticked, since the arm) were paid in the run
    // too; their re-protect's flush comes after it.
    faults += w.tick(out).faultedPages;
    w.disarm();
  }
  return {
    units: Number(units),
    cpuMs: Number(cpuNs) / 1e6,
    wallMs: Number(wallNs) / 1e6,
    preempted: Number(sw),
    ticks,
    faults,
    flushes,
    ourTickMs: ticks ? ourMs / ticks : 0,
  };
}

export interface ArmSummary {
  arm: Arm;
  /** CPU per unit against plain's in the same round, % more (mean +/- standard error). */
  cpuAddedPct: { mean: number; se: number };
  /** The share of its CPU overhead.ts models: (faults + flushes) x calibrated cost, %. */
  modelledPct: number;
  /** The excess beyond the model, us of the target's CPU per tick (mean +/- se). */
  excessUsPerTick: { mean: number; se: number } | null;
  ticksPerRun: number;
  faultsPerTick: number;
  flushesPerTick: number;
  ourTickMs: number;
  cpuShare: number;
}

/** Round by round against the same round's plain run (pure: the unit test's). */
export function summarizeArms(
  rounds: ReadonlyArray<Record<Arm, ArmRun>>,
  usPerFault: number,
): ArmSummary[] {
  const per = (r: ArmRun) => r.cpuMs / r.units;
  return ARMS.filter((a) => a !== 'plain').map((arm) => {
    const runs = rounds.map((r) => r[arm]);
    // Against both unwatched runs of the round (plain2 against plain alone: the A/A floor), so
    // one slow plain run does not move every arm of its round alike.
    const base = (r: Record<Arm, ArmRun>) =>
      arm === 'plain2' ? per(r.plain) : (per(r.plain) + per(r.plain2)) / 2;
    const added = rounds.map((r) => (per(r[arm]) / base(r) - 1) * 100);
    const modelledMs = (r: ArmRun) => ((r.faults + FLUSH_COST * r.flushes) * usPerFault) / 1000;
    const sum = (f: (r: ArmRun) => number) => runs.reduce((n, r) => n + f(r), 0);
    const ticks = sum((r) => r.ticks);
    const excess = rounds.map((r) => {
      const x = r[arm];
      const extraMs = x.cpuMs - x.units * base(r) - modelledMs(x);
      return x.ticks ? (extraMs * 1000) / x.ticks : NaN;
    });
    return {
      arm,
      cpuAddedPct: meanAndError(added),
      modelledPct: (sum(modelledMs) / sum((r) => r.cpuMs)) * 100,
      excessUsPerTick: ticks ? meanAndError(excess) : null,
      ticksPerRun: ticks / runs.length,
      faultsPerTick: ticks ? sum((r) => r.faults) / ticks : 0,
      flushesPerTick: ticks ? sum((r) => r.flushes) / ticks : 0,
      ourTickMs: ticks ? sum((r) => r.ourTickMs * r.ticks) / ticks : 0,
      cpuShare: sum((r) => r.cpuMs) / sum((r) => r.wallMs),
    };
  });
}

const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);

function noteOf(mode: Mode, s: ArmSummary[], rounds: number, usPerFault: number): string {
  const parts = s.map((a) => {
    const base = `${a.arm} ${a.cpuAddedPct.mean >= 0 ? '+' : ''}${f2(a.cpuAddedPct.mean)} +/- ${f2(a.cpuAddedPct.se)}%`;
    if (!a.ticksPerRun)
      return a.modelledPct > 0 ? `${base} (modelled ${f2(a.modelledPct)}%)` : base;
    const ex = a.excessUsPerTick;
    return (
      `${base} (${f1(a.faultsPerTick)} faults + ${f1(a.flushesPerTick)} flushes a tick, modelled ` +
      `${f2(a.modelledPct)}%; beyond the model ${ex ? `${f1(ex.mean)} +/- ${f1(ex.se)}` : 'n/a'} us a tick; ` +
      `our tick ${f2(a.ourTickMs)} ms)`
    );
  });
  return (
    `${mode}, ${rounds} rounds, CPU per unit vs the round's plain runs (mean +/- se): ` +
    `${parts.join('; ')}; calibrated ${f1(usPerFault)} us a fault; the spin had ` +
    `${f2(s[0].cpuShare)} of a CPU`
  );
}

export async function tickCostCases(ctx: BenchContext): Promise<CaseResult[]> {
  const goal = infoGoal('info: CPU per unit watched / unwatched; the excess beyond the model');
  const built = ctx.built;
  if (!built.ok) return [skippedCase(TICK_COST_NAME, goal, built.reason)];
  const caps = probeCapabilities();
  if (!caps.uffdWpAsync || !caps.pagemapScan)
    return [
      skippedCase(
        TICK_COST_NAME,
        goal,
        `write watching unavailable: ${caps.uffdProblem ?? 'no PAGEMAP_SCAN'}`,
      ),
    ];
  const roundsN = ctx.quick ? 2 : Number(process.env.PAGESCOPE_TICK_COST_ROUNDS ?? 16);
  const ms = ctx.quick ? 500 : Number(process.env.PAGESCOPE_TICK_COST_MS ?? 1500);
  const usPerFault = faultCost().usPerFault;
  const s = await startSpin(built.bin.spin);
  let w: WriteWatcher | null = null;
  const notes: string[] = [];
  const results: Record<string, ArmSummary[]> = {};
  const raw: Record<string, Array<Record<Arm, ArmRun>>> = {};
  try {
    w = WriteWatcher.attach(s.pid);
    let sparse = 1 / 1024;
    while (sparse < 1 && sampleSize([s.w], sparse).pages < SPARSE_PAGES) sparse *= 2;
    const size = sampleSize([s.w], sparse);
    notes.push(
      `sparse sample 1/${Math.round(1 / sparse)} of ${MIB} MiB: ${size.pages} pages in ${size.blocks} blocks`,
    );
    const modes = (process.env.PAGESCOPE_TICK_COST_MODES?.split(',') ?? Object.keys(MODES)).filter(
      (m): m is Mode => m in MODES,
    );
    for (const mode of modes) {
      const rounds: Array<Record<Arm, ArmRun>> = [];
      for (let i = 0; i < roundsN; i++) {
        const round = {} as Record<Arm, ArmRun>;
        for (let k = 0; k < ARMS.length; k++) {
          const arm = ARMS[(k + i) % ARMS.length];
          round[arm] = await runArm(s, w, arm, mode, ms, sparse);
        }
        rounds.push(round);
        ctx.log(`  11i ${mode} round ${i + 1}/${roundsN}`);
      }
      results[mode] = summarizeArms(rounds, usPerFault);
      raw[mode] = rounds;
      notes.push(noteOf(mode, results[mode], roundsN, usPerFault));
    }
  } finally {
    w?.close();
    await s.proc.stop();
  }
  const sparse = (results.tlb ?? Object.values(results)[0])?.find((a) => a.arm === 'sparse100');
  return [
    makeCase(TICK_COST_NAME, sparse ? 100 + sparse.cpuAddedPct.mean : null, 100, goal, {
      note: notes.join(' | '),
      arms: results,
      rounds: raw,
    }),
  ];
}
