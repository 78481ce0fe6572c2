/**
 * The session's target: a running process by pid, the demo, or a command launched through the
 * one launch path (core/watch/launch.ts, the CLI's too): attached at its exec stop, so the
 * watch can cover the program from its first instruction.
 *
 * Strategy: everything here runs on the session worker's thread (see worker-protocol.ts for why
 * targets are spawned there, never on the main thread). A launched child dies with that thread
 * (parent-death chain) and is ended by `endChild` when the session stops.
 */
import type { ChildProcess } from 'node:child_process';
import { PagescopeError } from '../kernel/errors.ts';
import { resolveProgram } from '../kernel/parent-death.ts';
import { hexToPage } from '../proc/maps.ts';
import { launchAndAttach } from '../watch/launch.ts';
import type { WriteWatcher } from '../watch/watcher.ts';
import type { LabelRegion } from './vma-table.ts';
import type { WorkerInit } from './worker-protocol.ts';

export interface SessionTarget {
  pid: number;
  /** Our child when we launched it (demo or command), else null. */
  child: ChildProcess | null;
  /** Attached at the exec stop of a launched command; null otherwise (attached at first watch). */
  watcher: WriteWatcher | null;
  labels: LabelRegion[];
}

export async function openTarget(init: WorkerInit): Promise<SessionTarget> {
  const l = init.launch;
  if (!l) return { pid: init.pid, child: null, watcher: null, labels: [] };
  if (l.kind === 'demo') {
    // Loaded only when asked for (a literal path: the build bundles it into this worker).
    const { spawnDemo } = await import('../demo/launch.ts');
    const demo = await spawnDemo();
    return {
      pid: demo.pid,
      child: demo.child,
      watcher: null,
      labels: Object.entries(demo.regions).map(([name, r]) => ({
        startPage: hexToPage(r.start.replace(/^0x/, '')),
        endPage: hexToPage(r.end.replace(/^0x/, '')),
        label: `demo: ${name}`,
      })),
    };
  }
  // Checked first: a missing program would otherwise end as a bare exit code of the launcher.
  if (!resolveProgram(l.command[0]))
    throw new PagescopeError(
      `Cannot launch "${l.command[0]}": no such program (check the name and PATH).`,
      'launch-failed',
    );
  const { child, watcher } = launchAndAttach(l.command, {
    force: init.force,
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  return { pid: watcher.pid, child, watcher, labels: [] };
}
