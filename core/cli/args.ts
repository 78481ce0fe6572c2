/**
 * Parsing and checking of the user's words: pids and address ranges. Every failure is a
 * PagescopeError with a sentence that says what was wrong and what a right value looks like.
 */
import fs from 'node:fs';
import { PagescopeError } from '../kernel/errors.ts';
import { PAGE_SIZE } from '../kernel/pagemap-abi.ts';
import type { PageRange } from '../scan/scanner.ts';

export function parsePid(text: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) <= 0 || Number(text) > 2 ** 22) {
    throw new PagescopeError(
      `"${text}" is not a process id (a positive number such as 1234).`,
      'bad-pid',
    );
  }
  const pid = Number(text);
  if (!fs.existsSync(`/proc/${pid}`)) {
    throw new PagescopeError(
      `No process with pid ${pid} exists (it may have exited); "pagescope ps" lists processes.`,
      'no-process',
    );
  }
  return pid;
}

const RANGE = /^(0x[0-9a-f]+)-(0x[0-9a-f]+)$/i;

/** Parses "0xSTART-0xEND" (page-aligned, start < end) into pages. */
export function parseRange(text: string): PageRange {
  const m = RANGE.exec(text.trim());
  if (!m) {
    throw new PagescopeError(
      `"${text}" is not a range: write it as 0xSTART-0xEND in hex, e.g. 0x7f0000000000-0x7f0000100000.`,
      'bad-range',
    );
  }
  const start = BigInt(m[1]);
  const end = BigInt(m[2]);
  const page = BigInt(PAGE_SIZE);
  if (start % page !== 0n || end % page !== 0n) {
    throw new PagescopeError(
      `Range ${text} is not page-aligned: start and end must be multiples of 0x${page.toString(16)}.`,
      'bad-range',
    );
  }
  if (start >= end)
    throw new PagescopeError(
      `Range ${text} is empty: the start must be below the end.`,
      'bad-range',
    );
  if (end > 1n << 64n)
    throw new PagescopeError(`Range ${text} lies beyond the 64-bit address space.`, 'bad-range');
  return { startPage: Number(start / page), endPage: Number(end / page) };
}
