/**
 * A small ELF64 (little-endian) symbol reader: the function symbols of a file, for naming the
 * code that wrote a page (issue 23).
 *
 * Strategy: read only what is needed through positioned reads (the ELF header, the section and
 * program headers, the symbol and string tables): a 100 MB binary such as node is never read
 * whole. Function symbols (STT_FUNC, STT_GNU_IFUNC) come from .symtab, else .dynsym, sorted by
 * address; lookups are a binary search. The PT_LOAD segments turn a file offset (what
 * /proc/PID/maps gives for an address) into the address the symbols use. The build-id note and
 * .gnu_debuglink name the separate debug file of a stripped binary (symbols.ts finds it).
 * Checked against `nm` by elf.test.ts.
 */
import fs from 'node:fs';

const SHT_SYMTAB = 2;
const SHT_NOTE = 7;
const SHT_DYNSYM = 11;
const SHT_NOBITS = 8;
const STT_FUNC = 2;
const STT_GNU_IFUNC = 10;
const PT_LOAD = 1;
const NT_GNU_BUILD_ID = 3;

export interface ElfSymbols {
  /** Function start addresses (ascending), sizes and names, in parallel arrays. */
  starts: Float64Array;
  sizes: Float64Array;
  names: string[];
  /** Which table they came from ('none' when the file has neither). */
  table: 'symtab' | 'dynsym' | 'none';
  /** PT_LOAD segments: file offset -> address. */
  loads: Array<{ offset: number; vaddr: number; filesz: number; memsz: number }>;
  /** Build-id as hex, when the file has one. */
  buildId: string | null;
  /** .gnu_debuglink's file name, when present. */
  debuglink: string | null;
}

interface Section {
  name: number;
  type: number;
  offset: number;
  size: number;
  link: number;
  entsize: number;
}

function readAt(fd: number, offset: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = fs.readSync(fd, buf, got, length - got, offset + got);
    if (n <= 0) throw new Error(`short read at ${offset + got}`);
    got += n;
  }
  return buf;
}

const u64 = (b: Buffer, at: number): number =>
  b.readUInt32LE(at) + b.readUInt32LE(at + 4) * 2 ** 32;

/** Whether a file starts like an ELF64 little-endian object. */
export function isElf64(header: Buffer): boolean {
  return (
    header.length >= 64 &&
    header.readUInt32BE(0) === 0x7f454c46 &&
    header[4] === 2 && // ELFCLASS64
    header[5] === 1 // little-endian
  );
}

/** The function symbols of an ELF file (throws when it is not ELF64 LE or is truncated). */
export function readElfSymbols(path: string): ElfSymbols {
  const fd = fs.openSync(path, 'r');
  try {
    return readElfFd(fd, path);
  } finally {
    fs.closeSync(fd);
  }
}

function readElfFd(fd: number, path: string): ElfSymbols {
  const eh = readAt(fd, 0, 64);
  if (!isElf64(eh)) throw new Error(`${path} is not a 64-bit little-endian ELF file`);
  const phoff = u64(eh, 32);
  const shoff = u64(eh, 40);
  const phentsize = eh.readUInt16LE(54);
  const phnum = eh.readUInt16LE(56);
  const shentsize = eh.readUInt16LE(58);
  const shnum = eh.readUInt16LE(60);
  const shstrndx = eh.readUInt16LE(62);

  const loads: ElfSymbols['loads'] = [];
  if (phnum) {
    const ph = readAt(fd, phoff, phentsize * phnum);
    for (let i = 0; i < phnum; i++) {
      const at = i * phentsize;
      if (ph.readUInt32LE(at) !== PT_LOAD) continue;
      loads.push({
        offset: u64(ph, at + 8),
        vaddr: u64(ph, at + 16),
        filesz: u64(ph, at + 32),
        memsz: u64(ph, at + 40),
      });
    }
  }

  const sections: Section[] = [];
  if (shnum && shoff) {
    const sh = readAt(fd, shoff, shentsize * shnum);
    for (let i = 0; i < shnum; i++) {
      const at = i * shentsize;
      sections.push({
        name: sh.readUInt32LE(at),
        type: sh.readUInt32LE(at + 4),
        offset: u64(sh, at + 24),
        size: u64(sh, at + 32),
        link: sh.readUInt32LE(at + 40),
        entsize: u64(sh, at + 56),
      });
    }
  }
  const shstr =
    shstrndx < sections.length && sections[shstrndx].type !== SHT_NOBITS
      ? readAt(fd, sections[shstrndx].offset, sections[shstrndx].size)
      : Buffer.alloc(0);
  const sectionName = (s: Section): string => {
    const end = shstr.indexOf(0, s.name);
    return shstr.toString('latin1', s.name, end < 0 ? undefined : end);
  };

  let buildId: string | null = null;
  let debuglink: string | null = null;
  for (const s of sections) {
    if (s.type === SHT_NOTE && sectionName(s) === '.note.gnu.build-id' && s.size < 4096) {
      const n = readAt(fd, s.offset, s.size);
      const namesz = n.readUInt32LE(0);
      const descsz = n.readUInt32LE(4);
      if (n.readUInt32LE(8) === NT_GNU_BUILD_ID) {
        const desc = 12 + ((namesz + 3) & ~3);
        buildId = n.toString('hex', desc, desc + descsz);
      }
    } else if (sectionName(s) === '.gnu_debuglink' && s.type !== SHT_NOBITS && s.size < 4096) {
      const d = readAt(fd, s.offset, s.size);
      const end = d.indexOf(0);
      debuglink = d.toString('utf8', 0, end < 0 ? undefined : end) || null;
    }
  }

  const pick = (type: number): Section | undefined =>
    sections.find((s) => s.type === type && s.size > 0 && s.entsize === 24);
  const symtab = pick(SHT_SYMTAB);
  const table = symtab ?? pick(SHT_DYNSYM);
  const empty = {
    starts: new Float64Array(0),
    sizes: new Float64Array(0),
    names: [],
    table: 'none' as const,
  };
  if (!table || table.link >= sections.length) return { ...empty, loads, buildId, debuglink };
  const strs = sections[table.link];
  const str = readAt(fd, strs.offset, strs.size);
  const syms = readAt(fd, table.offset, table.size);
  const found: Array<{ start: number; size: number; name: string }> = [];
  for (let at = 0; at + 24 <= syms.length; at += 24) {
    const info = syms[at + 4];
    const type = info & 0xf;
    if (type !== STT_FUNC && type !== STT_GNU_IFUNC) continue;
    const shndx = syms.readUInt16LE(at + 6);
    if (shndx === 0) continue; // undefined (imported)
    const start = u64(syms, at + 8);
    if (start === 0) continue;
    const nameOff = syms.readUInt32LE(at);
    const end = str.indexOf(0, nameOff);
    const name = str.toString('latin1', nameOff, end < 0 ? undefined : end);
    if (!name) continue;
    found.push({ start, size: u64(syms, at + 16), name });
  }
  // Ascending by address; among aliases at one address, the sized one first, then by name, so
  // the choice is stable.
  found.sort((a, b) => a.start - b.start || b.size - a.size || (a.name < b.name ? -1 : 1));
  const starts = new Float64Array(found.length);
  const sizes = new Float64Array(found.length);
  const names: string[] = [];
  let n = 0;
  for (const f of found) {
    if (n > 0 && starts[n - 1] === f.start) continue; // an alias: keep the first
    starts[n] = f.start;
    sizes[n] = f.size;
    names.push(f.name);
    n++;
  }
  return {
    starts: starts.slice(0, n),
    sizes: sizes.slice(0, n),
    names,
    table: symtab ? 'symtab' : 'dynsym',
    loads,
    buildId,
    debuglink,
  };
}

/** The address (as the symbols use it) of a file offset, through the PT_LOAD segments. */
export function offsetToVaddr(elf: Pick<ElfSymbols, 'loads'>, offset: number): number | null {
  for (const l of elf.loads)
    if (offset >= l.offset && offset < l.offset + Math.max(l.filesz, 1))
      return offset - l.offset + l.vaddr;
  return null;
}

/** The function containing `vaddr`: its index, or -1 (before the first, or past a sized one's end). */
export function findSymbol(elf: Pick<ElfSymbols, 'starts' | 'sizes'>, vaddr: number): number {
  const s = elf.starts;
  let lo = 0;
  let hi = s.length - 1;
  let best = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (s[mid] <= vaddr) {
      best = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (best < 0) return -1;
  const size = elf.sizes[best];
  if (size > 0 && vaddr >= s[best] + size) return -1;
  return best;
}
