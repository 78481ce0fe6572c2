/**
 * `pagescope serve`: the web host. The first line of stdout is the URL with its token (tools and
 * tests read it); everything else goes to stderr. Runs until SIGINT, SIGTERM, SIGHUP or SIGQUIT,
 * then detaches every session (ending the commands it launched) before exiting.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PagescopeError } from '../../kernel/errors.ts';
import { isLoopback, startWebHost } from '../../host/server.ts';
import { STOP_SIGNALS } from '../signals.ts';

export interface ServeOptions {
  port?: string;
  host?: string;
  allowRemote?: boolean;
  /** commander's --no-open sets open = false. */
  open?: boolean;
}

function parsePort(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65535)
    throw new PagescopeError(`"${text}" is not a port (a number from 0 to 65535).`, 'bad-port');
  return n;
}

function findOnPath(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = path.join(dir || '.', cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return null;
}

/** Opens `url` in the desktop's browser when there is one; silently does nothing otherwise. */
export function openBrowser(url: string): boolean {
  if (!process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return false;
  const opener = findOnPath('xdg-open');
  if (!opener) return false;
  try {
    const child = spawn(opener, [url], { stdio: 'ignore', detached: true });
    child.on('error', () => {});
    child.unref();
    return true;
  } catch {
    return false;
  }
}

export async function serveCommand(options: ServeOptions): Promise<number> {
  const port = options.port !== undefined ? parsePort(options.port) : 0;
  const host = options.host ?? '127.0.0.1';
  if (!isLoopback(host) && !options.allowRemote)
    throw new PagescopeError(
      `Binding ${host} would let other machines reach pagescope: add --allow-remote if you mean it.`,
      'bad-host',
    );
  let web;
  try {
    web = await startWebHost({ port, host, allowRemote: options.allowRemote });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE')
      throw new PagescopeError(
        `Port ${port} is already in use: pick another with --port.`,
        'bad-port',
      );
    if (e.code === 'EADDRNOTAVAIL')
      throw new PagescopeError(`${host} is not an address of this machine.`, 'bad-host');
    if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN' || e.code === 'EAI_FAIL')
      throw new PagescopeError(
        `--host ${host} is neither an IP address nor a name that resolves here: give an address of this machine, e.g. 127.0.0.1 or 0.0.0.0.`,
        'bad-host',
      );
    if (e.code === 'EACCES')
      throw new PagescopeError(
        `Port ${port} needs privileges to bind: pick one above 1023 with --port.`,
        'bad-port',
      );
    throw err;
  }
  // Ctrl-C, kill, a closed terminal (SIGHUP) or Ctrl-\ (SIGQUIT): detach every session, end
  // the commands it launched, then exit. Listening before the URL is printed: a signal sent as
  // soon as it appears must not kill the host with sessions open.
  const stopped = new Promise<void>((resolve) => {
    for (const sig of STOP_SIGNALS) process.on(sig, () => resolve());
  });
  process.stdout.write(web.url + '\n');
  if (!isLoopback(host))
    process.stderr.write(
      `pagescope: warning: listening on ${host}:${web.port}; anyone who can reach it and has the token can read the memory of processes you can.\n`,
    );
  process.stderr.write('pagescope: serving; press Ctrl+C to stop.\n');
  if (options.open !== false && !openBrowser(web.url))
    process.stderr.write('pagescope: no browser to open here; open the URL above yourself.\n');
  await stopped; // a second signal while closing changes nothing
  await web.close();
  return 0;
}
