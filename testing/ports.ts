/** Small needs of tests and benchmarks that start servers: a free port, whether a program is on PATH. */
import { spawnSync } from 'node:child_process';
import net from 'node:net';

/** A TCP port free now on loopback (for programs that need a port number: Prometheus, redis, postgres). */
export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** Whether a program is on PATH. */
export function have(program: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' }).status === 0;
}
