/**
 * A writer's written pages as merged page ranges (issue 23, "by writer" colour mode): sorted,
 * adjacent pages joined, at most `max` ranges kept (lowest addresses first) and the rest counted
 * as `moreRanges`, so a writer that scatters writes over a million pages still travels in a few
 * KiB. Pure: no process, no I/O.
 */

/** [startPage, endPage) page numbers (address >> 12). */
export type PageRange = [number, number];

export function pageRanges(
  pages: Iterable<number>,
  max: number,
): { ranges: PageRange[]; moreRanges: number } {
  const sorted = Float64Array.from(pages).sort();
  const ranges: PageRange[] = [];
  let moreRanges = 0;
  let i = 0;
  while (i < sorted.length) {
    const start = sorted[i];
    let end = start + 1;
    i++;
    // A page sampled twice comes twice; the next distinct page joins when it is `end`.
    while (i < sorted.length && sorted[i] <= end) {
      end = Math.max(end, sorted[i] + 1);
      i++;
    }
    if (ranges.length < max) ranges.push([start, end]);
    else moreRanges++;
  }
  return { ranges, moreRanges };
}
