/**
 * Groups on the wire (issue 24): the UI lists the cgroups of the listed processes
 * (`listCgroups`) and asks for one scan of a group (`scanGroup`): a process and its descendants,
 * a cgroup, or several pids. The answer is core/proc/group-scan.ts's GroupScan as plain data:
 * each member with its resident and swapped pages, and each shared object once, with its label,
 * its figures (each saying which source it came from) and every member's share.
 *
 * A scan is one reading: the UI asks again while its group view is open (members that start
 * and exit show up on the next one). Written pages come from a group write watch (watchGroup,
 * below), tick by tick. Figures are pages; pageSize
 * says how big one is. Bad input (a pid that is not running, a cgroup outside the cgroup
 * hierarchies) is answered with one sentence by the host, never a partial scan.
 */
import { z } from 'zod';
import { MAX_ARG_CHARS } from './constants.ts';
import { pidSchema } from './shapes.ts';

/** Members a group scan answers for (more are scanned but not listed: `moreMembers`). */
export const GROUP_MAX_MEMBERS = 512;
/** Shared objects listed (the most shared first; more are counted in `moreObjects`). */
export const GROUP_MAX_OBJECTS = 256;
/** Cgroups `listCgroups` lists. */
export const GROUP_MAX_CGROUPS = 1000;

const count = z.number().int().min(0);
const text = z.string().max(4096);
const pidName = z.object({ pid: count, name: text });

export const groupSpecSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('tree'), root: pidSchema }).strict(),
  z
    .object({
      kind: z.literal('cgroup'),
      /** A cgroup directory under /sys/fs/cgroup (as listCgroups gives it), or its path there. */
      path: z
        .string()
        .min(1)
        .max(MAX_ARG_CHARS)
        .refine((s) => !s.includes('\0'), 'no NUL characters'),
    })
    .strict(),
  z
    .object({ kind: z.literal('pids'), pids: z.array(pidSchema).min(1).max(GROUP_MAX_MEMBERS) })
    .strict(),
]);
export type GroupSpecParams = z.infer<typeof groupSpecSchema>;

export const groupMemberSchema = z.object({
  pid: count,
  ppid: count,
  name: text,
  /** Pages present in its page tables (shared ones too, like RSS). */
  resident: count,
  /** Pages its page tables show swapped (shared memory's swapped pages are the objects'). */
  swapped: count,
  /** Present pages outside shared mappings: its own. */
  privateResident: count,
});
export type GroupMemberInfo = z.infer<typeof groupMemberSchema>;

export const groupShareSchema = z.object({
  pid: count,
  /** Object pages present in this member's page tables. */
  present: count,
  /** Its proportional share of the object's resident pages (a page in k members counts 1/k). */
  share: z.number().min(0),
});
export type GroupShareInfo = z.infer<typeof groupShareSchema>;

export const groupObjectSchema = z.object({
  /** "DEV:INODE": the same object across scans. */
  key: text,
  kind: z.enum(['shared anonymous', 'memfd', 'sysv', 'posix shm', 'hugetlb', 'file']),
  /** "shared anonymous", "memfd:NAME", "SysV shm key 0x…", the file. */
  label: text,
  /** "inode 1234", "shmid 5". */
  identity: text,
  /** Object pages some member maps. */
  size: count,
  /** Object pages present in some member's page tables (source: the page tables). */
  resident: count,
  /**
   * From the object itself (shmem), null for files or where it could not be read. `source`
   * says where: 'object' (map_files, SEEK_DATA/SEEK_HOLE and mincore; exact per page) or
   * 'smaps' (per-VMA Swap; resident and allocated unknown, null).
   */
  fromObject: z
    .object({
      swapped: count,
      resident: count.nullable(),
      allocated: count.nullable(),
      source: z.enum(['object', 'smaps']),
    })
    .nullable(),
  shares: z.array(groupShareSchema).max(GROUP_MAX_MEMBERS),
});
export type GroupObjectInfo = z.infer<typeof groupObjectSchema>;

export const groupScanSchema = z.object({
  /** "tree of pid 1234", "cgroup /sys/fs/cgroup/x". */
  describe: text,
  pageSize: z.number().int().min(1),
  members: z.array(groupMemberSchema).max(GROUP_MAX_MEMBERS),
  moreMembers: count,
  /** Members that could not be scanned (exited meanwhile, a kernel thread, not ours), and why. */
  skipped: z.array(z.object({ pid: count, name: text, why: text })).max(GROUP_MAX_MEMBERS),
  objects: z.array(groupObjectSchema).max(GROUP_MAX_OBJECTS),
  moreObjects: count,
  /** Members' own resident pages plus each shared object's resident pages once. */
  residentOnce: count,
  /** The members' resident pages added up (shared pages in every member, like RSS). */
  residentSum: count,
  /** Swapped pages of shared objects, from the objects (no page table shows them). */
  sharedSwapped: count,
  scanMs: z.number().min(0),
});
export type GroupScanInfo = z.infer<typeof groupScanSchema>;

export const cgroupSummarySchema = z.object({
  /** Its path inside the hierarchy ("/user.slice/user-1000.slice/session-2.scope"). */
  path: text,
  /** Its directory, what a cgroup group spec names. */
  dir: text,
  /** The listed processes in it (not below it), ascending. */
  pids: z.array(count),
});
export type CgroupSummary = z.infer<typeof cgroupSummarySchema>;

export const groupMethods = {
  /** The cgroups (v2, else the v1 hierarchy holding pids) of the processes listProcesses lists. */
  listCgroups: {
    params: z.object({}).strict(),
    result: z.object({ cgroups: z.array(cgroupSummarySchema).max(GROUP_MAX_CGROUPS) }),
  },
  /** One scan of a group; the UI asks again to refresh. */
  scanGroup: {
    params: z.object({ group: groupSpecSchema }).strict(),
    result: groupScanSchema,
  },
} as const;

/** A group watch's tick interval, ms (the UI's choice; 500 like `pagescope watch --tree`). */
export const GROUP_WATCH_MIN_INTERVAL_MS = 100;
export const GROUP_WATCH_MAX_INTERVAL_MS = 10_000;
/** Written ranges sent per object per tick (the pages are counted over all of them). */
export const GROUP_WATCH_MAX_RANGES = 64;

/**
 * Watching a group's writes (issue 24): `watchGroup` starts core/watch/group-watch.ts's
 * GroupWatch in the host's group thread (one per connection: a newer one stops the older), the
 * host sends one `groupTick` event per tick, and `stopGroupWatch` (or the connection closing, or
 * the host ending) closes it: every member is released as it was. `groupWatchEnded` says when it
 * ended by itself (every member exited, a failure), in one sentence.
 */
export const groupWatchIdSchema = z
  .number()
  .int()
  .min(1)
  .max(2 ** 31);

const why = pidName.extend({ why: text });

export const groupWatchStartSchema = z.object({
  watchId: groupWatchIdSchema,
  /** "tree of pid 1234". */
  describe: text,
  /** What is watched in each member ("the writable mappings"). */
  watching: text,
  intervalMs: z.number().int().min(1),
  pageSize: z.number().int().min(1),
  members: z.array(pidName.extend({ ppid: count, watchedPages: count })).max(GROUP_MAX_MEMBERS),
  /** Members that could not be watched, each with the reason in one sentence. */
  failed: z.array(why).max(GROUP_MAX_MEMBERS),
});
export type GroupWatchStart = z.infer<typeof groupWatchStartSchema>;

export const groupWatchTickSchema = z.object({
  /** 1, 2, ... */
  tick: z.number().int().min(1),
  /** ms since the watch started. */
  t: z.number().min(0),
  /** Every member counted every write (no sampling); else the counts are what was seen. */
  exact: z.boolean(),
  /** ESTIMATED share of the members' CPU time spent on write faults, percent; null: unknown. */
  estOverheadPct: z.number().min(0).nullable(),
  /** Members' own pages plus each object's union once, this tick. */
  writtenOnce: count,
  /** The members' written pages summed (a shared page in each member that wrote it). */
  writtenSum: count,
  members: z
    .array(
      pidName.extend({
        /** Pages it wrote this tick (seen: with sampling, `writtenEst` estimates them all). */
        writtenPages: count,
        /** Its pages written in all ticks so far, added up (a page rewritten counts again). */
        writtenTotal: count,
        privatePages: count,
        sharedPages: count,
        exact: z.boolean(),
        /** ESTIMATED pages written, when sampled (exact: equals writtenPages). */
        writtenEst: z.number().min(0),
      }),
    )
    .max(GROUP_MAX_MEMBERS),
  objects: z
    .array(
      z.object({
        key: text,
        kind: text,
        label: text,
        identity: text,
        /** Object pages written this tick: the union of the members' writes, each page once. */
        writtenPages: count,
        /** Distinct object pages written since the watch started (each page once). */
        writtenSoFar: count,
        /** The first GROUP_WATCH_MAX_RANGES of this tick's written ranges, [first, end). */
        ranges: z.array(z.tuple([count, count])).max(GROUP_WATCH_MAX_RANGES),
        /** Each member that wrote it this tick: its pages and proportional share (1/k a page). */
        shares: z
          .array(z.object({ pid: count, pages: count, share: z.number().min(0) }))
          .max(GROUP_MAX_MEMBERS),
        /** Each member's pages and share of it, every tick's added up since the start. */
        sharesSoFar: z
          .array(z.object({ pid: count, pages: count, share: z.number().min(0) }))
          .max(GROUP_MAX_MEMBERS),
      }),
    )
    .max(GROUP_MAX_OBJECTS),
  moreObjects: count,
  joined: z.array(pidName).max(GROUP_MAX_MEMBERS),
  execd: z.array(pidName).max(GROUP_MAX_MEMBERS),
  left: z.array(pidName).max(GROUP_MAX_MEMBERS),
  /** Members that could not be watched (new this tick), with why. */
  failed: z.array(why).max(GROUP_MAX_MEMBERS),
  /** Members whose watch ended this tick (exit, exec), with why. */
  ended: z.array(why).max(GROUP_MAX_MEMBERS),
});
export type GroupWatchTick = z.infer<typeof groupWatchTickSchema>;

export const groupWatchEventSchemas = [
  z.object({
    event: z.literal('groupTick'),
    watchId: groupWatchIdSchema,
    tick: groupWatchTickSchema,
  }),
  z.object({ event: z.literal('groupWatchEnded'), watchId: groupWatchIdSchema, reason: text }),
] as const;

export const groupWatchMethods = {
  /** Starts watching a group's writes (stopping this connection's earlier group watch). */
  watchGroup: {
    params: z
      .object({
        group: groupSpecSchema,
        intervalMs: z
          .number()
          .int()
          .min(GROUP_WATCH_MIN_INTERVAL_MS)
          .max(GROUP_WATCH_MAX_INTERVAL_MS)
          .optional(),
      })
      .strict(),
    result: groupWatchStartSchema,
  },
  /** Stops it: every member released as it was before. */
  stopGroupWatch: {
    params: z.object({ watchId: groupWatchIdSchema }).strict(),
    result: z.object({}).strict(),
  },
} as const;

/** Ticks of a group recording the UI is sent (the first ones; `moreTicks` counts the rest). */
export const GROUP_RECORDING_MAX_TICKS = 10_000;

/** One tick of a group recording (core/record/group-recording.ts's GroupTickRecord). */
export const groupRecordingTickSchema = z.object({
  t: z.number(),
  exact: z.boolean(),
  members: z.array(
    pidName.extend({ writtenPages: count, privatePages: count, sharedPages: count }),
  ),
  objects: z.array(
    z.object({
      key: text,
      kind: text,
      label: text,
      identity: text,
      /** Object pages written this tick, [first, end) in object pages, each page once. */
      ranges: z.array(z.tuple([count, count])),
      /** Each member's written pages of it and its share (a page k members wrote: 1/k each). */
      shares: z.array(z.object({ pid: count, pages: count, share: z.number().min(0) })),
    }),
  ),
  joined: z.array(pidName),
  left: z.array(pidName),
  execd: z.array(pidName),
});
export type GroupRecordingTick = z.infer<typeof groupRecordingTickSchema>;

/** A group recording (format version 3) opened for replay: all of it, the UI steps through it. */
export const groupRecordingInfoSchema = z.object({
  file: text,
  createdAt: text,
  describe: text,
  kind: text,
  intervalMs: z.number().min(0),
  watching: text,
  pageSize: z.number().int().min(1),
  members: z.array(pidName.extend({ ppid: count })),
  ticks: z.array(groupRecordingTickSchema).max(GROUP_RECORDING_MAX_TICKS),
  /** Ticks after the last one sent (a recording longer than GROUP_RECORDING_MAX_TICKS). */
  moreTicks: count,
  /** Why the reading stopped early (the recorder was killed), or null. */
  truncated: text.nullable(),
  endedCleanly: z.boolean(),
});
export type GroupRecordingInfo = z.infer<typeof groupRecordingInfoSchema>;
