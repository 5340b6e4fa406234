// The worker twin of SyncFrameEncoder (encode-frame.ts): snapshots a frame's damaged pixels and
// runs the frame in the session's encode worker (VNC's plug-in, encode-worker.ts, on the
// generic pool of backend/updates/). A failure closes the session with RFB_E_ENCODE (the
// frame threw) or RFB_E_ENCODE_WORKER (the worker died).

import * as path from 'node:path';
import type { Surface } from '../display/display';
import { type Rect, rectsEqual } from '../../shared/region';
import { EncodePool } from '../updates/encode-pool';
import { PooledEncoder } from '../updates/pooled-encoder';
import { snapshotBytes, snapshotRects } from '../updates/surface-snapshot';
import type { EncodedFrame, EncodeStatsSnapshot, FrameEncoder, FrameJob, FramePartSink } from './encode-frame';
import type { RfbWorkerJob, RfbWorkerPart, RfbWorkerResult } from './encode-worker';

/** The process-wide pool of VNC encode workers. */
export const rfbEncodePool = new EncodePool({ workerModule: path.join(__dirname, 'encode-worker') });

/** VNC encode worker threads started and not yet exited. */
export function liveEncodeWorkers(): number {
  return rfbEncodePool.liveWorkers;
}

export interface WorkerFrameEncoderOptions {
  /** The worker failed; the session must close. Called at most once, never after close(). */
  onError(err: Error): void;
  pool?: EncodePool;
}

/** What the last snapshot holds: still good while the surface counts no change (Surface.changes). */
interface SnapshotTaken {
  surface: Surface;
  changes: number;
  memory: SharedArrayBuffer;
  rects: Rect[];
  offsets: number[];
}

export class WorkerFrameEncoder implements FrameEncoder {
  readonly mode = 'worker';
  private readonly pooled: PooledEncoder;
  private last: EncodeStatsSnapshot = { encoders: {}, classes: { solid: 0, palette: 0, photo: 0 } };
  private taken: SnapshotTaken | null = null;
  /**
   * Frames whose pixels were already in the snapshot memory: the same rects of a surface that
   * counted no change since (a still screen asked for again, e.g. a viewer's full refresh).
   * Copying 1080p took ~1.1 ms before the worker could start, on the path to the first byte.
   */
  snapshotsKept = 0;
  /** Rects the worker did not classify again: their frame's snapshot was kept (RfbWorkerJob.kept). */
  classesReused = 0;

  constructor(opts: WorkerFrameEncoderOptions) {
    this.pooled = new PooledEncoder({
      pool: opts.pool ?? rfbEncodePool,
      onError: opts.onError,
      codes: { job: 'RFB_E_ENCODE', worker: 'RFB_E_ENCODE_WORKER' },
    });
  }

  get busy(): boolean {
    return this.pooled.busy;
  }

  /** Frames snapshotted into the memory an earlier frame used (no allocation). */
  get snapshotsReused(): number {
    return this.pooled.reusedBuffers;
  }

  /** Frames the worker wrote into a result buffer an earlier frame gave back (EncodedFrame.release). */
  outputsReused = 0;

  encodingsChanged(list: readonly number[]): void {
    this.pooled.configure([...list]);
  }

  encode(surface: Surface, frame: FrameJob, done: (frame: EncodedFrame) => void, onPart?: FramePartSink): void {
    const rects = frame.rects.map((f) => f.rect);
    const memory = this.pooled.snapshotMemory(snapshotBytes(surface, rects));
    const { offsets, kept } = this.snapshot(surface, rects, memory);
    const job: RfbWorkerJob = { frame, surfaceFormat: surface.format, offsets, kept };
    this.pooled.run(
      job,
      memory,
      (result, stats) => {
        const r = result as RfbWorkerResult;
        this.last = stats as EncodeStatsSnapshot;
        if (r.reusedOutput) this.outputsReused += 1;
        this.classesReused += r.classesKnown;
        let given = false;
        const release = (): void => {
          if (!given) this.pooled.giveBack(r.bytes);
          given = true;
        };
        done({ bytes: new Uint8Array(r.bytes, r.offset, r.length), lossy: r.lossy, release });
      },
      (part) => {
        const p = part as RfbWorkerPart;
        onPart?.(new Uint8Array(p.bytes, p.offset, p.length));
      },
    );
  }

  /** The rects' pixels into `memory` (kept: they are there already); their offsets. */
  private snapshot(surface: Surface, rects: Rect[], memory: SharedArrayBuffer): { offsets: number[]; kept: boolean } {
    const changes = surface.changes;
    const t = this.taken;
    if (
      changes !== undefined &&
      t?.surface === surface &&
      t.changes === changes &&
      t.memory === memory &&
      t.rects.length === rects.length &&
      t.rects.every((r, i) => rectsEqual(r, rects[i]!))
    ) {
      this.snapshotsKept += 1;
      return { offsets: t.offsets, kept: true };
    }
    const { offsets } = snapshotRects(surface, rects, memory);
    this.taken = changes === undefined ? null : { surface, changes, memory, rects, offsets };
    return { offsets, kept: false };
  }

  stats(): EncodeStatsSnapshot {
    return this.last;
  }

  /** Test hook: make the worker throw on this session's next frame, or exit (every session on it fails). */
  injectFault(kind: 'throw' | 'exit'): void {
    this.pooled.injectFault(kind);
  }

  close(): void {
    this.taken = null;
    this.pooled.close();
  }
}
