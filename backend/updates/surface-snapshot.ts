// Copies of a surface's damaged pixels that can leave the main thread. Surfaces may be backed
// by memory that cannot be transferred (an mmap'd external ArrayBuffer) or that changes under
// a reader, so a job copies each rect's rows, in the surface's own format, into one buffer
// (snapshotRects: the session's SharedArrayBuffer, encode-jobs.ts) that an encode worker reads;
// there each rect reads from a small surface of its own size (snapshotSurface).

import type { Rect } from '../../shared/region';
import type { Surface } from '../display/display';
import { bytesPerPixel, type PixelFormat } from '../display/pixel-format';

/** Bytes snapshotRects() needs for these rects. */
export function snapshotBytes(surface: Surface, rects: readonly Rect[]): number {
  const bpp = bytesPerPixel(surface.format);
  return rects.reduce((n, r) => n + r.width * r.height * bpp, 0);
}

/**
 * Copy every rect's rows (surface format, tightly packed) into one buffer: `into`
 * when given (at least snapshotBytes() long: the session's snapshot memory), else a new one.
 */
export function snapshotRects(
  surface: Surface,
  rects: readonly Rect[],
  into?: ArrayBufferLike | null,
): { pixels: ArrayBufferLike; offsets: number[] } {
  const bpp = bytesPerPixel(surface.format);
  const total = snapshotBytes(surface, rects);
  if (into && into.byteLength < total) throw new RangeError(`snapshot needs ${total} bytes, the buffer given has ${into.byteLength}`);
  // Not zero-filled: every byte up to total is written below, and zeroing 8 MB for a 1080p
  // frame cost as much as the copy. allocUnsafeSlow: a buffer of its own (not the shared
  // pool), so it can be transferred. A reused buffer holds an earlier frame of the same
  // session past total; the worker reads only up to each rect's end.
  const out = into ? Buffer.from(into, 0, total) : Buffer.allocUnsafeSlow(total);
  const offsets: number[] = [];
  let at = 0;
  for (const r of rects) {
    offsets.push(at);
    const rowBytes = r.width * bpp;
    // The buffer is not zeroed: a rect reaching past the surface's memory must not leave bytes
    // of this process in it.
    if (r.height > 0 && (r.y + r.height - 1) * surface.stride + r.x * bpp + rowBytes > surface.data.length) {
      throw new RangeError(`rect ${r.width}x${r.height}+${r.x}+${r.y} reaches past the surface's ${surface.data.length} bytes`);
    }
    if (rowBytes === surface.stride) {
      // Whole rows back to back: one copy.
      const from = r.y * surface.stride;
      out.set(surface.data.subarray(from, from + rowBytes * r.height), at);
      at += rowBytes * r.height;
      continue;
    }
    for (let y = r.y; y < r.y + r.height; y++) {
      const from = y * surface.stride + r.x * bpp;
      out.set(surface.data.subarray(from, from + rowBytes), at);
      at += rowBytes;
    }
  }
  return { pixels: out.buffer, offsets };
}

/** A surface holding just one snapshotted rect; the rect is at (0, 0) in it. */
export function snapshotSurface(format: PixelFormat, pixels: Uint8Array, offset: number, r: Rect): { surface: Surface; rect: Rect } {
  const stride = r.width * bytesPerPixel(format);
  const data = pixels.subarray(offset, offset + stride * r.height);
  return {
    surface: { width: r.width, height: r.height, stride, format, data, snapshot: true },
    rect: { x: 0, y: 0, width: r.width, height: r.height },
  };
}
