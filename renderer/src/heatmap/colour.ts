/**
 * Colour mapping: page bits (or per-bucket counts) -> packed RGBA for an ImageData Uint32 view.
 *
 * Strategy: everything the inner drawing loop needs is precomputed into lookup tables once per
 * (theme, mode, hidden categories) change, so rasterizing a million pages is one table lookup
 * per page. Aggregated cells (many pages per cell) blend the category colours by the fraction of
 * pages carrying each category, so a bucket that is 10 % swapped looks 10 % orange.
 */
import { PageBit } from '../../../core/protocol/page-bits.ts';
import paletteJson from '../../../assets/palette.json';

/** 'diff': two ticks compared (heatmap/diff-frame.ts encodes the comparison as page bits). */
export type ColourMode = 'residency' | 'type' | 'writes' | 'diff';
export type ThemeName = 'dark' | 'light';

export interface ThemeColours {
  background: string;
  unmapped: string;
  notPresent: string;
  present: string;
  swapped: string;
  anon: string;
  file: string;
  zero: string;
  huge: string;
  guard: string;
  idle: string;
  watchedCold: string;
  heat: string[];
  boundary: string;
  watchOutline: string;
  selection: string;
  label: string;
}

export const PALETTE = paletteJson.themes as Record<ThemeName, ThemeColours>;

/** A legend entry: the categories a mode shows, in legend order. */
export type CategoryKey =
  | 'present'
  | 'swapped'
  | 'notPresent'
  | 'unmapped'
  | 'anon'
  | 'file'
  | 'zero'
  | 'huge'
  | 'guard'
  | 'written'
  | 'watched'
  | 'idle'
  | 'writtenBetween'
  | 'becamePresent'
  | 'becameSwapped'
  | 'becameNotPresent'
  | 'unchanged';

export const MODE_CATEGORIES: Record<ColourMode, CategoryKey[]> = {
  residency: ['present', 'swapped', 'notPresent', 'unmapped'],
  type: ['anon', 'file', 'zero', 'huge', 'guard', 'notPresent'],
  writes: ['written', 'watched', 'idle'],
  diff: ['writtenBetween', 'becamePresent', 'becameSwapped', 'becameNotPresent', 'unchanged'],
};

/**
 * The diff mode's page bits (diff-frame.ts sets them): each category borrows one PageBit, so
 * the overview histogram and the window carry the comparison like any frame. First match wins.
 */
export const DIFF_BITS: Array<[CategoryKey, number]> = [
  ['writtenBetween', PageBit.WRITTEN],
  ['becamePresent', PageBit.PRESENT],
  ['becameSwapped', PageBit.SWAPPED],
  ['becameNotPresent', PageBit.GUARD],
  ['unchanged', PageBit.FILE],
];

export const CATEGORY_LABELS: Record<CategoryKey, string> = {
  present: 'Present',
  swapped: 'Swapped',
  notPresent: 'Not present',
  unmapped: 'No page table',
  anon: 'Anonymous',
  file: 'File',
  zero: 'Zero page',
  huge: 'Huge page',
  guard: 'Guard',
  written: 'Written (recent)',
  watched: 'Watched, not written',
  idle: 'Not watched',
  writtenBetween: 'Written in between',
  becamePresent: 'Became present',
  becameSwapped: 'Became swapped',
  becameNotPresent: 'Became not present',
  unchanged: 'Held, unchanged',
};

/** '#rrggbb' -> 0xAABBGGRR (little-endian RGBA bytes, as ImageData's Uint32 view reads them). */
export function packHex(hex: string, alpha = 255): number {
  const v = parseInt(hex.slice(1), 16);
  const r = (v >> 16) & 255;
  const g = (v >> 8) & 255;
  const b = v & 255;
  return ((alpha << 24) | (b << 16) | (g << 8) | r) >>> 0;
}

export function unpack(c: number): [number, number, number, number] {
  return [c & 255, (c >>> 8) & 255, (c >>> 16) & 255, c >>> 24];
}

function pack(r: number, g: number, b: number): number {
  return ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0;
}

/** The legend category a single page falls in, for a mode (writes mode: without heat). */
export function classifyPage(bits: number, mode: ColourMode): CategoryKey {
  if (mode === 'residency') {
    if (bits & PageBit.PRESENT) return 'present';
    if (bits & PageBit.SWAPPED) return 'swapped';
    if (bits & PageBit.MAPPED) return 'notPresent';
    return 'unmapped';
  }
  if (mode === 'type') {
    if (bits & PageBit.GUARD) return 'guard';
    if (bits & PageBit.HUGE) return 'huge';
    if (bits & PageBit.ZERO) return 'zero';
    if (bits & PageBit.FILE) return 'file';
    if (bits & (PageBit.PRESENT | PageBit.SWAPPED)) return 'anon';
    return 'notPresent';
  }
  if (mode === 'diff') {
    for (const [key, bit] of DIFF_BITS) if (bits & bit) return key;
    return 'unmapped';
  }
  if (bits & PageBit.WATCHED) return bits & PageBit.WRITTEN ? 'written' : 'watched';
  return 'idle';
}

/** Linear interpolation over colour stops, n output colours (packed). */
export function ramp(stops: string[], n: number): Uint32Array {
  const out = new Uint32Array(n);
  const rgb = stops.map((s) => unpack(packHex(s)));
  for (let i = 0; i < n; i++) {
    const t = n === 1 ? 0 : (i / (n - 1)) * (rgb.length - 1);
    const j = Math.min(rgb.length - 2, Math.floor(t));
    const f = t - j;
    const a = rgb[j];
    const b = rgb[j + 1];
    out[i] = pack(
      Math.round(a[0] + (b[0] - a[0]) * f),
      Math.round(a[1] + (b[1] - a[1]) * f),
      Math.round(a[2] + (b[2] - a[2]) * f),
    );
  }
  return out;
}

/** Lookup tables for one (theme, mode, hidden set). */
export interface Luts {
  mode: ColourMode;
  /** bits (9 bits) -> colour, for the page-exact path. Writes mode: watched pages get the cold colour (heat is painted over them). */
  byBits: Uint32Array;
  /** heat level 0..255 -> colour for watched pages (0 = watched, not written recently). */
  heat: Uint32Array;
  background: number;
  /** Category colours (packed), hidden ones replaced by the empty colour. */
  category: Record<CategoryKey, number>;
  empty: number;
  hidden: ReadonlySet<CategoryKey>;
}

export function buildLuts(
  theme: ThemeColours,
  mode: ColourMode,
  hidden: ReadonlySet<CategoryKey> = new Set(),
): Luts {
  const empty = packHex(theme.unmapped);
  const raw: Record<CategoryKey, string> = {
    present: theme.present,
    swapped: theme.swapped,
    notPresent: theme.notPresent,
    unmapped: theme.unmapped,
    anon: theme.anon,
    file: theme.file,
    zero: theme.zero,
    huge: theme.huge,
    guard: theme.guard,
    written: theme.heat[theme.heat.length - 1],
    watched: theme.watchedCold,
    idle: theme.idle,
    writtenBetween: theme.heat[theme.heat.length - 1],
    becamePresent: theme.file,
    becameSwapped: theme.swapped,
    becameNotPresent: theme.guard,
    unchanged: theme.idle,
  };
  const category = {} as Record<CategoryKey, number>;
  for (const key of Object.keys(raw) as CategoryKey[]) {
    category[key] = hidden.has(key) ? empty : packHex(raw[key]);
  }
  const byBits = new Uint32Array(512);
  for (let bits = 0; bits < 512; bits++) {
    if (mode === 'writes') {
      // Unwatched pages: dim by residency so the picture keeps its shape.
      const present = bits & (PageBit.PRESENT | PageBit.SWAPPED);
      if (bits & PageBit.WATCHED) byBits[bits] = category.watched;
      else byBits[bits] = hidden.has('idle') ? empty : present ? category.idle : empty;
    } else {
      byBits[bits] = category[classifyPage(bits, mode)];
    }
  }
  let heat = ramp(theme.heat.slice(2), 256);
  heat[0] = category.watched;
  if (hidden.has('written')) heat = heat.fill(empty, 1);
  return { mode, byBits, heat, background: packHex(theme.background), category, empty, hidden };
}

/**
 * Blend colours by weights (fractions of a cell's pages); the rest of the cell gets `rest`.
 * `weights` and `colours` are parallel (the first `count` entries are used); weights are clamped
 * so they never sum above 1.
 */
export function blend(
  weights: ArrayLike<number>,
  colours: ArrayLike<number>,
  rest: number,
  count = weights.length,
): number {
  let r = 0;
  let g = 0;
  let b = 0;
  let sum = 0;
  for (let i = 0; i < count; i++) {
    let w = weights[i];
    if (w <= 0) continue;
    if (sum + w > 1) w = 1 - sum;
    if (w <= 0) break;
    const c = colours[i];
    r += (c & 255) * w;
    g += ((c >>> 8) & 255) * w;
    b += ((c >>> 16) & 255) * w;
    sum += w;
  }
  const left = 1 - sum;
  if (left > 0) {
    r += (rest & 255) * left;
    g += ((rest >>> 8) & 255) * left;
    b += ((rest >>> 16) & 255) * left;
  }
  return pack(Math.round(r), Math.round(g), Math.round(b));
}

/** Index of each PageBit in a histogram row (its bit position). */
export const BIT = {
  PRESENT: 0,
  SWAPPED: 1,
  FILE: 2,
  ZERO: 3,
  HUGE: 4,
  GUARD: 5,
  WRITTEN: 6,
  WATCHED: 7,
  MAPPED: 8,
} as const;

const wScratch = new Float64Array(6);
const cScratch = new Uint32Array(6);

/**
 * Colour of a cell from per-bit counts over `n` pages (`counts[bit]`, as in an overview
 * histogram row). `maxHeat` (0..255) is the hottest watched page in the cell, writes mode only.
 */
export function colourFromCounts(
  counts: ArrayLike<number>,
  base: number,
  n: number,
  luts: Luts,
  maxHeat = 0,
): number {
  if (n <= 0) return luts.background;
  const c = luts.category;
  const present = counts[base + BIT.PRESENT];
  const swapped = counts[base + BIT.SWAPPED];
  const mapped = counts[base + BIT.MAPPED];
  if (luts.mode === 'residency') {
    wScratch[0] = present / n;
    wScratch[1] = swapped / n;
    wScratch[2] = Math.max(0, mapped - present - swapped) / n;
    cScratch[0] = c.present;
    cScratch[1] = c.swapped;
    cScratch[2] = c.notPresent;
    return blend(wScratch, cScratch, c.unmapped, 3);
  }
  if (luts.mode === 'diff') {
    for (let k = 0; k < DIFF_BITS.length; k++) {
      wScratch[k] = counts[base + Math.log2(DIFF_BITS[k][1])] / n;
      cScratch[k] = c[DIFF_BITS[k][0]];
    }
    return blend(wScratch.subarray(0, 5), cScratch.subarray(0, 5), c.unmapped);
  }
  if (luts.mode === 'type') {
    const guard = counts[base + BIT.GUARD];
    const huge = counts[base + BIT.HUGE];
    const zero = counts[base + BIT.ZERO];
    const file = counts[base + BIT.FILE];
    const anon = Math.max(0, present + swapped - huge - zero - file);
    wScratch[0] = guard / n;
    wScratch[1] = huge / n;
    wScratch[2] = zero / n;
    wScratch[3] = file / n;
    wScratch[4] = anon / n;
    cScratch[0] = c.guard;
    cScratch[1] = c.huge;
    cScratch[2] = c.zero;
    cScratch[3] = c.file;
    cScratch[4] = c.anon;
    return blend(wScratch, cScratch, c.notPresent, 5);
  }
  const watched = counts[base + BIT.WATCHED];
  if (watched > 0) {
    const written = counts[base + BIT.WRITTEN];
    if (maxHeat > 0) return luts.heat[maxHeat];
    if (written > 0) return luts.heat[255];
    return luts.heat[0];
  }
  if (present + swapped <= 0) return luts.empty;
  wScratch[0] = (present + swapped) / n;
  cScratch[0] = c.idle;
  return blend(wScratch, cScratch, luts.empty, 1);
}
