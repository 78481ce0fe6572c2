/**
 * Why a VMA piece is not write-watched, as a typed code.
 *
 * Strategy: the watcher decides a refusal once, as a `Refusal` (a code from a closed set, plus
 * the detail the sentence needs: an errno name, a mapping name, an error message). Callers
 * decide behaviour by the code (`refusal.code === 'no-access'`), never by comparing sentences;
 * the sentence shown to the user is derived from the code by `refusalSentence`, in one place.
 */

export type RefusalCode =
  /** PROT_NONE: nothing can write it; watched once the process makes it accessible. */
  | 'no-access'
  /** [vdso], [vvar], [vsyscall]: kernel mappings the process never writes. */
  | 'special-mapping'
  /**
   * UFFDIO_REGISTER EBUSY while the process holds a userfaultfd of its own: the range is its
   * own. Never retried: a process that unregisters for a moment (a GC cycle, a lazy restore)
   * must find its range free again (registration.ts).
   */
  | 'own-userfaultfd'
  /**
   * UFFDIO_REGISTER EBUSY while the process holds no userfaultfd: another process's is
   * registered there, such as a pagescope still exiting (its registrations go with its last
   * descriptor). Retried by the ticks (registration.ts busyDue): watched from the tick that
   * registers it.
   */
  | 'other-userfaultfd'
  /** UFFDIO_REGISTER EINVAL: special or device memory the kernel cannot write-protect. */
  | 'unsupported-mapping'
  /** UFFDIO_REGISTER EPERM: a shared mapping of a file opened read-only. */
  | 'read-only-shared-file'
  /** UFFDIO_REGISTER ENOMEM: the VMA changed while it was being registered (retried next tick). */
  | 'mapping-changed'
  /** Registered, but write-protecting its pages failed (it was unregistered again). */
  | 'protect-failed'
  /** UFFDIO_REGISTER failed with another errno (`detail`: its name, e.g. ESRCH). */
  | 'register-failed';

export interface Refusal {
  code: RefusalCode;
  /** What the sentence names: the mapping (special/unsupported), the errno name, the error. */
  detail?: string;
}

/** The refusal for a failed UFFDIO_REGISTER, by errno name. */
export function registerRefusal(errnoName: string, mapping: string): Refusal {
  switch (errnoName) {
    case 'EBUSY':
      return { code: 'own-userfaultfd' };
    case 'EINVAL':
      return { code: 'unsupported-mapping', detail: mapping };
    case 'EPERM':
      return { code: 'read-only-shared-file' };
    case 'ENOMEM':
      return { code: 'mapping-changed' };
    default:
      return { code: 'register-failed', detail: errnoName };
  }
}

/** The one sentence (no final period) that says a refusal to the user. */
export function refusalSentence(r: Refusal): string {
  switch (r.code) {
    case 'no-access':
      return 'no access (PROT_NONE): nothing can write it; it is watched once the process makes it writable';
    case 'special-mapping':
      return `${r.detail ?? 'this'} is a special mapping of the kernel that the process never writes and the kernel cannot write-protect`;
    case 'own-userfaultfd':
      return 'the process already uses its own userfaultfd on this range';
    case 'other-userfaultfd':
      return 'another process’s userfaultfd (a pagescope still exiting?) is registered on this range; retrying';
    case 'unsupported-mapping':
      return `the kernel refuses to write-protect this kind of mapping (${r.detail ?? 'unknown'}: special or device memory)`;
    case 'read-only-shared-file':
      return 'a shared mapping of a file opened read-only cannot be write-watched';
    case 'mapping-changed':
      return 'the mapping changed while it was being registered';
    case 'protect-failed':
      return `write-protecting it failed: ${r.detail ?? 'unknown error'}`;
    case 'register-failed':
      return `UFFDIO_REGISTER failed with ${r.detail ?? 'an unknown error'}`;
  }
}

/**
 * Whether the UI shows the piece as refused. A no-access piece is not refused: nothing writes
 * it, and it is watched as soon as the process makes it accessible.
 */
export function isShownAsRefused(r: Refusal): boolean {
  return r.code !== 'no-access';
}
