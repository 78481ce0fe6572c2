/**
 * pgbench's per-transaction log (`-l`), read for bench 11f: windows of one pgbench run, the
 * transactions of each counted by their end times.
 *
 * A line is `client_id transaction_no time script_no time_epoch time_us [...]`: `time` the
 * latency in us (or `skipped` / `failed`), `time_epoch` and `time_us` the seconds and
 * microseconds of the transaction's end. pgbench writes the log through a stdio buffer and a
 * signal that stops it (SIGINT) loses the buffer's tail and may leave half a line: only
 * newline-ended lines count, and a window that ends after the last logged transaction may have
 * lost some of its own, so it is not counted (loggedThrough).
 */

/** The end times (epoch us, sorted) of the completed transactions in a log's text. */
export function txEnds(text: string): number[] {
  const ends: number[] = [];
  const whole = text.slice(0, text.lastIndexOf('\n') + 1); // a cut last line is not a line
  for (const line of whole.split('\n')) {
    const x = line.trim().split(/\s+/);
    if (x.length < 6 || !/^\d+$/.test(x[2])) continue; // skipped or failed: not completed
    const s = Number(x[4]);
    const us = Number(x[5]);
    if (Number.isInteger(s) && Number.isInteger(us)) ends.push(s * 1e6 + us);
  }
  return ends.sort((a, b) => a - b);
}

/** The last end time in a log's text (newline-ended lines only), or -Infinity. */
export function lastTxEnd(text: string): number {
  const ends = txEnds(text);
  return ends.length ? ends[ends.length - 1] : -Infinity;
}

/** How many of the sorted `ends` fall in (fromUs, toUs]. */
export function txBetween(ends: readonly number[], fromUs: number, toUs: number): number {
  // The first index whose end is over v.
  const after = (v: number): number => {
    let l = 0;
    let h = ends.length;
    while (l < h) {
      const m = (l + h) >> 1;
      if (ends[m] <= v) l = m + 1;
      else h = m;
    }
    return l;
  };
  return Math.max(0, after(toUs) - after(fromUs));
}

/**
 * Whether the log holds every transaction that ended by `toUs`: a transaction logged at or
 * after it (one client: the log is in end order, so nothing before the last logged line is
 * missing).
 */
export function loggedThrough(ends: readonly number[], toUs: number): boolean {
  return ends.length > 0 && ends[ends.length - 1] >= toUs;
}
