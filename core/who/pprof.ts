/**
 * A recording's writers (`record --who`) as a pprof profile (`export --format pprof`) and as
 * folded stacks (`--format collapsed`, for flamegraph.pl, speedscope, Grafana/Pyroscope imports).
 *
 * pprof: one sample type, pages_written (pages); one sample per (call stack, thread) summed over
 * the ticks, the stack's frames as locations leaf first, each location one function named by
 * the frame; labels `thread` (name) and `tid`, and `partial` = "true" where the frame-pointer
 * chain was cut. Encoded by the pprof-format package (the pprof protobuf). A WHO record keeps the
 * 100 largest stacks of a tick: what the others wrote is one "[other stacks]" sample, so the
 * profile's total is the page writes attributed. Pages are exact at period 1 (the profile's
 * period says which was used; above 1 they are estimates).
 */
import {
  Function as PFunction,
  Label,
  Location,
  Profile,
  Sample,
  StringTable,
  ValueType,
  Line,
} from 'pprof-format';
import type { Recording } from '../record/reader.ts';

interface StackTotal {
  frames: string[];
  thread: string;
  tid: number;
  partial: boolean;
  pages: number;
}

export const OTHER_STACKS = '[other stacks]';

/** Stacks summed over the recording's ticks, most pages first. */
export function stackTotals(rec: Recording): StackTotal[] {
  const m = new Map<string, StackTotal>();
  const add = (
    frames: string[],
    thread: string,
    tid: number,
    partial: boolean,
    pages: number,
  ): void => {
    if (pages <= 0) return;
    const k = `${frames.join('\n')}\0${thread}\0${tid}\0${partial}`;
    const had = m.get(k);
    if (had) had.pages += pages;
    else m.set(k, { frames, thread, tid, partial, pages });
  };
  for (const w of rec.who.values()) {
    let inStacks = 0;
    for (const s of w.stacks) {
      add(s.frames, s.thread, s.tid, s.partial, s.pages);
      inStacks += s.pages;
    }
    const attributed = w.writers.reduce((n, x) => n + x.pages, 0);
    add([OTHER_STACKS], '', 0, true, attributed - inStacks);
  }
  return [...m.values()].sort((a, b) => b.pages - a.pages);
}

/** The pprof profile (gzip is up to the caller; pprof reads plain protobuf too). */
export function writersPprof(rec: Recording): Uint8Array {
  const strings = new StringTable();
  const functions: PFunction[] = [];
  const locations: Location[] = [];
  const locationOf = new Map<string, number>();
  const location = (name: string): number => {
    let id = locationOf.get(name);
    if (id === undefined) {
      id = locations.length + 1;
      const fn = strings.dedup(name);
      functions.push(new PFunction({ id, name: fn, systemName: fn }));
      locations.push(new Location({ id, line: [new Line({ functionId: id })] }));
      locationOf.set(name, id);
    }
    return id;
  };
  const samples = stackTotals(rec).map(
    (s) =>
      new Sample({
        locationId: s.frames.map(location),
        value: [s.pages],
        label: [
          ...(s.thread
            ? [new Label({ key: strings.dedup('thread'), str: strings.dedup(s.thread) })]
            : []),
          ...(s.tid ? [new Label({ key: strings.dedup('tid'), num: s.tid })] : []),
          ...(s.partial
            ? [new Label({ key: strings.dedup('partial'), str: strings.dedup('true') })]
            : []),
        ],
      }),
  );
  const periods = [...new Set([...rec.who.values()].map((w) => w.period))];
  const profile = new Profile({
    sampleType: [
      new ValueType({ type: strings.dedup('pages_written'), unit: strings.dedup('pages') }),
    ],
    sample: samples,
    location: locations,
    function: functions,
    stringTable: strings,
    timeNanos: Date.parse(rec.header.createdAt) * 1e6,
    durationNanos: Math.round(rec.durationMs * 1e6),
    periodType: new ValueType({ type: strings.dedup('page_faults'), unit: strings.dedup('count') }),
    period: Math.max(1, ...periods),
    comment: [
      strings.dedup(
        `pagescope: pages written by call stack, process ${rec.header.process.pid} (${rec.header.process.name})`,
      ),
    ],
  });
  return profile.encode();
}

/** Folded stacks: "thread;root;...;leaf pages" per line (Brendan Gregg's collapsed format). */
export function writersCollapsed(rec: Recording, write: (s: string) => void): void {
  const clean = (s: string): string => s.replace(/[;\n]/g, '_');
  for (const s of stackTotals(rec)) {
    const path = [...(s.thread ? [`${s.thread} ${s.tid}`] : []), ...[...s.frames].reverse()];
    write(`${path.map(clean).join(';')} ${s.pages}\n`);
  }
}
