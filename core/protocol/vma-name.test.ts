/**
 * VMA names: maps' pseudo-files say what they are (shared anonymous, memfd, SysV, POSIX shm),
 * files keep their path or base name, anonymous memory stays '' for the caller to name.
 */
import { describe, expect, it } from 'vitest';
import { labelledName, vmaName, vmaShortName } from './vma-name.ts';

describe('vmaName / vmaShortName', () => {
  it.each([
    // [maps path, full name, short name]
    ['/dev/zero (deleted)', 'shared anonymous', 'shared anonymous'],
    ['/dev/zero', 'anonymous (/dev/zero)', 'anonymous (/dev/zero)'],
    ['/anon_hugepage (deleted)', 'shared anonymous (hugetlb)', 'shared anonymous (hugetlb)'],
    ['[anon_shmem:ring]', 'shared anonymous: ring', 'shared anonymous: ring'],
    ['/memfd:jit-code (deleted)', 'memfd:jit-code', 'memfd:jit-code'],
    ['/memfd: (deleted)', 'memfd:', 'memfd:'],
    ['/memfd:a/b (deleted)', 'memfd:a/b', 'memfd:a/b'],
    ['/SYSV0000abcd (deleted)', 'SysV shm key 0x0000abcd', 'SysV shm key 0x0000abcd'],
    ['/SYSVffffffff (deleted)', 'SysV shm key 0xffffffff', 'SysV shm key 0xffffffff'],
    ['/SYSV00000000 (deleted)', 'SysV shm (private)', 'SysV shm (private)'],
    ['/dev/shm/ring', '/dev/shm/ring', '/dev/shm/ring'],
    ['/dev/shm/ring (deleted)', '/dev/shm/ring (deleted)', '/dev/shm/ring (deleted)'],
    ['/usr/lib/libc.so.6', '/usr/lib/libc.so.6', 'libc.so.6'],
    ['/tmp/data (deleted)', '/tmp/data (deleted)', 'data (deleted)'],
    // A file that only looks like a pseudo-file stays a file.
    ['/srv/dev/zero', '/srv/dev/zero', 'zero'],
    ['/SYSVnothex (deleted)', '/SYSVnothex (deleted)', 'SYSVnothex (deleted)'],
    ['[heap]', '[heap]', '[heap]'],
    ['[anon:v8 heap]', '[anon:v8 heap]', '[anon:v8 heap]'],
    ['', '', ''],
  ])('%j -> %j / %j', (path, full, short) => {
    expect(vmaName(path)).toBe(full);
    expect(vmaShortName(path)).toBe(short);
  });

  it('never names shared memory after the zero page', () => {
    expect(vmaShortName('/dev/zero (deleted)')).not.toMatch(/^zero/);
  });
});

describe('labelledName', () => {
  it('prefers what pagescope knows, then the path, then nothing', () => {
    expect(labelledName({ path: '', label: 'demo: sweep' })).toBe('demo: sweep');
    expect(labelledName({ path: '/dev/zero (deleted)' })).toBe('shared anonymous');
    expect(labelledName({ path: '/usr/lib/libc.so.6' })).toBe('libc.so.6');
    expect(labelledName({ path: '/usr/lib/libc.so.6' }, false)).toBe('/usr/lib/libc.so.6');
    expect(labelledName({ path: '', label: '' })).toBe('');
  });
});
