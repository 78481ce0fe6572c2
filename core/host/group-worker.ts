/**
 * The host's group-scan thread (entry 'host/group-worker', bundled to dist/host/group-worker.mjs):
 * one scan of one group (group-scan.ts) off the host's event loop, then it exits. A group of a
 * hundred processes takes seconds of page-table reads; on the event loop that would freeze every
 * session's frames and, in Electron, the window's IPC.
 *
 * workerData: the checked GroupSpec (group-host.ts checked it on the host's thread). It posts one
 * message, `{ ok: true, result: GroupScanInfo }` or `{ ok: false, error: ErrorInfo }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { GroupSpec } from '../proc/group.ts';
import { GroupReader } from '../proc/group.ts';
import { scanGroup } from '../proc/group-scan.ts';
import { errorInfo } from '../session/errors.ts';
import { groupScanInfo } from './group-info.ts';

const spec = (workerData as { spec: GroupSpec }).spec;
try {
  parentPort!.postMessage({ ok: true, result: groupScanInfo(scanGroup(new GroupReader(spec))) });
} catch (err) {
  parentPort!.postMessage({ ok: false, error: errorInfo(err) });
}
