/**
 * Drives testing/group-tree.py (a python3 tree around shared memory) from a test: start it, send
 * a command, read its one-line JSON answer. The whole tree ends when the returned close() runs or
 * this process exits (its stdin closes, the lifeline pipe breaks). No test-runner imports.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { pythonExecutable } from './targets.ts';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'group-tree.py');

export interface TreeInfo {
  pid: number;
  children: number[];
  grandchild: number;
  pageSize: number;
  pages: number;
  regions: Record<'shared_anon' | 'memfd' | 'sysv', string>;
}

export interface GroupTree {
  info: TreeInfo;
  child: ChildProcess;
  send(line: string): Promise<Record<string, unknown>>;
  close(): void;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export async function startGroupTree(children: number, pages = 64): Promise<GroupTree> {
  const child = spawn(pythonExecutable(), [SCRIPT, String(children), String(pages)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  live.add(child);
  const lines = readline.createInterface({ input: child.stdout! });
  const queue: Array<(line: string) => void> = [];
  lines.on('line', (l) => queue.shift()?.(l));
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  const send = (line: string): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      if (exited) return reject(new Error('group-tree.py has exited'));
      const onExit = (): void => reject(new Error(`group-tree.py exited during ${line}`));
      child.once('exit', onExit);
      queue.push((l) => {
        child.removeListener('exit', onExit);
        resolve(JSON.parse(l) as Record<string, unknown>);
      });
      child.stdin!.write(line + '\n');
    });
  const info = (await send('info')) as unknown as TreeInfo;
  return {
    info,
    child,
    send,
    close() {
      if (!live.delete(child)) return;
      child.stdin!.end(); // EOF: the parent exits, the lifeline takes the rest
    },
  };
}
