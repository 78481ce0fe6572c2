/**
 * `pagescope exporter`: a long-running process for one host that serves the write working sets,
 * dirty rates and page states of the processes it is told to watch, at /metrics, for Prometheus.
 *
 *   pagescope exporter [--pid P]... [--comm PATTERN]... [--cgroup PATH]... [--targets FILE]
 *                      [--listen [HOST:]PORT] [--token-file FILE] [--interval MS]
 *                      [--max-overhead PCT] [--top-vmas N] [--max-processes N]
 *
 * The engine is core/exporter (sessions, one per matched process, followed across restarts),
 * the metrics core/exporter/metrics.ts, the HTTP side core/exporter/http.ts. Loopback unless
 * --listen says otherwise; any other address needs --token-file (a bearer token). SIGHUP
 * re-reads --targets and --token-file (a bad file is said and the old list kept); SIGTERM and
 * Ctrl-C detach from every process (the targets keep no trace) and exit 0. One line on stderr
 * per attach, detach and refusal; "serving http://HOST:PORT/metrics" once listening.
 */
import { PagescopeError, userMessage } from '../../kernel/errors.ts';
import { Exporter } from '../../exporter/exporter.ts';
import {
  DEFAULT_PORT,
  isLoopback,
  parseListen,
  readToken,
  serveMetrics,
} from '../../exporter/http.ts';
import { createRegistry } from '../../exporter/metrics.ts';
import { parseMaxOverhead } from '../args.ts';
import {
  cgroupTarget,
  commTarget,
  dedupe,
  parseTargetsFile,
  pidTarget,
  type TargetSpec,
} from '../../exporter/targets.ts';

export interface ExporterCommandOptions {
  pid?: string[];
  comm?: string[];
  cgroup?: string[];
  targets?: string;
  listen?: string;
  tokenFile?: string;
  interval?: string;
  maxOverhead?: string;
  topVmas?: string;
  maxProcesses?: string;
}

/** Looks for new matching processes this often (a restarted target is found within it). */
export const RESCAN_MS = 1000;

function whole(text: string, what: string, min: number, max: number): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < min || Number(text) > max)
    throw new PagescopeError(
      `${what} must be a whole number from ${min} to ${max}, not "${text}".`,
      'bad-input',
    );
  return Number(text);
}

/** The target specs of the command line and of --targets, without repeats. */
function specsOf(o: ExporterCommandOptions): TargetSpec[] {
  return dedupe([
    ...(o.pid ?? []).map((p) => pidTarget(p)),
    ...(o.comm ?? []).map((c) => commTarget(c)),
    ...(o.cgroup ?? []).map((c) => cgroupTarget(c)),
    ...(o.targets !== undefined ? parseTargetsFile(o.targets) : []),
  ]);
}

export async function exporterCommand(o: ExporterCommandOptions): Promise<number> {
  if (!o.pid?.length && !o.comm?.length && !o.cgroup?.length && o.targets === undefined)
    throw new PagescopeError(
      'Say what to watch: --pid PID, --comm PATTERN, --cgroup PATH or --targets FILE (each may be repeated).',
      'bad-input',
    );
  const specs = specsOf(o);
  const listen = parseListen(o.listen ?? String(DEFAULT_PORT));
  if (!isLoopback(listen.host) && o.tokenFile === undefined)
    throw new PagescopeError(
      `Listening on ${listen.host} lets other machines read the metrics: give --token-file FILE (a bearer token Prometheus sends), or listen on 127.0.0.1.`,
      'bad-input',
    );
  const token = o.tokenFile !== undefined ? readToken(o.tokenFile) : null;
  const intervalMs = whole(o.interval ?? '1000', '--interval (ms)', 100, 60_000);
  const maxOverheadPct = parseMaxOverhead(o.maxOverhead ?? '2');
  const topVmas = whole(o.topVmas ?? '5', '--top-vmas', 0, 50);
  const maxProcesses = whole(o.maxProcesses ?? '64', '--max-processes', 1, 1000);
  const log = (line: string): void => {
    process.stderr.write(`pagescope: ${line}\n`);
  };

  const exporter = new Exporter({
    specs,
    intervalMs,
    maxOverheadPct,
    rescanMs: RESCAN_MS,
    maxProcesses,
    log,
  });
  const registry = createRegistry(exporter, { topVmas });
  const server = await serveMetrics(registry, listen, token);
  const shown = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  log(
    `serving http://${shown}:${server.address.port}/metrics` +
      (token ? ' (bearer token required)' : '') +
      `; watching ${specs.length ? specs.map((s) => s.text).join(', ') : 'nothing yet'}` +
      `, estimated overhead under ${maxOverheadPct}% each; SIGHUP reloads, SIGTERM detaches and ends.`,
  );

  let stop: ((sig: string) => void) | null = null;
  const stopped = new Promise<string>((resolve) => (stop = resolve));
  const onStop = (sig: NodeJS.Signals): void => stop?.(sig);
  const onHup = (): void => {
    try {
      const next = o.targets !== undefined ? specsOf(o) : exporter.targets.slice();
      if (o.tokenFile !== undefined) server.setToken(readToken(o.tokenFile));
      log(`reloaded: watching ${next.map((s) => s.text).join(', ') || 'nothing'}.`);
      void exporter.setTargets(next);
    } catch (err) {
      log(`reload refused, the old targets stay: ${userMessage(err)}`);
    }
  };
  const STOPS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGQUIT'];
  for (const s of STOPS) process.on(s, onStop);
  process.on('SIGHUP', onHup);
  try {
    await Promise.race([exporter.start(), stopped]);
    const sig = await stopped;
    log(`${sig}: detaching from ${exporter.procs.size} processes.`);
  } finally {
    await server.close();
    await exporter.close();
    for (const s of STOPS) process.off(s, onStop);
    process.off('SIGHUP', onHup);
  }
  log('done; every process was released.');
  return 0;
}
