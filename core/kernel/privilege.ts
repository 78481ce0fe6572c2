/**
 * What to tell a user whom the kernel refused ptrace-level access to a process. "Run pagescope as
 * root" is the usual cure, but it is wrong advice to give to root: then the refusal comes from
 * something privilege does not override here (a missing CAP_SYS_PTRACE in a container, another
 * user namespace, a security module), and the sentence says that instead. One more is easy to
 * miss: /proc/PID/pagemap and its siblings are files mode 0400 owned by the target's user, so
 * opening another user's needs CAP_DAC_READ_SEARCH (or CAP_DAC_OVERRIDE) besides CAP_SYS_PTRACE;
 * a unit that grants only CAP_SYS_PTRACE is refused there, and the sentence names the missing one.
 */
import fs from 'node:fs';

const CAP_DAC_OVERRIDE = 1n;
const CAP_DAC_READ_SEARCH = 2n;
const CAP_SYS_PTRACE = 19n;

/** This process's effective capability set (0 when unreadable). */
function effectiveCapabilities(): bigint {
  try {
    const status = fs.readFileSync('/proc/self/status', 'latin1');
    const hex = /^CapEff:\s*([0-9a-f]+)/im.exec(status)?.[1];
    return hex === undefined ? 0n : BigInt('0x' + hex);
  } catch {
    return 0n;
  }
}

const has = (caps: bigint, cap: bigint): boolean => ((caps >> cap) & 1n) === 1n;

/** Whether this process holds CAP_SYS_PTRACE in its effective set (false when unreadable). */
export function hasPtraceCapability(): boolean {
  return has(effectiveCapabilities(), CAP_SYS_PTRACE);
}

/** Whether this process may open another user's 0400 files (CAP_DAC_READ_SEARCH or _OVERRIDE). */
export function hasFileReadCapability(): boolean {
  const caps = effectiveCapabilities();
  return has(caps, CAP_DAC_READ_SEARCH) || has(caps, CAP_DAC_OVERRIDE);
}

/**
 * The "what to do" clause that ends a permission-denied sentence (no final full stop).
 * `fileReadCap` matters only to refusals to open a /proc file: a ptrace attach passes true.
 */
export function privilegeAdvice(
  uid: number | undefined = process.getuid?.(),
  ptraceCap: boolean = hasPtraceCapability(),
  fileReadCap: boolean = hasFileReadCapability(),
): string {
  const launch = `launch the target from pagescope ("pagescope watch -- COMMAND")`;
  if (uid !== 0 && !ptraceCap) return `${launch} or run pagescope as root or with CAP_SYS_PTRACE`;
  if (!ptraceCap)
    return `pagescope runs as root but without CAP_SYS_PTRACE (a container may drop it): grant that capability, or ${launch}`;
  if (!fileReadCap)
    return (
      `pagescope has CAP_SYS_PTRACE but not CAP_DAC_READ_SEARCH, which opening another user's ` +
      `/proc/PID files also needs: grant that capability too, or ${launch}`
    );
  return (
    `pagescope already has root's ptrace and file-reading privileges, so something privilege does not override refuses it ` +
    `(the process may belong to another user namespace or container, or a security module such as ` +
    `SELinux, AppArmor or Yama ptrace_scope 3 denies tracing it); ${launch} instead`
  );
}
