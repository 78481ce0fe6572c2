/** `pagescope ps`: the processes pagescope could look at. */
import { listProcesses } from '../../proc/processes.ts';
import { formatBytes, table } from '../format.ts';

export function psCommand(options: { json?: boolean }): number {
  const procs = listProcesses();
  if (options.json) {
    process.stdout.write(JSON.stringify(procs) + '\n');
    return 0;
  }
  process.stdout.write(
    table(
      ['PID', 'USER', 'RSS', 'S', 'NAME', 'COMMAND'],
      procs.map((p) => [
        p.pid,
        p.user,
        formatBytes(p.rssKiB * 1024),
        p.state,
        p.name,
        p.cmdline.slice(0, 80),
      ]),
    ) + '\n',
  );
  return 0;
}
