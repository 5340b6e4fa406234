// The body of an encode worker thread, for any protocol: keeps one EncodeSessionHandler per
// session (session affinity: its compression streams live here and see its jobs in order:
// one message port, FIFO, one job in flight per session), runs jobs, posts results or the
// error that ends that session only. A protocol's worker entry is one line:
// `serveEncodeJobs(() => new MyEncodeSession())`. Like QEMU's ui/vnc-jobs.c worker, minus the
// shared output buffer: the main thread writes the bytes.

import { parentPort } from 'node:worker_threads';
import { schedBatch } from '../../native';
import { isXenvfbError } from '../../shared/errors';
import type { EncodeSessionHandler, FromEncodeWorker, PartSink, ToEncodeWorker } from './encode-jobs';

interface SessionState {
  handler: EncodeSessionHandler;
  throwNext: boolean;
}

/**
 * XENVFB_NO_SCHED_BATCH=1: encode threads stay SCHED_OTHER. By default they are SCHED_BATCH, so
 * waking one never preempts the main thread that woke it (native/src/sched.cc).
 */
export const NO_SCHED_BATCH_ENV = 'XENVFB_NO_SCHED_BATCH';

/** Serve the pool from this worker thread (does nothing on the main thread). */
export function serveEncodeJobs(makeSession: () => EncodeSessionHandler): void {
  const port = parentPort;
  if (!port) return;
  // Best effort: a host that refuses leaves the thread as it was.
  if (process.env[NO_SCHED_BATCH_ENV] !== '1') schedBatch?.();
  const sessions = new Map<number, SessionState>();
  const stateOf = (session: number): SessionState => {
    let st = sessions.get(session);
    if (!st) sessions.set(session, (st = { handler: makeSession(), throwNext: false }));
    return st;
  };
  port.on('message', (m: ToEncodeWorker) => {
    switch (m.type) {
      case 'config':
        stateOf(m.session).handler.configure(m.config);
        return;
      case 'close':
        sessions.delete(m.session);
        return;
      case 'fault':
        if (m.kind === 'exit') process.exit(3);
        stateOf(m.session).throwNext = true;
        return;
      case 'job': {
        const emit: PartSink = (part, transfer = []) =>
          port.postMessage({ type: 'part', session: m.session, id: m.id, part } satisfies FromEncodeWorker, transfer);
        return port.postMessage(...runJob(stateOf(m.session), m, emit));
      }
    }
  });
  port.postMessage({ type: 'ready', session: 0 } satisfies FromEncodeWorker);
}

function runJob(st: SessionState, m: Extract<ToEncodeWorker, { type: 'job' }>, emit: PartSink): [FromEncodeWorker, ArrayBuffer[]] {
  try {
    if (st.throwNext) throw new Error('encode fault injected by a test');
    const { result, stats, transfer = [] } = st.handler.run(m.job, new Uint8Array(m.pixels), emit, m.outputs ?? []);
    return [{ type: 'result', session: m.session, id: m.id, result, stats }, transfer];
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    const code = isXenvfbError(err) ? err.code : null;
    return [{ type: 'error', session: m.session, id: m.id, code, message: err.message }, []];
  }
}
