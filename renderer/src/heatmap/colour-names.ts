/**
 * The palette's colours in words, per theme, for the legend: a colour must never be the only way
 * to tell categories apart (WCAG 1.4.1), and "orange" is easier to say than to show.
 * Keep in step with assets/palette.json.
 */
import type { CategoryKey, ThemeName } from './colour.ts';

export const COLOUR_NAMES: Record<ThemeName, Record<CategoryKey, string>> = {
  dark: {
    present: 'sky blue',
    swapped: 'orange',
    notPresent: 'dark grey',
    unmapped: 'near black',
    anon: 'sky blue',
    file: 'green',
    zero: 'yellow',
    huge: 'pink',
    guard: 'red-orange',
    written: 'yellow',
    watched: 'dark purple',
    idle: 'grey',
    writtenBetween: 'yellow',
    becamePresent: 'green',
    becameSwapped: 'orange',
    becameNotPresent: 'red-orange',
    unchanged: 'grey',
  },
  light: {
    present: 'blue',
    swapped: 'orange',
    notPresent: 'light grey',
    unmapped: 'off-white',
    anon: 'blue',
    file: 'green',
    zero: 'olive yellow',
    huge: 'pink',
    guard: 'red-orange',
    written: 'yellow',
    watched: 'lavender',
    idle: 'grey',
    writtenBetween: 'yellow',
    becamePresent: 'green',
    becameSwapped: 'orange',
    becameNotPresent: 'red-orange',
    unchanged: 'grey',
  },
};

/** The two ends of the write heat ramp (viridis from blue-violet to yellow). */
export const HEAT_ENDS: Record<ThemeName, [string, string]> = {
  dark: ['Blue-violet', 'Yellow'],
  light: ['Blue-violet', 'Yellow'],
};
