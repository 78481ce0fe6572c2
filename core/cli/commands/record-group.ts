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
import { onStopSignals } from '../signals.ts';
import { checkRecordingPath } from './record.ts';
import { groupOptions, groupSpecOf, type GroupWatchCommandOptions } from './watch-group.ts';

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
  const { sel, intervalMs, maxTicks } = groupOptions(command, options, {
    verb: 'recorded',
    ranges: ['--watch', options.watch],
    interval: [20, 60_000],
    own: () => {
      if (!options.output)
        throw new PagescopeError('Say where to write the recording: -o FILE.', 'bad-input');
      checkRecordingPath(options.output);
    },
  });
  const output = options.output!;
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

  const stop = onStopSignals();
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
    writer = new GroupRecordingWriter(output, {
      pagescope: version,
      group: { describe: gw.describe(), kind: spec.kind },
      intervalMs,
      watching: sel.what,
      members: members.map((m) => ({ pid: m.pid, ppid: m.ppid, name: m.name })),
    });
    process.stderr.write(
      `pagescope: recording the ${gw.describe()} (${count(members.length, 'member')}, ${sel.what}) to ${output}\n`,
    );
    for (const f of started.failed)
      process.stderr.write(`pagescope: not watching ${f.pid} ${f.name}: ${f.why}.\n`);
    const t0 = gw.elapsedMs();
    const w = writer;
    if (!stop.reason)
      await stop.wait(() =>
        gw.run(() => {
          if (stop.reason) return;
          try {
            w.tick(groupTickRecord(Math.round(gw.elapsedMs() - t0), gw.tick()));
          } catch (err) {
            failure = err;
            stop.stop('failed');
            return;
          }
          if (gw.empty && spec.kind !== 'cgroup')
            stop.stop(`every member of the ${gw.describe()} has exited`);
          else if (w.ticks >= maxTicks || gw.elapsedMs() - t0 >= durationMs) stop.wake();
        }),
      );
  } finally {
    stop.off();
    gw.close();
  }
  if (failure) {
    writer?.end('failed');
    throw failure;
  }
  const reason = stop.reason ?? `${count(writer!.ticks, 'tick')} done`;
  writer!.end(reason);
  const size = fs.statSync(output).size;
  print(
    `recorded ${count(writer!.ticks, 'tick')} of the ${gw.describe()} to ${output} (${size} bytes): ${reason}.\n`,
  );
  return 0;
}
