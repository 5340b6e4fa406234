// VNC's plug-in for the encode pool (backend/updates/encode-pool.ts), the entry module of its
// worker threads: one EncodeManager per session (its zlib / Tight streams live here, in
// order), FramebufferUpdate jobs in, encoded updates out (in shared memory, not copied).

import { ByteWriter } from '../../shared/bytes';
import type { PixelFormat } from '../display/pixel-format';
import type { Rect } from '../../shared/region';
import type { EncodeSessionHandler, PartSink } from '../updates/encode-jobs';
import { serveEncodeJobs } from '../updates/encode-worker-host';
import { SpareBuffers } from '../updates/output-buffers';
import type { RectClass } from '../updates/classify';
import { snapshotSurface } from '../updates/surface-snapshot';
import { EncodeManager } from './encode-manager';
import { encodeFrame, type EncodeStatsSnapshot, type FrameClasses, type FrameJob } from './encode-frame';

/** A frame job as it crosses to the worker: the FrameJob, the surface format, each rect's offset in the pixels. */
export interface RfbWorkerJob {
  frame: FrameJob;
  surfaceFormat: PixelFormat;
  offsets: number[];
  /** The snapshot holds the pixels of the job before, same rects: its rects' classes still hold. */
  kept?: boolean;
}

/** What comes back: the FramebufferUpdate bytes (shared memory, output-buffers.ts) and per-rect lossy flags. */
export interface RfbWorkerResult {
  bytes: SharedArrayBuffer;
  offset: number;
  length: number;
  lossy: boolean[];
  /** Rects whose class came from the frame before (RfbWorkerJob.kept), not analysed again. */
  classesKnown: number;
  /** The bytes went into a buffer the main thread gave back (not a new one). */
  reusedOutput: boolean;
}

/** A leading piece of a frame (FramePartSink), in a transferred buffer of its own. */
export interface RfbWorkerPart {
  bytes: ArrayBuffer;
  offset: number;
  length: number;
}

/**
 * A copy in a buffer of its own (allocUnsafeSlow: not the shared pool, so it can be
 * transferred; not zero-filled: every byte is copied in).
 */
function ownBuffer(bytes: Uint8Array): Buffer {
  const b = Buffer.allocUnsafeSlow(bytes.length);
  b.set(bytes);
  return b;
}

class RfbEncodeSession implements EncodeSessionHandler {
  private readonly manager = new EncodeManager();
  /**
   * Reused for every frame: sized for the worst case (raw plus Hextile's mask bytes, 8 MB at
   * 1080p) but a frame's output is often a fraction of that, so only the bytes written cross
   * to the main thread, copied into a buffer of their own size. A fresh writer per frame cost a
   * zero-filled 8 MB allocation in the worker and 8 MB of garbage on the main thread per frame
   * (main-thread GC was 7.7 ms of a 1080p Hextile text frame).
   */
  private readonly writer = new ByteWriter(64);
  /** Result buffers back from the main thread (output-buffers.ts). */
  private readonly outputs = new SpareBuffers();
  /** The classes of the last frame's rects (FrameClasses). */
  private classes: Array<RectClass | undefined> = [];

  /** config: a SetEncodings list. */
  configure(config: unknown): void {
    this.manager.setClientEncodings(config as number[]);
  }

  run(
    job: unknown,
    pixels: Uint8Array,
    emit: PartSink,
    outputs: SharedArrayBuffer[],
  ): { result: RfbWorkerResult; stats: EncodeStatsSnapshot; transfer: ArrayBuffer[] } {
    const { frame, surfaceFormat, offsets, kept } = job as RfbWorkerJob;
    for (const b of outputs) this.outputs.give(b);
    const source = (i: number, r: Rect) => snapshotSurface(surfaceFormat, pixels, offsets[i]!, r);
    // Leading parts of the frame go out while later rects are encoded (encode-frame.ts).
    const onPart = (bytes: Uint8Array): void => {
      const own = ownBuffer(bytes).buffer as ArrayBuffer;
      emit({ bytes: own, offset: 0, length: own.byteLength } satisfies RfbWorkerPart, [own]);
    };
    const known = kept ? this.classes : null;
    const classes: FrameClasses = { known, found: [] };
    this.classes = [];
    const encoded = encodeFrame(this.manager, frame, source, this.writer, onPart, {}, classes);
    this.classes = classes.found;
    const reusedBefore = this.outputs.reused;
    const b = this.outputs.copy(encoded.bytes);
    const result: RfbWorkerResult = {
      bytes: b.buffer as SharedArrayBuffer,
      offset: b.byteOffset,
      length: b.byteLength,
      lossy: encoded.lossy,
      classesKnown: known ? frame.rects.filter((_, i) => known[i] !== undefined).length : 0,
      reusedOutput: this.outputs.reused > reusedBefore,
    };
    const stats = { encoders: this.manager.snapshot(), classes: this.manager.classCounts() };
    // Shared memory: posted, not transferred (output-buffers.ts).
    return { result, stats, transfer: [] };
  }
}

serveEncodeJobs(() => new RfbEncodeSession());
