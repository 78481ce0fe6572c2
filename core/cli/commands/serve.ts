/**
 * `pagescope serve`: the web host. The first line of stdout is the URL, its token in the
 * fragment (`http://127.0.0.1:PORT/#token=…`; tools and tests read it); everything else goes to
 * stderr. Runs until SIGINT, SIGTERM, SIGHUP or SIGQUIT, then detaches every session before
 * exiting; targets it launched die with it however it ends (see core/kernel/parent-death.ts).
 *
 * The browser is never given the token on a command line (/proc/PID/cmdline is world-readable):
 * like Jupyter's jpserver-PID-open.html, we write a redirect page into a private folder (0700,
 * the file 0600), hand xdg-open its file:// path, and remove it when the server stops.
 *
 * `pagescope serve FILE` opens a recording in the UI at once (checked before the URL is printed:
 * a file that cannot be read is one error here). Recordings made from the UI go to --recordings
 * (default ~/.local/share/pagescope/recordings, see host/recording-desk.ts) and download through
 * the page.
 *
 * Least privilege: `launch` runs any command as this user, so with --allow-remote it is off
 * unless --allow-launch says otherwise; the UI is told why (hello's `launch.reason`).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PagescopeError } from '../../kernel/errors.ts';
import { isLoopback, startWebHost } from '../../host/server.ts';
import { HostService } from '../../host/service.ts';
import { isGroupRecording, readGroupRecording } from '../../record/group-recording.ts';
import { readRecording } from '../../record/reader.ts';
import { STOP_SIGNALS } from '../signals.ts';

export interface ServeOptions {
  port?: string;
  host?: string;
  allowRemote?: boolean;
  allowLaunch?: boolean;
  /** commander's --no-open sets open = false. */
  open?: boolean;
  /** `pagescope serve FILE`: a recording the UI opens at once. */
  recording?: string;
  /** Where recordings made from the UI go. */
  recordings?: string;
  /** pagescope's version, for the headers of recordings made from the UI. */
  version?: string;
}

export const LAUNCH_DISABLED_REMOTE =
  'Launching commands is off: this host was started with --allow-remote (reachable from other machines). Restart it with --allow-launch as well to allow it, or attach to a running process.';

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

function htmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Writes the redirect page for `url` into a fresh private folder (0700; the file 0600, created
 * exclusively) and returns its path and a cleanup. Only this user can read the token in it.
 */
export function writeOpenFile(url: string): { file: string; remove(): void } {
  const base = process.env.XDG_RUNTIME_DIR || os.tmpdir();
  const dir = fs.mkdtempSync(path.join(base, 'pagescope-'));
  fs.chmodSync(dir, 0o700);
  const file = path.join(dir, `pagescope-${process.pid}-open.html`);
  const u = htmlEscape(url);
  const fd = fs.openSync(file, 'wx', 0o600);
  try {
    fs.writeSync(
      fd,
      `<!doctype html><html><head><meta charset="utf-8">
<meta http-equiv="refresh" content="0;url=${u}">
<meta name="referrer" content="no-referrer"><title>Opening pagescope…</title></head>
<body><p>This page should redirect you to pagescope. If it does not,
<a href="${u}" rel="noreferrer">click here to go to pagescope</a>.</p></body></html>
`,
    );
  } finally {
    fs.closeSync(fd);
  }
  return {
    file,
    remove() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Opens `url` in the desktop's browser when there is one, through a redirect file so the token
 * is on no command line; returns the file's cleanup, or null when there is no browser here.
 */
export function openBrowser(url: string): (() => void) | null {
  if (!process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return null;
  const opener = findOnPath('xdg-open');
  if (!opener) return null;
  let open: { file: string; remove(): void };
  try {
    open = writeOpenFile(url);
  } catch {
    return null;
  }
  try {
    const child = spawn(opener, [open.file], { stdio: 'ignore', detached: true });
    child.on('error', () => {});
    child.unref();
    return () => open.remove();
  } catch {
    open.remove();
    return null;
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
  const allowLaunch = !options.allowRemote || options.allowLaunch === true;
  // A recording that cannot be read is said at once, not in the browser later.
  const served = options.recording ? path.resolve(options.recording) : undefined;
  if (served) {
    if (isGroupRecording(served)) readGroupRecording(served);
    else readRecording(served);
  }
  const service = new HostService({
    allowLaunch,
    launchDisabledReason: allowLaunch ? undefined : LAUNCH_DISABLED_REMOTE,
    recordings: {
      servedRecording: served,
      recordingsDir: options.recordings ? path.resolve(options.recordings) : undefined,
      version: options.version,
    },
  });
  let web;
  try {
    web = await startWebHost({ port, host, allowRemote: options.allowRemote, service });
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
  if (!allowLaunch)
    process.stderr.write(
      'pagescope: launching commands is off (add --allow-launch to allow it).\n',
    );
  process.stderr.write('pagescope: serving; press Ctrl+C to stop.\n');
  const removeOpenFile = options.open !== false ? openBrowser(web.url) : null;
  if (options.open !== false && !removeOpenFile)
    process.stderr.write('pagescope: no browser to open here; open the URL above yourself.\n');
  await stopped; // a second signal while closing changes nothing
  removeOpenFile?.();
  await web.close();
  return 0;
}
