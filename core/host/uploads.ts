/**
 * Uploaded recordings, streamed to disk as they arrive, under a host-wide quota.
 *
 * Each chunk is written at its offset into a file of its own under the recordings folder
 * (`.uploads/upload-PID-N-RANDOM.part`, mode 0600, in a 0700 folder removed again once empty),
 * so an upload holds one chunk in memory at a time whatever its size: the host's memory does
 * not grow with uploads.
 * One chunk of an upload is written at a time (the UI waits for each answer); a chunk sent while
 * the previous one is still being written is refused as 'busy'.
 *
 * The quota counts the bytes every upload of the host announced (reserved when it starts, so
 * concurrent uploads cannot overshoot it together) and holds them until the file is removed: when
 * the upload is dropped, or when the replay session opened from it closes (compare and analytics
 * read the file again in threads of their own). Default 4 GiB; $PAGESCOPE_UPLOAD_QUOTA_MIB sets
 * it. An upload is also refused when the folder's file system has less free space than it needs.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PagescopeError } from '../kernel/errors.ts';

/** Bytes of uploads a host holds at once (on disk), by default. */
export const DEFAULT_UPLOAD_QUOTA_BYTES = 4 * 1024 ** 3;
/** Free space an upload leaves on the file system (so the recordings being made still fit). */
const KEEP_FREE_BYTES = 256 * 1024 ** 2;

const MiB = (n: number): string => `${Math.ceil(n / 1024 ** 2)} MiB`;

/** The quota from $PAGESCOPE_UPLOAD_QUOTA_MIB, else the default. */
export function uploadQuotaFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.PAGESCOPE_UPLOAD_QUOTA_MIB;
  if (v && /^\d+$/.test(v)) return Number(v) * 1024 ** 2;
  return DEFAULT_UPLOAD_QUOTA_BYTES;
}

/** The host-wide count of upload bytes on disk. */
export class UploadBudget {
  private used = 0;

  constructor(readonly limit: number) {}

  get usedBytes(): number {
    return this.used;
  }

  /** Reserves `bytes` for `name`, or says why not. Synchronous: no await between check and take. */
  take(bytes: number, name: string): void {
    if (this.used + bytes > this.limit)
      throw new PagescopeError(
        `${name} (${MiB(bytes)}) does not fit in this host's upload quota: ${MiB(this.used)} of ${MiB(this.limit)} are held by other uploads and open recordings; close one, or open the file with "pagescope serve FILE".`,
        'busy',
      );
    this.used += bytes;
  }

  give(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }
}

let swept = false;

/** Removes .part files left by hosts that are gone (killed before they could remove them). */
function sweepOrphans(dir: string): void {
  if (swept) return;
  swept = true;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    const pid = Number(/^upload-(\d+)-/.exec(n)?.[1]);
    if (!pid || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
      continue; // its host still runs
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') continue;
    }
    try {
      fs.rmSync(path.join(dir, n), { force: true });
    } catch {
      // best effort
    }
  }
}

let nextFile = 1;

/** One upload being received: its file on disk, written chunk by chunk. */
export class Upload {
  received = 0;
  private fd: number | null;
  private writing = false;
  private dropped = false;
  private held = true;

  private constructor(
    readonly name: string,
    readonly size: number,
    readonly file: string,
    fd: number,
    private readonly budget: UploadBudget,
  ) {
    this.fd = fd;
  }

  /** Starts an upload of `size` bytes into `recordingsDir`/.uploads, under `budget`. */
  static begin(recordingsDir: string, name: string, size: number, budget: UploadBudget): Upload {
    const dir = path.join(recordingsDir, '.uploads');
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new PagescopeError(
        `Cannot create ${dir} for uploads: ${(err as Error).message}.`,
        'error',
      );
    }
    sweepOrphans(dir);
    let free = Infinity;
    try {
      const st = fs.statfsSync(dir);
      free = st.bavail * st.bsize;
    } catch {
      // no statfs here: the writes will say when the disk is full
    }
    if (size + KEEP_FREE_BYTES > free)
      throw new PagescopeError(
        `${name} (${MiB(size)}) does not fit in ${dir}: ${MiB(free)} are free there.`,
        'error',
      );
    budget.take(size, name);
    const file = path.join(
      dir,
      `upload-${process.pid}-${nextFile++}-${crypto.randomBytes(6).toString('hex')}.part`,
    );
    let fd: number;
    try {
      try {
        fd = fs.openSync(file, 'wx', 0o600);
      } catch (err) {
        // Another host removed the folder as it emptied, between our mkdir and open: once more.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
        fd = fs.openSync(file, 'wx', 0o600);
      }
    } catch (err) {
      budget.give(size);
      throw new PagescopeError(
        `Cannot write uploads to ${dir}: ${(err as Error).message}.`,
        'error',
      );
    }
    return new Upload(name, size, file, fd, budget);
  }

  get busy(): boolean {
    return this.writing;
  }

  /** Writes `data` at the current end (the caller checked offset and size). */
  async write(data: Buffer): Promise<void> {
    if (this.fd === null || this.dropped)
      throw new PagescopeError(
        `The upload of ${this.name} was dropped: send it again.`,
        'bad-request',
      );
    if (this.writing)
      throw new PagescopeError(
        `A chunk of ${this.name} is still being written: wait for its answer before sending the next.`,
        'busy',
      );
    this.writing = true;
    const fd = this.fd;
    try {
      let off = 0;
      while (off < data.length) {
        const n = await new Promise<number>((resolve, reject) =>
          fs.write(fd, data, off, data.length - off, this.received + off, (err, written) =>
            err ? reject(err) : resolve(written),
          ),
        );
        off += n;
      }
    } catch (err) {
      this.discard();
      throw new PagescopeError(
        `Cannot write ${this.name} to disk: ${(err as Error).message}. Send it again when there is room.`,
        'error',
      );
    } finally {
      this.writing = false;
      if (this.dropped) this.cleanup();
    }
    this.received += data.length;
  }

  /** The upload is whole: its file stays (and counts) until `release`. */
  finish(): { file: string; release: () => void } {
    this.closeFd();
    return { file: this.file, release: () => this.discard() };
  }

  private closeFd(): void {
    if (this.fd === null) return;
    try {
      fs.closeSync(this.fd);
    } catch {
      // already closed
    }
    this.fd = null;
  }

  /** Drops the upload: its file removed, its bytes given back (after a write under way). */
  discard(): void {
    this.dropped = true;
    if (!this.writing) this.cleanup();
  }

  private cleanup(): void {
    this.closeFd();
    if (!this.held) return;
    this.held = false;
    try {
      fs.rmSync(this.file, { force: true });
      fs.rmdirSync(path.dirname(this.file)); // the folder too once empty: no trace left
    } catch {
      // best effort (not empty: other uploads; a file left: the next host sweeps it)
    }
    this.budget.give(this.size);
  }
}
