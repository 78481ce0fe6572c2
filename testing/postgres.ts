/**
 * A throwaway PostgreSQL for tests (Debian's package: /usr/lib/postgresql/N/bin, installed by
 * .ci/run): initdb and postgres run as user nobody in a temporary directory, listening only on a
 * Unix socket there under a free port number, with small shared buffers and no fsync. `connect`
 * opens a psql session that runs SQL and then stays (a backend per connection); `stop` ends
 * everything and removes the directory. No test-runner imports.
 *
 * initdb runs once per PostgreSQL build (about 1.3 s of CPU, several seconds of wall time on a
 * loaded machine, in each of three test files): its fresh cluster is kept in testing/c-build.ts'
 * cache (a tarball) and each start unpacks it, owner and modes as initdb made them.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NOBODY } from './as-nobody.ts';
import { cachedBuild } from './c-build.ts';
import { freePort } from './ports.ts';
import { until } from './wait.ts';

/** The directory of postgres, initdb and pg_ctl, or null when PostgreSQL is not installed. */
export function postgresBin(): string | null {
  const base = '/usr/lib/postgresql';
  let versions: string[] = [];
  try {
    versions = fs.readdirSync(base).sort((a, b) => Number(b) - Number(a));
  } catch {
    return null;
  }
  for (const v of versions) {
    const bin = path.join(base, v, 'bin');
    if (fs.existsSync(path.join(bin, 'postgres')) && fs.existsSync(path.join(bin, 'initdb')))
      return bin;
  }
  return null;
}

/** Why a test cannot run postgres here, or null when it can. */
export function cannotRunPostgres(): string | null {
  if (!postgresBin()) return 'PostgreSQL is not installed (/usr/lib/postgresql/N/bin)';
  if (process.getuid?.() !== 0) return 'needs root to run postgres as user nobody';
  if (spawnSync('psql', ['--version']).status !== 0) return 'psql is not installed';
  return null;
}

export interface Postgres {
  postmaster: number;
  dir: string;
  port: number;
  /** Opens a session that runs `sql` and then waits (one backend); resolves once it has run it. */
  connect(sql?: string): Promise<ChildProcess>;
  stop(): void;
}

const live = new Set<() => void>();
process.on('exit', () => {
  for (const stop of live) stop();
});

export async function startPostgres(sharedBuffers = '32MB'): Promise<Postgres> {
  const bin = postgresBin()!;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagescope-pg-'));
  fs.chownSync(dir, NOBODY, NOBODY);
  const data = path.join(dir, 'data');
  const asNobody = { uid: NOBODY, gid: NOBODY, env: { ...process.env, HOME: dir, LC_ALL: 'C' } };
  const initdb = path.join(bin, 'initdb');
  const initArgs = ['-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C'];
  const st = fs.statSync(initdb);
  // The cached cluster, a tarball of the folder initdb made as nobody (one file: the cache
  // renames it into place whole); unpacked as root, it keeps nobody's ownership and modes.
  const template = cachedBuild(
    'pg-cluster.tar',
    [initdb, String(st.size), String(st.mtimeMs), ...initArgs],
    (out) => {
      execFileSync(initdb, ['-D', data, ...initArgs], {
        ...asNobody,
        stdio: 'ignore',
        timeout: 120_000,
      });
      execFileSync('tar', ['-C', dir, '-cf', out, 'data']);
      fs.rmSync(data, { recursive: true, force: true });
    },
  );
  execFileSync('tar', ['-C', dir, '-xf', template, '--same-owner', '--same-permissions']);
  const port = await freePort();
  const server = spawn(
    path.join(bin, 'postgres'),
    [
      '-D',
      data,
      '-p',
      String(port),
      '-k',
      dir,
      '-c',
      'listen_addresses=',
      '-c',
      `shared_buffers=${sharedBuffers}`,
      '-c',
      'fsync=off',
      '-c',
      'huge_pages=off',
      '-c',
      'max_connections=20',
    ],
    { ...asNobody, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  server.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  const sessions: ChildProcess[] = [];
  let stopped = false;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    live.delete(stop);
    for (const s of sessions) s.kill('SIGKILL');
    server.kill('SIGQUIT'); // immediate shutdown: the postmaster ends its children
    // Until it has exited: gone, or a zombie (this loop blocks the event loop that would reap it,
    // and `kill -0` succeeds on a zombie: asked that, every stop waited its whole 10 s).
    const exited = (): boolean => {
      try {
        const st = fs.readFileSync(`/proc/${server.pid}/stat`, 'latin1');
        return st[st.lastIndexOf(')') + 2] === 'Z';
      } catch {
        return true;
      }
    };
    const end = Date.now() + 10_000;
    while (server.exitCode === null && server.signalCode === null && Date.now() < end) {
      if (exited()) break;
      execFileSync('sleep', ['0.05']);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  live.add(stop);
  const psqlArgs = ['-h', dir, '-p', String(port), '-U', 'postgres', '-d', 'postgres', '-qAt'];
  try {
    await until(
      () => `postgres to accept connections (log: ${log})`,
      () => spawnSync('pg_isready', ['-h', dir, '-p', String(port)]).status === 0,
      60_000,
      100,
    );
  } catch (err) {
    stop();
    throw err;
  }
  return {
    postmaster: server.pid!,
    dir,
    port,
    async connect(sql = 'select 1') {
      const s = spawn('psql', psqlArgs, { stdio: ['pipe', 'pipe', 'inherit'] });
      sessions.push(s);
      s.stdin!.write(`${sql};\n\\echo ready\n`);
      await new Promise<void>((resolve, reject) => {
        let outText = '';
        s.stdout!.on('data', (d: Buffer) => {
          outText += d.toString();
          if (outText.includes('ready')) resolve();
        });
        s.once('exit', (code) => reject(new Error(`psql exited (${code}): ${outText}`)));
      });
      return s; // it stays connected until its stdin closes or it is killed
    },
    stop,
  };
}
