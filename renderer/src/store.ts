/**
 * App state (zustand): what React renders — processes, the session, VMAs, viewport, selection,
 * colour mode, toggles, messages. Per-tick bulk data does NOT live here: frames go through the
 * FrameHub (frames.ts) straight to the canvases, so a tick never re-renders React.
 */
import { create } from 'zustand';
import type { Bridge } from '../../core/protocol/bridge.ts';
import type { ProcessSummary, SessionInfo, VmaInfo } from '../../core/protocol/messages.ts';
import type { CategoryKey, ColourMode } from './heatmap/colour.ts';
import type { ZoomState } from './heatmap/viewport.ts';

export interface Notice {
  id: number;
  kind: 'error' | 'warning' | 'info';
  text: string;
  /** 'session': about the current session only, dropped when it ends. */
  scope?: 'session';
}

/** The link to the host: up, or lost and retrying (see connection.ts). */
export interface LinkLost {
  /** When the next attempt starts (Date.now() ms), null while one is under way. */
  retryAt: number | null;
  attempt: number;
}

export type HeatmapCommand = 'in' | 'out' | 'all';

/** A selected range of the collapsed page space, [start, end). */
export interface Selection {
  start: number;
  end: number;
}

export interface AppState {
  bridge: Bridge | null;
  connected: boolean;
  /** Set while the connection to the host is lost (a banner says so and what to do). */
  lost: LinkLost | null;
  hostWarnings: string[];
  /** Why this host refuses "Launch command…" (hello's `launch.reason`), or null when it allows it. */
  launchDisabled: string | null;
  processes: ProcessSummary[];
  processQuery: string;
  loadingProcesses: boolean;
  busy: string | null;
  session: SessionInfo | null;
  /** Why the last session ended, shown until the next attach. */
  ended: string | null;
  vmas: VmaInfo[];
  totalPages: number;
  /** The focused VMA, by start address (indices change when the table changes). */
  focusedVma: string | null;
  selection: Selection | null;
  zoom: ZoomState;
  /**
   * Set to ask the heatmap to bring this collapsed range [start, end) into view (null: all). The
   * range is in the indices of `vmas`, the table it was made with: the heatmap may be drawing
   * another (a newer one's first frame not in yet), so it carries the range over by address.
   */
  zoomRequest: { range: Selection | null; seq: number; vmas: VmaInfo[] } | null;
  mode: ColourMode;
  /** Squeeze big VMAs with no page table (see heatmap/display-space.ts). */
  compact: boolean;
  hidden: ReadonlySet<CategoryKey>;
  paused: boolean;
  intervalMs: number;
  /** The overhead budget asked for (null: exact watching, the default). */
  maxOverheadPct: number | null;
  watching: boolean;
  /** Tick being looked at on the timeline, or null for live. */
  scrubTick: number | null;
  notices: Notice[];
  /** A zoom asked for from outside the heatmap (a keyboard shortcut). */
  heatmapCommand: { cmd: HeatmapCommand; seq: number } | null;
  /** The keyboard help overlay. */
  helpOpen: boolean;
}

export const initialState = (): Omit<
  AppState,
  'bridge' | 'connected' | 'lost' | 'hostWarnings' | 'launchDisabled'
> => ({
  processes: [],
  processQuery: '',
  loadingProcesses: false,
  busy: null,
  session: null,
  ended: null,
  vmas: [],
  totalPages: 0,
  focusedVma: null,
  selection: null,
  zoom: { k: 1, y: 0 },
  zoomRequest: null,
  mode: 'residency',
  compact: true,
  hidden: new Set(),
  paused: false,
  intervalMs: 200,
  maxOverheadPct: null,
  watching: false,
  scrubTick: null,
  notices: [],
  heatmapCommand: null,
  helpOpen: false,
});

export const useApp = create<AppState>(() => ({
  bridge: null,
  connected: false,
  lost: null,
  hostWarnings: [],
  launchDisabled: null,
  ...initialState(),
}));

let noticeId = 1;

export function notify(kind: Notice['kind'], text: string, scope?: Notice['scope']): void {
  useApp.setState((s) => {
    if (s.notices.some((n) => n.text === text)) return s;
    return { notices: [...s.notices.slice(-4), { id: noticeId++, kind, text, scope }] };
  });
}

/** Notices that outlive the session that raised them (session-scoped ones are dropped). */
export function lastingNotices(notices: Notice[]): Notice[] {
  return notices.filter((n) => n.scope !== 'session');
}

let commandSeq = 1;
export function heatmapCommand(cmd: HeatmapCommand): void {
  useApp.setState({ heatmapCommand: { cmd, seq: commandSeq++ } });
}

export function dismissNotice(id: number): void {
  useApp.setState((s) => ({ notices: s.notices.filter((n) => n.id !== id) }));
}

let zoomSeq = 1;
/** Ask the heatmap to show a range, in the indices of `vmas` (by default the store's table). */
export function requestZoom(
  range: Selection | null,
  vmas: VmaInfo[] = useApp.getState().vmas,
): void {
  useApp.setState({ zoomRequest: { range, seq: zoomSeq++, vmas } });
}

/** The VMA holding a collapsed index (binary search on offsets), or null. */
export function vmaAtIndex(vmas: VmaInfo[], index: number): VmaInfo | null {
  let lo = 0;
  let hi = vmas.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = vmas[mid];
    const len = v.endPage - v.startPage;
    if (index < v.offset) hi = mid - 1;
    else if (index >= v.offset + len) lo = mid + 1;
    else return v;
  }
  return null;
}

/** The VMA holding a page number (address >> 12), or null. */
export function vmaAtPage(vmas: VmaInfo[], page: number): VmaInfo | null {
  let lo = 0;
  let hi = vmas.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = vmas[mid];
    if (page < v.startPage) hi = mid - 1;
    else if (page >= v.endPage) lo = mid + 1;
    else return v;
  }
  return null;
}

/** Hex address of the page at a collapsed index, or null outside every VMA. */
export function addressAtIndex(vmas: VmaInfo[], index: number): string | null {
  const v = vmaAtIndex(vmas, index);
  if (!v) return null;
  const page = v.startPage + (index - v.offset);
  return '0x' + (page * 4096).toString(16).padStart(12, '0');
}

/** Address ranges covering the collapsed range [start, end) (one per VMA it crosses). */
export function addressRanges(
  vmas: VmaInfo[],
  start: number,
  end: number,
): Array<{ start: string; end: string }> {
  const out: Array<{ start: string; end: string }> = [];
  for (const v of vmas) {
    const len = v.endPage - v.startPage;
    const a = Math.max(start, v.offset);
    const b = Math.min(end, v.offset + len);
    if (a >= b) continue;
    const hex = (i: number) => '0x' + ((v.startPage + (i - v.offset)) * 4096).toString(16);
    out.push({ start: hex(a), end: hex(b) });
  }
  return out;
}
