import { describe, expect, it } from 'vitest';
import { parseMaps } from '../proc/maps.ts';
import type { Refusal } from '../watch/refusal.ts';
import { cleanupAfterEach, startPyTarget } from '../../testing/watch-support.ts';
import { layoutOf } from './aggregate.ts';
import { VmaTable, vmaInfos } from './vma-table.ts';

const MAPS = [
  '00400000-00401000 r-xp 00000000 08:01 1 /usr/bin/prog',
  '01000000-01010000 rw-p 00000000 00:00 0 [heap]',
  '7f0000000000-7f0000004000 rw-p 00000000 00:00 0 ',
  '7f0000004000-7f0000008000 ---p 00000000 00:00 0 ',
  '7ffff7ffd000-7ffff7fff000 r-xp 00000000 00:00 0 [vdso]',
].join('\n');

describe('vmaInfos', () => {
  const vmas = parseMaps(MAPS);
  const layout = layoutOf(vmas);
  const heap = vmas[1];
  const anon = vmas[2];
  const none = vmas[3];
  const vdso = vmas[4];
  const refusals = new Map<string, Refusal>([
    [`${none.startPage}-${none.endPage}`, { code: 'no-access' }],
    [`${vdso.startPage}-${vdso.endPage}`, { code: 'special-mapping', detail: '[vdso]' }],
  ]);
  const infos = vmaInfos(
    vmas,
    layout,
    [
      { startPage: heap.startPage, endPage: heap.endPage },
      { startPage: anon.startPage, endPage: anon.startPage + 1 },
    ],
    (s, e) => refusals.get(`${s}-${e}`),
    [{ startPage: anon.startPage, endPage: anon.endPage, label: 'demo: sweep' }],
  );

  it('says watched yes, partial or no by the pages covered', () => {
    expect(infos.map((v) => v.watched)).toEqual(['no', 'yes', 'partial', 'no', 'refused']);
  });

  it('shows a no-access piece as not watched (with its note), any other refusal as refused', () => {
    expect(infos[3].watchNote).toMatch(/PROT_NONE/);
    expect(infos[4].watchNote).toMatch(/^\[vdso\] is a special mapping/);
    expect(infos[1].watchNote).toBeUndefined();
  });

  it('labels unnamed memory inside a known region, never a named file', () => {
    expect(infos[2].label).toBe('demo: sweep');
    expect(infos[0].label).toBeUndefined();
  });

  it('carries addresses, pages and collapsed offsets', () => {
    expect(infos[1]).toMatchObject({
      index: 1,
      start: '0x01000000',
      end: '0x01010000',
      startPage: 0x1000,
      endPage: 0x1010,
      offset: 1,
      perms: 'rw-p',
      path: '[heap]',
      kind: 'heap',
    });
  });
});

describe('VmaTable', () => {
  const { track } = cleanupAfterEach();

  it('reads the maps, and bumps the version only when the VMAs change', async () => {
    const t = track(await startPyTarget(8));
    const table = new VmaTable(t.pid);
    expect(table.read()).toBe(true);
    expect(table.version).toBe(1);
    expect(table.vmas.some((v) => v.startPage === t.startPage)).toBe(true);
    expect(table.read()).toBe(false);
    expect(table.version).toBe(1);
    expect(await t.send('m')).toBe('ok'); // a new VMA
    expect(table.read()).toBe(true);
    expect(table.version).toBe(2);
    expect(table.vmas.some((v) => v.startPage === 0x200000000)).toBe(true);
    expect(table.layout.totalPages).toBeGreaterThan(16);
  });

  it('throws a sentence for a process that does not exist', () => {
    expect(() => new VmaTable(4_000_000).read()).toThrow(/4000000/);
  });
});
