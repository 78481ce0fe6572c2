/**
 * `pagescope serve` as a whole process: targets it launched (a command, the demo) die with it
 * when it is SIGKILLed (parent-death signal through setpriv, core/kernel/parent-death.ts), and
 * so does everything they started, at any depth, a setsid double-fork included (a cgroup per
 * launch, core/kernel/containment.ts), also when a session ends normally, leaving no cgroup; the
 * token is on no command line (the browser gets a 0600 redirect file); with --allow-remote,
 * `launch` is refused unless --allow-launch, and hello says why.
 *
 * The one stand-in: `xdg-open` is a script on PATH that records how it was called, the way a
 * desktop's opener would be called.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { findSetpriv, inWrapper } from '../kernel/parent-death.ts';
import { pythonExecutable } from '../../testing/targets.ts';
import {
  connectClient,
  startServe,
  type ServeProcess,
  type WsClient,
} from '../../testing/serve.ts';
import { alive, procRef, signalIfSame, type ProcRef } from '../../testing/proc-facts.ts';
import { launchCgroupsOf, ownCgroupDir } from '../kernel/containment.ts';
import { describeSleeps, killSleeps, launchTree, sleepPids } from '../../testing/launch-tree.ts';
import { until } from '../../testing/wait.ts';

const started: ServeProcess[] = [];
const clients: WsClient[] = [];
/** Processes the server launched, ended after each test if they outlived it (see ProcRef). */
const pids: Array<ProcRef | null> = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of started.splice(0)) await s.stop();
  for (const ref of pids.splice(0)) signalIfSame(ref);
});

async function serve(
  args: string[] = [],
  opts: Parameters<typeof startServe>[1] = {},
): Promise<ServeProcess> {
  const s = await startServe(args, opts);
  started.push(s);
  return s;
}

async function client(s: ServeProcess): Promise<WsClient> {
  const c = await connectClient(s.port, s.token);
  clients.push(c);
  return c;
}

describe('pagescope serve, the process', () => {
  it('launched commands and the demo die when the server is SIGKILLed', async (ctx) => {
    if (!findSetpriv())
      ctx.skip('no setpriv (util-linux) on this machine: nothing arms the parent-death signal');
    const s = await serve();
    const c = await client(s);
    const py = pythonExecutable();
    const launched = await c.request('launch', {
      command: [py, '-c', 'import time\nx = bytearray(1 << 20)\ntime.sleep(600)'],
    });
    expect(launched.ok, JSON.stringify(launched.error)).toBe(true);
    const demo = await c.request('launchDemo', {});
    expect(demo.ok, JSON.stringify(demo.error)).toBe(true);
    const cmdPid = launched.result!.pid as number;
    const demoPid = demo.result!.pid as number;
    pids.push(procRef(cmdPid), procRef(demoPid));
    expect(alive(cmdPid)).toBe(true);
    expect(alive(demoPid)).toBe(true);
    // The session watches the program itself, not the wrapper it was started through.
    expect(inWrapper(cmdPid)).toBe(false);
    expect(fs.readFileSync(`/proc/${cmdPid}/cmdline`, 'utf8').split('\0')[0]).toBe(py);
    // Children of the server (its worker threads spawned them), and armed.
    expect(/PPid:\s+(\d+)/.exec(fs.readFileSync(`/proc/${cmdPid}/status`, 'utf8'))![1]).toBe(
      String(s.child.pid),
    );
    s.child.kill('SIGKILL');
    await vi.waitFor(() => expect(s.child.signalCode).toBe('SIGKILL'), { timeout: 10_000 });
    await vi.waitFor(
      () => {
        expect(alive(cmdPid), 'the launched command').toBe(false);
        expect(alive(demoPid), 'the demo').toBe(false);
      },
      { timeout: 15_000, interval: 100 },
    );
  });

  it('everything a launch started, at any depth, ends when the server is SIGKILLed; no cgroup is left', async (ctx) => {
    const dir = ownCgroupDir();
    if (!dir) ctx.skip('no cgroup v2 hierarchy here: containment falls back to process groups');
    const tree = launchTree();
    const s = await serve();
    const host = s.child.pid!;
    const c = await client(s);
    try {
      const launched = await c.request('launch', { command: tree.command });
      expect(launched.ok, JSON.stringify(launched.error)).toBe(true);
      const demo = await c.request('launchDemo', {});
      expect(demo.ok, JSON.stringify(demo.error)).toBe(true);
      const demoPid = demo.result!.pid as number;
      pids.push(procRef(launched.result!.pid as number), procRef(demoPid));
      const sleeps = await until(
        () => `the launched tree (${describeSleeps(tree.sleeps)}): ${s.stderr()}`,
        () => {
          const p = sleepPids(tree.sleeps);
          return p.every(Boolean) ? p : null;
        },
        60_000,
      );
      // Each launch in a cgroup of its own (sessions are worker threads of one process).
      const cgroupOf = (pid: number): string =>
        /^0::(.*)$/m.exec(fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8'))![1];
      const treeCgroup = cgroupOf(sleeps[0]);
      expect(treeCgroup).toMatch(new RegExp(`/pagescope-${host}-\\d+\\.\\d+$`));
      for (const p of sleeps) expect(cgroupOf(p)).toBe(treeCgroup);
      expect(cgroupOf(demoPid)).toMatch(new RegExp(`/pagescope-${host}-\\d+\\.\\d+$`));
      expect(cgroupOf(demoPid)).not.toBe(treeCgroup);
      s.child.kill('SIGKILL');
      await until(
        () => `every launched process and the demo to end (${describeSleeps(tree.sleeps)})`,
        () => !alive(demoPid) && sleeps.every((p) => !alive(p)),
        15_000,
      );
      await until(
        () => `no cgroup of serve ${host} (left: ${launchCgroupsOf(host).join(', ')})`,
        () => launchCgroupsOf(host).length === 0,
        15_000,
      );
    } finally {
      killSleeps(tree.sleeps);
    }
  });

  it('a session that ends normally ends what its command left behind and removes its cgroup', async (ctx) => {
    if (!ownCgroupDir()) ctx.skip('no cgroup v2 hierarchy here');
    const tree = launchTree();
    const s = await serve();
    const host = s.child.pid!;
    const c = await client(s);
    try {
      const launched = await c.request('launch', { command: tree.command });
      expect(launched.ok, JSON.stringify(launched.error)).toBe(true);
      pids.push(procRef(launched.result!.pid as number));
      await until(
        () => `the launched tree (${describeSleeps(tree.sleeps)})`,
        () => sleepPids(tree.sleeps).every(Boolean),
        60_000,
      );
      expect(launchCgroupsOf(host)).toHaveLength(1);
      expect((await c.request('detach', { sessionId: launched.result!.sessionId })).ok).toBe(true);
      await until(
        () => `the launched tree to end (${describeSleeps(tree.sleeps)})`,
        () => sleepPids(tree.sleeps).every((p) => !p),
        15_000,
      );
      await until(
        () => `no cgroup of serve ${host} (left: ${launchCgroupsOf(host).join(', ')})`,
        () => launchCgroupsOf(host).length === 0,
        15_000,
      );
      expect(alive(host), 'the server runs on').toBe(true);
    } finally {
      killSleeps(tree.sleeps);
    }
  });

  it('a launched command also ends with its session, and an unknown program is a clear error', async () => {
    const s = await serve();
    const c = await client(s);
    const missing = await c.request('launch', { command: ['no-such-program-pagescope'] });
    expect(missing.ok).toBe(false);
    expect(missing.error).toMatchObject({ code: 'launch-failed' });
    expect(missing.error!.message).toMatch(/no such program/);
    const launched = await c.request('launch', { command: ['sleep', '600'] });
    expect(launched.ok, JSON.stringify(launched.error)).toBe(true);
    const pid = launched.result!.pid as number;
    pids.push(procRef(pid));
    expect(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toBe(['sleep', '600', ''].join('\0'));
    expect((await c.request('detach', { sessionId: launched.result!.sessionId })).ok).toBe(true);
    await vi.waitFor(() => expect(alive(pid)).toBe(false), { timeout: 15_000, interval: 100 });
  });

  it('with --allow-remote, launch is refused unless --allow-launch, and hello says why', async () => {
    // The three servers start side by side (each its own process and port).
    const [remote, both, local] = await Promise.all([
      serve(['--allow-remote']),
      serve(['--allow-remote', '--allow-launch']),
      serve(),
    ]);
    const c = await client(remote);
    const hello = await c.request('hello', { version: 1 });
    expect(hello.result!.launch).toMatchObject({ enabled: false });
    expect((hello.result!.launch as { reason: string }).reason).toMatch(/--allow-launch/);
    const refused = await c.request('launch', { command: ['sleep', '600'] });
    expect(refused.ok).toBe(false);
    expect(refused.error).toMatchObject({ code: 'launch-disabled' });
    expect(refused.error!.message).toMatch(/--allow-remote.*--allow-launch/);
    expect(remote.stderr()).toMatch(/launching commands is off/);

    const c2 = await client(both);
    expect((await c2.request('hello', { version: 1 })).result!.launch).toEqual({ enabled: true });
    const c3 = await client(local);
    expect((await c3.request('hello', { version: 1 })).result!.launch).toEqual({ enabled: true });
  });

  it('opens the browser through a 0600 redirect file: the token is on no command line', async () => {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'pagescope-opener-'));
    const record = path.join(bin, 'called');
    // Records its arguments and the redirect file's mode and content, then stays a while, as a
    // real opener does, so its own /proc/PID/cmdline can be read.
    fs.writeFileSync(
      path.join(bin, 'xdg-open'),
      `#!/bin/sh\necho $$ > "${record}.pid"\n{ printf '%s\\n' "$@"; stat -c '%a' "$1"; stat -c '%a' "$(dirname "$1")"; cat "$1"; } > "${record}.tmp"\nmv "${record}.tmp" "${record}"\nsleep 30\n`,
      { mode: 0o755 },
    );
    let opener: ProcRef | null = null;
    try {
      const s = await serve([], {
        open: true,
        env: { ...process.env, DISPLAY: ':pagescope-test', PATH: `${bin}:${process.env.PATH}` },
      });
      await vi.waitFor(() => expect(fs.existsSync(record)).toBe(true), { timeout: 20_000 });
      opener = procRef(Number(fs.readFileSync(`${record}.pid`, 'utf8')));
      const [arg, fileMode, dirMode, ...content] = fs.readFileSync(record, 'utf8').split('\n');
      expect(arg).toMatch(/pagescope-\d+-open\.html$/);
      expect(arg).not.toContain(s.token);
      expect(fileMode).toBe('600');
      expect(dirMode).toBe('700');
      expect(content.join('\n')).toContain(`url=${s.url}`);
      // No process on this machine carries the token in its command line.
      for (const entry of fs.readdirSync('/proc')) {
        if (!/^\d+$/.test(entry)) continue;
        let cmdline = '';
        try {
          cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
        } catch {
          continue;
        }
        expect(cmdline.includes(s.token), `pid ${entry}: ${cmdline}`).toBe(false);
      }
      await s.stop();
      expect(fs.existsSync(arg)).toBe(false); // removed when the server stops
    } finally {
      signalIfSame(opener);
      fs.rmSync(bin, { recursive: true, force: true });
    }
  });
});
