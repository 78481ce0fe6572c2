/**
 * Roving tabindex for a list of items (a listbox's options, a group of toggle buttons): the list
 * is one tab stop — only its active item has tabIndex 0 — and the arrow keys, Home/End and
 * PageUp/PageDown move focus inside it. Activation (Enter, Space, click) stays with the item.
 *
 * `nextIndex` is the pure part (which item a key leads to); `useRoving` keeps the active index
 * in React state, moves DOM focus and follows focus that arrives by a click.
 */
import { useCallback, useRef, useState, type FocusEvent, type KeyboardEvent } from 'react';

export type Orientation = 'vertical' | 'horizontal';

/** The item a key moves to from `current` (of `count`), or null when the key is not ours. */
export function nextIndex(
  key: string,
  current: number,
  count: number,
  orientation: Orientation,
  page = 10,
): number | null {
  if (count <= 0) return null;
  const prev = orientation === 'vertical' ? 'ArrowUp' : 'ArrowLeft';
  const next = orientation === 'vertical' ? 'ArrowDown' : 'ArrowRight';
  const clamp = (i: number) => Math.max(0, Math.min(count - 1, i));
  switch (key) {
    case next:
      return clamp(current + 1);
    case prev:
      return clamp(current - 1);
    case 'Home':
      return 0;
    case 'End':
      return count - 1;
    case 'PageDown':
      return orientation === 'vertical' ? clamp(current + page) : null;
    case 'PageUp':
      return orientation === 'vertical' ? clamp(current - page) : null;
    default:
      return null;
  }
}

export interface Roving<E extends HTMLElement> {
  /** Attach to the container. */
  ref: React.RefObject<E | null>;
  onKeyDown: (e: KeyboardEvent<E>) => void;
  onFocus: (e: FocusEvent<E>) => void;
  /** The active item (clamped to the list). */
  active: number;
  setActive: (i: number) => void;
  /** tabIndex for item i. */
  tabIndex: (i: number) => 0 | -1;
  /** Move focus to the active item (or item i). */
  focusItem: (i?: number) => void;
}

export function useRoving<E extends HTMLElement = HTMLDivElement>(
  count: number,
  itemSelector: string,
  orientation: Orientation = 'vertical',
): Roving<E> {
  const ref = useRef<E>(null);
  const [activeRaw, setActive] = useState(0);
  const active = Math.max(0, Math.min(activeRaw, count - 1));
  const items = useCallback(
    () => [...(ref.current?.querySelectorAll<HTMLElement>(itemSelector) ?? [])],
    [itemSelector],
  );
  const focusItem = useCallback(
    (i?: number) => {
      const el = items()[i ?? active];
      if (!el) return;
      el.focus({ preventScroll: true });
      el.scrollIntoView({ block: 'nearest', inline: 'nearest' });
    },
    [items, active],
  );
  const onKeyDown = (e: KeyboardEvent<E>) => {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    if (!(e.target instanceof HTMLElement) || !e.target.matches(itemSelector)) return;
    const list = items();
    const from = list.indexOf(e.target);
    const to = nextIndex(e.key, from < 0 ? active : from, list.length, orientation);
    if (to === null) return;
    e.preventDefault();
    setActive(to);
    focusItem(to);
  };
  const onFocus = (e: FocusEvent<E>) => {
    const i = items().indexOf(e.target as HTMLElement);
    if (i >= 0 && i !== active) setActive(i);
  };
  return {
    ref,
    onKeyDown,
    onFocus,
    active,
    setActive,
    tabIndex: (i) => (i === active ? 0 : -1),
    focusItem,
  };
}
