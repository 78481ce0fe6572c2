/**
 * The exporter's metrics, in the Prometheus text exposition format, through prom-client.
 *
 * Why prom-client: it is the Prometheus client for Node that everyone uses (maintained, no
 * native code, bundles with esbuild), and it is only what a pull exporter needs: a registry,
 * the text exposition with HELP/TYPE and label escaping, and collect() hooks that set values at
 * scrape time. OpenTelemetry's Prometheus exporter would bring the OTel metrics SDK
 * (meter provider, readers, views) for one HTTP endpoint, and renames instruments to Prometheus
 * names by its own rules; we want the names below exactly as written.
 *
 * Every per-process value is set at scrape time from the Exporter's state (collect()): a process
 * that went away simply has no series at the next scrape, and nothing is kept per label set that
 * no process has any more. Counters are kept in the Exporter and only copied here.
 *
 * Cardinality: per process the labels target, pid, comm, cgroup; the per-VMA rate adds `vma`
 * for the top N names by writes and one `(other)` for the rest, so a process has at most N + 1.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import { PAGE_SIZE } from '../kernel/pagemap-abi.ts';
import type { Exporter, Watched } from './exporter.ts';

/** Where a series of the rest of the VMAs (beyond the top N) goes. */
export const OTHER_VMAS = '(other)';

/** The trailing windows of the write working set, as their label values. */
export const WINDOWS: ReadonlyArray<[string, number]> = [
  ['1s', 1000],
  ['10s', 10_000],
  ['60s', 60_000],
];

/** The dirty rate's window (seconds): long enough to hold several ticks at the longest interval. */
export const RATE_WINDOW_MS = 10_000;

const PROC_LABELS = ['target', 'pid', 'comm', 'cgroup'] as const;
type ProcLabels = Record<(typeof PROC_LABELS)[number], string>;

const labelsOf = (w: Watched): ProcLabels => ({
  target: w.target,
  pid: String(w.pid),
  comm: w.comm,
  cgroup: w.cgroup,
});

export function createRegistry(exporter: Exporter, opts: { topVmas: number }): Registry {
  const registry = new Registry();
  ownCost(registry);
  const attached = (): Watched[] => [...exporter.procs.values()].filter((w) => w.session !== null);

  /** A gauge of one number per attached process, null for "no series". */
  const perProcess = (name: string, help: string, value: (w: Watched) => number | null): Gauge =>
    new Gauge({
      name,
      help,
      labelNames: PROC_LABELS,
      registers: [registry],
      collect() {
        this.reset();
        for (const w of attached()) {
          const v = value(w);
          if (v !== null && Number.isFinite(v)) this.set(labelsOf(w), v);
        }
      },
    });

  const pages = (n: number | undefined): number | null => (n === undefined ? null : n * PAGE_SIZE);
  perProcess(
    'pagescope_resident_bytes',
    'Resident memory of the process (present pages), bytes.',
    (w) => pages(w.counts?.present),
  );
  perProcess('pagescope_swapped_bytes', 'Memory of the process that is swapped out, bytes.', (w) =>
    pages(w.counts?.swapped),
  );
  perProcess('pagescope_file_bytes', 'Resident file-backed memory of the process, bytes.', (w) =>
    pages(w.counts?.file),
  );
  perProcess('pagescope_huge_bytes', 'Resident memory of the process in huge pages, bytes.', (w) =>
    pages(w.counts?.huge),
  );
  perProcess(
    'pagescope_watched_bytes',
    'Memory of the process under write watch (its writable mappings), bytes.',
    (w) => (w.watching ? pages(w.counts?.watched) : null),
  );

  new Gauge({
    name: 'pagescope_write_working_set_bytes',
    help: 'Distinct bytes (whole pages) the process wrote in the trailing window (at least its last tick, which a lengthened interval makes longer); an estimate while pagescope_sample_ratio < 1.',
    labelNames: [...PROC_LABELS, 'window'],
    registers: [registry],
    collect() {
      this.reset();
      for (const w of attached()) {
        if (!w.watching) continue;
        const model = w.sampleModel();
        for (const [label, ms] of WINDOWS) {
          const ws = w.window.workingSet(ms, model);
          if (ws) this.set({ ...labelsOf(w), window: label }, ws.pages * PAGE_SIZE);
        }
      }
    },
  });

  perProcess(
    'pagescope_dirty_rate_bytes_per_second',
    `Bytes (whole pages) the process dirtied per second over the last ${RATE_WINDOW_MS / 1000} s; an estimate while pagescope_sample_ratio < 1.`,
    (w) => {
      if (!w.watching) return null;
      const r = w.window.dirtyRate(RATE_WINDOW_MS);
      return r === null ? null : r * PAGE_SIZE;
    },
  );

  perProcess(
    'pagescope_dirty_rate_error_bytes_per_second',
    `+/- bytes per second around pagescope_dirty_rate_bytes_per_second at about 95% confidence (the sample's stated error; 0 when exact; absent when a tick stated none).`,
    (w) => {
      if (!w.watching) return null;
      const e = w.window.dirtyRateError(RATE_WINDOW_MS);
      return e === null ? null : e * PAGE_SIZE;
    },
  );

  new Counter({
    name: 'pagescope_written_bytes_total',
    help: 'Bytes (whole pages, counted once per tick written) the process dirtied since it was attached; rate() of it is the dirty rate.',
    labelNames: PROC_LABELS,
    registers: [registry],
    collect() {
      this.reset();
      for (const w of attached())
        if (w.watching) this.inc(labelsOf(w), w.window.totalWrittenPages * PAGE_SIZE);
    },
  });

  new Gauge({
    name: 'pagescope_vma_dirty_rate_bytes_per_second',
    help: `Bytes dirtied per second over the last ${RATE_WINDOW_MS / 1000} s by mapping name: the top ${opts.topVmas} names, the rest under vma="${OTHER_VMAS}".`,
    labelNames: [...PROC_LABELS, 'vma'],
    registers: [registry],
    collect() {
      this.reset();
      for (const w of attached()) {
        if (!w.watching) continue;
        for (const [vma, rate] of w.window.vmaRates(RATE_WINDOW_MS, opts.topVmas, OTHER_VMAS))
          this.set({ ...labelsOf(w), vma }, rate * PAGE_SIZE);
      }
    },
  });

  perProcess(
    'pagescope_estimated_overhead_ratio',
    "ESTIMATED share of the process's CPU time spent on pagescope's write faults in the last tick (0.02 = 2%).",
    (w) =>
      w.watching && w.counts && w.counts.estOverheadPct >= 0 ? w.counts.estOverheadPct / 100 : null,
  );
  perProcess(
    'pagescope_sample_ratio',
    'Share of the watched pages sampled for writes (1 = exact; below 1 the write figures are estimates).',
    (w) => (w.watching && w.counts && w.counts.sampleFraction > 0 ? w.counts.sampleFraction : null),
  );
  perProcess(
    'pagescope_tick_interval_seconds',
    'Interval between two samples of the process (the --max-overhead bound may lengthen it).',
    (w) => (w.counts && w.counts.intervalMs > 0 ? w.counts.intervalMs / 1000 : null),
  );
  perProcess(
    'pagescope_attached',
    'Attach state: 1 while pagescope is attached to the process (its page states sampled).',
    () => 1,
  );
  perProcess(
    'pagescope_writes_watched',
    'Whether the writes of the attached process are watched (1), or only its page states (0: the watch was refused).',
    (w) => (w.watching ? 1 : 0),
  );

  new Gauge({
    name: 'pagescope_target_processes',
    help: 'Processes attached now for a target spec (0: nothing matches it, or every attach was refused).',
    labelNames: ['target'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of exporter.targets)
        this.set({ target: s.text }, exporter.attachedCount(s.text));
    },
  });

  new Counter({
    name: 'pagescope_attaches_total',
    help: 'Processes attached for a target spec since the exporter started (a restarted target adds one).',
    labelNames: ['target'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of exporter.targets)
        this.inc({ target: s.text }, exporter.attaches.get(s.text) ?? 0);
    },
  });

  new Counter({
    name: 'pagescope_attach_errors_total',
    help: 'Refused attaches or write watches by target spec and reason (permission, seccomp, traced, ...).',
    labelNames: ['target', 'reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [target, m] of exporter.attachErrors)
        for (const [reason, n] of m) this.inc({ target, reason }, n);
    },
  });

  return registry;
}

/**
 * The exporter's own measured cost under the standard process_* names (prom-client's default
 * metrics add nodejs_* gauges that promtool's lint refuses, so these three are set here).
 */
function ownCost(registry: Registry): void {
  const startS = Math.round(Date.now() / 1000 - process.uptime());
  new Counter({
    name: 'process_cpu_seconds_total',
    help: 'CPU time (user and system) the exporter itself used, seconds.',
    registers: [registry],
    collect() {
      const u = process.cpuUsage();
      this.reset();
      this.inc((u.user + u.system) / 1e6);
    },
  });
  new Gauge({
    name: 'process_resident_memory_bytes',
    help: 'Resident memory of the exporter itself, bytes.',
    registers: [registry],
    collect() {
      this.set(process.memoryUsage.rss());
    },
  });
  new Gauge({
    name: 'process_start_time_seconds',
    help: 'When the exporter started, seconds since the epoch.',
    registers: [registry],
    collect() {
      this.set(startS);
    },
  });
}
