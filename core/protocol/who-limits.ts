/**
 * The bounds of a `who` event (who.ts), in a module of their own that imports nothing: the
 * watcher and the CLI's `watch` use them without loading zod (about 80 ms of the CLI's start-up,
 * several times that on a loaded machine; issue 24's attach to a busy process).
 */
export const WHO_EVENT_WRITERS = 20;
export const WHO_EVENT_VMAS = 64;
export const WHO_EVENT_VMA_WRITERS = 5;
/** Page ranges kept per writer per tick (the rest are counted, not listed). */
export const WHO_WRITER_RANGES = 256;
/** The largest sampling period the UI may ask for (one write fault in N). */
export const MAX_WHO_PERIOD = 1_000_000;
