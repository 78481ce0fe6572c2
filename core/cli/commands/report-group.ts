/**
 * `pagescope report FILE` of a group's recording (record --tree/--cgroup/--pids): per member and
 * per shared object (core/record/group-recording.ts buildGroupReport), as tables or one JSON
 * object. A recording cut short is reported up to its last whole tick, with one line saying so.
 */
import { buildGroupReport, readGroupRecording } from '../../record/group-recording.ts';
import { count, formatBytes, table } from '../format.ts';
import { out as print } from '../output.ts';

const size = (pages: number): string => formatBytes(pages * 4096);

export function groupReportCommand(file: string, json: boolean): number {
  const rec = readGroupRecording(file);
  if (rec.truncated) process.stderr.write(`pagescope: ${file} was cut short (${rec.truncated}).\n`);
  const r = buildGroupReport(rec);
  if (json) {
    print(JSON.stringify(r) + '\n');
    return 0;
  }
  print(
    `${file}: the ${r.group}, ${r.watching}, ${count(r.ticks, 'tick')} every ${r.intervalMs} ms` +
      `${r.exact ? '' : ' (some ticks sampled: counts seen, not all)'}; ` +
      `${count(r.members.length, 'member')} (${r.joined} joined, ${r.execd} executed a new program, ${r.left} left).\n\n`,
  );
  print('Shared objects (each written page once, whoever wrote it)\n');
  print(
    table(
      ['object', 'distinct pages', 'page-writes', 'peak/tick', 'writers (page-writes, share)'],
      r.objects.map((o) => [
        `${o.label} (${o.identity})`,
        `${o.distinctPages} (${size(o.distinctPages)})`,
        String(o.pageWrites),
        String(o.peakPages),
        o.members
          .slice(0, 4)
          .map((m) => `${m.pid} ${m.pageWrites} (${m.share})`)
          .join(', ') + (o.members.length > 4 ? `, +${o.members.length - 4} more` : ''),
      ]),
    ),
  );
  print('\nMembers\n');
  print(
    table(
      ['pid', 'name', 'ticks', 'written', 'own', 'shared', 'peak/tick'],
      r.members.map((m) => [
        String(m.pid),
        m.name,
        String(m.ticks),
        String(m.writtenPages),
        String(m.privatePages),
        String(m.sharedPages),
        String(m.peakPages),
      ]),
    ),
  );
  return 0;
}
