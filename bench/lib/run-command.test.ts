// runCommand (bench/lib/run-command.ts), the one run-and-collect the redis, postgres and
// OpenTTD cases share: output and input through a real child, and a failure that names it.
import { describe, expect, it } from 'vitest';
import { runCommand } from './run-command.ts';

describe('runCommand', () => {
  it('feeds its input and collects stdout and stderr apart, with its wall window', async () => {
    const r = await runCommand('sh', ['-c', 'tr a-z A-Z; echo warn >&2'], { input: 'hello\n' });
    expect(r.stdout).toBe('HELLO\n');
    expect(r.stderr).toBe('warn\n');
    expect(r.toMs).toBeGreaterThanOrEqual(r.fromMs);
  });

  it('rejects a failed run with its name, exit code and stderr', async () => {
    await expect(
      runCommand('sh', ['-c', 'echo broken >&2; exit 3'], { name: 'pagescope record' }),
    ).rejects.toThrow('pagescope record exited 3: broken');
  });

  it('rejects a command that cannot start', async () => {
    await expect(runCommand('/nonexistent/pagescope-bench-cmd', [])).rejects.toThrow(/ENOENT/);
  });
});
