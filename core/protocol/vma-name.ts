/**
 * What a VMA is, in words: the one place that turns the path column of /proc/PID/maps into the
 * name every view shows (the CLI's tables, watch, report, the exports, the UI).
 *
 * Strategy: the kernel names memory that has no file of its own through pseudo-files, and their
 * base names mislead ("zero (deleted)" reads like the zero-page category). So shared anonymous
 * memory (`/dev/zero (deleted)`, `[anon_shmem:NAME]`, `/anon_hugepage (deleted)`), memfds
 * (`/memfd:NAME (deleted)`) and SysV segments (`/SYSV<key hex> (deleted)`) get names that say what they are; POSIX shm keeps its whole `/dev/shm/` path; files keep
 * their path (full) or base name (short), " (deleted)" included. Pure: the raw path stays where it
 * was (Vma.path, VmaInfo.path, the recordings), this only names it.
 */

const DELETED = ' (deleted)';
const SYSV = /^\/SYSV([0-9a-f]{8})$/;

/**
 * The name of memory the kernel maps through a pseudo-file, or null for a real file, a bracketed
 * name ("[heap]") or '' (anonymous memory).
 */
function specialName(path: string): string | null {
  const deleted = path.endsWith(DELETED);
  const bare = deleted ? path.slice(0, -DELETED.length) : path;
  // MAP_SHARED|MAP_ANONYMOUS (and MAP_SHARED of /dev/zero): shmem the kernel names /dev/zero.
  if (bare === '/dev/zero') return deleted ? 'shared anonymous' : 'anonymous (/dev/zero)';
  if (bare === '/anon_hugepage') return 'shared anonymous (hugetlb)';
  if (path.startsWith('[anon_shmem:')) return `shared anonymous: ${path.slice(12, -1)}`;
  if (bare.startsWith('/memfd:')) return bare.slice(1);
  const sysv = SYSV.exec(bare);
  if (sysv) {
    // Key 0 is IPC_PRIVATE: a segment without a key.
    if (sysv[1] === '00000000') return 'SysV shm (private)';
    return `SysV shm key 0x${sysv[1]}`;
  }
  return null;
}

/**
 * The VMA's name with a file's whole path: "/usr/lib/libc.so.6", "shared anonymous",
 * "memfd:jit", "SysV shm key 0x0000abcd", "[heap]"; '' for plain anonymous memory (the caller
 * names it by its address or kind).
 */
export function vmaName(path: string): string {
  return specialName(path) ?? path;
}

/**
 * The same with a file's base name only ("libc.so.6", "data (deleted)"), for narrow places: the
 * heatmap's grid, track names, tables with a column for it. POSIX shm keeps "/dev/shm/NAME" so it
 * still says it is shared memory.
 */
export function vmaShortName(path: string): string {
  const special = specialName(path);
  if (special !== null) return special;
  if (path.startsWith('[') || path.startsWith('/dev/shm/')) return path;
  return path.slice(path.lastIndexOf('/') + 1) || path;
}

/**
 * A VMA record's name: what pagescope knows unnamed memory to be ("demo: sweep"), else its
 * name from the path ('' for plain anonymous memory).
 */
export function labelledName(v: { path: string; label?: string }, short = true): string {
  return v.label || (short ? vmaShortName(v.path) : vmaName(v.path));
}
