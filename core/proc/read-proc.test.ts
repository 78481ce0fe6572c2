/**
 * readProcText against real files: a /proc file read whole (as readFileSync reads it), a file
 * larger than its buffer read whole, and a missing file failing with the same error code.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { readProcText } from './read-proc.ts';

it('reads a /proc file and a file larger than its buffer whole, and fails as readFileSync does', () => {
  // Our own command line: a /proc file (size 0 to stat) that does not change under us.
  expect(readProcText('/proc/self/cmdline')).toBe(fs.readFileSync('/proc/self/cmdline', 'latin1'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgs-read-proc-'));
  try {
    const big = path.join(dir, 'big');
    // 300 KB of varied bytes (latin1 round-trips every byte), past the 64 KiB buffer twice over.
    const bytes = Buffer.alloc(300_000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + (i >> 9)) & 0xff;
    fs.writeFileSync(big, bytes);
    expect(readProcText(big)).toBe(bytes.toString('latin1'));
    expect(readProcText(big)).toBe(bytes.toString('latin1')); // the grown buffer, read again
    let code = '';
    try {
      readProcText(path.join(dir, 'missing'));
    } catch (err) {
      code = (err as NodeJS.ErrnoException).code ?? String(err);
    }
    expect(code).toBe('ENOENT');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
