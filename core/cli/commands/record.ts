/**
 * `pagescope record`: records a process into a file that `report`, `export` and the UI open later.
 *
 *   pagescope record --pid P [--watch 0xS-0xE | --vma NAME | --writable] [--interval MS]
 *                    [--duration S | --ticks N] [--force] -o FILE
 *   pagescope record [options] -o FILE -- COMMAND ARGS...     (launch, record from the start)
 *   pagescope record --demo [options] -o FILE                 (launch the demo workload)
 *
 * It runs the same Session as the app (core/session) and stores what the session sends a live
 * viewer (core/record/recorder.ts), so a report of the file is what the live view showed. Without
 * --watch/--vma/--writable only page states are recorded (no write watching, no ptrace). --vma
 * and --writable follow the process: matching VMAs that appear later are watched when the
 * session reports them. Ctrl-C, SIGTERM, --duration, --ticks or the target's exit end it; the
 * file is readable at every moment (a killed recorder leaves it readable up to its last tick).
 */
import fs from 'node:fs';
import nodePath from 'node:path';
import { PagescopeError } from '../../kernel/errors.ts';
import { PAGE_SIZE } from '../../kernel/pagemap-abi.ts';
import type { AddressRange, HostEvent, VmaInfo } from '../../protocol/messages.ts';
import { SessionRecorder } from '../../record/recorder.ts';
import { Session, SessionError } from '../../session/session.ts';
import { takePrestartedHelper } from '../../watch/remote-attach.ts';
import type { ProgramExit } from '../../session/worker-protocol.ts';
import { preflight } from '../../watch/injector.ts';
import { isWritableMapping, vmaByName } from '../vma-choice.ts';
import { parsePid, parseRange } from '../args.ts';
import { count, formatBytes } from '../format.ts';
import { out as print } from '../output.ts';
import { onStopSignals } from '../signals.ts';

/**
 * Throws a one-sentence error ('bad-input') when a recording could not be written to `file`;
 * changes nothing. Called before anything is launched or attached, so a bad -o costs nothing.
 * An existing file is opened for appending (never truncated here) and given a zero-length
 * write: /proc and /sys files open for root but refuse every write, an immutable file refuses
 * the open. A new file needs a folder that exists and that we may write into (access(2) says
 * no for a read-only file system or an immutable folder too).
 */
export function checkRecordingPath(file: string): void {
  const fail = (why: string): never => {
    throw new PagescopeError(
      `Cannot write the recording to ${JSON.stringify(file)}: ${why}.`,
      'bad-input',
    );
  };
  const denied = (code: string | undefined): string =>
    code === 'EROFS'
      ? 'the file system is read-only'
      : code === 'EACCES' || code === 'EPERM'
        ? 'writing there is not permitted (permissions, or an immutable or append-only file)'
        : `it cannot be written (${code ?? 'unknown error'})`;
  if (file === '') fail('the name is empty');
  let st: fs.Stats | null = null;
  try {
    st = fs.statSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') fail(denied(code));
  }
  if (st) {
    if (st.isDirectory()) fail('it is a folder; give a file name, e.g. -o recording.pgsrec');
    let fd = -1;
    try {
      fd = fs.openSync(
        file,
        fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_NONBLOCK,
      );
      fs.writeSync(fd, Buffer.alloc(0));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENXIO') fail('it is a pipe nobody reads');
      if (code === 'EIO' || code === 'EINVAL')
        fail('it does not take writes (a /proc or /sys file?)');
      fail(denied(code));
    } finally {
      if (fd >= 0) fs.closeSync(fd);
    }
    return;
  }
  const dir = nodePath.dirname(nodePath.resolve(file));
  let dirSt: fs.Stats;
  try {
    dirSt = fs.statSync(dir);
  } catch {
    return fail(`the folder ${JSON.stringify(dir)} does not exist`);
  }
  if (!dirSt.isDirectory()) fail(`${JSON.stringify(dir)} is not a folder`);
  try {
    fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
  } catch (err) {
    fail(denied((err as NodeJS.ErrnoException).code));
  }
}

/** A launched program that ended before its first tick was recorded, said as such. */
function endedEarly(exit: ProgramExit): PagescopeError {
  return new PagescopeError(
    exit.signal !== null
      ? `The program was killed by signal ${exit.signal} before recording started.`
      : `The program exited with code ${exit.code} before recording started.`,
    'exited',
  );
}

export interface RecordCommandOptions {
  pid?: string;
  demo?: boolean;
  watch?: string[];
  vma?: string;
  writable?: boolean;
  interval?: string;
  duration?: string;
  ticks?: string;
  output?: string;
  force?: boolean;
  who?: boolean;
  whoPeriod?: string;
}

function wholeNumber(text: string, what: string, min: number, max: number): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < min || Number(text) > max)
    throw new PagescopeError(
      `${what} must be a whole number from ${min} to ${max}, not "${text}".`,
      'bad-input',
    );
  return Number(text);
}

function seconds(text: string): number {
  const n = Number(text);
  if (!/^\s*\d+(\.\d+)?\s*$/.test(text) || !(n > 0) || n > 7 * 24 * 3600)
    throw new PagescopeError(
      `--duration "${text}" is not a duration: give a positive number of seconds, e.g. --duration 30.`,
      'bad-input',
    );
  return n;
}

interface Selection {
  /** Ranges to watch among `vmas` (only those not watched or tried yet are asked for). */
  pick: (vmas: VmaInfo[]) => VmaInfo[];
  fixed: AddressRange[] | null;
  what: string;
}

function selection(o: RecordCommandOptions): Selection | null {
  const chosen = [o.watch?.length ? 1 : 0, o.vma !== undefined ? 1 : 0, o.writable ? 1 : 0];
  if (chosen.reduce((a, b) => a + b, 0) > 1)
    throw new PagescopeError('Choose one of --watch, --vma and --writable.', 'bad-input');
  if (o.watch?.length) {
    const ranges = o.watch.map((r) => {
      const p = parseRange(r);
      return {
        start: '0x' + (BigInt(p.startPage) * BigInt(PAGE_SIZE)).toString(16),
        end: '0x' + (BigInt(p.endPage) * BigInt(PAGE_SIZE)).toString(16),
      };
    });
    return { pick: () => [], fixed: ranges, what: o.watch.join(', ') };
  }
  if (o.vma !== undefined) {
    const { matches } = vmaByName(o.vma);
    return {
      pick: (vmas) => vmas.filter(matches),
      fixed: null,
      what: `VMA ${JSON.stringify(o.vma)}`,
    };
  }
  if (o.writable)
    return {
      pick: (vmas) => vmas.filter(isWritableMapping),
      fixed: null,
      what: 'the writable mappings',
    };
  return null;
}

export async function recordCommand(
  command: string[],
  options: RecordCommandOptions,
  version: string,
): Promise<number> {
  const launch = command.length > 0;
  const sources = [launch, options.pid !== undefined, options.demo === true].filter(Boolean);
  if (sources.length === 0)
    throw new PagescopeError(
      'Say which process to record: --pid PID, --demo, or a command to launch after "--".',
      'bad-input',
    );
  if (sources.length > 1)
    throw new PagescopeError(
      'Give one of --pid, --demo and a command after "--", not several.',
      'bad-input',
    );
  if (!options.output)
    throw new PagescopeError('Say where to write the recording: -o FILE.', 'bad-input');
  const path = options.output;
  checkRecordingPath(path);
  const existed = fs.existsSync(path);
  const sel = selection(options);
  const intervalMs = wholeNumber(options.interval ?? '100', '--interval (ms)', 20, 60_000);
  const durationS = options.duration !== undefined ? seconds(options.duration) : Infinity;
  const maxTicks =
    options.ticks !== undefined ? wholeNumber(options.ticks, '--ticks', 1, 1e9) : Infinity;
  const pidArg = options.pid !== undefined ? parsePid(options.pid, { watch: true }) : 0;
  // A watch of a running process that will be refused (seccomp, another tracer) is said now,
  // before a session starts and a file is written; the session's attach checks again.
  if (sel && options.pid !== undefined) preflight(pidArg, { force: options.force });

  // The wall time starts before the session does: every tick is stamped after it (a frame
  // stamped before the recorder exists may still be its first), so it holds the ticks' span.
  const startedAt = performance.now();
  const stopping = onStopSignals({ firstStands: true });
  const stop = (reason: string): void => stopping.stopOnce(reason);
  if (options.whoPeriod !== undefined && !options.who)
    throw new PagescopeError('--who-period goes with --who.', 'bad-input');
  if (options.who && !sel)
    throw new PagescopeError(
      '--who names the writers of watched pages: add --watch, --vma or --writable.',
      'bad-input',
    );
  const who = options.who
    ? {
        period:
          options.whoPeriod !== undefined
            ? wholeNumber(options.whoPeriod, '--who-period', 1, 1_000_000)
            : 1,
      }
    : null;
  const sessionOpts = { sessionId: 1, intervalMs, force: options.force, who };
  let session: Session;
  try {
    session = launch
      ? await Session.launch(command, sessionOpts)
      : options.demo
        ? await Session.launchDemo(sessionOpts)
        : await Session.attach(pidArg, { ...sessionOpts, helper: takePrestartedHelper() });
  } catch (err) {
    stopping.off();
    const exit = err instanceof SessionError ? err.programExit : undefined;
    throw exit ? endedEarly(exit) : err;
  }
  const pid = session.pid;

  // Write watching: fixed ranges once, or the matching VMAs as they appear.
  const tried = new Set<string>();
  let watchError: unknown = null;
  let busy = false;
  let firstWatch = true;
  // A table that arrives while a watch call is under way is looked at when it returns: the
  // maps of a settled program do not change again, so a table skipped then would be lost.
  let again = false;
  const follow = (vmas: VmaInfo[]): void => {
    if (!sel || stopping.reason) return;
    if (busy) {
      again = true;
      return;
    }
    let ranges: AddressRange[];
    if (sel.fixed) {
      if (tried.has('fixed')) return;
      tried.add('fixed');
      ranges = sel.fixed;
    } else {
      // A VMA is asked for once as it is (bounds, permissions, name): one that grew (a new
      // mapping merged into a watched one shows as 'partial') or a new program's is new.
      const key = (v: VmaInfo): string => `${v.start}-${v.end} ${v.perms} ${v.path}`;
      const fresh = sel
        .pick(vmas)
        .filter((v) => (v.watched === 'no' || v.watched === 'partial') && !tried.has(key(v)));
      if (fresh.length === 0) return;
      for (const v of fresh) tried.add(key(v));
      ranges = fresh.map((v) => ({ start: v.start, end: v.end }));
    }
    busy = true;
    const first = firstWatch;
    firstWatch = false;
    session
      .watch(ranges, [])
      .catch((err: unknown) => {
        // The first watch of a running process failed (the attach was refused, or nothing of
        // the selection could be watched): fatal, said as the error it is. Later VMAs: not.
        if (!launch && !options.demo && first) {
          watchError = err;
          stop('watching failed');
        }
      })
      .finally(() => {
        busy = false;
        if (again) {
          again = false;
          follow(session.vmas);
        }
      });
  };

  let ticks = 0;
  // The summary's timing: the recorded ticks' own times and skipped counts (what `report` reads).
  let firstT = NaN;
  let lastT = NaN;
  let skipped = 0;
  const recorder = new SessionRecorder(session, {
    path,
    watching: sel?.what ?? 'nothing (page states only)',
    intervalMs,
    version,
    onVmas: follow,
    onTick: (f) => {
      if (Number.isNaN(firstT)) firstT = f.counters.t;
      lastT = f.counters.t;
      skipped += f.counters.skipped;
      if (++ticks >= maxTicks) stop(`${count(ticks, 'tick')} done`);
    },
  });
  const offEnded = session.onEvent((e: HostEvent) => {
    if (e.event === 'sessionEnded') stop(e.reason);
  });
  if (session.vmas.length) follow(session.vmas);
  // --vma / --writable on a running process: something must match once the table is known.
  if (sel && !sel.fixed && !launch && !options.demo) {
    const check = (vmas: VmaInfo[]): void => {
      if (vmas.length && sel.pick(vmas).length === 0) {
        watchError = new PagescopeError(
          `No mapping of process ${pid} matches ${sel.what}; "pagescope scan --pid ${pid}" lists them.`,
          'bad-input',
        );
        stop('nothing to watch');
      }
    };
    const offCheck = session.onEvent((e) => {
      if (e.event === 'vmas') {
        offCheck();
        check(e.vmas);
      }
    });
  }
  process.stderr.write(
    `pagescope: recording process ${pid} every ${intervalMs} ms to ${path}` +
      (sel ? `, watching ${sel.what} for writes` : '') +
      `; ${Number.isFinite(durationS) ? `for ${durationS} s, or ` : ''}Ctrl-C ends it.\n`,
  );
  const timer = Number.isFinite(durationS)
    ? setTimeout(() => stop(`${durationS} s done`), durationS * 1000)
    : null;
  if (stopping.reason === null) await stopping.wait();
  if (timer) clearTimeout(timer);
  const wallMs = performance.now() - startedAt;
  offEnded();
  recorder.stop(stopping.reason ?? 'stopped');
  stopping.off();
  await session.close();
  if (watchError) throw watchError;
  const exit = session.programExit;
  if (recorder.ticks === 0 && exit) {
    // It ended after the session started but before a first tick: nothing was recorded.
    if (!existed) fs.rmSync(path, { force: true });
    throw endedEarly(exit);
  }
  // The time the ticks cover (their own times, not ticks x interval: late ticks cover more).
  const n = recorder.ticks;
  const seconds_ = Math.max(0.001, (n > 1 ? lastT - firstT + intervalMs : n * intervalMs) / 1000);
  const asked = Number.isFinite(maxTicks)
    ? `${maxTicks} asked (--ticks)`
    : Number.isFinite(durationS)
      ? `${Math.floor((durationS * 1000) / intervalMs)} asked (${durationS} s / ${intervalMs} ms)`
      : `${Math.floor(wallMs / intervalMs)} in the wall time at ${intervalMs} ms`;
  const meanMs = n > 1 ? (lastT - firstT) / (n - 1) : null;
  // Per minute and per tick only when there are ticks (0 ticks over "0.001 s" is no rate).
  print(
    `recorded ${count(recorder.ticks, 'tick')} of process ${pid} (${stopping.reason}) to ${path}: ` +
      formatBytes(recorder.bytesWritten) +
      (recorder.ticks > 0
        ? `, ${formatBytes((recorder.bytesWritten / seconds_) * 60)} per minute, ` +
          `${(recorder.costMs / recorder.ticks).toFixed(2)} ms per tick to encode and write`
        : '') +
      '.\n' +
      `ticks: ${asked}, ${n} recorded, ${skipped} skipped; ` +
      (meanMs === null
        ? 'no mean interval (under 2 ticks)'
        : `mean interval ${meanMs.toFixed(1)} ms (asked ${intervalMs} ms)`) +
      `; wall time ${(wallMs / 1000).toFixed(2)} s.\n`,
  );
  return 0;
}
