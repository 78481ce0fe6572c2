/**
 * Protocol objects for the group view's unit tests: an empty scan, a watch's start and a tick
 * that says nothing, each for a test to fill in what it checks.
 */
import type {
  GroupScanInfo,
  GroupWatchStart,
  GroupWatchTick,
} from '../../../core/protocol/messages.ts';

/** A group scan with no member and no object. */
export const emptyScan = (describe: string, scanMs = 5): GroupScanInfo => ({
  describe,
  pageSize: 4096,
  members: [],
  moreMembers: 0,
  skipped: [],
  objects: [],
  moreObjects: 0,
  residentOnce: 0,
  residentSum: 0,
  sharedSwapped: 0,
  scanMs,
});

/** A group watch's start over the tree of pid 10. */
export const watchStart = (over: Partial<GroupWatchStart> = {}): GroupWatchStart => ({
  watchId: 7,
  describe: 'tree of pid 10',
  watching: 'the writable mappings',
  intervalMs: 500,
  pageSize: 4096,
  members: [{ pid: 10, ppid: 1, name: 'p', watchedPages: 8 }],
  failed: [],
  ...over,
});

/** Tick n of a group watch (500 ms apart) in which nobody wrote and nothing changed. */
export const quietTick = (n: number, over: Partial<GroupWatchTick> = {}): GroupWatchTick => ({
  tick: n,
  t: 500 * n,
  exact: true,
  estOverheadPct: null,
  writtenOnce: 0,
  writtenSum: 0,
  members: [],
  objects: [],
  moreObjects: 0,
  joined: [],
  execd: [],
  left: [],
  failed: [],
  ended: [],
  ...over,
});
