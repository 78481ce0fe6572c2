/**
 * Tick numbers, the one way the replay UI names a moment of a recording. A recording's ticks are
 * numbered as the live session numbered them (what `pagescope report` and the exports print, and
 * what the status line, the timeline and a comparison say); the host's requests take positions
 * (0-based indices into the file). Only this module turns one into the other, so no view can show
 * a position where another shows a tick (issue 21: "position 10" compared from tick 11, the
 * slider said 8 while the status line said 9). The numbers need not start at 1 (a recording
 * started from the UI begins at the session's current tick) nor be contiguous.
 */

/** Something with a tick number per position: the tick numbers themselves, or tick records. */
type Ticks = readonly number[];

/** Position of the last tick numbered at most `tick` (0 when every tick is later). */
export function indexAtOrBefore(ticks: Ticks, tick: number): number {
  let lo = 0;
  let hi = ticks.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ticks[mid] <= tick) lo = mid;
    else hi = mid - 1;
  }
  return Math.max(0, lo);
}

/** Position of the tick numbered exactly `tick`, or -1 when the recording has no such tick. */
export function indexOfTick(ticks: Ticks, tick: number): number {
  if (ticks.length === 0) return -1;
  const i = indexAtOrBefore(ticks, tick);
  return ticks[i] === tick ? i : -1;
}

/**
 * Where a slider (or any stepper in tick numbers) asking for `wanted` goes from position `from`:
 * the nearest recorded tick in the direction it moved, so a step over a gap in the numbering
 * lands on the next recorded tick instead of snapping back.
 */
export function stepToTick(ticks: Ticks, from: number, wanted: number): number {
  if (ticks.length === 0) return 0;
  const here = ticks[Math.min(Math.max(from, 0), ticks.length - 1)];
  const before = indexAtOrBefore(ticks, wanted);
  if (wanted <= here || ticks[before] === wanted) return before;
  return Math.min(ticks.length - 1, ticks[before] < wanted ? before + 1 : before);
}

/**
 * A typed tick number: its position, or one sentence saying why it is not one of the
 * recording's ticks.
 */
export function parseTick(
  text: string,
  ticks: Ticks,
): { index: number; tick: number } | { error: string } {
  const t = text.trim();
  const first = ticks[0];
  const last = ticks[ticks.length - 1];
  const range = ticks.length ? `its ticks are numbered ${first} to ${last}` : 'it has no ticks';
  if (!/^\d+$/.test(t)) return { error: `“${t}” is not a tick number: ${range}.` };
  const tick = Number(t);
  const index = indexOfTick(ticks, tick);
  if (index < 0)
    return {
      error:
        ticks.length && tick >= first && tick <= last
          ? `The recording has no tick ${tick} (it was not recorded): ${range}, with gaps.`
          : `The recording has no tick ${tick}: ${range}.`,
    };
  return { index, tick };
}

/**
 * The ticks whose writes a comparison of ticks a < b counts: those after a, up to b (so tick
 * 100 to tick 101 counts the writes of tick 101, what the memory map's `wr` says at tick 101).
 */
export function writtenTicks(a: number, b: number): string {
  return b === a + 1 ? `tick ${b}` : `ticks ${a + 1}–${b}`;
}
