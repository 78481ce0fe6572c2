/**
 * `pagescope watch`: which pages a process writes, tick by tick.
 *
 *   pagescope watch --pid P (--range 0xS-0xE | --vma NAME_OR_INDEX | --writable) [--interval MS]
 *                   [--ticks N] [--json] [--force]
 *   pagescope watch [options] -- COMMAND ARGS...
 *
 * Human output: one line per tick with the written page count and the busiest VMAs. --json: one
 * object per line per tick, written as it happens, and a last `{"done": true, ...}` line. Ctrl-C
 * and SIGTERM end the watch cleanly (unregister, close, the target untouched) before exiting.
 * With --vma and --writable the selection follows the process: matching VMAs that appear later
 * are added at the next tick (in launch mode nothing of the program exists yet at attach).
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PagescopeError } from '../../kernel/errors.ts';
import { PAGE_SIZE } from '../../kernel/pagemap-abi.ts';
import { pageToHex, readMaps, type Vma } from '../../proc/maps.ts';
import { processAlive } from '../../proc/processes.ts';
import { RegionList } from '../../scan/region-list.ts';
import type { PageRange } from '../../scan/scanner.ts';
import { launchAndAttach } from '../../watch/launch.ts';
import { NO_ACCESS_REASON, WriteWatcher, type VmaWatchState } from '../../watch/watcher.ts';
import { parsePid, parseRange } from '../args.ts';
import { count, formatBytes } from '../format.ts';
import { onStdoutClosed, out as print } from '../output.ts';
import { STOP_SIGNALS } from '../signals.ts';

/** What UFFDIO_REGISTER's ENOMEM says (watcher.ts): a mapping changed under us, said once. */
const MAPPING_CHANGED = 'the mapping changed while it was being registered';

/**
 * Where `cmd` would be executed from, or a sentence why it cannot be: checked before launching,
 * so a typo gets pagescope's one line and not the launcher shell's "sh: 1: exec: ...: not found".
 */
export function resolveCommand(cmd: string, envPath = process.env.PATH ?? ''): string {
  const check = (p: string): 'ok' | 'missing' | 'dir' | 'noexec' => {
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch {
      return 'missing';
    }
    if (st.isDirectory()) return 'dir';
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return 'ok';
    } catch {
      return 'noexec';
    }
  };
  const fail = (why: string): never => {
    throw new PagescopeError(`Cannot launch ${JSON.stringify(cmd)}: ${why}.`, 'bad-command');
  };
  if (cmd === '') fail('the command is empty');
  if (cmd.includes('/')) {
    const r = check(cmd);
    if (r === 'missing') fail('no such file');
    if (r === 'dir') fail('it is a directory');
    if (r === 'noexec') fail('it is not executable (chmod +x?)');
    return cmd;
  }
  let sawNoExec = false;
  for (const dir of envPath.split(':')) {
    const p = path.join(dir || '.', cmd);
    const r = check(p);
    if (r === 'ok') return p;
    if (r === 'noexec') sawNoExec = true;
  }
  return fail(
    sawNoExec
      ? 'it is on PATH but not executable'
      : 'no such command on PATH (give its path, e.g. ./prog)',
  );
}

export interface WatchCommandOptions {
  pid?: string;
  range?: string[];
  vma?: string;
  writable?: boolean;
  interval?: string;
  ticks?: string;
  json?: boolean;
  force?: boolean;
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
  if (options.vma !== undefined) {
    const name = options.vma;
    if (name.trim() === '')
      throw new PagescopeError(
        '--vma needs a name (part of a mapped file path, or [heap], [stack]) or a VMA index; "pagescope scan --pid PID" lists them.',
        'bad-input',
      );
    const byIndex = /^\d+$/.test(name) ? Number(name) : null;
    return {
      select: (vmas) =>
        vmas
          .filter((v) =>
            byIndex !== null ? v.index === byIndex : v.path === name || v.path.includes(name),
          )
          .map((v) => ({ startPage: v.startPage, endPage: v.endPage })),
      dynamic: byIndex === null,
      what: `VMA ${JSON.stringify(name)}`,
    };
  }
  return {
    select: (vmas) =>
      vmas
        .filter(
          (v) =>
            v.perms[1] === 'w' && v.kind !== 'vvar' && v.kind !== 'vdso' && v.kind !== 'vsyscall',
        )
        .map((v) => ({ startPage: v.startPage, endPage: v.endPage })),
    dynamic: true,
    what: 'the writable mappings',
  };
}

function overlapsAny(r: PageRange, vmas: Vma[]): boolean {
  return vmas.some((v) => v.startPage < r.endPage && r.startPage < v.endPage);
}

function vmaLabel(v: Vma | undefined, page: number): string {
  if (!v) return `0x${pageToHex(page)}`;
  if (v.path) return v.path.split('/').pop() || v.path;
  return `anon@0x${v.startHex}`;
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
  const sel = selector(noSelection ? { ...options, writable: true } : options);
  if (launch) resolveCommand(command[0]);
  const intervalMs = parsePositive(options.interval ?? '500', '--interval (ms)', 10, 3_600_000);
  const maxTicks =
    options.ticks !== undefined ? parsePositive(options.ticks, '--ticks', 1, 1e9) : Infinity;
  const json = options.json === true;
  const note = (s: string): void => {
    process.stderr.write(`pagescope: ${s}\n`);
  };
  const pidText = options.pid;
  const pidArg = pidText === undefined ? null : parsePid(pidText, { watch: true });

  // Handlers first: a Ctrl-C during the (synchronous, milliseconds long) injection then waits
  // for it to finish instead of killing pagescope with the target's registers not yet restored.
  let stopReason: string | null = null;
  let wake: (() => void) | null = null;
  const onSignal = (sig: NodeJS.Signals): void => {
    stopReason = `interrupted by ${sig}`;
    wake?.();
  };
  for (const sig of STOP_SIGNALS) process.on(sig, onSignal);
  // The reader of our output went away (`| head -1`): end as on Ctrl-C, but exit 0 quietly.
  const offStdoutClosed = onStdoutClosed(() => {
    stopReason ??= 'the output was closed';
    wake?.();
  });
  const stopListening = (): void => {
    for (const sig of STOP_SIGNALS) process.off(sig, onSignal);
    offStdoutClosed();
  };

  let watcher: WriteWatcher;
  let child: ChildProcess | null = null;
  let childExit: string | null = null;
  try {
    if (launch) {
      const r = launchAndAttach(command, {
        force: options.force,
        // In --json mode our stdout carries only JSON lines: the command's stdout goes to stderr.
        stdio: ['inherit', json ? 2 : 'inherit', 'inherit'],
      });
      watcher = r.watcher;
      child = r.child;
      child.on('exit', (code, signal) => {
        childExit = signal
          ? `the command was ended by ${signal}`
          : `the command exited with code ${code}`;
      });
    } else {
      watcher = WriteWatcher.attach(pidArg as number, { force: options.force });
    }
  } catch (err) {
    stopListening();
    throw err;
  }
  const pid = watcher.pid;

  let ticks = 0;
  let limitReached = false;
  try {
    let saidMappingChanged = false;
    let saidReattached = false;
    const report = (states: VmaWatchState[]): void => {
      for (const s of states) {
        if (s.status !== 'refused' || s.reason === NO_ACCESS_REASON) continue;
        // In launch mode a refusal because the process "does not exist" is the launcher's exec
        // caught half-way: the re-attach that follows registers the new program's mappings.
        if (launch && /\bESRCH\b/.test(s.reason ?? '')) continue;
        // A launcher chain (shim -> env -> bash -> program) changes the address space under
        // every registration; one line says it, the next tick registers what is there then.
        if (s.reason === MAPPING_CHANGED) {
          if (saidMappingChanged) continue;
          saidMappingChanged = true;
          note(
            `some mappings changed while they were being registered (the process is busy mapping or executing); the next tick picks them up.`,
          );
          continue;
        }
        note(
          `not watching ${s.path || 'anonymous memory'} at 0x${pageToHex(s.startPage)}-0x${pageToHex(s.endPage)}: ${s.reason}.`,
        );
      }
    };
    // Applies the selection. In launch mode a launcher (shell script, pyenv shim, env) may
    // replace itself with the real program at any moment: our child, so attach again and re-apply
    // the selection to the new address space.
    const reattach = (): boolean => {
      try {
        watcher.close();
        watcher = WriteWatcher.attach(pid, { force: options.force, ownChild: true });
        // A launcher chain execs several times: one line says it.
        if (!saidReattached)
          note(`process ${pid} executed a new program; watching the new program from its start.`);
        saidReattached = true;
        return true;
      } catch {
        return false; // exited meanwhile: the next tick says so
      }
    };
    const armSelection = (): VmaWatchState[] => {
      for (let round = 0; ; round++) {
        let vmas: Vma[];
        try {
          vmas = readMaps(pid);
        } catch (err) {
          if (launch) return [];
          throw err;
        }
        const ranges = sel.select(vmas);
        if (!launch && !ranges.some((r) => overlapsAny(r, vmas)))
          throw new PagescopeError(
            options.range?.length
              ? `No mapping of process ${pid} lies inside ${sel.what}; "pagescope scan --pid ${pid}" lists its mappings.`
              : `No mapping of process ${pid} matches ${sel.what}; "pagescope scan --pid ${pid}" lists them.`,
            'bad-input',
          );
        const states = ranges.length ? watcher.arm(ranges) : [];
        if (!(launch && watcher.endedBy === 'exec' && round < 20)) return states;
        if (!reattach()) return [];
      }
    };
    const armed = armSelection();
    report(armed);
    const watchedPages = armed
      .filter((s) => s.status === 'watched')
      .reduce((n, s) => n + s.endPage - s.startPage, 0);
    if (!json)
      print(
        `watching ${pid}: ${count(armed.filter((s) => s.status === 'watched').length, 'VMA piece')}, ${count(watchedPages, 'page')} ` +
          `(${formatBytes(watchedPages * PAGE_SIZE)}), every ${intervalMs} ms; granularity ${count(watcher.granularityPages, 'page')}.\n`,
      );
    const t0 = performance.now();
    const out = new RegionList(4096);
    let reattachRetries = 0;
    let due = t0;
    while (ticks < maxTicks && !stopReason) {
      due += intervalMs;
      const delay = Math.max(0, due - performance.now());
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = null;
      if (stopReason) break;
      let vmas: Vma[] | null = null;
      if (sel.dynamic && !watcher.ended) {
        try {
          vmas = readMaps(pid);
          const more = sel.select(vmas);
          if (more.length) report(watcher.arm(more).filter((s) => s.status === 'refused'));
        } catch {
          // the process is gone: tick() says so below
        }
      }
      const tick = watcher.tick(out);
      // In launch mode our child may be caught between two programs of a launcher chain: its
      // maps briefly look like an exit, or the re-attach meets the exec half done. While the
      // child is alive (not yet a zombie) that is never the end: attach again, or retry next tick.
      if (tick.ended && launch && (tick.endedBy === 'exec' || processAlive(pid))) {
        if (reattach()) {
          report(armSelection());
          continue;
        }
        if (processAlive(pid) && ++reattachRetries <= 20) continue;
      }
      if (tick.ended) {
        // Our child's exit status says more than "exited": give its exit event a moment.
        const c = child;
        if (c && childExit === null)
          await new Promise<void>((resolve) => {
            c.once('exit', () => resolve());
            setTimeout(resolve, 500).unref();
          });
        stopReason = childExit ?? tick.ended;
        break;
      }
      ticks++;
      report(tick.appeared);
      const t = Math.round(performance.now() - t0);
      if (json) {
        const written: Array<[string, string]> = [];
        for (let i = 0; i < out.length; i++) {
          const last = written[written.length - 1];
          const s = '0x' + pageToHex(out.startPage[i]);
          if (last && last[1] === s) last[1] = '0x' + pageToHex(out.endPage[i]);
          else written.push([s, '0x' + pageToHex(out.endPage[i])]);
        }
        print(JSON.stringify({ tick: ticks, t, writtenPages: tick.writtenPages, written }) + '\n');
      } else {
        const byVma = new Map<number, number>();
        for (let i = 0; i < out.length; i++)
          byVma.set(
            out.vmaIndex[i],
            (byVma.get(out.vmaIndex[i]) ?? 0) + out.endPage[i] - out.startPage[i],
          );
        vmas ??= (() => {
          try {
            return readMaps(pid);
          } catch {
            return [];
          }
        })();
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
          `tick ${ticks}  +${t} ms  written ${count(tick.writtenPages, 'page')} (${formatBytes(tick.writtenPages * PAGE_SIZE)})` +
            (busiest ? `  busiest: ${busiest}` : '') +
            (tick.targetState === 'stopped' ? '  (process is stopped)' : '') +
            '\n',
        );
      }
    }
    limitReached = stopReason === null;
    stopReason ??= `${count(ticks, 'tick')} done`;
  } finally {
    stopListening();
    watcher.close();
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
    }
  }
  if (json) print(JSON.stringify({ done: true, reason: stopReason, ticks }) + '\n');
  else if (limitReached)
    print(`done after ${count(ticks, 'tick')}; process ${pid} was released.\n`);
  else print(`done: ${stopReason} after ${count(ticks, 'tick')}; process ${pid} was released.\n`);
  return 0;
}
