/**
 * Parsing and checking of the user's words: pids and address ranges. Every failure is a
 * PagescopeError with a sentence that says what was wrong and what a right value looks like.
 */
import { PagescopeError } from '../kernel/errors.ts';
import { PAGE_SIZE } from '../kernel/pagemap-abi.ts';
import { checkTarget } from '../proc/target-check.ts';
import type { PageRange } from '../scan/scanner.ts';

/**
 * A pid of a process pagescope can look at: refuses, in one sentence each, what is not a number,
 * gone, a zombie, a kernel thread, or (`watch`) a thread of pagescope itself.
 */
export function parsePid(text: string, options: { watch?: boolean } = {}): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) <= 0 || Number(text) > 2 ** 22) {
    throw new PagescopeError(
      `"${text}" is not a process id (a positive number such as 1234).`,
      'bad-pid',
    );
  }
  const pid = Number(text);
  checkTarget(pid, options);
  return pid;
}

const RANGE = /^(0x[0-9a-f]+)-(0x[0-9a-f]+)$/i;
const ADDRESS_LIMIT = 1n << 64n;

/** Parses "0xSTART-0xEND" (page-aligned, start < end) into pages. */
export function parseRange(text: string): PageRange {
  const example = 'e.g. 0x7f0000000000-0x7f0000100000';
  if (text.trim().startsWith('-'))
    throw new PagescopeError(
      `"${text}" is not a range: addresses are not negative; write it as 0xSTART-0xEND in hex, ${example}.`,
      'bad-range',
    );
  const m = RANGE.exec(text.trim());
  if (!m) {
    throw new PagescopeError(
      `"${text}" is not a range: write it as 0xSTART-0xEND in hex, ${example}.`,
      'bad-range',
    );
  }
  const start = BigInt(m[1]);
  const end = BigInt(m[2]);
  const page = BigInt(PAGE_SIZE);
  // Too large first: such a number is also unaligned, but "not page-aligned" would mislead.
  if (start >= ADDRESS_LIMIT || end > ADDRESS_LIMIT)
    throw new PagescopeError(
      `Range ${text} is too large: addresses end at 0x${ADDRESS_LIMIT.toString(16)} (64 bits).`,
      'bad-range',
    );
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
  return { startPage: Number(start / page), endPage: Number(end / page) };
}

/** --max-overhead: a percent from 0.1 to 100 (100: exact, no bound; overhead-budget.ts). */
export function parseMaxOverhead(text: string): number {
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text.trim()) || !(n >= 0.1 && n <= 100))
    throw new PagescopeError(
      `--max-overhead must be a percent from 0.1 to 100, not "${text}".`,
      'bad-input',
    );
  return n;
}
