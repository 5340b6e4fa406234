// Tight's gradient filter and TPIXEL packing (rfbproto §7.7.5), the per-pixel loops of the
// Tight encoder. Written without per-pixel closures or intermediate arrays: the profile
// (docs/vnc-encoders.md) had the closure-per-channel residual loop, computed twice per smooth
// rect (once to decide, once to send), and the packer call per pixel among Tight's top costs.
// Same output as the straightforward form they replaced (checked byte for byte).
//
// Two twins (STYLE 12) behind TightFilters: these loops, the reference, and the addon's
// tightFilters (native/src/gradient.cc: the same score, residuals and bytes, tested in
// test/unit/vnc/encoders/tight-gradient-twins.test.ts). On the 1080p photo over lossless Tight
// the TS loops were ~83 ms of a ~230 ms frame (residuals 50, smoothness 22, packing 11).
// XENVFB_NO_NATIVE_GRADIENT=1 forces the TypeScript twin.

import { type TightFiltersNative, tightFiltersNative } from '../../../native';
import type { PixelFormat } from '../../display/pixel-format';
import { isTight24, packPixels, tpixelPacker } from './pixels';

export const NO_NATIVE_GRADIENT_ENV = 'XENVFB_NO_NATIVE_GRADIENT';

/** Mean gradient residual (fraction of the channel max) under which gradient beats copy. */
const SMOOTH_THRESHOLD = 0.02;
/** isSmooth() looks at every SMOOTH_SAMPLE_STEP-th pixel from the second row on. */
export const SMOOTH_SAMPLE_STEP = 7;
/** smoothScore() compares the part summed with its limit every this many samples (as the native twin). */
export const SMOOTH_CHECK_EVERY = 1024;
/**
 * Content where at least this fraction of pixels equal their left neighbour is flat (a user
 * interface, a dithered desktop, a banded ramp): whether the gradient beats copy there depends
 * on the pattern, so the encoder tries both on a band of rows (tight.ts). Photos (a flat
 * fraction near 0) skip the trial.
 */
export const FLAT_MAX = 0.5;
/** flatFraction() looks at every FLAT_SAMPLE_STEP-th pixel. */
const FLAT_SAMPLE_STEP = 13;

/** The fraction of sampled pixels (not first in their row) equal to their left neighbour. */
export function flatFraction(px: Uint32Array, width: number): number {
  let n = 0;
  let same = 0;
  for (let i = 1, x = 1 % width; i < px.length; i += FLAT_SAMPLE_STEP, x = (x + FLAT_SAMPLE_STEP) % width) {
    if (x === 0) continue;
    n++;
    if (px[i] === px[i - 1]) same++;
  }
  return n > 0 ? same / n : 0;
}

/**
 * Gradient-filter residual of one channel at pixel i (rfbproto §7.7.5 "Gradient filter"):
 * P = clamp(left + up - upleft, 0, max), D = (V - P) & max, neighbours outside the rect 0.
 */
function residual(px: Uint32Array, i: number, x: number, width: number, sh: number, mx: number): number {
  const left = x > 0 ? (px[i - 1]! >>> sh) & mx : 0;
  const up = i >= width ? (px[i - width]! >>> sh) & mx : 0;
  const upLeft = x > 0 && i >= width ? (px[i - width - 1]! >>> sh) & mx : 0;
  let p = left + up - upLeft;
  p = p < 0 ? 0 : p > mx ? mx : p;
  return (((px[i]! >>> sh) & mx) - p) & mx;
}

/** Residual pixels of the whole rect, as client pixel values. */
export function gradientResiduals(px: Uint32Array, width: number, pf: PixelFormat): Uint32Array {
  const { redShift: rs, greenShift: gs, blueShift: bs, redMax: rm, greenMax: gm, blueMax: bm } = pf;
  const out = new Uint32Array(px.length);
  for (let i = 0, x = 0; i < px.length; i++, x = x + 1 === width ? 0 : x + 1) {
    out[i] =
      ((residual(px, i, x, width, rs, rm) << rs) |
        (residual(px, i, x, width, gs, gm) << gs) |
        (residual(px, i, x, width, bs, bm) << bs)) >>>
      0;
  }
  return out;
}

/** Smooth content (gradients): small gradient residuals on average, on a sample of the pixels. */
export function isSmooth(px: Uint32Array, width: number, pf: PixelFormat): boolean {
  if (px.length < 64) return false;
  const score = smoothScore(px, width, pf, SMOOTH_THRESHOLD);
  return score >= 0 && score < SMOOTH_THRESHOLD;
}

/**
 * Mean folded residual (fraction of the channel max) of every SMOOTH_SAMPLE_STEP-th pixel from
 * the second row on; -1 when none. Integer sums per channel, divided once at the end. With a
 * limit, the sum stops once the part summed so far (checked every SMOOTH_CHECK_EVERY samples,
 * over all the samples) reaches it, and returns that part: the mean is at least that much, so
 * "below the limit?" has the same answer, and noise stops after a tenth of its samples. The
 * native twin does the same in the same order, so the double is the same.
 */
export function smoothScore(px: Uint32Array, width: number, pf: PixelFormat, limit = Infinity): number {
  const { redShift: rs, greenShift: gs, blueShift: bs, redMax: rm, greenMax: gm, blueMax: bm } = pf;
  const samples = px.length > width + 1 ? Math.ceil((px.length - width - 1) / SMOOTH_SAMPLE_STEP) : 0;
  if (samples === 0) return -1;
  const scale = 3 * samples;
  let red = 0;
  let green = 0;
  let blue = 0;
  const stepX = SMOOTH_SAMPLE_STEP % width;
  let done = 0;
  for (let i = width + 1, x = 1 % width; i < px.length; i += SMOOTH_SAMPLE_STEP) {
    const r = residual(px, i, x, width, rs, rm);
    const g = residual(px, i, x, width, gs, gm);
    const b = residual(px, i, x, width, bs, bm);
    red += Math.min(r, rm + 1 - r);
    green += Math.min(g, gm + 1 - g);
    blue += Math.min(b, bm + 1 - b);
    x += stepX;
    if (x >= width) x -= width;
    if (++done % SMOOTH_CHECK_EVERY === 0 && (red / rm + green / gm + blue / bm) / scale >= limit) break;
  }
  return (red / rm + green / gm + blue / bm) / scale;
}

/** Values as TPIXELs: R, G, B bytes for 24-bit true colour (inlined), else full PIXELs. */
export function packTpixels(values: Uint32Array, pf: PixelFormat): Uint8Array {
  if (!isTight24(pf)) return packPixels(values, tpixelPacker(pf));
  const { redShift: rs, greenShift: gs, blueShift: bs } = pf;
  const out = new Uint8Array(values.length * 3);
  for (let i = 0, o = 0; i < values.length; i++, o += 3) {
    const v = values[i]!;
    out[o] = v >>> rs;
    out[o + 1] = v >>> gs;
    out[o + 2] = v >>> bs;
  }
  return out;
}

/** The per-pixel steps of a Tight rect's basic compression, by one twin. */
export interface TightFilters {
  /** Gradient beats copy for this rect (smooth content). */
  isSmooth(px: Uint32Array, width: number, pf: PixelFormat): boolean;
  /** The gradient residuals as TPIXELs: compress or copy them before the next call (the native twin reuses its buffer). */
  gradientTpixels(px: Uint32Array, width: number, pf: PixelFormat): Uint8Array;
  /** Values as TPIXELs (same lifetime rule). */
  packTpixels(values: Uint32Array, pf: PixelFormat): Uint8Array;
}

/** The TypeScript twin, the reference. */
export const TS_TIGHT_FILTERS: TightFilters = {
  isSmooth,
  gradientTpixels: (px, width, pf) => packTpixels(gradientResiduals(px, width, pf), pf),
  packTpixels,
};

/** Fewer values than this are packed in TypeScript: the call would cost more than the loop. */
const NATIVE_PACK_MIN = 64;

/** The addon's twin; formats other than 24-bit true colour pack their residuals in TypeScript. */
export function nativeTightFilters(native: TightFiltersNative): TightFilters {
  let scratch = new Uint8Array(0);
  const bytes = (n: number): Uint8Array => {
    if (scratch.length < n) scratch = new Uint8Array(Math.max(n, scratch.length * 2));
    return scratch.subarray(0, n);
  };
  // A session keeps one client format: remember the last one's channel array.
  let lastPf: PixelFormat | null = null;
  let lastChannels = new Uint32Array(6);
  const channels = (pf: PixelFormat): Uint32Array => {
    if (pf !== lastPf) {
      lastChannels = Uint32Array.of(pf.redShift, pf.redMax, pf.greenShift, pf.greenMax, pf.blueShift, pf.blueMax);
      lastPf = pf;
    }
    return lastChannels;
  };
  return {
    isSmooth(px, width, pf) {
      if (px.length < 64) return false;
      const score = native.smoothScore(px, width, channels(pf), SMOOTH_SAMPLE_STEP, SMOOTH_THRESHOLD);
      return score >= 0 && score < SMOOTH_THRESHOLD;
    },
    gradientTpixels(px, width, pf) {
      if (isTight24(pf)) {
        const out = bytes(px.length * 3);
        native.gradient(px, width, channels(pf), out);
        return out;
      }
      const residuals = new Uint32Array(px.length);
      native.gradient(px, width, channels(pf), residuals);
      return packTpixels(residuals, pf);
    },
    packTpixels(values, pf) {
      if (!isTight24(pf) || values.length < NATIVE_PACK_MIN) return packTpixels(values, pf);
      const out = bytes(values.length * 3);
      native.pack24(values, channels(pf), out);
      return out;
    },
  };
}

/** The native twin unless the addon lacks it or XENVFB_NO_NATIVE_GRADIENT=1. */
export function defaultTightFilters(): TightFilters {
  return tightFiltersNative && process.env[NO_NATIVE_GRADIENT_ENV] !== '1' ? nativeTightFilters(tightFiltersNative) : TS_TIGHT_FILTERS;
}
