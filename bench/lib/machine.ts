/** The machine a run happened on, for the report. */
import os from 'node:os';
import type { MachineInfo } from './stats.ts';

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    kernel: os.release(),
    node: process.version,
    memory_gib: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    load_1m: Math.round(os.loadavg()[0] * 100) / 100,
  };
}
