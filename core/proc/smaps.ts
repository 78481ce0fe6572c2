/**
 * /proc/PID/smaps, read on demand (never per tick: it walks every page table of the process).
 * Gives per-VMA VmFlags such as `uw` (userfaultfd-wp registered), `hg` / `nh` (THP advice).
 */
import fs from 'node:fs';
import { fromNodeError } from '../kernel/errors.ts';

export interface SmapsEntry {
  startHex: string;
  endHex: string;
  vmFlags: string[];
  /** Every "Key: N kB" field, in kB. */
  fields: Record<string, number>;
}

export function parseSmaps(text: string): SmapsEntry[] {
  const out: SmapsEntry[] = [];
  let cur: SmapsEntry | null = null;
  for (const line of text.split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (head) {
      cur = { startHex: head[1], endHex: head[2], vmFlags: [], fields: {} };
      out.push(cur);
      continue;
    }
    if (!cur) continue;
    if (line.startsWith('VmFlags:')) {
      cur.vmFlags = line.slice(8).trim().split(/\s+/).filter(Boolean);
      continue;
    }
    const f = /^(\w+):\s+(\d+) kB$/.exec(line);
    if (f) cur.fields[f[1]] = Number(f[2]);
  }
  return out;
}

export function readSmaps(pid: number): SmapsEntry[] {
  const path = `/proc/${pid}/smaps`;
  try {
    return parseSmaps(fs.readFileSync(path, 'latin1'));
  } catch (err) {
    throw fromNodeError(err, `read ${path}`, { pid, path });
  }
}
