/**
 * The watcher driven from a worker_threads Worker, as a session does: every ptrace call of the
 * attach and every tick happen on this thread. Messages: {op:'tick'} -> {pages:number[]},
 * {op:'close'} -> {closed:true}.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { RegionList } from '../core/scan/region-list.ts';
import { WriteWatcher } from '../core/watch/watcher.ts';

const { pid, startPage, pages } = workerData as { pid: number; startPage: number; pages: number };
const port = parentPort!;
try {
  const w = WriteWatcher.attach(pid);
  const states = w.arm([{ startPage, endPage: startPage + pages }]);
  const out = new RegionList();
  port.on('message', (m: { op: string }) => {
    if (m.op === 'tick') {
      w.tick(out);
      const ps: number[] = [];
      for (let i = 0; i < out.length; i++)
        for (let p = out.startPage[i]; p < out.endPage[i]; p++) ps.push(p - startPage);
      port.postMessage({ pages: ps });
    } else if (m.op === 'close') {
      w.close();
      port.postMessage({ closed: true });
      port.close();
    }
  });
  port.postMessage({ armed: states.map((s) => s.status) });
} catch (err) {
  port.postMessage({ error: (err as Error).message });
}
