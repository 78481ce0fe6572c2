/**
 * What the recording UI shows (zustand, apart from the app store so the live UI is unchanged):
 * what the host offers, the recording being replayed and its playback, a live session's
 * recording and snapshots, the last comparison and the analytics.
 */
import { create } from 'zustand';
import type {
  AnalyticsInfo,
  LiveRecordingState,
  RecordingHostInfo,
  RecordingSummary,
  ReplayState,
  TickDiffInfo,
} from '../../../core/protocol/recording.ts';

export interface RecordingUiState {
  host: RecordingHostInfo | null;
  /** The recording open as the current session, or null when live (or nothing). */
  replay: { summary: RecordingSummary; state: ReplayState } | null;
  /** The replay's tick numbers by position (recording/ticks.ts), once its history is loaded. */
  replayTicks: number[];
  /** The live session's recording (also after it stopped, for the download). */
  live: LiveRecordingState | null;
  diff: TickDiffInfo | null;
  analytics: AnalyticsInfo | null;
  busy: string | null;
}

export const useRecording = create<RecordingUiState>(() => ({
  host: null,
  replay: null,
  replayTicks: [],
  live: null,
  diff: null,
  analytics: null,
  busy: null,
}));

/** Forget everything about the current session (it ended, or another starts). */
export function clearRecordingSession(): void {
  useRecording.setState({
    replay: null,
    replayTicks: [],
    live: null,
    diff: null,
    analytics: null,
    busy: null,
  });
}
