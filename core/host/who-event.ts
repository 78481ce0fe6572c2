/**
 * A tick's writers as the UI gets them (protocol/who.ts) from the WhoRecord a session's worker
 * or a recording's WHO record holds: the top writers with their share, and each VMA's top
 * writers, cut to the event's bounds. Shares are of all the tick's writers' pages (those cut
 * included), so a listed writer's share does not grow when others are left out.
 */
import type { WhoTickInfo } from '../protocol/who.ts';
import { WHO_EVENT_VMA_WRITERS, WHO_EVENT_VMAS, WHO_EVENT_WRITERS } from '../protocol/who.ts';
import type { WhoRecord } from '../who/who-record.ts';

export function whoTickInfo(r: WhoRecord): WhoTickInfo {
  const byPages = [...r.writers].sort((a, b) => b.pages - a.pages || a.tid - b.tid);
  const total = byPages.reduce((n, w) => n + w.pages, 0);
  return {
    period: r.period,
    estimated: r.estimated,
    attributedPages: r.attributedPages,
    lost: r.lost,
    writers: byPages.slice(0, WHO_EVENT_WRITERS).map((w) => ({
      fn: w.fn,
      module: w.module,
      thread: w.thread,
      tid: w.tid,
      pages: w.pages,
      share: total > 0 ? Math.min(1, w.pages / total) : 0,
      partial: w.partial,
      ...(w.ranges ? { ranges: w.ranges, moreRanges: w.moreRanges ?? 0 } : {}),
    })),
    vmas: r.vmas.slice(0, WHO_EVENT_VMAS).map((v) => ({
      start: `0x${v.startHex}`,
      label: v.label,
      writers: [...v.writers]
        .sort((a, b) => b.pages - a.pages)
        .slice(0, WHO_EVENT_VMA_WRITERS)
        .map((w) => ({ fn: w.fn, thread: w.thread, tid: w.tid, pages: w.pages })),
    })),
  };
}
