// JPEG for Tight (rfbproto §7.7.5, control 0x9): two twins behind one function.
//  - native: libjpeg-turbo's TurboJPEG API in the addon (native/src/jpeg.cc), reading the
//    surface's memory in place when its pixel layout is one TurboJPEG knows (XRGB8888 is
//    TJPF_BGRX), with TigerVNC's quality and chroma subsampling per quality level;
//  - TS: jpeg-js (pure JS, 4:4:4 only), about 100x slower at 1080p: the reference, and what
//    runs where the addon was built without libjpeg-turbo (logged once per process/worker).
// XENVFB_NO_NATIVE_JPEG=1 forces the TS twin, as ws's WS_NO_BUFFER_UTIL does. Different
// libraries give different bytes; test/unit/vnc/encoders/jpeg-twins.test.ts checks both
// decode to the same picture within a PSNR bound.

import * as os from 'node:os';
import * as jpegJs from 'jpeg-js';
import type { Rect } from '../../../shared/region';
import { createLogger } from '../../../shared/log';
import { type JpegPixelFormat, TJSAMP, type TurboJpeg, turbojpeg } from '../../../native';
import type { Surface } from '../../display/display';
import { PIXEL_FORMAT_RGBX8888, type PixelFormat } from '../../display/pixel-format';
import { convertRectToNew } from '../../display/pixel-convert';

export const NO_NATIVE_JPEG_ENV = 'XENVFB_NO_NATIVE_JPEG';

/** libjpeg quality per Tight JPEG quality level 0..9 (TigerVNC TightJPEGEncoder.cxx `conf`). */
export const JPEG_QUALITY = [15, 29, 41, 42, 62, 77, 79, 86, 92, 100] as const;
/** Chroma subsampling per level, same table: 4:2:0 for 0-2, 4:2:2 for 3-5, none from 6. */
export const JPEG_SUBSAMPLING = [
  TJSAMP.S420,
  TJSAMP.S420,
  TJSAMP.S420,
  TJSAMP.S422,
  TJSAMP.S422,
  TJSAMP.S422,
  TJSAMP.S444,
  TJSAMP.S444,
  TJSAMP.S444,
  TJSAMP.S444,
] as const;

export type JpegPath = 'libjpeg-turbo' | 'jpeg-js';

/** R, G, B, X bytes: what the JPEG and PNG paths take. */
const RGBX = PIXEL_FORMAT_RGBX8888;

let chosen: { path: JpegPath; native: TurboJpeg | null } | null = null;

/** Which twin encodeJpeg() uses in this process (decided once, on first use). */
export function jpegPath(): JpegPath {
  return choose().path;
}

function choose(): { path: JpegPath; native: TurboJpeg | null } {
  if (chosen) return chosen;
  const forced = process.env[NO_NATIVE_JPEG_ENV] === '1';
  if (!forced && turbojpeg) return (chosen = { path: 'libjpeg-turbo', native: turbojpeg });
  if (!forced) {
    createLogger({ name: 'vnc-jpeg' }).warn(
      { path: 'jpeg-js' },
      'native JPEG unavailable (the addon was built without libjpeg-turbo): Tight JPEG uses jpeg-js, ~100x slower. ' +
        'Install libturbojpeg0-dev (Debian) and run `npm rebuild`.',
    );
  }
  return (chosen = { path: 'jpeg-js', native: null });
}

/** A JFIF image of `rect` of the surface at Tight quality level 0..9, by the chosen twin. */
export function encodeJpeg(surface: Surface, rect: Rect, qualityLevel: number): Uint8Array {
  const { native } = choose();
  return native ? encodeJpegNative(native, surface, rect, qualityLevel) : encodeJpegTs(surface, rect, qualityLevel);
}

/**
 * Whether a frame's JPEGs are started ahead on the addon's pool threads (jpeg-pool.cc) or each
 * is compressed when the encoder reaches its rect: XENVFB_NO_JPEG_THREADS=1 never, =0 always,
 * unset (or anything else) when the host has JPEG_POOL_MIN_CPUS or more.
 */
export const NO_JPEG_THREADS_ENV = 'XENVFB_NO_JPEG_THREADS';

/**
 * CPUs a host needs before the pool is used by default. On two, the pool's threads share them
 * with the session's main thread and encode worker (and, in bench:peers, the viewer), and the
 * hand-offs cost more than the overlap gives: 1080p Tight JPEG photo, 6 interleaved pairs,
 * 77-81 updates/s with the pool against 88-95 without, at 11.4-12.3 against 10.7-11.8 ms of
 * backend CPU per update (docs/vnc-encoders.md).
 */
export const JPEG_POOL_MIN_CPUS = 3;

const CPUS = os.availableParallelism();

/** The choice above, for `cpus` CPUs and the environment `env`. */
export function jpegThreadsWanted(env: NodeJS.ProcessEnv = process.env, cpus: number = CPUS): boolean {
  const v = env[NO_JPEG_THREADS_ENV];
  if (v === '1') return false;
  if (v === '0') return true;
  return cpus >= JPEG_POOL_MIN_CPUS;
}

/** A JPEG started on a pool thread: take() waits for the image; release() waits and drops it if nobody took it. */
export interface JpegJob {
  readonly qualityLevel: number;
  take(): Uint8Array;
  release(): void;
}

/**
 * Starts the JPEG of `rect` on the addon's pool threads, or null when there is no pool (jpeg-js,
 * an older addon, not wanted: jpegThreadsWanted) or the surface needs converting first. The bytes are
 * those encodeJpeg() gives. The surface's memory must stay put until take().
 */
export function submitJpeg(surface: Surface, rect: Rect, qualityLevel: number): JpegJob | null {
  const { native } = choose();
  if (!native?.submit || !jpegThreadsWanted()) return null;
  const layout = turboLayout(surface.format);
  if (!layout) return null;
  const offset = rect.y * surface.stride + rect.x * 4;
  const job = native.submit(
    surface.data,
    offset,
    rect.width,
    rect.height,
    surface.stride,
    layout,
    JPEG_QUALITY[qualityLevel]!,
    JPEG_SUBSAMPLING[qualityLevel]!,
  );
  let taken = false;
  return {
    qualityLevel,
    take: () => {
      taken = true;
      return job.take();
    },
    release: () => {
      if (taken) return;
      taken = true;
      try {
        job.take();
      } catch {
        // An image nobody wanted: its failure does not matter either.
      }
    },
  };
}

/** The TS twin: jpeg-js at JPEG_QUALITY[level], always 4:4:4 (jpeg-js cannot subsample). */
export function encodeJpegTs(surface: Surface, rect: Rect, qualityLevel: number): Uint8Array {
  const rgba = convertRectToNew(surface, rect, RGBX);
  for (let i = 3; i < rgba.length; i += 4) rgba[i] = 255;
  return jpegJs.encode({ data: rgba, width: rect.width, height: rect.height }, JPEG_QUALITY[qualityLevel]!).data;
}

/** The native twin: tjCompress2 straight from the surface when TurboJPEG knows its layout. */
export function encodeJpegNative(tj: TurboJpeg, surface: Surface, rect: Rect, qualityLevel: number): Uint8Array {
  const quality = JPEG_QUALITY[qualityLevel]!;
  const subsampling = JPEG_SUBSAMPLING[qualityLevel]!;
  const layout = turboLayout(surface.format);
  if (layout) {
    const offset = rect.y * surface.stride + rect.x * 4;
    return tj.compress(surface.data, offset, rect.width, rect.height, surface.stride, layout, quality, subsampling);
  }
  const rgbx = convertRectToNew(surface, rect, RGBX);
  return tj.compress(rgbx, 0, rect.width, rect.height, rect.width * 4, 'RGBX', quality, subsampling);
}

/** The TurboJPEG name of a 32 bpp true-colour layout with 8-bit channels on byte boundaries, or null. */
export function turboLayout(pf: PixelFormat): JpegPixelFormat | null {
  if (pf.bitsPerPixel !== 32 || pf.redMax !== 255 || pf.greenMax !== 255 || pf.blueMax !== 255) return null;
  const bytes = ['X', 'X', 'X', 'X'];
  for (const [ch, shift] of [
    ['R', pf.redShift],
    ['G', pf.greenShift],
    ['B', pf.blueShift],
  ] as const) {
    if (shift % 8 !== 0 || shift > 24) return null;
    // Byte k of a little-endian pixel holds bits 8k..8k+7; big-endian reverses the bytes.
    const k = pf.bigEndian ? 3 - shift / 8 : shift / 8;
    if (bytes[k] !== 'X') return null;
    bytes[k] = ch;
  }
  const name = bytes.join('');
  return name === 'RGBX' || name === 'BGRX' || name === 'XRGB' || name === 'XBGR' ? name : null;
}

/** Tests: forget the choice so the next encodeJpeg() reads the environment again. */
export function resetJpegChoiceForTests(): void {
  chosen = null;
}
