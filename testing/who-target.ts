/**
 * The "who writes it" fixture (testing/who-writer.c): built with gcc once per source
 * (testing/c-build.ts; frame pointers on, or a stripped copy), copied into a folder of the test
 * file's own, started, and driven over stdin one command at a time ("go", "fresh", "spawn"; each
 * answered "done").
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { buildC, cachedBuild, copyBuilt } from './c-build.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
export const PAGES = 256;

/**
 * who-writer.c built (once per source) and copied into a temporary folder of the caller's, which
 * may write beside it; `stripped` is a `strip`ped copy.
 */
export function buildWhoWriter(): { dir: string; exe: string; stripped: string } {
  const built = buildC(path.join(here, 'who-writer.c'), [
    '-O1',
    '-g',
    '-fno-omit-frame-pointer',
    '-pthread',
  ]);
  const strippedBuilt = cachedBuild(
    'who-writer-stripped',
    ['strip', fs.readFileSync(built)],
    (out) => execFileSync('strip', ['-o', out, built]),
  );
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagescope-who-'));
  return {
    dir,
    exe: copyBuilt(built, dir, 'who-writer'),
    stripped: copyBuilt(strippedBuilt, dir, 'who-writer-stripped'),
  };
}

export class WhoWriter {
  private lines: string[] = [];
  private wake: (() => void) | null = null;
  exited = false;
  rangeA = 0;
  rangeB = 0;
  rangeC = 0;

  private constructor(readonly child: ChildProcess) {
    readline.createInterface({ input: child.stdout! }).on('line', (l) => {
      this.lines.push(l);
      this.wake?.();
    });
    child.on('exit', () => {
      this.exited = true;
      this.wake?.();
    });
  }

  static async start(exe: string): Promise<WhoWriter> {
    const w = new WhoWriter(spawn(exe, [], { stdio: ['pipe', 'pipe', 'inherit'] }));
    const hello = (await w.line()).split(' ');
    if (hello[0] !== 'ready') throw new Error(`who-writer said ${hello.join(' ')}`);
    w.rangeA = parseInt(hello[1], 16);
    w.rangeB = parseInt(hello[2], 16);
    w.rangeC = parseInt(hello[4], 16);
    return w;
  }

  get pid(): number {
    return this.child.pid!;
  }

  async line(timeoutMs = 20_000): Promise<string> {
    const end = Date.now() + timeoutMs;
    while (this.lines.length === 0) {
      if (this.exited) throw new Error('who-writer exited');
      if (Date.now() > end) throw new Error(`who-writer said nothing in ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 200);
      });
    }
    return this.lines.shift()!;
  }

  /**
   * Sends a command and waits for its "done"; returns the CPU time writer-a and writer-b spent
   * writing, ns (go and fresh).
   */
  async run(command: 'go' | 'fresh' | 'spawn' | 'forkgo'): Promise<[number, number]> {
    this.child.stdin!.write(command + '\n');
    const l = await this.line();
    if (!/^done( \d+ \d+)?$/.test(l)) throw new Error(`who-writer answered ${l}`);
    const f = l.split(' ');
    return [Number(f[1] ?? 0), Number(f[2] ?? 0)];
  }

  /** Thread ids by name (comm). */
  threads(): Map<string, number> {
    const out = new Map<string, number>();
    for (const t of fs.readdirSync(`/proc/${this.pid}/task`))
      out.set(fs.readFileSync(`/proc/${this.pid}/task/${t}/comm`, 'latin1').trim(), Number(t));
    return out;
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}

/** [start, end) runtime addresses of a function of `exe` in process `pid` (nm + the maps). */
export function functionRange(pid: number, exe: string, name: string): [number, number] {
  const line = execFileSync('nm', ['-S', '--defined-only', exe], { encoding: 'utf8' })
    .split('\n')
    .find((l) => l.endsWith(` ${name}`));
  if (!line) throw new Error(`nm does not list ${name}`);
  const [addr, size] = line.split(' ');
  const real = fs.realpathSync(exe);
  const base = fs
    .readFileSync(`/proc/${pid}/maps`, 'latin1')
    .split('\n')
    .map((l) => l.split(/\s+/))
    .find((f) => f[5] === real && parseInt(f[2], 16) === 0);
  if (!base) throw new Error(`${exe} is not mapped in ${pid}`);
  const start = parseInt(base[0].split('-')[0], 16) + parseInt(addr, 16);
  return [start, start + parseInt(size, 16)];
}
