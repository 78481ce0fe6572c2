/**
 * Names for the code addresses and threads of a live process (issue 23, "who writes it").
 *
 * Strategy:
 * - Native code: the executable mapping that holds an address (from /proc/PID/maps, read again
 *   when an address falls outside every known one, at most once per refresh()) gives the file
 *   and the file offset; the file is opened through /proc/PID/map_files/START-END (the very file
 *   mapped, even inside a container or after it was replaced on disk), else /proc/PID/root/PATH;
 *   its PT_LOAD segments turn the offset into the address its symbols use (elf.ts). A file
 *   without .symtab gets the symbols of its separate debug file, found by build-id
 *   (DIR/.build-id/xx/rest.debug) or by .gnu_debuglink (next to it, in .debug/, or under
 *   DIR + its directory), searched under the process's root first; else .dynsym.
 * - JIT code: /tmp/perf-PID.map (node --perf-basic-prof, JVM agents, python -X perf), read
 *   through /proc/PID/root with the pid the process has in its own namespace; read again when it
 *   grew.
 * - Names: C++ and Rust names are demangled by binutils' c++filt (no npm demangler is installed
 *   in this project; without c++filt names stay mangled, and `demangler` says so); a Rust legacy
 *   hash suffix (::h0123456789abcdef) is dropped.
 * - Stacks are frame-pointer chains from the kernel: a stack of only the leaf, or one whose
 *   next frame lies outside every executable mapping and known JIT symbol (a frame without a
 *   frame pointer), is cut there and marked partial. Return addresses (frames after the leaf)
 *   are looked up at address - 1, the call instruction.
 * - Thread names: /proc/PID/task/TID/comm, kept once read (a thread that exited before its
 *   first sample was named is "thread TID").
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { readMaps, type Vma } from '../proc/maps.ts';
import { findSymbol, offsetToVaddr, readElfSymbols, type ElfSymbols } from './elf.ts';

export interface Frame {
  /** The function's name (demangled when possible), or null when unknown. */
  fn: string | null;
  /** The file (its base name), "[jit]", or "?" when the address is in no known code. */
  module: string;
  /** Offset of the address in the file (native) or in the function (JIT). */
  offset: number;
  kind: 'native' | 'jit' | 'unknown';
}

export interface SymbolizedStack {
  frames: Frame[];
  /** Only part of the call path is known (leaf only, or cut at a frame without a frame pointer). */
  partial: boolean;
}

/** "fill_alpha", "libc.so.6+0x1234" or "0x7f0012345678": how a frame reads. */
export function frameLabel(f: Frame, addr?: number): string {
  if (f.fn) return f.fn;
  if (f.kind === 'native') return `${f.module}+0x${f.offset.toString(16)}`;
  return addr !== undefined ? `0x${addr.toString(16)}` : '?';
}

interface Module {
  vma: Vma;
  start: number;
  end: number;
  elf: ElfSymbols | null;
  /** Symbols from a separate debug file (when the file itself has no .symtab). */
  debug: ElfSymbols | null;
  name: string;
}

interface JitMap {
  file: string;
  size: number;
  starts: Float64Array;
  sizes: Float64Array;
  names: string[];
}

const elfCache = new Map<string, ElfSymbols | null>();

function tryElf(file: string): ElfSymbols | null {
  try {
    return readElfSymbols(file);
  } catch {
    return null;
  }
}

/** The pid of a process inside its own pid namespace (NSpid's last field), for perf-PID.map. */
function nsPid(pid: number): number {
  try {
    const m = /^NSpid:\s*([\d\s]+)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'latin1'));
    const ids = m?.[1].trim().split(/\s+/).map(Number);
    return ids?.length ? ids[ids.length - 1] : pid;
  } catch {
    return pid;
  }
}

export interface SymbolizerOptions {
  /** Debug file roots searched after the process's own /usr/lib/debug (default: /usr/lib/debug). */
  debugDirs?: string[];
}

export class Symbolizer {
  private modules: Module[] = [];
  private mapsRead = false;
  private mayReread = true;
  private jit: JitMap | null = null;
  private jitChecked = false;
  private readonly cache = new Map<number, Frame>();
  private readonly threadNames = new Map<number, string>();
  private readonly debugDirs: string[];
  private readonly root: string;
  private readonly jitFiles: string[];

  constructor(
    readonly pid: number,
    options: SymbolizerOptions = {},
  ) {
    this.root = `/proc/${pid}/root`;
    this.debugDirs = [`${this.root}/usr/lib/debug`, ...(options.debugDirs ?? ['/usr/lib/debug'])];
    const ns = nsPid(pid);
    this.jitFiles = [`${this.root}/tmp/perf-${ns}.map`, `/tmp/perf-${pid}.map`];
  }

  /**
   * Reads the maps and the symbol tables of every mapped executable file now (what the first
   * lookup would otherwise do inside a tick); returns the ms it took.
   */
  prepare(): number {
    const t0 = performance.now();
    this.readModules();
    return performance.now() - t0;
  }

  /** A new tick: the maps and the JIT map may be read again (once) if an address needs it. */
  refresh(): void {
    this.mayReread = true;
    this.jitChecked = false;
  }

  private readModules(): void {
    let vmas: Vma[];
    try {
      vmas = readMaps(this.pid);
    } catch {
      return;
    }
    const old = new Map(this.modules.map((m) => [`${m.start}-${m.end}-${m.vma.inode}`, m]));
    this.modules = [];
    for (const v of vmas) {
      if (v.perms[2] !== 'x') continue;
      const start = v.startPage * 4096;
      const end = v.endPage * 4096;
      const key = `${start}-${end}-${v.inode}`;
      const had = old.get(key);
      if (had) {
        this.modules.push(had);
        continue;
      }
      let elf: ElfSymbols | null = null;
      let debug: ElfSymbols | null = null;
      if (v.path.startsWith('/') && v.inode !== 0) {
        const cacheKey = `${v.dev}:${v.inode}:${v.path}`;
        if (elfCache.has(cacheKey)) elf = elfCache.get(cacheKey)!;
        else {
          elf =
            tryElf(`/proc/${this.pid}/map_files/${v.startHex}-${v.endHex}`) ??
            tryElf(this.root + v.path) ??
            tryElf(v.path);
          elfCache.set(cacheKey, elf);
        }
        if (elf && elf.table !== 'symtab') debug = this.debugFile(elf, v.path);
      }
      this.modules.push({ vma: v, start, end, elf, debug, name: path.basename(v.path) || v.path });
    }
    this.cache.clear();
    this.mapsRead = true;
  }

  private debugFile(elf: ElfSymbols, file: string): ElfSymbols | null {
    const candidates: string[] = [];
    if (elf.buildId && elf.buildId.length > 2)
      for (const d of this.debugDirs)
        candidates.push(`${d}/.build-id/${elf.buildId.slice(0, 2)}/${elf.buildId.slice(2)}.debug`);
    if (elf.debuglink) {
      const dir = path.dirname(file);
      for (const base of [this.root, ''])
        candidates.push(`${base}${dir}/${elf.debuglink}`, `${base}${dir}/.debug/${elf.debuglink}`);
      for (const d of this.debugDirs) candidates.push(`${d}${dir}/${elf.debuglink}`);
    }
    for (const c of candidates) {
      if (elfCache.has(c)) {
        const e = elfCache.get(c)!;
        if (e) return e;
        continue;
      }
      const e = fs.existsSync(c) ? tryElf(c) : null;
      const ok =
        e && e.table === 'symtab' && (!elf.buildId || !e.buildId || e.buildId === elf.buildId);
      elfCache.set(c, ok ? e : null);
      if (ok) return e;
    }
    return null;
  }

  private readJit(): void {
    this.jitChecked = true;
    for (const file of this.jitFiles) {
      let size: number;
      try {
        size = fs.statSync(file).size;
      } catch {
        continue;
      }
      if (this.jit && this.jit.file === file && this.jit.size === size) return;
      const rows: Array<[number, number, string]> = [];
      for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
        const m = /^([0-9a-fA-F]+) ([0-9a-fA-F]+) (.*)$/.exec(line);
        if (m) rows.push([parseInt(m[1], 16), parseInt(m[2], 16), m[3]]);
      }
      // A later line for the same address replaces an earlier one (code moved or was rebuilt).
      rows.sort((a, b) => a[0] - b[0]);
      const starts = new Float64Array(rows.length);
      const sizes = new Float64Array(rows.length);
      const names: string[] = [];
      let n = 0;
      for (const r of rows) {
        if (n > 0 && starts[n - 1] === r[0]) {
          sizes[n - 1] = r[1];
          names[n - 1] = r[2];
          continue;
        }
        starts[n] = r[0];
        sizes[n] = r[1];
        names.push(r[2]);
        n++;
      }
      this.jit = { file, size, starts: starts.slice(0, n), sizes: sizes.slice(0, n), names };
      this.cache.clear();
      return;
    }
  }

  private moduleAt(addr: number): Module | null {
    for (const m of this.modules) if (addr >= m.start && addr < m.end) return m;
    return null;
  }

  private jitAt(addr: number): Frame | null {
    if (!this.jit) return null;
    const i = findSymbol(this.jit, addr);
    if (i < 0 || this.jit.sizes[i] === 0) return null;
    return {
      fn: this.jit.names[i],
      module: '[jit]',
      offset: addr - this.jit.starts[i],
      kind: 'jit',
    };
  }

  /** The frame of one code address (cached). */
  frame(addr: number): Frame {
    const hit = this.cache.get(addr);
    if (hit) return hit;
    if (!this.mapsRead) this.readModules();
    let m = this.moduleAt(addr);
    if (!m && this.mayReread) {
      this.mayReread = false;
      this.readModules();
      m = this.moduleAt(addr);
    }
    let f: Frame;
    if (m && m.elf) {
      const fileOffset = addr - m.start + m.vma.offset;
      const vaddr = offsetToVaddr(m.elf, fileOffset);
      const table = m.debug ?? m.elf;
      const i = vaddr === null ? -1 : findSymbol(table, vaddr);
      f = {
        fn: i >= 0 ? table.names[i] : null,
        module: m.name,
        offset: fileOffset,
        kind: 'native',
      };
    } else {
      // Anonymous executable memory, or no mapping: JIT code if the map names it.
      if (!this.jitChecked) this.readJit();
      f = this.jitAt(addr) ?? {
        fn: null,
        module: m ? m.name || '[anon]' : '?',
        offset: m ? addr - m.start : 0,
        kind: 'unknown',
      };
    }
    this.cache.set(addr, f);
    return f;
  }

  /** A sampled call chain (leaf first), named; cut and marked partial where it stops being code. */
  stack(chain: readonly number[]): SymbolizedStack {
    const frames: Frame[] = [];
    let partial = chain.length <= 1;
    for (let k = 0; k < chain.length; k++) {
      const f = this.frame(k === 0 ? chain[k] : chain[k] - 1);
      if (k > 0 && f.kind === 'unknown') {
        partial = true;
        break;
      }
      frames.push(f);
    }
    return { frames, partial };
  }

  /** A thread's name (comm), read once; "thread TID" when it is gone before it was read. */
  threadName(tid: number): string {
    const had = this.threadNames.get(tid);
    if (had !== undefined) return had;
    let name: string;
    try {
      name = fs.readFileSync(`/proc/${this.pid}/task/${tid}/comm`, 'utf8').trim();
    } catch {
      return `thread ${tid}`;
    }
    this.threadNames.set(tid, name);
    return name;
  }
}

// ---- demangling ----

const demangled = new Map<string, string>();
let cxxfilt: boolean | null = null;

/** How names are demangled here: 'c++filt', or 'none' (names stay mangled). */
export function demangler(): 'c++filt' | 'none' {
  if (cxxfilt === null) cxxfilt = spawnSync('c++filt', ['--version']).status === 0;
  return cxxfilt ? 'c++filt' : 'none';
}

const mangled = (n: string): boolean => n.startsWith('_Z') || n.startsWith('_R');

/** Drops a Rust legacy symbol's hash (`::h` and 16 hex digits). */
export function dropRustHash(name: string): string {
  return name.replace(/::h[0-9a-f]{16}$/, '');
}

/** Demangled names (one c++filt run for all names not seen before); others unchanged. */
export function demangleAll(names: Iterable<string>): Map<string, string> {
  const out = new Map<string, string>();
  const todo: string[] = [];
  for (const n of names) {
    const had = demangled.get(n);
    if (had !== undefined) out.set(n, had);
    else if (!mangled(n)) out.set(n, n);
    else todo.push(n);
  }
  if (todo.length && demangler() === 'c++filt') {
    const r = spawnSync('c++filt', [], { input: todo.join('\n') + '\n', encoding: 'utf8' });
    const lines = r.status === 0 ? r.stdout.split('\n') : [];
    todo.forEach((n, i) => {
      const d = lines[i] ? dropRustHash(lines[i]) : n;
      demangled.set(n, d);
      out.set(n, d);
    });
  } else for (const n of todo) out.set(n, n);
  return out;
}

export function demangle(name: string): string {
  return demangleAll([name]).get(name)!;
}
