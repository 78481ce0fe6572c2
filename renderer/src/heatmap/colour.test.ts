import { describe, expect, it } from 'vitest';
import { HISTOGRAM_WIDTH, PageBit } from '../../../core/protocol/page-bits.ts';
import {
  BIT,
  blend,
  buildLuts,
  classifyPage,
  colourFromCounts,
  packHex,
  PALETTE,
  ramp,
  unpack,
} from './colour.ts';

const dark = PALETTE.dark;

describe('packHex', () => {
  it('packs #rrggbb as little-endian RGBA bytes', () => {
    const c = packHex('#102030');
    expect(unpack(c)).toEqual([0x10, 0x20, 0x30, 255]);
    const bytes = new Uint8Array(new Uint32Array([c]).buffer);
    expect([...bytes]).toEqual([0x10, 0x20, 0x30, 255]);
  });
});

describe('classifyPage', () => {
  it('residency: present beats swapped beats mapped', () => {
    expect(classifyPage(PageBit.PRESENT | PageBit.MAPPED, 'residency')).toBe('present');
    expect(classifyPage(PageBit.SWAPPED | PageBit.MAPPED, 'residency')).toBe('swapped');
    expect(classifyPage(PageBit.MAPPED, 'residency')).toBe('notPresent');
    expect(classifyPage(0, 'residency')).toBe('unmapped');
  });
  it('type: guard, huge, zero, file, anon in that order', () => {
    expect(classifyPage(PageBit.GUARD | PageBit.MAPPED, 'type')).toBe('guard');
    expect(classifyPage(PageBit.HUGE | PageBit.PRESENT, 'type')).toBe('huge');
    expect(classifyPage(PageBit.ZERO | PageBit.PRESENT, 'type')).toBe('zero');
    expect(classifyPage(PageBit.FILE | PageBit.PRESENT, 'type')).toBe('file');
    expect(classifyPage(PageBit.PRESENT, 'type')).toBe('anon');
    expect(classifyPage(PageBit.SWAPPED, 'type')).toBe('anon');
    expect(classifyPage(PageBit.MAPPED, 'type')).toBe('notPresent');
  });
  it('writes: watched pages split by written', () => {
    expect(classifyPage(PageBit.WATCHED | PageBit.WRITTEN, 'writes')).toBe('written');
    expect(classifyPage(PageBit.WATCHED, 'writes')).toBe('watched');
    expect(classifyPage(PageBit.PRESENT, 'writes')).toBe('idle');
  });
});

describe('buildLuts', () => {
  it('maps every bit pattern to its category colour', () => {
    const l = buildLuts(dark, 'residency');
    expect(l.byBits[PageBit.PRESENT | PageBit.MAPPED]).toBe(packHex(dark.present));
    expect(l.byBits[PageBit.SWAPPED | PageBit.MAPPED]).toBe(packHex(dark.swapped));
    expect(l.byBits[0]).toBe(packHex(dark.unmapped));
  });
  it('draws hidden categories in the empty colour', () => {
    const l = buildLuts(dark, 'residency', new Set(['present'] as const));
    expect(l.byBits[PageBit.PRESENT]).toBe(packHex(dark.unmapped));
    expect(l.byBits[PageBit.SWAPPED]).toBe(packHex(dark.swapped));
  });
  it('writes mode: a heat ramp from cold to the hottest colour', () => {
    const l = buildLuts(dark, 'writes');
    expect(l.heat[0]).toBe(packHex(dark.watchedCold));
    expect(l.heat[255]).toBe(packHex(dark.heat[dark.heat.length - 1]));
    expect(l.heat[1]).not.toBe(l.heat[255]);
  });
});

describe('blend and ramp', () => {
  it('blends by weight and fills the rest', () => {
    const white = packHex('#ffffff');
    const black = packHex('#000000');
    expect(unpack(blend([0.5], [white], black))).toEqual([128, 128, 128, 255]);
    expect(blend([1], [white], black)).toBe(white);
    expect(blend([0], [white], black)).toBe(black);
    // Weights summing above 1 are clamped.
    expect(blend([0.8, 0.8], [white, black], black)).toBe(packHex('#cccccc'));
  });
  it('ramp hits its end stops', () => {
    const r = ramp(['#000000', '#ffffff'], 3);
    expect(unpack(r[0])).toEqual([0, 0, 0, 255]);
    expect(unpack(r[1])).toEqual([128, 128, 128, 255]);
    expect(unpack(r[2])).toEqual([255, 255, 255, 255]);
  });
});

describe('colourFromCounts', () => {
  it('a fully present bucket is the present colour; an empty one the unmapped colour', () => {
    const l = buildLuts(dark, 'residency');
    const h = new Float64Array(HISTOGRAM_WIDTH);
    h[BIT.PRESENT] = 10;
    h[BIT.MAPPED] = 10;
    expect(colourFromCounts(h, 0, 10, l)).toBe(packHex(dark.present));
    expect(colourFromCounts(new Float64Array(HISTOGRAM_WIDTH), 0, 10, l)).toBe(
      packHex(dark.unmapped),
    );
  });
  it('writes mode uses the hottest page of the cell', () => {
    const l = buildLuts(dark, 'writes');
    const h = new Float64Array(HISTOGRAM_WIDTH);
    h[BIT.WATCHED] = 4;
    expect(colourFromCounts(h, 0, 4, l, 200)).toBe(l.heat[200]);
    expect(colourFromCounts(h, 0, 4, l, 0)).toBe(l.heat[0]);
  });
});
