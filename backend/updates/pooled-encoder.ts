// A session's end of an encode pool (encode-pool.ts): posts its settings and jobs to the worker
// it is pinned to and hands each result back, one job in flight at a time. Any failure (an
// error while running this session's job, its worker crashing or exiting) is reported once
// through onError as a typed error with the protocol's own codes, and the session closes;
// close() drops the session's state in the worker, and the pool ends a worker once it has no
// session left.

import { type ErrorCode, ErrorCodes, xerror } from '../../shared/errors';
import type { FromEncodeWorker, ToEncodeWorker } from './encode-jobs';
import type { EncodePool } from './encode-pool';
import { SpareBuffers } from './output-buffers';

/** How far a spare buffer may exceed twice a job's need and still be reused. */
const SPARE_SLACK_BYTES = 1 << 20;

export interface PooledEncoderOptions {
  pool: EncodePool;
  /** The worker failed; the session must close. Called at most once, never after close(). */
  onError(err: Error): void;
  /** Error codes the protocol reports: a job that threw, and a worker that died. */
  codes: { job: ErrorCode; worker: ErrorCode };
}

export class PooledEncoder {
  private readonly link: ReturnType<EncodePool['attach']>;
  private inFlight: { id: number; done: (result: unknown, stats: unknown) => void; part?: (part: unknown) => void } | null = null;
  private nextId = 1;
  private closed = false;
  /**
   * Settings not yet posted: only the latest matters and it goes just before the next job, so
   * a client flooding settings (VNC SetEncodings) queues at most one message per job, not one
   * per message it sent.
   */
  private config: { value: unknown } | null = null;
  /** The session's snapshot memory, shared with the worker (encode-jobs.ts). */
  private snapshot: SharedArrayBuffer | null = null;
  /** Jobs whose pixels went into the memory an earlier job used. */
  reusedBuffers = 0;
  /** Result buffers the session is done with, going back to the worker with the next job. */
  private readonly outputs = new SpareBuffers();

  constructor(private readonly opts: PooledEncoderOptions) {
    this.link = opts.pool.attach({
      message: (m) => this.message(m),
      workerFailed: (why, details) => this.fail(opts.codes.worker, why, details),
    });
  }

  get busy(): boolean {
    return this.inFlight !== null;
  }

  configure(config: unknown): void {
    this.config = { value: config };
  }

  /**
   * Shared memory of at least `bytes` for the next job's pixels, written by the caller before
   * run() (never while busy): the session's, or a new one when that is too small, or more than
   * twice and 1 MiB over the need, so one full-screen frame does not pin its memory under a
   * session that then sends small ones.
   */
  snapshotMemory(bytes: number): SharedArrayBuffer {
    const s = this.snapshot;
    if (s && s.byteLength >= bytes && !(s.byteLength > 2 * bytes && s.byteLength - bytes > SPARE_SLACK_BYTES)) {
      this.reusedBuffers += 1;
      return s;
    }
    this.snapshot = new SharedArrayBuffer(Math.max(bytes, 1));
    return this.snapshot;
  }

  /** A result's buffer the session no longer needs (written to the client): the worker may reuse it. */
  giveBack(buf: ArrayBufferLike): void {
    if (!this.closed) this.outputs.give(buf);
  }

  /** Run a job over `pixels` (the memory snapshotMemory() gave); `part` gets the pieces the worker sends ahead of the result. */
  run(job: unknown, pixels: SharedArrayBuffer, done: (result: unknown, stats: unknown) => void, part?: (part: unknown) => void): void {
    if (this.inFlight) throw new Error('encode worker: a job is already in flight');
    const id = this.nextId++;
    this.inFlight = { id, done, part };
    if (this.config) {
      this.post({ type: 'config', session: this.link.session, config: this.config.value });
      this.config = null;
    }
    this.post({ type: 'job', session: this.link.session, id, job, pixels, outputs: this.outputs.takeAll() });
  }

  /** Test hook: make the worker throw on this session's next job, or exit (every session on it fails). */
  injectFault(kind: 'throw' | 'exit'): void {
    if (kind === 'exit') this.opts.pool.crash(this.link.worker);
    else this.post({ type: 'fault', session: this.link.session, kind });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.inFlight = null;
    this.snapshot = null;
    this.outputs.takeAll();
    this.opts.pool.detach(this.link.worker, this.link.session);
  }

  private post(m: ToEncodeWorker, transfer: ArrayBuffer[] = []): void {
    if (!this.closed) this.link.post(m, transfer);
  }

  private message(m: FromEncodeWorker): void {
    if (this.closed) return;
    switch (m.type) {
      case 'result': {
        const pending = this.inFlight;
        if (!pending || pending.id !== m.id)
          return this.fail(this.opts.codes.worker, `encode worker answered job ${m.id}, none of that id in flight`, { id: m.id });
        this.inFlight = null;
        pending.done(m.result, m.stats);
        return;
      }
      case 'part': {
        const pending = this.inFlight;
        if (!pending || pending.id !== m.id)
          return this.fail(this.opts.codes.worker, `encode worker sent a part of job ${m.id}, none of that id in flight`, { id: m.id });
        pending.part?.(m.part);
        return;
      }
      case 'error': {
        const code = m.code !== null && m.code in ErrorCodes ? (m.code as ErrorCode) : null;
        return this.fail(this.opts.codes.job, `encode worker: ${m.message}`, { workerCode: code, job: m.id });
      }
      case 'ready':
        return;
    }
  }

  private fail(code: ErrorCode, message: string, details: Record<string, unknown>): void {
    if (this.closed) return;
    this.close();
    this.opts.onError(xerror(code, message, details));
  }
}
