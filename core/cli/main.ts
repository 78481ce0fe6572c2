/**
 * The `pagescope` command line: the same engine as the app, scriptable. Each subcommand lives in
 * commands/; this file only wires arguments to them and turns every failure into one line on
 * stderr with exit code 2 (bad input, refused attach) or 1 (anything unexpected). commander's own
 * errors (unknown option, missing value) take the same one-line form, with a pointer to --help.
 * A closed stdout (`pagescope scan ... | head -2`) is a normal end, not an error: see output.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { KernelError, PagescopeError, userMessage } from '../kernel/errors.ts';
import { psCommand } from './commands/ps.ts';
import { scanCommand } from './commands/scan.ts';
import { watchStdout } from './output.ts';
import { distDir } from '../runtime/entry.ts';

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function packageVersion(): string {
  // dist/'s parent is the package root both in the build and in the sources.
  const pkg = path.join(distDir(), '..', 'package.json');
  return (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { version: string }).version;
}

/**
 * commander's own error output, reshaped into pagescope's one-line form: "pagescope: what is
 * wrong (see pagescope scan --help)". Its "Did you mean" suggestion stays on the same line.
 */
function errorOutput(cmd: Command): Command {
  const name = cmd.parent ? `pagescope ${cmd.name()}` : 'pagescope';
  return cmd.exitOverride().configureOutput({
    writeErr: (s) => process.stderr.write(s),
    outputError: (text, write) => {
      const what = text
        .trim()
        .replace(/^error: /, '')
        .replace(/\s*\n\s*\(Did you mean (.*)\)$/, '; did you mean $1')
        .replace(/\s*\n\s*/g, ' ');
      write(`pagescope: ${what} (see ${name} --help)\n`);
    },
  });
}

export function buildProgram(): Command {
  const program = errorOutput(new Command('pagescope'))
    .description('Live page-by-page memory visualizer for Linux processes')
    .version(`pagescope ${packageVersion()}`, '-V, --version', 'print the version and exit');

  errorOutput(program.command('ps'))
    .description('list processes (pid, user, RSS, state, command)')
    .option('--json', 'one JSON array on stdout')
    .action((opts) => {
      program.setOptionValue('exit', psCommand(opts));
    });

  errorOutput(program.command('scan'))
    .description('scan the page tables of a process once and print per-VMA page counts')
    .option('--pid <pid>', 'process id')
    .option('--tree <pid>', 'a process and its descendants: per member, shared objects once')
    .option('--pids <list>', 'several processes as one group: pids separated by commas')
    .option(
      '--cgroup <path>',
      'the processes of a cgroup (directory, path, systemd unit or container id)',
    )
    .option('--range <0xSTART-0xEND>', 'only this address range (repeatable)', collect)
    .addOption(new Option('--backend <name>', 'page-table reader').choices(['scan', 'pagemap']))
    .option('--json', 'one JSON object on stdout')
    .option('--regions', 'with --json: include every region and its categories')
    .action(async (opts) => {
      program.setOptionValue('exit', await scanCommand(opts));
    });

  errorOutput(program.command('watch'))
    .description(
      'watch which pages a process writes, tick by tick (--pid P, or -- COMMAND ARGS...)',
    )
    .argument('[command...]', 'a command to launch and watch from its first instruction (after --)')
    .option('--pid <pid>', 'process id of a running process')
    .option('--tree <pid>', 'a group: a process and its descendants, followed as they come and go')
    .option('--cgroup <path>', 'a group: the processes of a cgroup (path, systemd unit, container)')
    .option('--pids <list>', 'a group: several processes, pids separated by commas')
    .option('--range <0xSTART-0xEND>', 'watch this address range (repeatable)', collect)
    .option(
      '--vma <name-or-index>',
      'watch the VMAs whose path contains NAME, or the VMA with this index',
    )
    .option('--writable', 'watch every writable mapping (following new ones)')
    .option('--shared', 'in a group: watch only the shared mappings (shmem, memfd, SysV, files)')
    .option('--interval <ms>', 'milliseconds between ticks', '500')
    .option('--ticks <n>', 'stop after this many ticks')
    .option(
      '--json',
      'JSON lines: {"start": true, ...} once watching has started, one object per tick ({"tick": N, ...}), then {"done": true, ...}',
    )
    .option('--all-ranges', 'with --json: print every written range (default: the first 1000)')
    .option(
      '--max-overhead <pct>',
      "keep the target's estimated slowdown under PCT percent, with room for the estimate's error, by sampling pages (default: exact; 100: exact too)",
    )
    .option('--force', 'attach even when the target runs under a seccomp filter')
    .option(
      '--who',
      "name the top writers of each tick: function and thread, from the target's sampled page faults (perf)",
    )
    .option('--who-period <n>', 'with --who: sample one write fault in N (default 1: every one)')
    .action(async (command: string[], opts) => {
      // A group (watch-group.ts namesGroup, or --shared): its own command and chunks.
      if (
        opts.tree !== undefined ||
        opts.cgroup !== undefined ||
        opts.pids !== undefined ||
        opts.shared
      ) {
        const group = await import('./commands/watch-group.ts');
        program.setOptionValue('exit', await group.groupWatchCommand(command, opts));
        return;
      }
      // Attach by pid: the attach helper starts now, its Node start beside ours (issue 24), and
      // the group's chunks (the scanner, the group watch) are not loaded.
      if (opts.pid !== undefined && !command.length)
        (await import('../watch/remote-attach.ts')).prestartHelper();
      const { watchCommand } = await import('./commands/watch.ts');
      program.setOptionValue('exit', await watchCommand(command, opts));
    });

  errorOutput(program.command('record'))
    .description(
      'record a process to a file (--pid P, --demo, or -- COMMAND ARGS...) for report, export and the UI',
    )
    .argument('[command...]', 'a command to launch and record from its start (after --)')
    .option('--pid <pid>', 'process id of a running process')
    .option('--tree <pid>', 'a group: a process and its descendants, per member and shared object')
    .option('--cgroup <path>', 'a group: the processes of a cgroup (path, systemd unit, container)')
    .option('--pids <list>', 'a group: several processes, pids separated by commas')
    .option('--shared', 'in a group: watch only the shared mappings (shmem, memfd, SysV, files)')
    .option('--max-overhead <pct>', "in a group: keep each member's estimated cost under PCT")
    .option('--demo', 'launch the demo workload and record it')
    .option('--watch <0xSTART-0xEND>', 'watch writes in this address range (repeatable)', collect)
    .option(
      '--vma <name-or-index>',
      'watch writes in the VMAs whose path contains NAME, or VMA INDEX',
    )
    .option('--writable', 'watch writes in every writable mapping (following new ones)')
    .option('--interval <ms>', 'milliseconds between ticks', '100')
    .option('--duration <s>', 'stop after this many seconds')
    .option('--ticks <n>', 'stop after this many ticks')
    .option('-o, --output <file>', 'the recording file to write (NAME.pgsrec)')
    .option('--force', 'attach even when the target runs under a seccomp filter')
    .option(
      '--who',
      'also record the writers of each tick (function, thread, stacks) from sampled page faults (perf)',
    )
    .option('--who-period <n>', 'with --who: sample one write fault in N (default 1: every one)')
    .action(async (command: string[], opts) => {
      // Attach by pid with something to watch: the attach helper starts now, its Node start
      // beside ours (as watch --pid); record.ts hands it to the session's worker.
      const groupOpts = [opts.tree, opts.cgroup, opts.pids].some((o) => o !== undefined);
      const watches = opts.watch?.length || opts.vma !== undefined || opts.writable;
      if (opts.pid !== undefined && !command.length && watches && !groupOpts && !opts.shared)
        (await import('../watch/remote-attach.ts')).prestartHelper();
      const group = await import('./commands/watch-group.ts');
      if (group.namesGroup(opts) || opts.shared) {
        const { groupRecordCommand } = await import('./commands/record-group.ts');
        program.setOptionValue('exit', await groupRecordCommand(command, opts, packageVersion()));
        return;
      }
      if (opts.maxOverhead !== undefined)
        throw new PagescopeError(
          '--max-overhead goes with a group (--tree, --cgroup or --pids) in record.',
          'bad-input',
        );
      const { recordCommand } = await import('./commands/record.ts');
      program.setOptionValue('exit', await recordCommand(command, opts, packageVersion()));
    });

  errorOutput(program.command('report'))
    .description('print the write working-set analytics of a recording')
    .argument('<file>', 'a recording made by pagescope record (NAME.pgsrec)')
    .option('--json', 'one JSON object on stdout')
    .option(
      '--link <speed>',
      'link speed for the pre-copy estimate (e.g. 1gbit, 10gbit, 500MB/s)',
      '1gbit',
    )
    .addOption(
      new Option('--sort <column>', 'sort the per-VMA table').choices([
        'writes',
        'distinct',
        'share',
      ]),
    )
    .option('--top <n>', 'rows of the per-VMA table (default 15)')
    .action(async (file: string, opts) => {
      const { reportCommand } = await import('./commands/report.ts');
      program.setOptionValue('exit', reportCommand(file, opts));
    });

  errorOutput(program.command('export'))
    .description(
      'write per-tick per-VMA counters of a recording as CSV, JSON or a Chrome trace; its writers (record --who) as pprof or folded stacks',
    )
    .argument('<file>', 'a recording made by pagescope record (NAME.pgsrec)')
    .addOption(
      new Option('--format <format>', 'output format').choices([
        'csv',
        'json',
        'trace',
        'pprof',
        'collapsed',
      ]),
    )
    .option('-o, --output <file>', 'write here instead of stdout')
    .action(async (file: string, opts) => {
      const { exportCommand } = await import('./commands/export.ts');
      program.setOptionValue('exit', exportCommand(file, opts));
    });

  errorOutput(program.command('serve'))
    .description('serve the UI over HTTP and the host API over a WebSocket (loopback, token)')
    .argument(
      '[recording]',
      'a recording (NAME.pgsrec) to open in the UI at once (attached to nothing)',
    )
    .option(
      '--recordings <dir>',
      'where recordings made from the UI go (default ~/.local/share/pagescope/recordings)',
    )
    .option('--port <n>', 'TCP port (default: a free one)')
    .option('--host <addr>', 'address to bind (default 127.0.0.1)')
    .option('--allow-remote', 'allow binding a non-loopback address (disables "launch")')
    .option(
      '--allow-launch',
      'with --allow-remote: still let the UI launch commands (anyone with the token runs programs as you)',
    )
    .option('--no-open', 'do not open a browser')
    .action(async (recording: string | undefined, opts) => {
      const { serveCommand } = await import('./commands/serve.ts');
      program.setOptionValue(
        'exit',
        await serveCommand({ ...opts, recording, version: packageVersion() }),
      );
    });

  errorOutput(program.command('exporter'))
    .description(
      'serve write working sets, dirty rates and page states of processes at /metrics for Prometheus',
    )
    .option('--pid <pid>', 'watch this process (repeatable)', collect)
    .option(
      '--comm <pattern>',
      'watch every process whose command name matches (regex, whole name; repeatable)',
      collect,
    )
    .option(
      '--cgroup <path>',
      'watch every process in this cgroup v2 folder, each singly (repeatable)',
      collect,
    )
    .option(
      '--targets <file>',
      'target specs, one a line: pid:P, comm:PATTERN, cgroup:PATH (SIGHUP re-reads it)',
    )
    .option('--listen <[host:]port>', 'address to serve /metrics on (default 127.0.0.1:9725)')
    .option('--token-file <file>', 'a bearer token scrapers must send (required off loopback)')
    .option('--interval <ms>', 'milliseconds between samples of each process (default 1000)')
    .option(
      '--max-overhead <pct>',
      "keep each target's estimated slowdown under PCT percent by sampling (default 2; 100: exact)",
    )
    .option(
      '--top-vmas <n>',
      'per-mapping dirty rates for the N busiest mapping names, the rest as one (default 5)',
    )
    .option('--max-processes <n>', 'attach to at most N processes at once (default 64)')
    .action(async (opts) => {
      const { exporterCommand } = await import('./commands/exporter.ts');
      program.setOptionValue('exit', await exporterCommand(opts));
    });

  errorOutput(program.command('demo'))
    .description('run the built-in demo workload (every page category, changing in phases)')
    .option('--seconds <n>', 'stop after N seconds (default: run until Ctrl-C)')
    .action(async (opts) => {
      const { demoCommand } = await import('./commands/demo.ts');
      program.setOptionValue('exit', await demoCommand(opts));
    });

  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  watchStdout();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return (program.getOptionValue('exit') as number | undefined) ?? 0;
  } catch (err) {
    // commander has printed its one line (or the help, or the version) already.
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    process.stderr.write(`pagescope: ${userMessage(err)}\n`);
    if (err instanceof PagescopeError || err instanceof KernelError) return 2;
    return 1;
  }
}
