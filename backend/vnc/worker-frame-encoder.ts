// A session's end of the encode pool (encode-pool.ts): snapshots the damaged pixels, posts the
// frame to the session's worker, hands the encoded update back to the session. Any failure
// (an encode error for this session, its worker crashing or exiting) is reported once through
// onError as a typed error and the session closes; close() drops the session's encoders in the
// worker, and the pool ends a worker once it has no session left.

import { type ErrorCode, ErrorCodes, xerror } from '../../shared/errors';
import type { Surface } from '../display/display';
import { type EncodedFrame, type EncodeStatsSnapshot, type FrameEncoder, type FrameJob, snapshotRects } from './encode-frame';
import { defaultEncodePool, type EncodePool } from './encode-pool';
import type { FromEncodeWorker, ToEncodeWorker } from './encode-worker';

export { liveEncodeWorkers } from './encode-pool';

export interface WorkerFrameEncoderOptions {
  /** The worker failed; the session must close. Called at most once, never after close(). */
  onError(err: Error): void;
  pool?: EncodePool;
}

export class WorkerFrameEncoder implements FrameEncoder {
  readonly mode = 'worker';
  private readonly pool: EncodePool;
  private readonly link: ReturnType<EncodePool['attach']>;
  private inFlight: { id: number; done: (frame: EncodedFrame) => void } | null = null;
  private nextId = 1;
  private closed = false;
  private last: EncodeStatsSnapshot = { encoders: {}, classes: { solid: 0, palette: 0, photo: 0 } };

  constructor(private readonly opts: WorkerFrameEncoderOptions) {
    this.pool = opts.pool ?? defaultEncodePool;
    this.link = this.pool.attach({
      message: (m) => this.message(m),
      workerFailed: (why, details) => this.fail('RFB_E_ENCODE_WORKER', why, details),
    });
  }

  get busy(): boolean {
    return this.inFlight !== null;
  }

  encodingsChanged(list: readonly number[]): void {
    this.post({ type: 'encodings', session: this.link.session, list: [...list] });
  }

  encode(surface: Surface, job: FrameJob, done: (frame: EncodedFrame) => void): void {
    if (this.inFlight) throw new Error('encode worker: a frame is already in flight');
    const id = this.nextId++;
    const { pixels, offsets } = snapshotRects(
      surface,
      job.rects.map((f) => f.rect),
    );
    this.inFlight = { id, done };
    const session = this.link.session;
    this.post(
      { type: 'frame', session, id, surfaceFormat: surface.format, clientFormat: job.clientFormat, rects: job.rects, offsets, pixels },
      [pixels],
    );
  }

  stats(): EncodeStatsSnapshot {
    return this.last;
  }

  /** Test hook: make the worker throw on this session's next frame, or exit (every session on it fails). */
  injectFault(kind: 'throw' | 'exit'): void {
    if (kind === 'exit') this.pool.crash(this.link.worker);
    else this.post({ type: 'fault', session: this.link.session, kind });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.inFlight = null;
    this.pool.detach(this.link.worker, this.link.session);
  }

  private post(m: ToEncodeWorker, transfer: ArrayBuffer[] = []): void {
    if (!this.closed) this.link.post(m, transfer);
  }

  private message(m: FromEncodeWorker): void {
    if (this.closed) return;
    switch (m.type) {
      case 'frame': {
        const pending = this.inFlight;
        if (!pending || pending.id !== m.id)
          return this.fail('RFB_E_ENCODE_WORKER', `encode worker answered frame ${m.id}, none of that id in flight`, { id: m.id });
        this.inFlight = null;
        this.last = m.stats;
        pending.done({ bytes: new Uint8Array(m.bytes, m.offset, m.length), lossy: m.lossy });
        return;
      }
      case 'error': {
        const code = m.code !== null && m.code in ErrorCodes ? (m.code as ErrorCode) : null;
        return this.fail('RFB_E_ENCODE', `encode worker: ${m.message}`, { workerCode: code, frame: m.id });
      }
    }
  }

  private fail(code: ErrorCode, message: string, details: Record<string, unknown>): void {
    if (this.closed) return;
    this.close();
    this.opts.onError(xerror(code, message, details));
  }
}
