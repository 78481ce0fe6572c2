/** The capability probe against this machine's kernel (Linux 6.18), and the warning sentences. */
import fs from 'node:fs';
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  capabilityWarnings,
  probeCapabilities,
  probeZeroPageOnRead,
  type Capabilities,
} from './capabilities.ts';
import { Category } from './pagemap-abi.ts';

describe('probeCapabilities on this kernel', () => {
  const caps = probeCapabilities(true);
  const [major, minor] = os.release().split('.').map(Number);
  const atLeast = (a: number, b: number) => major > a || (major === a && minor >= b);

  it('reports the kernel and PAGEMAP_SCAN (6.7+) with the categories it accepts', () => {
    expect(caps.kernel).toBe(os.release());
    expect(caps.pagemapScan).toBe(atLeast(6, 7));
    if (atLeast(6, 15)) {
      expect(caps.supportedCategories & Category.GUARD).toBe(Category.GUARD);
      expect(caps.supportedCategoryNames).toContain('guard');
    }
    expect(caps.supportedCategoryNames).toEqual(
      expect.arrayContaining([
        'wpallowed',
        'written',
        'file',
        'present',
        'swapped',
        'pfnzero',
        'huge',
      ]),
    );
  });

  it('finds userfaultfd WP_ASYNC usable', () => {
    expect(caps.uffdWpAsync).toBe(atLeast(6, 7));
    if (caps.uffdWpAsync) expect(caps.uffdProblem).toBeNull();
  });

  it('reads swap, THP mode, ptrace policy and privilege from the machine', () => {
    const swaps = fs.readFileSync('/proc/swaps', 'utf8').trim().split('\n').length > 1;
    expect(caps.swapConfigured).toBe(swaps);
    const thp = fs.readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8');
    expect(thp).toContain(`[${caps.thpMode}]`);
    const yama = fs.existsSync('/proc/sys/kernel/yama/ptrace_scope');
    expect(caps.ptraceScope === null).toBe(!yama);
    expect(caps.privileged).toBe(process.getuid?.() === 0 || caps.privileged);
    if (process.getuid?.() === 0) expect(caps.privileged).toBe(true);
    expect(caps.unprivilegedUserfaultfd).toBe(
      Number(fs.readFileSync('/proc/sys/vm/unprivileged_userfaultfd', 'utf8')),
    );
  });

  it('asks the kernel whether a read maps the shared zero page, both ways agreeing', () => {
    // This machine's kernel may boot with pvm_no_zero_page=1 (a test aid): then every read fault
    // takes a private page. Whatever the kernel, the PAGEMAP_SCAN answer (PFNZERO) and the
    // pagemap one (present but not exclusively mapped) must agree with the boot option.
    const noZeroPage = /(^|\s)pvm_no_zero_page=1(\s|$)/.test(
      fs.readFileSync('/proc/cmdline', 'utf8'),
    );
    expect(caps.zeroPageOnRead).toBe(!noZeroPage);
    expect(probeZeroPageOnRead(true)).toBe(caps.zeroPageOnRead);
    expect(probeZeroPageOnRead(false)).toBe(caps.zeroPageOnRead);
    expect(capabilityWarnings(caps).some((w) => /no shared zero page/.test(w))).toBe(noZeroPage);
  });

  it('caches the probe unless asked to refresh', () => {
    expect(probeCapabilities()).toBe(probeCapabilities());
    expect(probeCapabilities(true)).toEqual(caps);
  });
});

describe('capabilityWarnings', () => {
  const worst: Capabilities = {
    kernel: '6.1.0',
    pagemapScan: false,
    supportedCategories: 0,
    supportedCategoryNames: [],
    uffdWpAsync: false,
    uffdProblem: 'this kernel lacks userfaultfd WP_ASYNC (needs Linux 6.7+)',
    swapConfigured: false,
    swapTotalKiB: 0,
    thpMode: 'never',
    ptraceScope: 1,
    privileged: false,
    unprivilegedUserfaultfd: 0,
    zeroPageOnRead: false,
  };

  it('says what is missing, one full sentence each', () => {
    const w = capabilityWarnings(worst);
    expect(w).toHaveLength(6);
    for (const s of w) expect(s).toMatch(/^[A-Z].*\.$/);
    expect(w[0]).toMatch(/no PAGEMAP_SCAN .*6\.7/);
    expect(w[1]).toMatch(/^Write watching is unavailable: this kernel lacks/);
    expect(w[2]).toMatch(/No swap/);
    expect(w[3]).toMatch(
      /private page on every read .*no shared zero page.*only read look written/,
    );
    expect(w[4]).toMatch(/never/);
    expect(w[5]).toMatch(/ptrace_scope = 1.*child/);
  });

  it('says nothing when all is there', () => {
    expect(
      capabilityWarnings({
        ...worst,
        pagemapScan: true,
        uffdWpAsync: true,
        uffdProblem: null,
        swapConfigured: true,
        thpMode: 'madvise',
        ptraceScope: null,
        privileged: true,
        zeroPageOnRead: true,
      }),
    ).toEqual([]);
  });
});
