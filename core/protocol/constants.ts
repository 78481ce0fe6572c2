/**
 * Every name and number both ends of the protocol must agree on, in one place: the protocol
 * version, the IPC channel names (electron/main.ts and electron/preload.ts), the WebSocket
 * subprotocols and path (core/host/server.ts and ws-bridge.ts), and the limits the hosts enforce
 * (messages.ts validates with them; the renderer sizes its requests by them).
 *
 * Plain constants only: no zod, no Node APIs, so the preload bundle and the renderer can import
 * it without pulling in anything else.
 */

export const PROTOCOL_VERSION = 1;

/** A recording's file name extension, everywhere (CLI examples, the hosts, the UI's dialogs). */
export const RECORDING_EXTENSION = '.pgsrec';
/** The older name, which the UI still opens (files made before it changed). */
export const OLD_RECORDING_EXTENSION = '.rec';

/**
 * Electron IPC: one invoke channel for requests, two send-only channels host -> UI, and one
 * invoke channel for frame acknowledgements (FrameAck, messages.ts) UI -> host.
 */
export const IPC_CHANNELS = {
  request: 'pagescope:request',
  ack: 'pagescope:ack',
  frame: 'pagescope:frame',
  event: 'pagescope:event',
} as const;

/** The WebSocket's path on the web host. */
export const WS_PATH = '/ws';
/** The subprotocol both ends speak; the host answers with it (never with the token). */
export const WS_PROTOCOL = 'pagescope.v1';
/** The token rides in a second offered subprotocol, `pagescope.token.<token>` (base64url). */
export const WS_TOKEN_PREFIX = 'pagescope.token.';

/** Largest user-space address on x86_64 with 5-level paging (2^56); 4-level is 2^47. */
export const MAX_USER_ADDRESS = 1n << 56n;
/** Largest pid the kernel hands out (PID_MAX_LIMIT, 2^22). */
export const MAX_PID = 2 ** 22;
export const MAX_SESSION_ID = 2 ** 31;
/** Largest overview a UI may ask for (buckets). */
export const MAX_BUCKETS = 1_000_000;
/** Largest full-resolution window a UI may ask for (pages). */
export const MAX_WINDOW_PAGES = 4_194_304;
/** Largest collapsed page index a window may name (2^45 pages = 2^57 bytes). */
export const MAX_PAGE_INDEX = 2 ** 45;
export const MIN_INTERVAL_MS = 20;
export const MAX_INTERVAL_MS = 60_000;
/** Address ranges in one watch request. */
export const MAX_RANGES = 4096;
/** VMA indices in one watch request, and the largest index. */
export const MAX_VMA_INDICES = 65_536;
export const MAX_VMA_INDEX = 1_000_000;
/** A launched command: arguments, and characters per argument. */
export const MAX_COMMAND_ARGS = 256;
export const MAX_ARG_CHARS = 4096;
/** A WebSocket message from the UI (bytes). */
export const MAX_MESSAGE_BYTES = 1024 * 1024;
/** Requests of one connection being answered at once; past it the host answers 'busy'. */
export const MAX_PENDING_REQUESTS = 64;

// ---- Recordings ----

/**
 * Largest recording a UI may upload to the host. The web host writes uploads to disk as they
 * arrive, under a host-wide quota (core/host/uploads.ts), and reads one once when it is opened.
 */
export const MAX_UPLOAD_BYTES = 1024 * 1024 * 1024;
/** Largest upload chunk (decoded); base64 of it stays under the host's 1 MiB message limit. */
export const UPLOAD_CHUNK_BYTES = 512 * 1024;
/** Replay speeds the host accepts. */
export const MIN_SPEED = 0.1;
export const MAX_SPEED = 64;
/** Ticks per recordingTicks answer. */
export const MAX_TICKS_PER_REQUEST = 5000;
