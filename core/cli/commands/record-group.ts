/**
 * `pagescope record (--tree PID | --cgroup PATH | --pids LIST) [--writable | --shared | --vma NAME]
 * [--interval MS] [--duration S | --ticks N] [--max-overhead PCT] [--force] -o FILE`: records a
 * group's writes per member and per shared object (core/record/group-recording.ts) for `report`.
 *
 * The watch is the one `watch --tree` runs (core/watch/group-watch.ts); each tick is appended as
 * one record as it happens, so the file is readable at every moment. Ctrl-C, SIGTERM, --duration,
 * --ticks or the last member's exit (a tree or a pid list) end it.
 */
import fs from 'node:fs';
import { PagescopeError } from '../../kernel/errors.ts';
import type { Member } from '../../proc/group.ts';
import { GroupRecordingWriter, groupTickRecord } from '../../record/group-recording.ts';
import { GroupWatch } from '../../watch/group-watch.ts';
import { parseMaxOverhead } from '../args.ts';
import { count } from '../format.ts';
import { out as print } from '../output.ts';
import { STOP_SIGNALS } from '../signals.ts';
import { checkRecordingPath } from './record.ts';
import {
  groupSpecOf,
  memberSelector,
  namesGroup,
  parseWhole,
  type GroupWatchCommandOptions,
} from './watch-group.ts';

export interface GroupRecordCommandOptions extends GroupWatchCommandOptions {
  duration?: string;
  output?: string;
  demo?: boolean;
  watch?: string[];
}

export async function groupRecordCommand(
  command: string[],
  options: GroupRecordCommandOptions,
  version: string,
): Promise<number> {
  if (!namesGroup(options))
    throw new PagescopeError(
      '--shared goes with a group: --tree PID, --cgroup PATH or --pids LIST.',
      'bad-input',
    );
  if (command.length > 0 || options.pid !== undefined || options.demo)
    throw new PagescopeError(
      'A group (--tree, --cgroup or --pids) is recorded by itself: give no --pid, --demo or command.',
      'bad-input',
    );
  if (options.watch?.length)
    throw new PagescopeError(
      '--watch names addresses of one process; in a group use --writable, --shared or --vma NAME.',
      'bad-input',
    );
  if (options.who)
    throw new PagescopeError(
      '--who records the writers of one process (--pid), not of a group.',
      'bad-input',
    );
  if (!options.output)
    throw new PagescopeError('Say where to write the recording: -o FILE.', 'bad-input');
  checkRecordingPath(options.output);
  const sel = memberSelector(options);
  const intervalMs = parseWhole(options.interval ?? '500', '--interval (ms)', 20, 60_000);
  const maxTicks =
    options.ticks !== undefined ? parseWhole(options.ticks, '--ticks', 1, 1e9) : Infinity;
  let durationMs = Infinity;
  if (options.duration !== undefined) {
    const n = Number(options.duration);
    if (!/^\s*\d+(\.\d+)?\s*$/.test(options.duration) || !(n > 0) || n > 7 * 24 * 3600)
      throw new PagescopeError(
        `--duration "${options.duration}" is not a duration: give a positive number of seconds, e.g. --duration 30.`,
        'bad-input',
      );
    durationMs = n * 1000;
  }
  const maxOverheadPct =
    options.maxOverhead !== undefined ? parseMaxOverhead(options.maxOverhead) : null;
  const spec = groupSpecOf(options);

  let stopReason: string | null = null;
  let wake: (() => void) | null = null;
  const onSignal = (sig: NodeJS.Signals): void => {
    stopReason = `interrupted by ${sig}`;
    wake?.();
  };
  for (const sig of STOP_SIGNALS) process.on(sig, onSignal);
  const gw = new GroupWatch({
    spec,
    select: sel.select,
    intervalMs,
    force: options.force,
    maxOverheadPct,
  });
  let writer: GroupRecordingWriter | null = null;
  let failure: unknown = null;
  try {
    const started = gw.start();
    const members: Member[] = gw.members().map((m) => m.member);
    writer = new GroupRecordingWriter(options.output, {
      pagescope: version,
      group: { describe: gw.describe(), kind: spec.kind },
      intervalMs,
      watching: sel.what,
      members: members.map((m) => ({ pid: m.pid, ppid: m.ppid, name: m.name })),
    });
    process.stderr.write(
      `pagescope: recording the ${gw.describe()} (${count(members.length, 'member')}, ${sel.what}) to ${options.output}\n`,
    );
    for (const f of started.failed)
      process.stderr.write(`pagescope: not watching ${f.pid} ${f.name}: ${f.why}.\n`);
    const t0 = gw.elapsedMs();
    const w = writer;
    if (!stopReason)
      await new Promise<void>((resolve) => {
        wake = resolve;
        gw.run(() => {
          if (stopReason) return;
          try {
            w.tick(groupTickRecord(Math.round(gw.elapsedMs() - t0), gw.tick()));
          } catch (err) {
            failure = err;
            stopReason = 'failed';
            resolve();
            return;
          }
          if (gw.empty && spec.kind !== 'cgroup') {
            stopReason = `every member of the ${gw.describe()} has exited`;
            resolve();
          } else if (w.ticks >= maxTicks || gw.elapsedMs() - t0 >= durationMs) resolve();
        });
      });
  } finally {
    for (const sig of STOP_SIGNALS) process.off(sig, onSignal);
    gw.close();
  }
  if (failure) {
    writer?.end('failed');
    throw failure;
  }
  const reason = stopReason ?? `${count(writer!.ticks, 'tick')} done`;
  writer!.end(reason);
  const size = fs.statSync(options.output).size;
  print(
    `recorded ${count(writer!.ticks, 'tick')} of the ${gw.describe()} to ${options.output} (${size} bytes): ${reason}.\n`,
  );
  return 0;
}
