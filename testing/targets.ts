/**
 * Processes nobody wrote for pagescope's tests: a plain `python3 -c` and a `node -e` child that
 * allocate some memory, say "ready" on stdout, and then sleep until killed. Plus a per-page
 * oracle: the high words of /proc/PID/pagemap entries, read directly (root or same user).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import readline from 'node:readline';

let python: string | null = null;

/**
 * The real python3 binary (not a pyenv shim, which costs a shell start per spawn).
 * PAGESCOPE_PYTHON overrides it.
 */
export function pythonExecutable(): string {
  if (python) return python;
  python =
    process.env.PAGESCOPE_PYTHON ??
    execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], {
      encoding: 'utf8',
    }).trim();
  return python;
}

export interface Target {
  pid: number;
  child: ChildProcess;
  kill(): void;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

async function startUntilReady(cmd: string, args: string[]): Promise<Target> {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  live.add(child);
  const lines = readline.createInterface({ input: child.stdout! });
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${cmd} exited early (${code})`)));
    lines.once('line', () => resolve());
  });
  return {
    pid: child.pid!,
    child,
    kill() {
      if (live.delete(child)) child.kill('SIGKILL');
    },
  };
}

/** A python3 that builds some lists and a bytearray, then sleeps. */
export function spawnPythonTarget(): Promise<Target> {
  const code =
    'import sys, time\n' +
    'data = [str(i) * 10 for i in range(200000)]\n' +
    'buf = bytearray(8 << 20)\n' +
    'for i in range(0, len(buf), 8192): buf[i] = 1\n' +
    'print("ready", flush=True)\n' +
    'time.sleep(3600)\n';
  return startUntilReady(pythonExecutable(), ['-c', code]);
}

/** A node that fills a few arrays and buffers, then idles. */
export function spawnNodeTarget(): Promise<Target> {
  const code =
    'const keep = [];' +
    'for (let i = 0; i < 100000; i++) keep.push({ i, s: "x" + i });' +
    'const b = Buffer.alloc(16 << 20); for (let i = 0; i < b.length; i += 8192) b[i] = 1;' +
    'globalThis.keep = [keep, b];' +
    'console.log("ready"); setInterval(() => {}, 1 << 30);';
  return startUntilReady(process.execPath, ['-e', code]);
}

/**
 * High 32 bits of the /proc/PID/pagemap entry of each page in [startPage, endPage): every flag
 * (present 31, swapped 30, file/shared 29, guard 26, uffd-wp 25, exclusive 24, soft-dirty 23).
 */
export function readPagemapHigh(pid: number, startPage: number, endPage: number): Uint32Array {
  const fd = fs.openSync(`/proc/${pid}/pagemap`, 'r');
  try {
    const n = endPage - startPage;
    const buf = Buffer.alloc(n * 8);
    let got = 0;
    while (got < buf.length) {
      const r = fs.readSync(fd, buf, got, buf.length - got, BigInt(startPage + got / 8) * 8n);
      if (r <= 0) break;
      got += r;
    }
    const out = new Uint32Array(n);
    for (let i = 0; i < got / 8; i++) out[i] = buf.readUInt32LE(i * 8 + 4);
    return out;
  } finally {
    fs.closeSync(fd);
  }
}
