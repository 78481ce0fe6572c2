/**
 * A mapping the kernel really refuses to write-protect is still refused, after the few tries a
 * churning process needs (registration.ts EINVAL_TRIES): MAP_DROPPABLE anonymous memory (Linux
 * 6.11+, what glibc's getrandom state uses), which userfaultfd does not take, in a real python3
 * process: refused once, not tried again by the ticks, and nothing of ours is left.
 */
import { spawn } from 'node:child_process';
import { expect, it } from 'vitest';
import { pythonExecutable } from '../../testing/targets.ts';
import { tracesLeft } from '../../testing/traces.ts';
import { until } from '../../testing/wait.ts';
import { RegionList } from '../scan/region-list.ts';
import { WriteWatcher } from './watcher.ts';

const SCRIPT = `
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
MAP_DROPPABLE, MAP_ANONYMOUS = 0x08, 0x20
p = libc.mmap(None, 16 * 4096, 3, MAP_DROPPABLE | MAP_ANONYMOUS, -1, 0)
if p is None or p == ctypes.c_void_p(-1).value:
    print("unsupported", ctypes.get_errno(), flush=True)
else:
    ctypes.memset(p, 1, 16 * 4096)
    print(hex(p), flush=True)
sys.stdin.read()
`;

it('MAP_DROPPABLE memory: refused as a mapping the kernel cannot write-protect, once', async (ctx) => {
  const child = spawn(pythonExecutable(), ['-c', SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] });
  ctx.onTestFinished(() => {
    child.kill('SIGKILL');
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const line = await until('the python3 target to map its droppable region', () =>
    out.includes('\n') ? out.trim() : null,
  );
  if (line.startsWith('unsupported')) ctx.skip(`MAP_DROPPABLE is not supported here (${line})`);
  const start = Number.parseInt(line, 16) / 4096;
  const w = WriteWatcher.attach(child.pid!);
  ctx.onTestFinished(() => w.close());
  const states = w.arm([{ startPage: start, endPage: start + 16 }]);
  expect(states).toHaveLength(1);
  expect(states[0]).toMatchObject({
    status: 'refused',
    refusal: { code: 'unsupported-mapping' },
  });
  // Refused for good: the ticks do not try it again.
  const calls = w.registerCalls;
  const written = new RegionList();
  for (let i = 0; i < 2; i++) expect(w.tick(written).ended).toBeUndefined();
  expect(w.registerCalls).toBe(calls);
  w.close();
  expect(tracesLeft(child.pid!)).toEqual([]);
});
