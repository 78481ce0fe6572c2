/**
 * The demo workload's regions: names, sizes and what each one shows, in one place for the
 * workload itself, the `pagescope demo` command and the UI.
 *
 * Every region is its own VMA (separated by PROT_NONE pages so neighbours never merge) and, where
 * the kernel has CONFIG_ANON_VMA_NAME, is named `[anon:pagescope-demo:<name>]` in
 * /proc/PID/maps. Sizes are in 4 KiB pages; the whole demo stays below ~80 MiB resident.
 */

export type DemoRegionName =
  'sweep' | 'hot' | 'random' | 'zero' | 'file' | 'thp' | 'swap' | 'guard' | 'growth';

export interface DemoRegionSpec {
  name: DemoRegionName;
  /** Size of the region in pages (for `growth`: the reservation it grows into). */
  pages: number;
  /** One line a viewer can match against the heatmap. */
  shows: string;
}

/** Prefix of the anonymous VMA names (`prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME)`). */
export const DEMO_NAME_PREFIX = 'pagescope-demo:';

/** The workload's tick: every phase advances once per tick. */
export const DEMO_TICK_MS = 25;

export const DEMO_REGIONS: readonly DemoRegionSpec[] = [
  {
    name: 'sweep',
    pages: 4096,
    shows:
      'a 4 MiB band of written pages sliding through 16 MiB (written ahead, dropped behind), wrapping every ~6 s',
  },
  { name: 'hot', pages: 32, shows: 'the same 8 pages written every tick: a hot set' },
  {
    name: 'random',
    pages: 4096,
    shows: 'random pages written (8 per tick) as speckle, the whole region dropped every 10 s',
  },
  {
    name: 'zero',
    pages: 2048,
    shows: 'pages only read, never written: mapped to the shared zero page (refilled every 15 s)',
  },
  {
    name: 'file',
    pages: 1024,
    shows:
      'a temp file mapped private and read (file pages); pages written become anonymous copies; reset every 15 s',
  },
  {
    name: 'thp',
    pages: 1024,
    shows:
      '2 MiB-aligned, MADV_HUGEPAGE, fully written: transparent huge pages (one half dropped and refaulted every 20 s)',
  },
  {
    name: 'swap',
    pages: 2048,
    shows:
      'written, then pushed to swap with MADV_PAGEOUT every 10 s and read back gradually (only when swap exists)',
  },
  {
    name: 'guard',
    pages: 512,
    shows: 'guard-page stripes (MADV_GUARD_INSTALL) between written pages, shifting every 2 s',
  },
  {
    name: 'growth',
    pages: 8192,
    shows: 'a heap-like region growing from 1 MiB to 32 MiB and shrinking back, 128 KiB per tick',
  },
];

/** The ready line the workload prints on stdout, one JSON object. */
export interface DemoReady {
  ready: true;
  pid: number;
  regions: Record<string, { start: string; end: string }>;
  /** The temp file behind the `file` region (removed when the workload exits). */
  file: string;
  features: {
    /** VMAs carry `[anon:pagescope-demo:...]` names (CONFIG_ANON_VMA_NAME). */
    named: boolean;
    /** Swap exists, so the `swap` region is really paged out. */
    swap: boolean;
    /** MADV_GUARD_INSTALL worked (Linux 6.13+). */
    guard: boolean;
    /** MADV_HUGEPAGE was accepted (THP mode is not `never`). */
    thp: boolean;
  };
}
