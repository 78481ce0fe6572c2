// Node's on-disk compile cache for the CLI (issue 24: attach within about a second): V8's code
// for dist/cli.mjs and its chunks is kept between runs, so a start parses and compiles nothing it
// compiled before (about a third of the CLI's own start-up, several times that on a loaded
// machine). Node 22.1+ (module.enableCompileCache); on older Nodes nothing happens.
//
// Safe by Node's design, checked in bin/compile-cache.test.ts: an entry is keyed by the module's
// path and checked against a hash of its source, so a rebuilt bundle is compiled afresh and its
// entry replaced, never run from a stale one; an entry is written whole (a temporary file renamed)
// at exit, so CLIs started at once share the folder. Any failure (unwritable, full, missing) only
// means no cache. The folder is the user's own: $XDG_CACHE_HOME/pagescope/compile-cache or
// ~/.cache/pagescope/compile-cache, used only when it is a real folder owned by this user that
// nobody else may write (cached code is run as is: another user's files must never get in); with
// no such folder (a user without a writable home) there is no cache, and nothing is left in
// $TMPDIR either. NODE_DISABLE_COMPILE_CACHE=1 turns it off; NODE_COMPILE_CACHE
// =DIR (Node's own) wins over this choice.
import fs from 'node:fs';
import module from 'node:module';
import os from 'node:os';
import path from 'node:path';

/** The folder `dir` made (0700) if missing; true when it is ours alone (see the top). */
function ownFolder(dir) {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = fs.lstatSync(dir);
    const uid = process.getuid?.() ?? -1;
    return st.isDirectory() && st.uid === uid && (st.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

/** Where the cache goes, or null when no folder is safe to use. */
export function compileCacheDir(env = process.env) {
  const base = env.XDG_CACHE_HOME || (os.homedir() ? path.join(os.homedir(), '.cache') : '');
  if (base && path.isAbsolute(base)) {
    const dir = path.join(base, 'pagescope', 'compile-cache');
    if (ownFolder(path.dirname(dir)) && ownFolder(dir)) return dir;
  }
  return null;
}

/** Turns the compile cache on for the modules loaded from now on; never throws. */
export function enableCompileCache() {
  if (typeof module.enableCompileCache !== 'function') return;
  if (process.env.NODE_DISABLE_COMPILE_CACHE || process.env.NODE_COMPILE_CACHE) return;
  try {
    const dir = compileCacheDir();
    if (dir) module.enableCompileCache(dir);
  } catch {
    // no cache: the CLI works as before
  }
}
