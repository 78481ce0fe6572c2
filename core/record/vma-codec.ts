/**
 * VMA tables in a recording: the first one in the header, each later one as a diff against the
 * one before (a process that grows its heap every tick changes one entry, not two hundred).
 *
 * Entries are stored without `index` and `offset`, which follow from the order and the sizes and
 * are recomputed on reading. A diff keeps the first `keepHead` and the last `keepTail` entries of
 * the previous table and puts `mid` between them. Every entry read from a file is validated
 * (zod): types, page numbers in the user address space, start < end, address order.
 */
import { z } from 'zod';
import type { VmaInfo } from '../protocol/messages.ts';
import { MAX_VMAS, RecordingError } from './format.ts';

export type VmaEntry = Omit<VmaInfo, 'index' | 'offset'>;

export interface VmaDiff {
  keepHead: number;
  keepTail: number;
  mid: VmaEntry[];
}

/** Largest page number of a 64-bit address ([vsyscall] sits at the top). */
const MAX_PAGE = 2 ** 52;
export { MAX_VMAS };

const page = z.number().int().min(0).max(MAX_PAGE);
const entrySchema = z
  .object({
    start: z.string().max(18),
    end: z.string().max(18),
    startPage: page,
    endPage: page,
    perms: z.string().max(8),
    path: z.string().max(8192),
    kind: z.enum(['heap', 'stack', 'vdso', 'vvar', 'vsyscall', 'file', 'anon', 'shmem', 'hugetlb']),
    label: z.string().max(1024).optional(),
    watched: z.enum(['no', 'yes', 'partial', 'refused']),
    watchNote: z.string().max(4096).optional(),
  })
  .strict()
  .refine((v) => v.startPage < v.endPage, 'a VMA must start below its end');
export const vmaTableSchema = z.array(entrySchema).max(MAX_VMAS);
export const vmaDiffSchema = z
  .object({
    keepHead: z.number().int().min(0).max(MAX_VMAS),
    keepTail: z.number().int().min(0).max(MAX_VMAS),
    mid: vmaTableSchema,
  })
  .strict();

export function toEntry(v: VmaInfo): VmaEntry {
  const { index: _index, offset: _offset, ...rest } = v;
  return rest;
}

/** Entries -> full VmaInfo (index, offset), checking address order. */
export function toTable(entries: readonly VmaEntry[]): { vmas: VmaInfo[]; totalPages: number } {
  let total = 0;
  let lastEnd = 0;
  const vmas = entries.map((e, index) => {
    if (e.startPage < lastEnd)
      throw new RecordingError(
        'The recording is damaged: its VMA table is not in address order.',
        'corrupt',
      );
    lastEnd = e.endPage;
    const v: VmaInfo = { ...e, index, offset: total };
    total += e.endPage - e.startPage;
    return v;
  });
  return { vmas, totalPages: total };
}

const same = (a: VmaEntry, b: VmaEntry): boolean =>
  a.startPage === b.startPage &&
  a.endPage === b.endPage &&
  a.perms === b.perms &&
  a.path === b.path &&
  a.kind === b.kind &&
  a.label === b.label &&
  a.watched === b.watched &&
  a.watchNote === b.watchNote;

export function diffTables(prev: readonly VmaEntry[], next: readonly VmaEntry[]): VmaDiff {
  let head = 0;
  while (head < prev.length && head < next.length && same(prev[head], next[head])) head++;
  let tail = 0;
  while (
    tail < prev.length - head &&
    tail < next.length - head &&
    same(prev[prev.length - 1 - tail], next[next.length - 1 - tail])
  )
    tail++;
  return { keepHead: head, keepTail: tail, mid: next.slice(head, next.length - tail) };
}

export function applyDiff(prev: readonly VmaEntry[], diff: VmaDiff): VmaEntry[] {
  if (diff.keepHead + diff.keepTail > prev.length)
    throw new RecordingError(
      'The recording is damaged: a VMA change keeps more entries than the table has.',
      'corrupt',
    );
  const next = [
    ...prev.slice(0, diff.keepHead),
    ...diff.mid,
    ...prev.slice(prev.length - diff.keepTail),
  ];
  if (next.length > MAX_VMAS)
    throw new RecordingError('The recording is damaged: a VMA table is too large.', 'too-large');
  return next;
}

/** Parses a JSON diff record (already CRC-checked) into a VmaDiff, or says why it is bad. */
export function parseDiff(json: unknown): VmaDiff {
  const r = vmaDiffSchema.safeParse(json);
  if (!r.success)
    throw new RecordingError(
      `The recording is damaged: a VMA change is malformed (${r.error.issues[0]?.message ?? 'invalid'}).`,
      'corrupt',
    );
  return r.data as VmaDiff;
}
