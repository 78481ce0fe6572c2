/**
 * The host's heavy worker thread (entry 'host/heavy-worker', bundled to dist/host/heavy-worker.mjs):
 * everything whose cost a recording file decides runs here, off the host's event loop, so one
 * file can never stall the other windows (hello, frames, other sessions).
 *
 * - mode 'job': one compare, analytics or page of ticks; the file is opened, the answer posted,
 *   and the thread ends. The host cancels or times a job out by terminating the thread.
 * - mode 'replay': a replay session's recording, opened once and kept; each request decodes one
 *   tick into a frame for the view asked for (the reader's own cache makes playing in order
 *   cost one tick's runs). The thread ends with the session.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PagescopeError } from '../kernel/errors.ts';
import type { Frame } from '../protocol/frame.ts';
import { whoTickInfo } from './who-event.ts';
import type { Recording } from '../record/reader.ts';
import type { FromReplay, HeavyInit, HeavyJob, JobAnswer, ToReplay } from './heavy-protocol.ts';
import {
  analyticsInfo,
  compareInfo,
  jobErrorInfo,
  openRecordingFile,
  summarize,
  ticksInfo,
} from './recording-jobs.ts';

const port = parentPort!;
const init = workerData as HeavyInit;

function answer(run: () => unknown): JobAnswer {
  try {
    return { ok: true, result: run() };
  } catch (err) {
    return { ok: false, error: jobErrorInfo(err) };
  }
}

function runJob(job: HeavyJob): unknown {
  const rec = openRecordingFile(job.source);
  switch (job.kind) {
    case 'compare':
      return compareInfo(rec, job.a, job.b);
    case 'analytics':
      return analyticsInfo(rec);
    case 'ticks':
      return ticksInfo(rec, job.from, job.count);
  }
}

/** The typed arrays' buffers, each once, when the array is the whole of it (transferable). */
function buffersOf(f: Frame): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const a of [f.overview.histogram, f.written, f.vmaCounts, f.window?.bits])
    if (
      a &&
      a.buffer instanceof ArrayBuffer &&
      a.byteOffset === 0 &&
      a.byteLength === a.buffer.byteLength
    )
      out.add(a.buffer);
  return [...out];
}

function serveReplay(source: HeavyInit & { mode: 'replay' }): void {
  const post = (m: FromReplay, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);
  let rec: Recording;
  try {
    rec = openRecordingFile(source.source);
    if (rec.ticks.length === 0)
      throw new PagescopeError(
        `${source.display} holds no ticks: the recorder stopped before the first scan.`,
        'bad-recording',
      );
  } catch (err) {
    post({ type: 'failed', error: jobErrorInfo(err) });
    return;
  }
  post({
    type: 'opened',
    summary: summarize(rec, source.display),
    warnings: [...rec.header.warnings],
    tables: rec.tables,
    tickTables: rec.ticks.map((t) => t.table),
    counters: rec.counters,
  });
  port.on('message', (m: ToReplay) => {
    if (m.type === 'ticks') {
      post({ type: 'answer', seq: m.seq, answer: answer(() => ticksInfo(rec, m.from, m.count)) });
      return;
    }
    let frame: Frame;
    try {
      frame = rec.frameAt(m.index, m.view, m.sessionId);
    } catch (err) {
      post({ type: 'answer', seq: m.seq, answer: { ok: false, error: jobErrorInfo(err) } });
      return;
    }
    const who = rec.who.get(m.index);
    post({ type: 'frame', seq: m.seq, frame, who: who && whoTickInfo(who) }, buffersOf(frame));
  });
}

if (init.mode === 'job') port.postMessage(answer(() => runJob(init.job)));
else serveReplay(init);
