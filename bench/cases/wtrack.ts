/**
 * Case 3: what write tracking costs the target, measured inside one C program (bench/c/wtrack.c)
 * on its own memory: the first write to a tracked page under userfaultfd async write-protect
 * (pagescope's way) against mprotect + a SIGSEGV handler (the classic emulation), and what
 * becomes of the mprotect way at 64k tracked pages (every tracked write splits a VMA, and
 * vm.max_map_count caps the VMAs of a process).
 */
import { probeCapabilities } from '../../core/kernel/capabilities.ts';
import { runOnce } from '../lib/native.ts';
import { goalAtMost, makeCase, median, skippedCase, type CaseResult } from '../lib/stats.ts';
import type { BenchContext } from './context.ts';

const LIMIT_PAGES = 65536;

export async function wtrackCases(ctx: BenchContext): Promise<CaseResult[]> {
  const name1 = '3a first write to a tracked page: uffd-wp async vs mprotect+SIGSEGV (C)';
  const goal1 = goalAtMost(1, 'uffd-wp cheaper (C here: 8.7x)');
  const name2 = `3b tracking ${LIMIT_PAGES} scattered pages: uffd-wp vs mprotect (C)`;
  const goal2 = { max: null, text: `uffd-wp tracks all ${LIMIT_PAGES}` };
  const caps = probeCapabilities();
  const reason = !ctx.built.ok
    ? ctx.built.reason
    : !caps.uffdWpAsync
      ? `userfaultfd async write-protect unavailable: ${caps.uffdProblem ?? 'unknown reason'}`
      : null;
  if (reason !== null || !ctx.built.ok) {
    return [skippedCase(name1, goal1, reason ?? ''), skippedCase(name2, goal2, reason ?? '')];
  }
  const wtrack = ctx.built.bin.wtrack;
  const runs = ctx.quick ? 3 : 7;
  const pages = ctx.quick ? 4096 : 16384;
  const uffd: number[] = [];
  const mprot: number[] = [];
  for (let i = 0; i < runs; i++) {
    ctx.log(`  3a run ${i + 1}/${runs}`);
    const f = await runOnce(wtrack, ['first', String(pages)]);
    uffd.push(f.uffd_ns / 1e6);
    mprot.push(f.mprotect_ns / 1e6);
  }
  const u = median(uffd);
  const m = median(mprot);
  const out = [
    makeCase(name1, u, m, goal1, {
      note: `per first write, median of ${runs} x ${pages} pages: uffd-wp ${(u * 1000).toFixed(2)} us, mprotect+SIGSEGV ${(m * 1000).toFixed(2)} us`,
      unit: 'ms per first write',
      ours_us: Number((u * 1000).toPrecision(4)),
      reference_us: Number((m * 1000).toPrecision(4)),
    }),
  ];
  ctx.log('  3b limit');
  const f = await runOnce(wtrack, ['limit', String(LIMIT_PAGES)]);
  const mprotectFailed = f.mprotect_ok < LIMIT_PAGES;
  const errnoText = f.mprotect_errno === 12 ? 'ENOMEM' : `errno ${f.mprotect_errno}`;
  out.push({
    name: name2,
    ours_ms: null,
    reference_ms: null,
    ratio: null,
    goal: goal2.text,
    pass: f.uffd_reported === LIMIT_PAGES,
    note: `uffd-wp: ${f.uffd_reported}/${LIMIT_PAGES} written pages reported; mprotect: ${
      mprotectFailed
        ? `fails at ${f.mprotect_ok} pages (${errnoText}, vm.max_map_count ${f.max_map_count})`
        : `all ${f.mprotect_ok} tracked (vm.max_map_count ${f.max_map_count})`
    }`,
    uffd_tracked_pages: f.uffd_reported,
    mprotect_tracked_pages: f.mprotect_ok,
    mprotect_fails_at: mprotectFailed ? f.mprotect_ok : null,
    mprotect_error: mprotectFailed ? errnoText : null,
    max_map_count: f.max_map_count,
  });
  return out;
}
