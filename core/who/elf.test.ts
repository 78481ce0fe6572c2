/**
 * elf.ts against binutils' nm on real files: the test's own freshly built fixture (.symtab), and
 * libc (what the system ships). Pure file reading, but it runs gcc: a system test.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findSymbol, offsetToVaddr, readElfSymbols } from './elf.ts';
import { buildWhoWriter } from '../../testing/who-target.ts';

let build: ReturnType<typeof buildWhoWriter>;
beforeAll(() => {
  build = buildWhoWriter();
});
afterAll(() => fs.rmSync(build.dir, { recursive: true, force: true }));

/** nm's sized text symbols (T/t/W/i) as name -> address, of .symtab or (dynamic) .dynsym. */
function nmFunctions(file: string, dynamic: boolean): Map<string, number> {
  const out = new Map<string, number>();
  const args = ['-S', '--defined-only', ...(dynamic ? ['-D'] : []), file];
  for (const line of execFileSync('nm', args, { encoding: 'utf8' }).split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length !== 4 || !/^[TtWi]$/.test(f[2])) continue;
    if (parseInt(f[1], 16) === 0) continue;
    out.set(f[3].replace(/@.*$/, ''), parseInt(f[0], 16));
  }
  return out;
}

function checkAgainstNm(file: string): void {
  const elf = readElfSymbols(file);
  expect(elf.table).not.toBe('none');
  const nm = nmFunctions(file, elf.table === 'dynsym');
  expect(nm.size).toBeGreaterThan(3);
  // (name, address) pairs: a versioned name (glob@GLIBC_2.2.5, glob@@GLIBC_2.27) is one name at
  // two addresses.
  const ours = new Set(elf.names.map((n, i) => `${n} ${elf.starts[i]}`));
  // every sized function nm lists is found at its address (by this name or an alias there)
  for (const [name, addr] of nm) {
    const i = findSymbol(elf, addr);
    expect(i, `${name} at 0x${addr.toString(16)}`).toBeGreaterThanOrEqual(0);
    expect(elf.starts[i]).toBe(addr);
    if (elf.names[i] === name) expect(ours.has(`${name} ${addr}`)).toBe(true);
  }
  // and everything we list is in nm at the same address
  const nmAll = new Set<string>();
  const args = ['--defined-only', ...(elf.table === 'dynsym' ? ['-D'] : []), file];
  for (const line of execFileSync('nm', args, { encoding: 'utf8' }).split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length === 3) nmAll.add(`${f[2].replace(/@.*$/, '')} ${parseInt(f[0], 16)}`);
  }
  for (const pair of ours) expect(nmAll.has(pair), pair).toBe(true);
}

describe('readElfSymbols', () => {
  it('reads the same functions as nm from a fresh build (.symtab)', () => {
    checkAgainstNm(build.exe);
    const elf = readElfSymbols(build.exe);
    expect(elf.table).toBe('symtab');
    const i = elf.names.indexOf('fill_alpha');
    expect(findSymbol(elf, elf.starts[i] + 3)).toBe(i);
    expect(elf.buildId).toMatch(/^[0-9a-f]{40}$/);
  });

  it('reads the same functions as nm from libc', () => {
    const libc = fs
      .readFileSync('/proc/self/maps', 'latin1')
      .split('\n')
      .map((l) => l.split(/\s+/)[5])
      .find((p) => p && /\/libc\.so\.6$/.test(p));
    expect(libc).toBeTruthy();
    checkAgainstNm(libc!);
  });

  it('a stripped file has .dynsym at most, and its build-id (for the debug file)', () => {
    const s = readElfSymbols(build.stripped);
    expect(s.table).not.toBe('symtab');
    expect(s.names).not.toContain('fill_alpha');
    expect(s.buildId).toBe(readElfSymbols(build.exe).buildId);
  });

  it('file offsets map to addresses through PT_LOAD', () => {
    const elf = readElfSymbols(build.exe);
    const text = elf.loads.find((l) => l.offset > 0 && l.filesz > 0)!;
    expect(offsetToVaddr(elf, text.offset + 5)).toBe(text.vaddr + 5);
    expect(offsetToVaddr(elf, 1e12)).toBeNull();
  });

  it('refuses what is not ELF64 in one sentence', () => {
    const f = `${build.dir}/not-elf`;
    fs.writeFileSync(f, 'hello, this is not an ELF file at all'.repeat(4));
    expect(() => readElfSymbols(f)).toThrow(/is not a 64-bit little-endian ELF file/);
  });
});
