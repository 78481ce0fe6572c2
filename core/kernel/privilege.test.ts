/**
 * A permission refusal tells the user what would help: "run pagescope as root" to a user, but
 * never to root (the issue saw exactly that, for pid 1 as root).
 */
import { describe, expect, it } from 'vitest';
import { KernelError } from './errors.ts';
import { hasFileReadCapability, hasPtraceCapability, privilegeAdvice } from './privilege.ts';

describe('privilegeAdvice', () => {
  it('a user is told about root, CAP_SYS_PTRACE and launch mode', () => {
    const s = privilegeAdvice(1000, false);
    expect(s).toMatch(/run pagescope as root or with CAP_SYS_PTRACE/);
    expect(s).toMatch(/launch the target from pagescope/);
  });

  it('root without CAP_SYS_PTRACE is told about the capability, not about root', () => {
    const s = privilegeAdvice(0, false);
    expect(s).not.toMatch(/run pagescope as root/);
    expect(s).toMatch(/without CAP_SYS_PTRACE/);
  });

  it('root with the capability is told what else refuses, not to become root', () => {
    const s = privilegeAdvice(0, true, true);
    expect(s).not.toMatch(/run pagescope as root/);
    expect(s).toMatch(/user namespace|security module/);
  });

  it('CAP_SYS_PTRACE without CAP_DAC_READ_SEARCH is told that one is missing', () => {
    const s = privilegeAdvice(0, true, false);
    expect(s).toMatch(/has CAP_SYS_PTRACE but not CAP_DAC_READ_SEARCH/);
    expect(s).not.toMatch(/already has|run pagescope as root/);
  });

  it("this process's own refusal sentence fits who it runs as", (ctx) => {
    if (process.getuid?.() !== 0) ctx.skip('runs as a user: "run pagescope as root" is right here');
    const text = new KernelError('open /proc/1/pagemap', 13, { pid: 1 }).describe();
    expect(text).toMatch(/^Permission denied to open \/proc\/1\/pagemap for process 1: /);
    expect(text).not.toMatch(/run pagescope as root/);
    if (hasPtraceCapability() && hasFileReadCapability())
      expect(text).toMatch(/already has root's ptrace and file-reading privileges/);
  });
});
