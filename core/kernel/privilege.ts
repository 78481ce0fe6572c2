/**
 * What to tell a user whom the kernel refused ptrace-level access to a process. "Run pagescope as
 * root" is the usual cure, but it is wrong advice to give to root: then the refusal comes from
 * something privilege does not override here (a missing CAP_SYS_PTRACE in a container, another
 * user namespace, a security module), and the sentence says that instead.
 */
import fs from 'node:fs';

const CAP_SYS_PTRACE = 19n;

/** Whether this process holds CAP_SYS_PTRACE in its effective set (false when unreadable). */
export function hasPtraceCapability(): boolean {
  try {
    const status = fs.readFileSync('/proc/self/status', 'latin1');
    const hex = /^CapEff:\s*([0-9a-f]+)/im.exec(status)?.[1];
    return hex !== undefined && ((BigInt('0x' + hex) >> CAP_SYS_PTRACE) & 1n) === 1n;
  } catch {
    return false;
  }
}

/** The "what to do" clause that ends a permission-denied sentence (no final full stop). */
export function privilegeAdvice(
  uid: number | undefined = process.getuid?.(),
  ptraceCap: boolean = hasPtraceCapability(),
): string {
  const launch = `launch the target from pagescope ("pagescope watch -- COMMAND")`;
  if (uid !== 0 && !ptraceCap) return `${launch} or run pagescope as root or with CAP_SYS_PTRACE`;
  if (!ptraceCap)
    return `pagescope runs as root but without CAP_SYS_PTRACE (a container may drop it): grant that capability, or ${launch}`;
  return (
    `pagescope already has root's ptrace privilege, so something privilege does not override refuses it ` +
    `(the process may belong to another user namespace or container, or a security module such as ` +
    `SELinux, AppArmor or Yama ptrace_scope 3 denies tracing it); ${launch} instead`
  );
}
