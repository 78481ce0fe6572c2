/**
 * Keyboard shortcuts for the main actions, in one table: the global key handler runs them and
 * the help overlay (HelpDialog.tsx) lists them, so the two never disagree.
 *
 * They are single keys without modifiers, so (WCAG 2.1.4) they can be turned off in the help
 * overlay; they never fire while typing in a field, and a key a focused widget has handled
 * (a list's arrows, the heatmap's +/-) is left alone.
 */
import { launchDemo, resetWritten, setPaused, stopWatching, watchWrites } from './actions.ts';
import type { ColourMode } from './heatmap/colour.ts';
import { heatmapCommand, useApp } from './store.ts';

export interface Shortcut {
  /** The keys as KeyboardEvent.key values; the first is the one shown. */
  keys: string[];
  label: string;
  run(): void;
}

/** Move keyboard focus to the first match that exists (a list's active row, a field...). */
export function focusFirst(...selectors: string[]): boolean {
  for (const sel of selectors) {
    const el = document.querySelector<HTMLElement>(sel);
    if (el) {
      el.focus();
      return true;
    }
  }
  return false;
}

const mode = (m: ColourMode) => () => useApp.setState({ mode: m });
const attached = () => useApp.getState().session !== null;

export const SHORTCUTS: Shortcut[] = [
  { keys: ['?'], label: 'Show or hide this help', run: () => toggleHelp() },
  {
    keys: ['d'],
    label: 'Launch the demo (when not attached)',
    run: () => {
      const s = useApp.getState();
      if (!s.session && s.connected && !s.busy) void launchDemo();
    },
  },
  {
    keys: ['w'],
    label: 'Watch writes on the picked region or selection',
    run: () => attached() && void watchWrites(),
  },
  {
    keys: ['r'],
    label: 'Reset written pages',
    run: () => useApp.getState().watching && void resetWritten(),
  },
  {
    keys: ['s'],
    label: 'Stop watching',
    run: () => useApp.getState().watching && void stopWatching(),
  },
  {
    keys: ['p'],
    label: 'Pause or resume sampling',
    run: () => attached() && void setPaused(!useApp.getState().paused),
  },
  { keys: ['1'], label: 'Colour by residency', run: mode('residency') },
  { keys: ['2'], label: 'Colour by type', run: mode('type') },
  { keys: ['3'], label: 'Colour by writes', run: mode('writes') },
  { keys: ['+', '='], label: 'Zoom in', run: () => heatmapCommand('in') },
  { keys: ['-', '_'], label: 'Zoom out', run: () => heatmapCommand('out') },
  { keys: ['0'], label: 'Show the whole process', run: () => heatmapCommand('all') },
  {
    keys: ['m'],
    label: 'Go to the memory map (or the process list)',
    run: () =>
      void focusFirst('[data-testid="memory-map"] [tabindex="0"]', '.proc-list [tabindex="0"]'),
  },
  { keys: ['h'], label: 'Go to the heatmap', run: () => void focusFirst('.heatmap') },
  {
    keys: ['/'],
    label: 'Find a process or filter the regions',
    run: () =>
      void focusFirst('input[aria-label="Filter VMAs"]', 'input[aria-label="Find process"]'),
  },
];

/** Keys the heatmap itself handles while focused (listed in the help, run there). */
export const HEATMAP_KEYS: Array<[string, string]> = [
  ['← → ↑ ↓', 'Move the cell cursor; its page is described'],
  ['Shift + arrows', 'Select pages from the cursor'],
  ['Enter', 'Pick the region under the cursor'],
  ['Page Up / Page Down', 'Scroll a screen'],
  ['Home', 'Show the whole process'],
  ['Escape', 'Clear the selection'],
];

const STORAGE_KEY = 'pagescope.singleKeyShortcuts';

export function shortcutsEnabled(): boolean {
  try {
    return localStorage.getItem(STORAGE_KEY) !== 'off';
  } catch {
    return true;
  }
}

export function setShortcutsEnabled(on: boolean): void {
  try {
    localStorage.setItem(STORAGE_KEY, on ? 'on' : 'off');
  } catch {
    // storage unavailable: shortcuts stay as they were
  }
}

export function toggleHelp(): void {
  useApp.setState((s) => ({ helpOpen: !s.helpOpen }));
}

/** True when the key belongs to what has focus (typing in a field, a native control). */
function typing(target: EventTarget | null): boolean {
  if (typeof HTMLElement === 'undefined' || !(target instanceof HTMLElement)) return false;
  return (
    target.isContentEditable ||
    target instanceof HTMLInputElement ||
    target instanceof HTMLTextAreaElement ||
    target instanceof HTMLSelectElement
  );
}

/** The shortcut a key event asks for, or null. */
export function shortcutFor(e: {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  defaultPrevented: boolean;
  target: EventTarget | null;
}): Shortcut | null {
  if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return null;
  return SHORTCUTS.find((s) => s.keys.includes(e.key)) ?? null;
}

/** Install the global handler; returns its removal. */
export function installShortcuts(): () => void {
  const onKey = (e: KeyboardEvent) => {
    if (!shortcutsEnabled() || useApp.getState().helpOpen) {
      if (useApp.getState().helpOpen && e.key === '?') {
        e.preventDefault();
        toggleHelp();
      }
      return;
    }
    const s = shortcutFor(e);
    if (!s) return;
    e.preventDefault();
    s.run();
  };
  window.addEventListener('keydown', onKey);
  return () => window.removeEventListener('keydown', onKey);
}
