// Buffers for encoded frames that cross from an encode worker to the session's thread and come
// back once the socket has written them (EncodedFrame.release), so a session's frames reuse a
// few warm buffers instead of allocating a new one each. A new 8 MB buffer costs 2,000 page
// faults when it is first written: a fifth of the backend's CPU per 1080p Hextile frame on a
// paravirtualised host (issue 14's profile). The buffers are SharedArrayBuffers, posted, not
// transferred: V8 counts a transferred ArrayBuffer as new external memory in the isolate that
// receives it, and 8 MB a frame each way started a full collection every few frames (17% of
// the CPU in the same profile); shared memory is not counted per isolate. Bounded in count and
// bytes on each side; a buffer that does not fit is left to the GC, so reuse is an
// optimisation and never a leak.

/** Buffers kept per session on one side. */
export const OUTPUT_BUFFERS_KEPT = 3;
/** Bytes kept per session on one side (two 1080p frames and change). */
export const OUTPUT_BUFFER_BYTES_KEPT = 20 * 1024 * 1024;
/** Capacity is a multiple of this, with an eighth on top, so a slightly larger next frame still fits. */
const GRAIN = 64 * 1024;

/** The capacity a buffer for `n` bytes is made with. */
export function outputCapacity(n: number): number {
  return Math.ceil((n + (n >>> 3) + 1) / GRAIN) * GRAIN;
}

/** A bounded set of spare buffers (either side of the worker link). */
export class SpareBuffers {
  private readonly free: SharedArrayBuffer[] = [];
  private bytes = 0;
  /** Buffers handed out from the set rather than allocated (tests and stats read it). */
  reused = 0;

  get size(): number {
    return this.free.length;
  }

  /** Keep `buf` for later when the bounds allow (only shared buffers are kept). */
  give(buf: ArrayBufferLike): void {
    if (!(buf instanceof SharedArrayBuffer) || this.free.length >= OUTPUT_BUFFERS_KEPT) return;
    if (this.bytes + buf.byteLength > OUTPUT_BUFFER_BYTES_KEPT) return;
    this.free.push(buf);
    this.bytes += buf.byteLength;
  }

  /** Every kept buffer, removed from the set (to post them to the other side). */
  takeAll(): SharedArrayBuffer[] {
    const all = this.free.splice(0);
    this.bytes = 0;
    return all;
  }

  /**
   * A copy of `bytes` in a shared buffer of its own: the smallest kept one that fits and is
   * not more than twice the need, or a new one.
   */
  copy(bytes: Uint8Array): Buffer {
    const n = bytes.byteLength;
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const c = this.free[i]!.byteLength;
      if (c >= n && c <= 2 * n + GRAIN && (best < 0 || c < this.free[best]!.byteLength)) best = i;
    }
    let buf: SharedArrayBuffer;
    if (best >= 0) {
      buf = this.free.splice(best, 1)[0]!;
      this.bytes -= buf.byteLength;
      this.reused += 1;
    } else {
      buf = new SharedArrayBuffer(outputCapacity(n));
    }
    const out = Buffer.from(buf, 0, n);
    out.set(bytes);
    return out;
  }
}
