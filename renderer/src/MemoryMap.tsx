/**
 * The memory map panel: one row per VMA (range, perms, name, counts per category, watched
 * state). Clicking a row (or Enter on it) focuses the heatmap on it. The counts change every
 * tick, so they are written into the rows directly (throttled), not through React state.
 *
 * Keyboard: the list is a listbox and one tab stop (roving tabindex): arrows move, Enter or
 * Space picks; selection does not follow focus, since picking zooms the heatmap.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import type { VmaInfo } from '../../core/protocol/messages.ts';
import { vmaName as nameOfPath } from '../../core/protocol/vma-name.ts';
import { useRoving } from './a11y/roving.ts';
import { frameHub } from './frames.ts';
import { requestZoom, useApp } from './store.ts';
import { fmt, formatBytes } from './theme.ts';

export function vmaName(v: VmaInfo): string {
  if (v.path) return nameOfPath(v.path);
  if (v.label) return v.label;
  return v.kind === 'anon' ? '(anonymous)' : `[${v.kind}]`;
}

/**
 * Focuses the heatmap on a VMA and makes it the target of "Watch writes". `v` may come from a
 * table older than the store's (a row rendered before the last 'vmas' event): the zoom uses the
 * store's own entry for it, by address, when there is one.
 */
export function focusVma(v: VmaInfo): void {
  const vmas = useApp.getState().vmas;
  const now = vmas.find((x) => x.start === v.start);
  useApp.setState({ focusedVma: v.start, selection: null });
  if (now) requestZoom({ start: now.offset, end: now.offset + now.endPage - now.startPage }, vmas);
  else requestZoom({ start: v.offset, end: v.offset + v.endPage - v.startPage }, [v]);
}

function shortHex(h: string): string {
  return h.replace(/^0x0*/, '0x');
}

/**
 * Per-VMA page counts [present, swapped, written] x VMA: the frame's own, counted from the scan
 * by the session (exact; never shared out from overview buckets). Zeros for a VMA the frame does
 * not cover (a table newer than the frame).
 */
export function vmaCounts(vmas: VmaInfo[], frame: { vmaCounts: Uint32Array }): Uint32Array {
  const out = new Uint32Array(vmas.length * 3);
  out.set(frame.vmaCounts.subarray(0, out.length));
  return out;
}

export function MemoryMap() {
  const vmas = useApp((s) => s.vmas);
  const focused = useApp((s) => s.focusedVma);
  const total = useApp((s) => s.totalPages);
  const [filter, setFilter] = useState('');
  const [sort, setSort] = useState<'address' | 'resident'>('address');

  /** Rows to show: [position in the VMA table, VMA], filtered and sorted. */
  const rows = useMemo(() => {
    const q = filter.trim().toLowerCase();
    let list = vmas.map((v, i) => [i, v] as const);
    if (q) {
      list = list.filter(([, v]) =>
        `${vmaName(v)} ${v.kind} ${v.perms} ${v.start} ${v.end}`.toLowerCase().includes(q),
      );
    }
    if (sort === 'resident') {
      const f = frameHub.latest;
      const c = f ? vmaCounts(vmas, f) : null;
      if (c)
        list = [...list].sort(
          (a, b) => c[b[0] * 3] + c[b[0] * 3 + 1] - (c[a[0] * 3] + c[a[0] * 3 + 1]),
        );
    }
    return list;
  }, [vmas, filter, sort]);

  const roving = useRoving<HTMLDivElement>(rows.length, '.vma-row');
  const listRef = roving.ref;
  const { setActive } = roving;
  // A region picked elsewhere (heatmap, demo guide) becomes the list's active row and is kept
  // in view inside the list (the page does not move) while the VMA table changes under it (a
  // growing region, mappings coming and going), until the user scrolls the list themselves.
  const follow = useRef<string | null>(null);
  useEffect(() => {
    const list = listRef.current;
    if (!list) return;
    const userScrolls = (): void => {
      follow.current = null;
    };
    list.addEventListener('wheel', userScrolls, { passive: true });
    list.addEventListener('pointerdown', userScrolls);
    list.addEventListener('keydown', userScrolls);
    return () => {
      list.removeEventListener('wheel', userScrolls);
      list.removeEventListener('pointerdown', userScrolls);
      list.removeEventListener('keydown', userScrolls);
    };
  }, [listRef]);
  const pickedBefore = useRef<string | null>(null);
  useEffect(() => {
    const i = rows.findIndex(([, v]) => v.start === focused);
    if (focused !== pickedBefore.current) {
      pickedBefore.current = focused;
      follow.current = focused;
    }
    if (i < 0) return;
    setActive(i);
    const list = listRef.current;
    const row = list?.querySelectorAll<HTMLElement>('.vma-row')[i];
    if (!list || !row || follow.current !== focused) return;
    const top = row.getBoundingClientRect().top - list.getBoundingClientRect().top;
    if (top < 0 || top + row.offsetHeight > list.clientHeight)
      list.scrollTop += top - (list.clientHeight - row.offsetHeight) / 2;
  }, [focused, rows, setActive, listRef]);

  useEffect(() => {
    // At most one update per 400 ms, but never skipping the last frame: a frame that comes
    // sooner is shown when the 400 ms are over (a paused session or a seek in a recording sends
    // one frame, whose counts must be the ones on screen).
    let last = 0;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const show = () => {
      timer = null;
      const f = frameHub.latest;
      if (!f || !listRef.current) return;
      last = performance.now();
      const vs = useApp.getState().vmas;
      const c = vmaCounts(vs, f);
      const cells = listRef.current.querySelectorAll<HTMLElement>('[data-counts]');
      cells.forEach((el) => {
        const i = Number(el.dataset.counts);
        if (i >= vs.length) return;
        const p = c[i * 3];
        const s = c[i * 3 + 1];
        const w = c[i * 3 + 2];
        el.textContent = `${fmt.format(p)} res · ${fmt.format(s)} swp${vs[i].watched !== 'no' ? ` · ${fmt.format(w)} wr` : ''}`;
      });
      if (listRef.current) listRef.current.dataset.countsTick = String(f.tick);
    };
    const unsubscribe = frameHub.subscribe(() => {
      if (timer) return;
      const wait = last + 400 - performance.now();
      if (wait <= 0) show();
      else timer = setTimeout(show, wait);
    });
    return () => {
      unsubscribe();
      if (timer) clearTimeout(timer);
    };
  }, []);

  const focus = focusVma;

  return (
    <section className="memmap" aria-label="Memory map">
      <div className="panel-head">
        <h2>Memory map</h2>
        <span className="muted small">
          {vmas.length} VMAs · {formatBytes(total)} mapped
        </span>
      </div>
      <div className="vma-tools">
        <input
          type="search"
          aria-label="Filter VMAs"
          placeholder="Filter VMAs"
          value={filter}
          onChange={(e) => setFilter(e.target.value)}
        />
        <select
          aria-label="Sort VMAs"
          value={sort}
          onChange={(e) => setSort(e.target.value as 'address' | 'resident')}
        >
          <option value="address">By address</option>
          <option value="resident">By resident pages</option>
        </select>
      </div>
      <div
        className="vma-list"
        ref={listRef}
        role="listbox"
        aria-label="Regions (VMAs)"
        onKeyDown={roving.onKeyDown}
        onFocus={roving.onFocus}
        data-testid="memory-map"
      >
        {rows.map(([i, v], pos) => (
          <div
            role="option"
            tabIndex={roving.tabIndex(pos)}
            key={`${v.index}-${v.start}`}
            className={`vma-row${focused === v.start ? ' focused' : ''} watched-${v.watched}`}
            aria-selected={focused === v.start}
            onClick={() => focus(v)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' || e.key === ' ') {
                e.preventDefault();
                focus(v);
              }
            }}
            title={`${v.start}–${v.end}${v.watchNote ? `\n${v.watchNote}` : ''}`}
          >
            <span className="vma-name">
              <span className={`kind kind-${v.kind}`}>{v.kind}</span>
              {vmaName(v)}
            </span>
            <span className="vma-meta">
              <code>
                {shortHex(v.start)}–{shortHex(v.end)}
              </code>
              <span className="perms">{v.perms}</span>
              <span className="size">{formatBytes(v.endPage - v.startPage)}</span>
            </span>
            <span className="vma-counts">
              <span data-counts={i}>…</span>
              {v.watched !== 'no' && (
                <span className={`badge badge-${v.watched}`}>
                  {v.watched === 'yes'
                    ? 'watched'
                    : v.watched === 'partial'
                      ? 'partly watched'
                      : 'refused'}
                </span>
              )}
            </span>
          </div>
        ))}
        {vmas.length === 0 && (
          <div role="option" aria-selected={false} aria-disabled="true" className="muted empty">
            Waiting for the memory map…
          </div>
        )}
      </div>
    </section>
  );
}
