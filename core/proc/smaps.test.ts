/** /proc/PID/smaps: VmFlags and the kB fields, from text and from a live process. */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnPythonTarget, type Target } from '../../testing/targets.ts';
import { readMaps } from './maps.ts';
import { parseSmaps, readSmaps } from './smaps.ts';

const TEXT = `7f0000000000-7f0000200000 rw-p 00000000 00:00 0 
Size:               2048 kB
Rss:                2048 kB
AnonHugePages:      2048 kB
THPeligible:        1
VmFlags: rd wr mr mw me ac hg uw 
7f0000200000-7f0000201000 r--p 00000000 fe:01 12                         /usr/lib/x
Size:                  4 kB
VmFlags: rd mr mw me nh
`;

describe('parseSmaps', () => {
  it('reads VmFlags and kB fields per VMA', () => {
    const e = parseSmaps(TEXT);
    expect(e).toHaveLength(2);
    expect(e[0]).toEqual({
      startHex: '7f0000000000',
      endHex: '7f0000200000',
      vmFlags: ['rd', 'wr', 'mr', 'mw', 'me', 'ac', 'hg', 'uw'],
      fields: { Size: 2048, Rss: 2048, AnonHugePages: 2048 },
    });
    expect(e[1].vmFlags).toContain('nh');
    expect(e[1].fields).toEqual({ Size: 4 });
  });

  let target: Target | null = null;
  afterAll(() => target?.kill());

  it('matches /proc/PID/maps of an idle python3 entry for entry, each with VmFlags', async () => {
    target = await spawnPythonTarget();
    const smaps = readSmaps(target.pid);
    const maps = readMaps(target.pid);
    expect(smaps.map((s) => s.startHex)).toEqual(maps.map((m) => m.startHex));
    for (const s of smaps) expect(s.vmFlags.length).toBeGreaterThan(0);
    const stack = smaps[maps.findIndex((m) => m.kind === 'stack')];
    expect(stack.vmFlags).toContain('gd');
  });
});
