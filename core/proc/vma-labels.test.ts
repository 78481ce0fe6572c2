/**
 * VMA names on a real process (testing/shared-memory-target.py): shared anonymous memory, a
 * private /dev/zero mapping, a memfd, a SysV segment, POSIX shm and a deleted file are named as
 * what they are by the maps parser and in `pagescope scan` (JSON and table), and the raw path is
 * kept beside the name.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pythonExecutable } from '../../testing/targets.ts';
import { readMaps, type Vma } from './maps.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/pagescope.mjs');
const SCRIPT = path.join(ROOT, 'testing/shared-memory-target.py');
const SHM_NAME = `pagescope-names-${process.pid}`;

interface Layout {
  pid: number;
  key: string;
  tmp: string;
  regions: Record<string, string>;
}

let child: ChildProcess;
let layout: Layout;

beforeAll(async () => {
  fs.rmSync(`/dev/shm/${SHM_NAME}`, { force: true });
  child = spawn(pythonExecutable(), [SCRIPT, SHM_NAME], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines = readline.createInterface({ input: child.stdout! });
  layout = await new Promise<Layout>((resolve, reject) => {
    lines.once('line', (l) => resolve(JSON.parse(l) as Layout));
    child.once('exit', (code) => reject(new Error(`the target exited (${code}): ${stderr}`)));
  });
});

afterAll(() => {
  child?.kill('SIGKILL');
  fs.rmSync(`/dev/shm/${SHM_NAME}`, { force: true });
});

/** What each region must be named: [full name, the raw path in maps]. */
function expected(): Record<string, [string, string]> {
  return {
    shared_anon: ['shared anonymous', '/dev/zero (deleted)'],
    zero_private: ['anonymous (/dev/zero)', '/dev/zero'],
    memfd: ['memfd:pagescope-names', '/memfd:pagescope-names (deleted)'],
    sysv: [`SysV shm key ${layout.key}`, `/SYSV${layout.key.slice(2)} (deleted)`],
    posix_shm: [`/dev/shm/${SHM_NAME}`, `/dev/shm/${SHM_NAME}`],
    deleted_file: [`${layout.tmp} (deleted)`, `${layout.tmp} (deleted)`],
  };
}

const startOf = (hex: string): number => Number(BigInt(hex) >> 12n);

describe('VMA names of a live process', () => {
  it('the maps parser names each region and keeps its path', () => {
    const vmas = readMaps(layout.pid);
    for (const [name, [label, raw]] of Object.entries(expected())) {
      const v: Vma | undefined = vmas.find((x) => x.startPage === startOf(layout.regions[name]));
      expect(v, name).toBeDefined();
      expect({ name, path: v!.path, label: v!.label }).toEqual({ name, path: raw, label });
    }
    const kinds = (name: string) =>
      vmas.find((x) => x.startPage === startOf(layout.regions[name]))!.kind;
    expect(kinds('shared_anon')).toBe('shmem');
    expect(kinds('zero_private')).toBe('anon');
  });

  it('`scan --json` gives each VMA its label beside its path, and the table shows the label', async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
        const c = spawn(process.execPath, [BIN, ...args], { cwd: ROOT });
        let stdout = '';
        let stderr = '';
        c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        c.on('error', reject);
        c.on('close', (code) => resolve({ code, stdout, stderr }));
      });
    const json = await run(['scan', '--pid', String(layout.pid), '--json']);
    expect(json.code, json.stderr).toBe(0);
    const vmas = (
      JSON.parse(json.stdout) as { vmas: Array<{ start: string; path: string; label: string }> }
    ).vmas;
    for (const [name, [label, raw]] of Object.entries(expected())) {
      const v = vmas.find((x) => startOf(x.start) === startOf(layout.regions[name]));
      expect(v, name).toBeDefined();
      expect({ name, path: v!.path, label: v!.label }).toEqual({ name, path: raw, label });
    }
    const table = await run(['scan', '--pid', String(layout.pid)]);
    expect(table.code, table.stderr).toBe(0);
    const row = (name: string) =>
      table.stdout
        .split('\n')
        .find((l) => l.startsWith(layout.regions[name].slice(2).padStart(12, '0') + '-')) ?? '';
    expect(row('shared_anon')).toMatch(/ shared anonymous /);
    expect(row('memfd')).toMatch(/ memfd:pagescope-names /);
    expect(row('sysv')).toContain(` SysV shm key ${layout.key} `);
    expect(table.stdout).not.toContain('/dev/zero (deleted)');
  });
});
