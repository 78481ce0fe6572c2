/**
 * Opening a group recording (format version 3, core/record/group-recording.ts) for the UI: the
 * whole file read once and sent as plain data (protocol/group.ts GroupRecordingInfo); the UI's
 * group view steps through its ticks itself, so there is no replay session to run.
 *
 * Strategy: openRecording looks at the preamble first (isGroupRecording); a version 3 file comes
 * here, anything else goes to the process-recording replay as before. A file that cannot be read
 * (damaged, cut inside its header, no tick) is 'bad-recording' with the reader's one sentence,
 * which names the file (an upload by the user's name for it, never the host's temporary file).
 * What it costs: one read of the file and one JSON parse per tick, on the host's thread; the file
 * is bounded by the reader's MAX_FILE_BYTES and the ticks sent by GROUP_RECORDING_MAX_TICKS.
 */
import path from 'node:path';
import { PagescopeError } from '../kernel/errors.ts';
import {
  GROUP_RECORDING_MAX_TICKS,
  groupRecordingInfoSchema,
  type GroupRecordingInfo,
} from '../protocol/group.ts';
import { RecordingError } from '../record/format.ts';
import { readGroupRecording, type GroupRecording } from '../record/group-recording.ts';
import type { RecordingSource } from './recording-jobs.ts';

/** The UI's view of a group recording read from disk; `name` is what errors and the banner say. */
export function groupRecordingInfo(rec: GroupRecording, name: string): GroupRecordingInfo {
  const h = rec.header;
  const bad = (why: string): never => {
    throw new PagescopeError(`${name} is damaged: ${why}.`, 'bad-recording');
  };
  if (rec.ticks.length === 0)
    throw new PagescopeError(
      `${name} holds no tick: the group recorder stopped before its first tick.`,
      'bad-recording',
    );
  const info = {
    file: name,
    createdAt: String(h.createdAt),
    describe: h.group.describe,
    kind: h.group.kind,
    intervalMs: h.intervalMs,
    watching: h.watching,
    pageSize: h.pageSize,
    members: Array.isArray(h.members)
      ? h.members.map((m) => ({ pid: m.pid, ppid: m.ppid, name: m.name }))
      : bad('its header lists no members'),
    ticks: rec.ticks.slice(0, GROUP_RECORDING_MAX_TICKS),
    moreTicks: Math.max(0, rec.ticks.length - GROUP_RECORDING_MAX_TICKS),
    truncated: rec.truncated,
    endedCleanly: rec.end !== null,
  };
  const r = groupRecordingInfoSchema.safeParse(info);
  if (!r.success) bad('its header is not a group recording’s header');
  return r.data as GroupRecordingInfo;
}

/** Reads `src` as a group recording; any failure is one 'bad-recording' sentence naming it. */
export function openGroupRecordingFile(src: RecordingSource): GroupRecordingInfo {
  const name = src.name ?? path.basename(src.file);
  let rec: GroupRecording;
  try {
    rec = readGroupRecording(src.file, name);
  } catch (err) {
    if (err instanceof RecordingError) throw new PagescopeError(err.message, 'bad-recording');
    throw new PagescopeError(`Cannot read ${name}: ${(err as Error).message}.`, 'bad-recording');
  }
  return groupRecordingInfo(rec, name);
}
