/**
 * The attach torture: pagescope is started on a target nobody may harm and killed at a random
 * instant of its attach, again and again, with every way a user or the system ends a program.
 * After each kill the target must be alive, running, untraced, every thread moving on, its
 * blocked read() completing normally, and it must hold no userfaultfd and no `uw` VMA.
 *
 * Aim: half of the kills poll the target's TracerPid in a tight loop and fire the moment it is
 * non-zero (the thread is held right then); the others fire at a uniformly random delay over
 * the whole attach (start-up, helper, window, arming, first ticks). Used by
 * core/watch/attach-torture.test.ts (a few dozen kills in `npm test`) and by
 * scripts/stress-attach.ts (`npm run stress:attach`, hundreds, with counts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildC } from './c-build.ts';
import { tracedThreads, tracesLeft } from './traces.ts';
import { describeLimit, limit, sleep, slowness, until } from './wait.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.join(here, '..');
const CLI = path.join(REPO, 'bin/pagescope.mjs');

export const KILLS = [
  'SIGKILL',
  'SIGKILL-group',
  'SIGHUP',
  'SIGQUIT',
  'SIGTERM',
  'SIGINT',
] as const;
export type Kill = (typeof KILLS)[number];
export type TargetKind = 'c' | 'python';

export interface KillResult {
  target: TargetKind;
  kill: Kill;
  aim: 'held' | 'random';
  /** The target's thread was held by pagescope (TracerPid non-zero) when the signal went out. */
  landedWhileHeld: boolean;
  /** What was wrong with the target afterwards; null when it was unharmed. */
  harm: string | null;
}

/**
 * The torture targets: the C one compiled with gcc once per source (testing/c-build.ts). With
 * `niceCompute` their two compute threads run at nice 19: the torture's kills then wait for
 * pagescope's start-up on a core of its own, not on a share against four busy threads (on 2
 * cores that made each kill about twice as long); the bench's busy target keeps them as they are.
 */
export class TortureTargets {
  readonly cExe = buildC(path.join(here, 'torture-target.c'), ['-O1', '-pthread']);

  constructor(private readonly opts: { niceCompute?: boolean } = {}) {}

  start(kind: TargetKind): Target {
    const args = this.opts.niceCompute ? ['nice'] : [];
    const child =
      kind === 'c'
        ? spawn(this.cExe, args, { stdio: ['pipe', 'pipe', 'inherit'] })
        : spawn('python3', [path.join(here, 'torture-target.py'), ...args], {
            stdio: ['pipe', 'pipe', 'inherit'],
          });
    return new Target(child);
  }

  private live = new Map<TargetKind, Target>();

  /** A running, ready target of `kind`: the one from before while it lives, else a new one. */
  async running(kind: TargetKind): Promise<Target> {
    const have = this.live.get(kind);
    if (have && !have.exited) return have;
    const t = this.start(kind);
    const hello = await t.line();
    if (hello !== 'ready') throw new Error(`the ${kind} target said ${JSON.stringify(hello)}`);
    this.live.set(kind, t);
    return t;
  }

  /** Stops the target of `kind` (after a harm): the next running(kind) starts a fresh one. */
  retire(kind: TargetKind): void {
    this.live.get(kind)?.stop();
    this.live.delete(kind);
  }

  /** Stops the running targets (the compiled one stays in the build cache). */
  dispose(): void {
    for (const t of this.live.values()) t.stop();
  }
}

/** A running torture target, spoken to over stdin/stdout. */
export class Target {
  private lines: string[] = [];
  private wake: (() => void) | null = null;
  exited: string | null = null;

  constructor(readonly child: ChildProcess) {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        this.lines.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
      this.wake?.();
    });
    child.on('exit', (code, signal) => {
      this.exited = signal ? `killed by ${signal}` : `exited with code ${code}`;
      this.wake?.();
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  async line(timeoutMs = 10_000): Promise<string> {
    const scale = slowness();
    const end = Date.now() + timeoutMs * scale;
    while (this.lines.length === 0) {
      if (this.exited) throw new Error(`target ${this.exited}`);
      if (Date.now() > end)
        throw new Error(`no answer from the target in ${describeLimit(timeoutMs, scale)}`);
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 50);
      });
    }
    return this.lines.shift()!;
  }

  /** "progress rounds sleeps lines" as numbers. */
  async progress(): Promise<number[]> {
    this.child.stdin!.write('p\n');
    const l = await this.line();
    const m = /^progress (\d+) (\d+) (\d+)$/.exec(l);
    if (!m) throw new Error(`target said ${JSON.stringify(l)}`);
    return [Number(m[1]), Number(m[2]), Number(m[3])];
  }

  stop(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }
}

function status(pid: number, tid = pid): Record<string, string> | null {
  try {
    const text = fs.readFileSync(`/proc/${pid}/task/${tid}/status`, 'latin1');
    return Object.fromEntries(
      text.split('\n').map((l) => [l.split(':')[0], l.slice(l.indexOf(':') + 1).trim()]),
    );
  } catch {
    return null;
  }
}

function threads(pid: number): number[] {
  try {
    return fs.readdirSync(`/proc/${pid}/task`).map(Number);
  } catch {
    return [];
  }
}

/** What the aimed loop waits on between looks (nobody wakes it: it times out). */
const NAP = new Int32Array(new SharedArrayBuffer(4));

/** TracerPid of the main thread, read as fast as /proc allows (no Record building). */
function mainTraced(pid: number, buf: Buffer, fd: number): boolean {
  const n = fs.readSync(fd, buf, 0, buf.length, 0);
  const text = buf.toString('latin1', 0, n);
  const i = text.indexOf('TracerPid:');
  return i >= 0 && text.charCodeAt(text.indexOf('\n', i) - 1) !== 48; /* '0' */
}

function send(cli: ChildProcess, kill: Kill): void {
  try {
    if (kill === 'SIGKILL-group') process.kill(-cli.pid!, 'SIGKILL');
    else process.kill(cli.pid!, kill);
  } catch {
    // already gone
  }
}

/** Everything wrong with the target now, or null. */
async function inspect(t: Target): Promise<string | null> {
  try {
    await until(
      'no traced thread',
      () => tracedThreads(t.pid).length === 0 || t.exited !== null,
      10_000,
      5,
    );
  } catch {
    return `still traced: threads ${tracedThreads(t.pid).join(', ')}`;
  }
  if (t.exited) return `target ${t.exited}`;
  for (const tid of threads(t.pid)) {
    const state = status(t.pid, tid)?.State ?? '';
    if (/^[TtZX]/.test(state)) return `thread ${tid} is in state ${state}`;
  }
  let before: number[];
  try {
    before = await t.progress();
  } catch (err) {
    return `the blocked read() did not complete normally: ${(err as Error).message}`;
  }
  let now = before;
  try {
    await until(
      'both threads to move on',
      async () => {
        now = await t.progress();
        return now[0] > before[0] && now[1] > before[1];
      },
      10_000,
    );
  } catch (err) {
    return `threads stopped moving on (${before} -> ${now}): ${(err as Error).message}`;
  }
  const traces = tracesLeft(t.pid);
  if (traces.length) return `traces left in the target: ${traces.join('; ')}`;
  return null;
}

/**
 * Starts `pagescope watch` on the target, kills it as `kill` says, and inspects the target.
 * `typicalAttachMs` spreads the random aim over the attach (start-up to first tick).
 */
export async function killDuringAttach(
  ...args: Parameters<typeof sendDuringAttach>
): Promise<KillResult> {
  return (await sendDuringAttach(...args)).result;
}

/**
 * killDuringAttach in two steps: resolves once the kill has been sent, with `result`, which
 * resolves once pagescope has ended and the target has been inspected. The torture test starts
 * its next kill (on its other target) then, so that kill's start-up overlaps this one's
 * teardown; its aim is its own (its own target's TracerPid, its own delay from its own start).
 */
export async function sendDuringAttach(
  t: Target,
  kind: TargetKind,
  kill: Kill,
  aim: 'held' | 'random',
  random: () => number,
  typicalAttachMs: number,
): Promise<{ result: Promise<KillResult> }> {
  const cli = spawn(
    process.execPath,
    [CLI, 'watch', '--pid', String(t.pid), '--writable', '--interval', '100', '--json'],
    { stdio: ['ignore', 'pipe', 'ignore'], detached: true },
  );
  let exited = false;
  cli.on('exit', () => (exited = true));
  // Its first tick ends the attach: an aimed kill that has not caught the thread held by then
  // will not, so it stops looking (before, it looked for 3 attach times and 5 s more).
  let ticked = false;
  let out = '';
  cli.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('{"tick"')) ticked = true; // not the start line: a tick
  });
  let landedWhileHeld = false;
  if (aim === 'held') {
    const fd = fs.openSync(`/proc/${t.pid}/status`, 'r');
    const buf = Buffer.alloc(4096);
    const end = performance.now() + limit(typicalAttachMs * 3 + 5000);
    try {
      // A synchronous loop that looks every ~0.15 ms (a 0.1 ms futex wait and the kernel's
      // timer slack). A hold was said to last well under a millisecond (quiet machine); 7-18 ms
      // were seen at load 18. A look costs ~27 us, mostly system time (/proc/PID/status): back
      // to back, the looks took a core through each aimed kill's whole attach, most of it
      // pagescope's start-up before any hold (the test's own process: 10-17 s of CPU, now 5-7 s;
      // 15-19 of 24 aimed kills landed while held, 9-17 before).
      for (let spin = 0; performance.now() < end; spin++) {
        if (mainTraced(t.pid, buf, fd)) {
          send(cli, kill);
          landedWhileHeld = true;
          break;
        }
        Atomics.wait(NAP, 0, 0, 0.1);
        // Let the exit and stdout events through (setImmediate: a timer's 1 ms would be blind).
        if (spin % 4 === 3) await new Promise((r) => setImmediate(r));
        if (exited || ticked) break;
      }
    } finally {
      fs.closeSync(fd);
    }
    if (!landedWhileHeld) send(cli, kill);
  } else {
    await sleep(random() * typicalAttachMs);
    landedWhileHeld = tracedThreads(t.pid).length > 0;
    send(cli, kill);
  }
  const result = (async (): Promise<KillResult> => {
    try {
      await until(`pagescope to end after ${kill}`, () => exited, 15_000, 5);
    } catch {
      send(cli, 'SIGKILL');
      await until('pagescope to end after SIGKILL', () => exited, 5000, 5).catch(() => undefined);
      return {
        target: kind,
        kill,
        aim,
        landedWhileHeld,
        harm: `pagescope did not end after ${kill}`,
      };
    }
    return { target: kind, kill, aim, landedWhileHeld, harm: await inspect(t) };
  })();
  return { result };
}

/** How long `pagescope watch` takes here from start to its first tick (ms), to aim at. */
export async function measureAttach(t: Target): Promise<number> {
  const started = performance.now();
  const cli = spawn(
    process.execPath,
    [
      CLI,
      'watch',
      '--pid',
      String(t.pid),
      '--writable',
      '--interval',
      '100',
      '--json',
      '--ticks',
      '1',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let firstTick = 0;
  let out = '';
  cli.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    if (!firstTick && out.includes('{"tick"')) firstTick = performance.now(); // not the start line
  });
  const code = await new Promise<number | null>((r) => cli.on('exit', r));
  if (code !== 0 || !firstTick)
    throw new Error(`pagescope watch exited with ${code} before a tick`);
  return firstTick - started;
}
