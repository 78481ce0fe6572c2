/**
 * /proc/PID/maps parsing: every VMA kind from lines as the kernel writes them, and the kinds of a
 * live fixture's mappings.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchFixture, type Fixture } from '../../testing/fixture.ts';
import { hexToPage, pageToAddress, pageToHex, parseMaps, readMaps, vmaKind } from './maps.ts';

const SAMPLE = `55d0c4a00000-55d0c4a2a000 r--p 00000000 fe:01 1835067                    /usr/bin/python3.11
55d0c5e1d000-55d0c5f60000 rw-p 00000000 00:00 0                          [heap]
7f0000000000-7f0000021000 rw-p 00000000 00:00 0 
7f0000100000-7f0000200000 rw-p 00000000 00:00 0                          [anon:v8 heap]
7f0000200000-7f0000210000 rw-s 00000000 00:01 4242                       /memfd:pagescope (deleted)
7f0000210000-7f0000220000 rw-s 00000000 00:01 2048                       /dev/zero (deleted)
7f0000220000-7f0000230000 rw-s 00000000 00:01 7                          /SYSV00000000 (deleted)
7f0000230000-7f0000430000 rw-p 00000000 00:10 9                          /anon_hugepage (deleted)
7f0000430000-7f0000630000 rw-s 00000000 00:2f 11                         /dev/hugepages/buf
7f0000630000-7f0000640000 rw-s 00000000 00:01 12                         [anon_shmem:ring]
7f0000640000-7f0000650000 r--p 00001000 fe:01 77                         /tmp/with space/lib (deleted)
7f0000650000-7f0000651000 rw-s 00000000 00:01 13                         [anon:shared]
7ffd6a1c7000-7ffd6a1e8000 rw-p 00000000 00:00 0                          [stack]
7ffd6a1f0000-7ffd6a1f4000 r--p 00000000 00:00 0                          [vvar]
7ffd6a1f4000-7ffd6a1f5000 r--p 00000000 00:00 0                          [vvar_vclock]
7ffd6a1f5000-7ffd6a1f7000 r-xp 00000000 00:00 0                          [vdso]
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
`;

describe('parseMaps', () => {
  const vmas = parseMaps(SAMPLE);

  it('parses every field', () => {
    expect(vmas).toHaveLength(17);
    expect(vmas[0]).toEqual({
      index: 0,
      startPage: 0x55d0c4a00,
      endPage: 0x55d0c4a2a,
      startHex: '55d0c4a00000',
      endHex: '55d0c4a2a000',
      perms: 'r--p',
      offset: 0,
      dev: 'fe:01',
      inode: 1835067,
      path: '/usr/bin/python3.11',
      label: '/usr/bin/python3.11',
      kind: 'file',
    });
    expect(vmas[10].offset).toBe(0x1000);
    expect(vmas[10].path).toBe('/tmp/with space/lib (deleted)');
    expect(vmas[2].path).toBe('');
    expect(vmas.map((v) => v.index)).toEqual([...vmas.keys()]);
  });

  it('gives each VMA its kind', () => {
    expect(vmas.map((v) => v.kind)).toEqual([
      'file',
      'heap',
      'anon',
      'anon',
      'shmem',
      'shmem',
      'shmem',
      'hugetlb',
      'hugetlb',
      'shmem',
      'file',
      'shmem',
      'stack',
      'vvar',
      'vvar',
      'vdso',
      'vsyscall',
    ]);
  });

  it('names each VMA as what it is, keeping the raw path', () => {
    expect(vmas.map((v) => v.label)).toEqual([
      '/usr/bin/python3.11',
      '[heap]',
      '',
      '[anon:v8 heap]',
      'memfd:pagescope',
      'shared anonymous',
      'SysV shm (private)',
      'shared anonymous (hugetlb)',
      '/dev/hugepages/buf',
      'shared anonymous: ring',
      '/tmp/with space/lib (deleted)',
      '[anon:shared]',
      '[stack]',
      '[vvar]',
      '[vvar_vclock]',
      '[vdso]',
      '[vsyscall]',
    ]);
    expect(vmas[5].path).toBe('/dev/zero (deleted)');
  });

  it('keeps [vsyscall] exact as page numbers above 2^52', () => {
    const v = vmas.at(-1)!;
    expect(v.startPage).toBe(0xffffffffff600);
    expect(pageToHex(v.startPage)).toBe('ffffffffff600000');
    expect(pageToAddress(v.startPage)).toBe(0xffffffffff600000n);
    expect(hexToPage('0')).toBe(0);
    expect(hexToPage('fff')).toBe(0);
  });

  it('writes every page as toString(16) would, at every width', () => {
    const pages = [0, 1, 0xfff, 0xffffff, 0x1000000, 0x1000001, 0x7f0000000, 0x7fffffffe];
    for (let bits = 0; bits <= 52; bits++) {
      const p = 2 ** bits;
      pages.push(p - 1, p, p + 1, Math.floor(p * 0.7), Math.floor(p / 3) * 3 + 0xab);
    }
    let x = 88172645463325252n;
    for (let i = 0; i < 2000; i++) {
      x ^= (x << 13n) & 0xffffffffffffffffn;
      x ^= x >> 7n;
      x ^= (x << 17n) & 0xffffffffffffffffn;
      pages.push(Number(x & 0xfffffffffffffn)); // 52 bits: page numbers of 64-bit addresses
    }
    for (const p of pages) expect(pageToHex(p), `page ${p}`).toBe(p.toString(16) + '000');
  });

  it('names old-style [stack:TID] a stack and other bracketed names anon', () => {
    expect(vmaKind('[stack:123]', 'rw-p', 0)).toBe('stack');
    expect(vmaKind('[uprobes]', 'r-xp', 0)).toBe('anon');
    // Private /dev/zero is anonymous memory; shared, the kernel shows it "(deleted)".
    expect(vmaKind('/dev/zero', 'rw-p', 4)).toBe('anon');
  });

  it('rejects a line that is not a maps line, quoting it', () => {
    expect(() => parseMaps('hello world\n')).toThrow(/unparsable .*"hello world"/);
  });
});

describe('readMaps on a live fixture', () => {
  let fx: Fixture;
  beforeAll(async () => {
    fx = await launchFixture();
  });
  afterAll(() => fx?.kill());

  it('finds each region with the right kind', () => {
    const vmas = readMaps(fx.pid);
    const at = (name: string) => vmas.find((v) => v.startPage === fx.regions[name].startPage)!;
    expect(at('anon_written').kind).toBe('anon');
    expect(at('anon_written').endPage - at('anon_written').startPage).toBe(16);
    expect(at('memfd').kind).toBe('shmem');
    expect(at('memfd').path).toMatch(/^\/memfd:pagescope-fixture/);
    expect(at('file_shared').kind).toBe('file');
    expect(at('file_shared').perms).toBe('rw-s');
    expect(at('file_private').perms).toBe('rw-p');
    expect(at('sparse').endPage - at('sparse').startPage).toBe(262144);
    expect(vmas.some((v) => v.kind === 'heap')).toBe(true);
    expect(vmas.some((v) => v.kind === 'stack')).toBe(true);
    expect(vmas.some((v) => v.kind === 'vdso')).toBe(true);
  });

  it('turns a vanished pid into a KernelError that says so', () => {
    expect(() => readMaps(4_000_000 + (process.pid % 1000))).toThrow(/ENOENT|ESRCH/);
  });
});
