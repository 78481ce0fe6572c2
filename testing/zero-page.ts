/**
 * Tests that depend on the shared zero page. A read of untouched anonymous memory normally maps
 * the kernel's zero page (PAGEMAP_SCAN: WRITTEN|PRESENT|PFNZERO); a kernel booted with
 * pvm_no_zero_page=1 (or any kernel without the zero page) maps a private page instead, which
 * reports WRITTEN|PRESENT like a written one. Cases that need the zero page skip there, with
 * this reason, and the rest of their assertions run in cases of their own.
 */
import type { TestContext } from 'vitest';
import { probeCapabilities } from '../core/kernel/capabilities.ts';

export const NO_ZERO_PAGE_REASON =
  'this kernel maps a private page on read (no shared zero page, e.g. pvm_no_zero_page=1)';

/** Does a read of untouched anonymous memory map the shared zero page here? (asked once) */
export function zeroPageOnRead(): boolean {
  return probeCapabilities().zeroPageOnRead;
}

/** Skips the current case when this kernel has no shared zero page on read. */
export function needZeroPage(ctx: TestContext): void {
  if (!zeroPageOnRead()) ctx.skip(NO_ZERO_PAGE_REASON);
}
