/**
 * `pagescope watch`: which pages a process writes, tick by tick.
 *
 *   pagescope watch --pid P (--range 0xS-0xE | --vma NAME_OR_INDEX | --writable) [--interval MS]
 *                   [--ticks N] [--json [--all-ranges]] [--max-overhead PCT] [--force]
 *                   [--who [--who-period N]]
 *   pagescope watch [options] -- COMMAND ARGS...
 *
 * The watch itself is core/watch/driver.ts (the same driver as the UI's sessions): ticks on a
 * fixed grid, a late tick says how late it was and how many grid points it skipped.
 * Human output: one line per tick with the written page count and the busiest VMAs, and
 * "(late N ms, K ticks skipped)" when the tick was late. --json: a `{"start": true, pid, watching,
 * pieces, pages, pendingPages, samplePages, sampleFraction, granularityPages, intervalMs,
 * firstIntervalMs, maxOverheadPct, armMs}` line once watching has started (armed, before the
 * first tick: where the human output says "watching PID: ..."; armMs times all of the driver's
 * arm: the maps read, the budget's start, the one-time warm-up of the tick's code, registering
 * and write-protecting), then one object per line per tick, written as it happens ({tick, t,
 * lagMs, skipped, writtenPages, pendingPages, exact, sampleFraction, writtenEst, writtenErr,
 * estOverheadPct, estOwnPct, ownCpuMs, estOverheadLowPct, estOverheadHighPct, targetCpuMs,
 * estLowConfidence, intervalMs, written, moreRanges}: at most JSON_RANGE_CAP written ranges,
 * `moreRanges` counts the rest, --all-ranges prints all), and a last `{"done": true, ...}` line.
 * The cost of being watched: every tick states the ESTIMATED share of the target's CPU time spent
 * on write faults (estOverheadPct, core/watch/overhead.ts, and the range it may be in,
 * estOverheadLowPct..HighPct; targetCpuMs the CPU time it is a
 * share of, estLowConfidence when that figure is shaky). --max-overhead PCT keeps that
 * estimate under PCT / 1.25 (room for its own error) by watching a sample of the pages (core/watch/overhead-budget.ts), and by a
 * longer interval when the smallest sample is not enough (each tick's intervalMs says); a
 * sampled tick says so (exact: false, the sample fraction) and its writtenEst is an
 * extrapolation, +/- writtenErr pages at about 95% (null: not stated for that tick). Ctrl-C
 * and SIGTERM end the watch cleanly (unregister, close, the target untouched) before exiting.
 * With --vma and --writable the selection follows the process: matching VMAs that appear later
 * are added at the next tick (in launch mode nothing of the program exists yet at attach).
 * --who: each tick also names its top writers (function, thread, share of the write samples;
 * core/who/attribution.ts), from the target's page faults sampled by perf; --who-period N samples
 * one fault in N (pages are then estimates). Where perf is refused, one sentence says so and the
 * watch goes on without writers.
 */
import { PagescopeError } from '../../kernel/errors.ts';
import { PAGE_SIZE } from '../../kernel/pagemap-abi.ts';
import { pageToHex, readMaps, type Vma } from '../../proc/maps.ts';
import { OVERHEAD_IS, overheadText, pctText } from '../../protocol/overhead-text.ts';
import { vmaName, vmaShortName } from '../../protocol/vma-name.ts';
import type { RegionList } from '../../scan/region-list.ts';
import type { PageRange } from '../../scan/scanner.ts';
import { sampledPages, WatchDriver, type WatchFigures } from '../../watch/driver.ts';
import { faultCost } from '../../watch/overhead.ts';
import { launchAndAttach, resolveCommand, whenExited } from '../../watch/launch.ts';
import type { TickTiming } from '../../watch/ticker.ts';
import { WriteWatcher, type VmaWatchState } from '../../watch/watcher.ts';
import { PerfUnavailableError } from '../../kernel/perf-event.ts';
import { WhoAttributor, type WhoTick, type WriterRow } from '../../who/attribution.ts';
import { parseMaxOverhead, parsePid, parseRange } from '../args.ts';
import { isWritableMapping, vmaByName } from '../vma-choice.ts';
import { count, formatBytes } from '../format.ts';
import { out as print } from '../output.ts';
import { onStopSignals } from '../signals.ts';

/** --json prints at most this many written ranges per tick unless --all-ranges. */
export const JSON_RANGE_CAP = 1000;

export interface WatchCommandOptions {
  pid?: string;
  range?: string[];
  vma?: string;
  writable?: boolean;
  interval?: string;
  ticks?: string;
  json?: boolean;
  allRanges?: boolean;
  maxOverhead?: string;
  force?: boolean;
  who?: boolean;
  whoPeriod?: string;
}

/** --json lists at most this many writers per tick (`moreWriters` counts the rest). */
export const JSON_WRITER_CAP = 10;

/** A writer as it reads: "fill_alpha (writer-a 1234) 50%", "*" when its stack was cut. */
export function writerText(w: WriterRow): string {
  const pct = w.share * 100;
  return `${w.fn}${w.partial ? '*' : ''} (${w.thread} ${w.tid}) ${pct < 10 ? pct.toFixed(1) : Math.round(pct)}%`;
}

/** The human line under a tick with --who. */
export function whoLine(t: WhoTick): string {
  const top = t.writers.slice(0, 3).map(writerText).join(', ');
  const more = t.writers.length > 3 ? `, +${t.writers.length - 3} more` : '';
  const est = t.estimated ? ` (sampled 1 in ${t.period}: shares of samples)` : '';
  const notes = [
    t.otherSamples ? `${count(t.otherSamples, 'other fault')}` : '',
    t.lost ? `${count(t.lost, 'sample')} lost (buffer full)` : '',
    t.throttled ? `throttled ${count(t.throttled, 'time')}` : '',
  ].filter(Boolean);
  return (
    `  writers${est}: ${top || 'none sampled'}${more}` +
    (notes.length ? `  [${notes.join(', ')}]` : '') +
    '\n'
  );
}

/** A tick's writers for --json. */
export function whoJson(t: WhoTick): Record<string, unknown> {
  return {
    period: t.period,
    estimated: t.estimated,
    writeSamples: t.writeSamples,
    otherSamples: t.otherSamples,
    faults: t.faults,
    lost: t.lost,
    throttled: t.throttled,
    attributedPages: t.attributedPages,
    costMs: round2(t.costMs),
    writers: t.writers.slice(0, JSON_WRITER_CAP).map((w) => ({
      fn: w.fn,
      module: w.module,
      tid: w.tid,
      thread: w.thread,
      pages: w.pages,
      share: Math.round(w.share * 10000) / 10000,
      partial: w.partial,
    })),
    moreWriters: Math.max(0, t.writers.length - JSON_WRITER_CAP),
  };
}

/** How the written count of a sampled tick reads: "≈ 12,300 ± 800 pages (est., 25% sample)". */
export function writtenText(writtenPages: number, f: WatchFigures): string {
  if (f.sampleFraction === 1)
    return `${count(writtenPages, 'page')} (${formatBytes(writtenPages * PAGE_SIZE)})`;
  const err = f.writtenErr >= 0 ? ` ± ${Math.round(f.writtenErr).toLocaleString('en-US')}` : '';
  const share = `${+(f.sampleFraction * 100).toFixed(1)}% sample`;
  return `≈ ${Math.round(f.writtenEst).toLocaleString('en-US')}${err} pages (est., ${share})`;
}

const round2 = (n: number): number => Math.round(n * 100) / 100;

/** What being watched costs, said once at the start (human output). */
function costLine(maxOverheadPct: number | null): string {
  return (
    `being watched costs the target about ${faultCost().usPerFault.toFixed(2)} us per first write to a page per tick ` +
    `(measured now on this kernel, by CPU time); overhead figures are estimates of the ${OVERHEAD_IS}` +
    (maxOverheadPct !== null
      ? `, kept under ${maxOverheadPct}% by sampling (and a longer interval when the smallest sample is not enough).\n`
      : '.\n')
  );
}

/**
 * "  est. 3.2% (2.1-5.0%) of its CPU on write faults" (an estimate, said as one, the range it
 * may be in, and what it is a share of), "(low confidence)" when it is shaky, or nothing under
 * 0.1%.
 */
export function overheadNote(
  f: Pick<WatchFigures, 'estOverheadPct'> &
    Partial<
      Pick<
        WatchFigures,
        'estLowConfidence' | 'estOverheadLowPct' | 'estOverheadHighPct' | 'estOwnPct'
      >
    >,
): string {
  if (f.estOverheadPct < 0.1) return '';
  const pct = overheadText(f.estOverheadPct, f.estOverheadLowPct ?? -1, f.estOverheadHighPct ?? -1);
  // pagescope's own CPU time that competed with the target (overhead.ts competingOwnMs), said.
  const own =
    (f.estOwnPct ?? 0) >= 0.1
      ? ` and on ours competing with it (${pctText(f.estOwnPct ?? 0)}% ours)`
      : '';
  return `  est. ${pct} of its CPU on write faults${own}${f.estLowConfidence ? ' (low confidence)' : ''}`;
}

/** "  (interval lengthened to 800 ms by --max-overhead)", or nothing at the interval set. */
export function intervalNote(f: Pick<WatchFigures, 'intervalMs'>, setIntervalMs: number): string {
  if (!(f.intervalMs > setIntervalMs)) return '';
  return `  (interval lengthened to ${f.intervalMs} ms by --max-overhead)`;
}

function parsePositive(text: string, what: string, min: number, max: number): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < min || Number(text) > max)
    throw new PagescopeError(
      `${what} must be a whole number from ${min} to ${max}, not "${text}".`,
      'bad-input',
    );
  return Number(text);
}

type Selector = (vmas: Vma[]) => PageRange[];

function selector(options: WatchCommandOptions): {
  select: Selector;
  dynamic: boolean;
  what: string;
} {
  const chosen = [
    options.range?.length ? 1 : 0,
    options.vma !== undefined ? 1 : 0,
    options.writable ? 1 : 0,
  ];
  const count = chosen.reduce((a, b) => a + b, 0);
  if (count > 1)
    throw new PagescopeError('Choose one of --range, --vma and --writable.', 'bad-input');
  if (options.range?.length) {
    const ranges = options.range.map(parseRange);
    return { select: () => ranges, dynamic: false, what: options.range.join(', ') };
  }
  const pages = (v: Vma): PageRange => ({ startPage: v.startPage, endPage: v.endPage });
  if (options.vma !== undefined) {
    const { matches, byIndex } = vmaByName(options.vma);
    return {
      select: (vmas) => vmas.filter(matches).map(pages),
      dynamic: !byIndex,
      what: `VMA ${JSON.stringify(options.vma)}`,
    };
  }
  return {
    select: (vmas) => vmas.filter(isWritableMapping).map(pages),
    dynamic: true,
    what: 'the writable mappings',
  };
}

function overlapsAny(r: PageRange, vmas: Vma[]): boolean {
  return vmas.some((v) => v.startPage < r.endPage && r.startPage < v.endPage);
}

function vmaLabel(v: Vma | undefined, page: number): string {
  if (!v) return `0x${pageToHex(page)}`;
  if (v.path) return vmaShortName(v.path);
  return `anon@0x${v.startHex}`;
}

/** Written regions as [start, end] hex pairs, adjacent ones merged; at most `cap` pairs. */
export function writtenPairs(
  out: RegionList,
  cap: number,
): { written: Array<[string, string]>; moreRanges: number } {
  const written: Array<[string, string]> = [];
  let more = 0;
  let lastEnd = -1;
  for (let i = 0; i < out.length; i++) {
    const s = out.startPage[i];
    const e = out.endPage[i];
    if (s === lastEnd) {
      if (more === 0) written[written.length - 1][1] = '0x' + pageToHex(e);
    } else if (written.length < cap) written.push(['0x' + pageToHex(s), '0x' + pageToHex(e)]);
    else more++;
    lastEnd = e;
  }
  return { written, moreRanges: more };
}

/** Whether a tick is worth calling late in the human output: it skipped, or lagged a quarter. */
export function lateNote(t: Pick<TickTiming, 'lagMs' | 'skipped'>, intervalMs: number): string {
  if (t.skipped === 0 && t.lagMs < Math.max(10, intervalMs / 4)) return '';
  const skipped = t.skipped ? `, ${count(t.skipped, 'tick')} skipped` : '';
  return `  (late ${Math.round(t.lagMs)} ms${skipped})`;
}

export async function watchCommand(
  command: string[],
  options: WatchCommandOptions,
): Promise<number> {
  const launch = command.length > 0;
  if (launch && options.pid !== undefined)
    throw new PagescopeError('Give either --pid or a command after "--", not both.', 'bad-input');
  if (!launch && options.pid === undefined)
    throw new PagescopeError(
      'Say which process to watch: --pid PID, or a command to launch after "--".',
      'bad-input',
    );
  const noSelection = !options.range?.length && options.vma === undefined && !options.writable;
  if (noSelection && !launch)
    throw new PagescopeError(
      'Say what to watch: --range 0xSTART-0xEND, --vma NAME_OR_INDEX or --writable.',
      'bad-input',
    );
  if (options.allRanges && !options.json)
    throw new PagescopeError('--all-ranges goes with --json.', 'bad-input');
  const sel = selector(noSelection ? { ...options, writable: true } : options);
  if (launch) resolveCommand(command[0]);
  const intervalMs = parsePositive(options.interval ?? '500', '--interval (ms)', 10, 3_600_000);
  const maxTicks =
    options.ticks !== undefined ? parsePositive(options.ticks, '--ticks', 1, 1e9) : Infinity;
  const json = options.json === true;
  const rangeCap = options.allRanges ? Infinity : JSON_RANGE_CAP;
  const maxOverheadPct =
    options.maxOverhead !== undefined ? parseMaxOverhead(options.maxOverhead) : null;
  const note = (s: string): void => {
    process.stderr.write(`pagescope: ${s}\n`);
  };
  if (options.whoPeriod !== undefined && !options.who)
    throw new PagescopeError('--who-period goes with --who.', 'bad-input');
  const whoPeriod =
    options.whoPeriod !== undefined
      ? parsePositive(options.whoPeriod, '--who-period', 1, 1_000_000)
      : 1;
  const pidText = options.pid;
  const pidArg = pidText === undefined ? null : parsePid(pidText, { watch: true });

  // Handlers first: a Ctrl-C during the (synchronous, milliseconds long) injection then waits
  // for it to finish instead of killing pagescope with the target's registers not yet restored.
  // The reader of our output going away (`| head -1`) ends it as Ctrl-C does, but exits 0 quietly.
  const stop = onStopSignals({ output: true });

  let driver: WatchDriver;
  try {
    if (launch) {
      const r = launchAndAttach(command, {
        force: options.force,
        // In --json mode our stdout carries only JSON lines: the command's stdout goes to stderr.
        stdio: ['inherit', json ? 2 : 'inherit', 'inherit'],
      });
      driver = new WatchDriver({
        pid: r.watcher.pid,
        intervalMs,
        force: options.force,
        child: r.child,
        watcher: r.watcher,
        select: sel.select,
        follow: sel.dynamic,
        maxOverheadPct,
      });
    } else {
      const pid = pidArg as number;
      // While the attach helper starts (main.ts prestarts it): the fault cost's calibration,
      // which every tick's figures need, is made now rather than before the first tick.
      try {
        faultCost();
      } catch {
        // Not calibrated here: the first tick's figures say why.
      }
      driver = new WatchDriver({
        pid,
        intervalMs,
        force: options.force,
        watcher: WriteWatcher.attach(pid, { force: options.force }),
        select: sel.select,
        follow: sel.dynamic,
        maxOverheadPct,
      });
    }
  } catch (err) {
    stop.off();
    throw err;
  }
  const pid = driver.pid;
  const child = driver.child;

  let ticks = 0;
  let limitReached = false;
  let who: WhoAttributor | null = null;
  let lastWho: WhoTick | null = null;
  try {
    let mappingNote: 'unsaid' | 'pending' | 'said' = 'unsaid';
    const sayMappingNote = (): void => {
      if (mappingNote !== 'pending') return;
      mappingNote = 'said';
      note(
        `some mappings were not registered yet (they changed while being registered: the process is busy mapping or executing; or the time for registering ran out); the next ticks register them, and count their writes from then.`,
      );
    };
    let saidReattached = 0;
    // Pieces said refused because another userfaultfd holds them (EBUSY): the ticks retry them,
    // and one line says when one is watched after all (a pagescope that was still exiting).
    const saidBusy = new Set<string>();
    const place = (s: VmaWatchState): string =>
      `${vmaName(s.path) || 'anonymous memory'} at 0x${pageToHex(s.startPage)}-0x${pageToHex(s.endPage)}`;
    const reportWatched = (states: VmaWatchState[]): void => {
      for (const s of states) {
        const k = `${s.startPage}-${s.endPage}`;
        if (s.status !== 'watched' || !saidBusy.delete(k)) continue;
        note(
          `now watching ${place(s)}: the other userfaultfd let go of it; its writes count from now.`,
        );
      }
    };
    const report = (states: VmaWatchState[]): void => {
      for (const s of states) {
        const r = s.refusal;
        if (s.status === 'pending') {
          if (mappingNote === 'unsaid') mappingNote = 'pending';
          continue;
        }
        if (s.status !== 'refused' || !r || r.code === 'no-access') continue;
        // In launch mode a refusal because the process "does not exist" is the launcher's exec
        // caught half-way: the re-attach that follows registers the new program's mappings.
        if (launch && r.code === 'register-failed' && r.detail === 'ESRCH') continue;
        // A launcher chain (shim -> env -> bash -> program) changes the address space under
        // every registration; one line says it, the next tick registers what is there then.
        // Said with that tick: a command over before it has nothing left to pick up.
        if (r.code === 'mapping-changed') {
          if (mappingNote === 'unsaid') mappingNote = 'pending';
          continue;
        }
        if (r.code === 'other-userfaultfd') saidBusy.add(`${s.startPage}-${s.endPage}`);
        note(`not watching ${place(s)}: ${s.reason}.`);
      }
    };
    // A launcher chain execs several times: one line says it.
    const reportReattach = (): void => {
      if (driver.reattachCount > 0 && saidReattached === 0)
        note(`process ${pid} executed a new program; watching the new program from its start.`);
      saidReattached = driver.reattachCount;
    };
    if (!launch) {
      const vmas = readMaps(pid);
      if (!sel.select(vmas).some((r) => overlapsAny(r, vmas)))
        throw new PagescopeError(
          options.range?.length
            ? `No mapping of process ${pid} lies inside ${sel.what}; "pagescope scan --pid ${pid}" lists its mappings.`
            : `No mapping of process ${pid} matches ${sel.what}; "pagescope scan --pid ${pid}" lists them.`,
          'bad-input',
        );
    }
    const armStarted = performance.now();
    const armed = driver.arm();
    const armMs = performance.now() - armStarted;
    if (options.who) {
      try {
        who = WhoAttributor.open(pid, { period: whoPeriod });
        const w = who;
        driver.onCollect((s) => {
          lastWho = w.tick(s.written);
        });
      } catch (err) {
        if (!(err instanceof PerfUnavailableError || err instanceof PagescopeError)) throw err;
        note(`${err.message.replace(/\.$/, '')}.`);
      }
    }
    reportReattach();
    report(armed);
    const watchedPieces = armed.filter((s) => s.status === 'watched');
    const watchedPages = watchedPieces.reduce((n, s) => n + s.endPage - s.startPage, 0);
    // Left pending by the arm's registering budget (registration.ts): in neither `pages` nor
    // `samplePages`, registered by the first ticks (whose pendingPages count what is left).
    const pendingPages = armed
      .filter((s) => s.status === 'pending')
      .reduce((n, s) => n + s.endPage - s.startPage, 0);
    if (json) {
      // Watching has started (armed: registered and write-protected), before the first tick: a
      // consumer can start its work on this line. Ticks are the lines with a "tick" key.
      const sampleFraction = driver.watcher?.sampleFraction ?? 1;
      print(
        JSON.stringify({
          start: true,
          pid,
          watching: sel.what,
          pieces: watchedPieces.length,
          pages: watchedPages,
          pendingPages,
          samplePages: Math.round(sampledPages(watchedPieces, sampleFraction)),
          sampleFraction,
          granularityPages: driver.watcher?.granularityPages ?? 1,
          intervalMs,
          firstIntervalMs: driver.gridIntervalMs,
          maxOverheadPct,
          armMs: round2(armMs),
        }) + '\n',
      );
    } else
      print(
        `watching ${pid}: ${count(watchedPieces.length, 'VMA piece')}, ${count(watchedPages, 'page')} ` +
          `(${formatBytes(watchedPages * PAGE_SIZE)}), every ${intervalMs} ms; granularity ${count(driver.watcher?.granularityPages ?? 1, 'page')}.\n` +
          costLine(maxOverheadPct),
      );
    const t0 = driver.elapsedMs();
    let ended: string | null = null;
    const onTick = (timing: TickTiming): void => {
      if (stop.reason) return;
      lastWho = null;
      const step = driver.collect();
      if (step.kind === 'reattached') {
        who?.newProgram();
        saidBusy.clear();
        reportReattach();
        report(step.states);
        return;
      }
      if (step.kind === 'waiting') return;
      if (step.kind === 'idle' || step.kind === 'ended') {
        ended = step.kind === 'ended' ? step.reason : `process ${pid} exited`;
        stop.wake();
        return;
      }
      ticks++;
      reportWatched(step.appeared);
      report(step.refused);
      report(step.pending);
      sayMappingNote();
      const t = Math.round(driver.elapsedMs() - t0);
      const out = step.written;
      if (json) {
        const { written, moreRanges } = writtenPairs(out, rangeCap);
        print(
          JSON.stringify({
            tick: ticks,
            t,
            lagMs: timing.lagMs,
            skipped: timing.skipped,
            writtenPages: step.writtenPages,
            pendingPages: step.pending.reduce((n, p) => n + p.endPage - p.startPage, 0),
            exact: step.figures.sampleFraction === 1,
            sampleFraction: step.figures.sampleFraction,
            writtenEst: step.figures.writtenEst,
            writtenErr: step.figures.writtenErr >= 0 ? step.figures.writtenErr : null,
            estOverheadPct: round2(step.figures.estOverheadPct),
            estOwnPct: round2(step.figures.estOwnPct),
            ownCpuMs: round2(step.figures.ownCpuMs),
            estOverheadLowPct: round2(step.figures.estOverheadLowPct),
            estOverheadHighPct: round2(step.figures.estOverheadHighPct),
            targetCpuMs: step.figures.targetCpuMs >= 0 ? round2(step.figures.targetCpuMs) : null,
            estLowConfidence: step.figures.estLowConfidence,
            intervalMs: step.figures.intervalMs,
            written,
            moreRanges,
            ...(options.who ? { who: lastWho ? whoJson(lastWho) : null } : {}),
          }) + '\n',
        );
      } else {
        const byVma = new Map<number, number>();
        for (let i = 0; i < out.length; i++)
          byVma.set(
            out.vmaIndex[i],
            (byVma.get(out.vmaIndex[i]) ?? 0) + out.endPage[i] - out.startPage[i],
          );
        let vmas = step.vmas;
        if (byVma.size && !vmas)
          try {
            vmas = readMaps(pid);
          } catch {
            vmas = [];
          }
        const busiest = [...byVma]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 3)
          .map(
            ([index, n]) =>
              `${vmaLabel(
                vmas?.find((v) => v.index === index),
                0,
              )} ${n}`,
          )
          .join(', ');
        print(
          `tick ${ticks}  +${t} ms  written ${writtenText(step.writtenPages, step.figures)}` +
            overheadNote(step.figures) +
            intervalNote(step.figures, intervalMs) +
            (busiest ? `  busiest: ${busiest}` : '') +
            (step.targetState === 'stopped' ? '  (process is stopped)' : '') +
            lateNote(timing, intervalMs) +
            '\n' +
            (lastWho ? whoLine(lastWho) : ''),
        );
      }
      if (ticks >= maxTicks) stop.wake();
    };
    if (!stop.reason && maxTicks > 0) {
      // The first tick one grid interval after arming (stretched by --max-overhead's start).
      await stop.wait(() => driver.start(onTick, driver.gridIntervalMs));
      driver.pause();
    }
    if (ended !== null && !stop.reason) {
      // Our child's exit status says more than "exited": give its exit event a moment.
      await whenExited(child, 500);
      stop.reason = child?.signalCode
        ? `the command was ended by ${child.signalCode}`
        : child && child.exitCode !== null
          ? `the command exited with code ${child.exitCode}`
          : ended;
    }
    limitReached = stop.reason === null;
    stop.reason ??= `${count(ticks, 'tick')} done`;
  } finally {
    stop.off();
    who?.close();
    driver.close();
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
    }
  }
  if (json)
    print(
      JSON.stringify({
        done: true,
        reason: stop.reason,
        ticks,
        faultCostUs: round2(faultCost().usPerFault),
      }) + '\n',
    );
  else if (limitReached)
    print(`done after ${count(ticks, 'tick')}; process ${pid} was released.\n`);
  else print(`done: ${stop.reason} after ${count(ticks, 'tick')}; process ${pid} was released.\n`);
  return 0;
}
