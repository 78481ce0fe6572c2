/**
 * /proc/pressure/cpu (PSI, Linux 4.20+ with CONFIG_PSI): the share of recent wall time in which
 * at least one runnable task waited for a CPU. A direct measure of "every core is busy", which
 * the load average only suggests (it counts tasks blocked on I/O and lags by minutes).
 */
import { readProcText } from './read-proc.ts';

/** The "some avg10" figure (percent over the last ~10 s) of `text`, or null when it has none. */
export function parseCpuPressure(text: string): number | null {
  const m = /^some\b.*\bavg10=([0-9.]+)/m.exec(text);
  return m ? Number(m[1]) : null;
}

/** CPU pressure now ("some avg10", percent), or null when the kernel does not report it. */
export function cpuPressure(): number | null {
  try {
    return parseCpuPressure(readProcText('/proc/pressure/cpu'));
  } catch {
    return null; // no PSI (kernel without it, or psi=0 on the command line)
  }
}
