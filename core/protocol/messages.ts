/**
 * The wire protocol between a host (Electron main or the web host) and the UI, version 1.
 *
 * Shared by both sides: no Node APIs, no imports outside this folder (lint-enforced).
 * - Requests go UI -> host as `{ id, method, params }` and get exactly one Response with the same
 *   id: `{ id, ok: true, result }` or `{ id, ok: false, error: { code, message } }`.
 * - Events go host -> UI unprompted: `{ event: 'sessionEnded', ... }` etc.
 * - Frames (bulk page data) go host -> UI as binary (see frame.ts), never as JSON.
 * Addresses in JSON are hex strings ("0x7f12...000"); in frames they are page indices.
 */

import type { RecordingRequestMap } from './recording.ts';

export const PROTOCOL_VERSION = 1;

/** Hex string of a 64-bit address, "0x..." (page-aligned where a range is meant). */
export type HexAddress = string;

export interface AddressRange {
  start: HexAddress;
  end: HexAddress;
}

export interface ProcessSummary {
  pid: number;
  name: string;
  cmdline: string;
  user: string;
  uid: number;
  rssKiB: number;
  state: string;
}

export type VmaKindName =
  'heap' | 'stack' | 'vdso' | 'vvar' | 'vsyscall' | 'file' | 'anon' | 'shmem' | 'hugetlb';

/** One VMA as the UI sees it. `offset` is its first page's index in the collapsed page space. */
export interface VmaInfo {
  index: number;
  start: HexAddress;
  end: HexAddress;
  /** Page numbers (address >> 12); exact as numbers. */
  startPage: number;
  endPage: number;
  /** First page of this VMA in the collapsed space (unmapped gaps removed). */
  offset: number;
  perms: string;
  path: string;
  kind: VmaKindName;
  /** What pagescope knows this unnamed memory to be (e.g. "demo: sweep"), when it knows. */
  label?: string;
  watched: 'no' | 'yes' | 'partial' | 'refused';
  /** Why watching was refused (special mapping, EBUSY...), when it was. */
  watchNote?: string;
}

export interface SessionInfo {
  sessionId: number;
  pid: number;
  name: string;
  intervalMs: number;
  paused: boolean;
  /** Sentences about missing capabilities or limits (no swap, THP mode, ptrace policy...). */
  warnings: string[];
  /** True when pagescope launched the target (demo or command) and will end it on detach. */
  launched: boolean;
}

/** The viewport the UI asks for: an overview in `buckets` buckets, plus an optional full-resolution window. */
export interface ViewRequest {
  sessionId: number;
  /** Number of overview buckets covering the whole collapsed page space (1..1_000_000). */
  buckets: number;
  /** A window of the collapsed space sent at one entry per page (at most 4_194_304 pages). */
  window?: { startIndex: number; endIndex: number };
}

/** The session requests below, plus the recording requests of recording.ts. */
export interface RequestMap extends RecordingRequestMap {
  hello: {
    params: { version: number };
    result: {
      version: number;
      capabilities: Record<string, unknown>;
      warnings: string[];
      /**
       * Whether `launch` (run a command) is allowed on this host, and why not when it is not
       * (`pagescope serve --allow-remote` without `--allow-launch`); absent means allowed.
       */
      launch?: { enabled: boolean; reason?: string };
    };
  };
  listProcesses: { params: Record<string, never>; result: { processes: ProcessSummary[] } };
  attach: { params: { pid: number; force?: boolean }; result: SessionInfo };
  launch: { params: { command: string[] }; result: SessionInfo };
  launchDemo: { params: Record<string, never>; result: SessionInfo };
  detach: { params: { sessionId: number }; result: Record<string, never> };
  setView: { params: ViewRequest; result: Record<string, never> };
  setInterval: { params: { sessionId: number; intervalMs: number }; result: Record<string, never> };
  pause: { params: { sessionId: number }; result: Record<string, never> };
  resume: { params: { sessionId: number }; result: Record<string, never> };
  /** Watch writes on address ranges, or on whole VMAs by index. */
  watch: {
    params: { sessionId: number; ranges?: AddressRange[]; vmaIndices?: number[] };
    result: { vmas: VmaInfo[] };
  };
  unwatch: { params: { sessionId: number }; result: Record<string, never> };
  resetWritten: { params: { sessionId: number }; result: Record<string, never> };
  /** Per-tick history kept by the host (bounded by a byte budget). */
  getHistory: {
    params: { sessionId: number };
    result: { ticks: TickCounters[]; budgetBytes: number; usedBytes: number };
  };
}

export type Method = keyof RequestMap;
export type Params<M extends Method> = RequestMap[M]['params'];
export type Result<M extends Method> = RequestMap[M]['result'];

export interface Request<M extends Method = Method> {
  id: number;
  method: M;
  params: Params<M>;
}

export interface ErrorInfo {
  /**
   * Stable code. 'bad-request': the message failed validation (schemas.ts) or named a session
   * this connection does not own; 'version': hello with another protocol version;
   * 'no-process', 'permission', 'exited', 'launch-failed', 'unmapped-range', 'unsupported',
   * 'too-many-sessions', 'launch-disabled', 'busy' (too many requests in flight on one
   * connection), or a kernel errno name in lower case ('ebusy') for the rest.
   */
  code: string;
  /** One sentence for the user. */
  message: string;
}

export type Response<M extends Method = Method> =
  { id: number; ok: true; result: Result<M> } | { id: number; ok: false; error: ErrorInfo };

/** Totals of one tick, for the timeline. */
export interface TickCounters {
  tick: number;
  /** ms since the session started. */
  t: number;
  present: number;
  swapped: number;
  written: number;
  watched: number;
  scanMs: number;
}

export type HostEvent =
  | { event: 'sessionEnded'; sessionId: number; reason: string }
  | { event: 'vmas'; sessionId: number; vmas: VmaInfo[]; totalPages: number }
  | { event: 'warning'; sessionId: number; message: string };
