// One FramebufferUpdate's pixel rects as a job an encoder can run anywhere: on the main thread
// against the live surface (the sync twin), or in the session's encode worker against a
// snapshot of the damaged pixels (encode-worker.ts; QEMU's vnc-jobs.c model, rfb-vnc.md §2.1).
// The session decides what goes out (split rects, JPEG "busy" hints, lossless refreshes) and
// applies the results (lossy areas, frame clock); the encoder only turns pixels into bytes, so
// both paths run the same EncodeManager code on the same pixels and give the same bytes.
//
// The guest framebuffer is an mmap'd external ArrayBuffer that cannot be transferred, so the
// worker path copies each rect's rows, in the surface's own format, into one ArrayBuffer
// (snapshotRects) that is transferred to the worker. Each rect then reads from a small surface
// of its own size (snapshotSurface) and the rect header keeps the real position (RectOptions.at).

import { ByteWriter } from '../../shared/bytes';
import { xerror } from '../../shared/errors';
import type { Rect } from '../../shared/region';
import type { PixelFormat, Surface } from '../display/display';
import { bytesPerPixel } from '../display/pixel-convert';
import { type EncodeManager, type EncoderStats, RECT_HEADER_SIZE } from './encode-manager';
import type { RectClass } from './classify';
import { writeFramebufferUpdateHeader } from './handshake';

/** XENVFB_VNC_ENCODE: where a session encodes its updates. */
export type EncodeMode = 'sync' | 'worker';
export const ENCODE_MODE_ENV = 'XENVFB_VNC_ENCODE';
/**
 * Default for sessions of the VNC server: the worker, because a 1080p Tight/ZRLE/JPEG frame
 * encoded inline blocks the event loop (and every other client) for 100-300 ms
 * (scripts/bench/vnc-blocking.ts). RfbSession used alone (tests, byte-array drivers) stays sync.
 */
export const DEFAULT_SERVER_ENCODE_MODE: EncodeMode = 'worker';

/** The mode named by XENVFB_VNC_ENCODE, or `fallback` when unset; anything else is a usage error. */
export function encodeModeFromEnv(fallback: EncodeMode = DEFAULT_SERVER_ENCODE_MODE, env: NodeJS.ProcessEnv = process.env): EncodeMode {
  const v = env[ENCODE_MODE_ENV];
  if (v === undefined || v === '') return fallback;
  if (v === 'sync' || v === 'worker') return v;
  throw xerror('RFB_E_ENCODE_MODE', `${ENCODE_MODE_ENV}=${v}: expected sync or worker`, { value: v });
}

export interface FrameRect {
  /** Where the rect is on the client's framebuffer (already split for the chosen encoding). */
  rect: Rect;
  /** Sent lossy moments ago: a lower JPEG quality is fine. */
  busy?: boolean;
  /** A lossless refresh: never JPEG. */
  lossless?: boolean;
}

export interface FrameJob {
  rects: FrameRect[];
  clientFormat: PixelFormat;
}

export interface EncodedFrame {
  /** The whole FramebufferUpdate message. */
  bytes: Uint8Array;
  /** Per job rect: did it go out lossy (Tight JPEG)? */
  lossy: boolean[];
}

export interface EncodeStatsSnapshot {
  encoders: Record<string, EncoderStats>;
  classes: Record<RectClass, number>;
}

/** Where rect i's pixels are read from: a surface and the rect's place inside it. */
export type PixelSource = (index: number, rect: Rect) => { surface: Surface; rect: Rect };

/** Exact rect count in the header, never nRects=0xFFFF + LastRect (vncsnapshot 1.2a hangs on that). */
export function encodeFrame(manager: EncodeManager, job: FrameJob, source: PixelSource): EncodedFrame {
  const bpp = bytesPerPixel(job.clientFormat);
  const estimate = 4 + job.rects.reduce((n, f) => n + RECT_HEADER_SIZE + f.rect.width * f.rect.height * bpp, 0);
  const w = new ByteWriter(estimate);
  writeFramebufferUpdateHeader(w, job.rects.length);
  const lossy: boolean[] = [];
  job.rects.forEach((f, i) => {
    const src = source(i, f.rect);
    const opts = f.lossless ? { lossless: true } : { busy: f.busy === true };
    const res = manager.encodeRect(src.surface, src.rect, job.clientFormat, w, { ...opts, at: f.rect });
    lossy.push(res.lossy);
  });
  return { bytes: w.finish(), lossy };
}

/** Copy every rect's rows (surface format, tightly packed) into one transferable buffer. */
export function snapshotRects(surface: Surface, rects: readonly Rect[]): { pixels: ArrayBuffer; offsets: number[] } {
  const bpp = bytesPerPixel(surface.format);
  const total = rects.reduce((n, r) => n + r.width * r.height * bpp, 0);
  const out = new Uint8Array(total);
  const offsets: number[] = [];
  let at = 0;
  for (const r of rects) {
    offsets.push(at);
    const rowBytes = r.width * bpp;
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
  return { surface: { width: r.width, height: r.height, stride, format, data }, rect: { x: 0, y: 0, width: r.width, height: r.height } };
}

/**
 * What the session needs from whoever encodes its updates. One frame at a time: encode() is
 * only called while !busy, and calls done() exactly once (the sync twin before returning).
 */
export interface FrameEncoder {
  readonly mode: EncodeMode;
  /** A frame is being encoded. */
  readonly busy: boolean;
  /** The client sent SetEncodings (applied to frames encoded after this call). */
  encodingsChanged(list: readonly number[]): void;
  encode(surface: Surface, job: FrameJob, done: (frame: EncodedFrame) => void): void;
  stats(): EncodeStatsSnapshot;
  close(): void;
}

/** The twin: encodes inline from the live surface with the session's own EncodeManager. */
export class SyncFrameEncoder implements FrameEncoder {
  readonly mode = 'sync';
  readonly busy = false;

  constructor(private readonly manager: EncodeManager) {}

  encodingsChanged(): void {
    // The session already applied the list to this manager.
  }

  encode(surface: Surface, job: FrameJob, done: (frame: EncodedFrame) => void): void {
    done(encodeFrame(this.manager, job, (_i, rect) => ({ surface, rect })));
  }

  stats(): EncodeStatsSnapshot {
    return { encoders: this.manager.snapshot(), classes: this.manager.classCounts() };
  }

  close(): void {}
}
