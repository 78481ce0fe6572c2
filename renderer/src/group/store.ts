/**
 * The group view's state (zustand): which group is open, its latest scan, why the last one
 * failed, and the picker's cgroups and "pick whole trees" choice. Apart from the app store so a
 * refresh of the group never re-renders the rest. A group recording opened for replay lives here
 * too (`replay`): the same view, stepping through the recording's ticks instead of scanning; and
 * the live view's write watch (`watch`, watch-rows.ts).
 */
import { create } from 'zustand';
import type {
  CgroupSummary,
  GroupRecordingInfo,
  GroupScanInfo,
  GroupSpecParams,
} from '../../../core/protocol/messages.ts';
import type { GroupWatchView } from './watch-rows.ts';

export interface GroupState {
  /** The open group, or null (no group view). */
  spec: GroupSpecParams | null;
  scan: GroupScanInfo | null;
  /** The host's sentence for the last failed scan (the last good scan stays shown). */
  error: string | null;
  /** Date.now() of the last good scan. */
  scannedAt: number | null;
  /** A scan is under way. */
  scanning: boolean;
  cgroups: CgroupSummary[];
  /** Why the cgroups could not be listed, or null. */
  cgroupsError: string | null;
  /** A group recording opened for replay (no spec, no scans), and the tick shown. */
  replay: { info: GroupRecordingInfo; index: number } | null;
  /** The group's write watch ("Watch writes"), or null. */
  watch: GroupWatchView | null;
  /** The process list's Enter opens the process's tree as a group instead of attaching. */
  pickTree: boolean;
}

export const initialGroupState = (): Omit<GroupState, 'cgroups' | 'cgroupsError' | 'pickTree'> => ({
  spec: null,
  scan: null,
  error: null,
  scannedAt: null,
  scanning: false,
  replay: null,
  watch: null,
});

export const useGroup = create<GroupState>(() => ({
  ...initialGroupState(),
  cgroups: [],
  cgroupsError: null,
  pickTree: false,
}));
