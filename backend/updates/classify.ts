// Per-rect content classes, for any protocol's choice of image codec (TigerVNC
// EncodeManager::analyseRect, QEMU's tight "palette or JPEG" choice, spice-server's image
// compression heuristics): solid (one colour, checked exactly), palette (few colours), photo
// (many colours and a high colour entropy: video, photos, smooth shading) where a client that
// accepts lossy images may get JPEG. Colours and entropy come from a
// grid of at most CLASSIFY_MAX_SAMPLES pixels, so the cost per rect is bounded; only the
// solid test reads every pixel (and stops at the first that differs).

import { type ClassifyNative, classifyNative } from '../../native';
import type { Rect } from '../../shared/region';
import type { Surface } from '../display/display';
import { bytesPerPixel } from '../display/pixel-format';

export type RectClass = 'solid' | 'palette' | 'photo';

/**
 * The solid test and the sampling over 32-bit pixels have a native twin (native/src/classify.cc:
 * the same answers and the same histogram sums, test/unit/updates/classify-twins.test.ts): on
 * the 1080p photo in 1920x32 JPEG strips the TS sampling was ~2.5 ms of a frame.
 * XENVFB_NO_NATIVE_CLASSIFY=1 forces the TypeScript loops.
 */
export const NO_NATIVE_CLASSIFY_ENV = 'XENVFB_NO_NATIVE_CLASSIFY';
const DEFAULT_NATIVE: ClassifyNative | null = process.env[NO_NATIVE_CLASSIFY_ENV] === '1' ? null : classifyNative;

/** Pixels sampled per rect for colour counting and entropy. */
export const CLASSIFY_MAX_SAMPLES = 4096;
/** More sampled colours than this can be photo-like (TigerVNC's JPEG palette threshold at CL >= 2). */
export const PHOTO_MIN_COLOURS = 96;
/** Shannon entropy of the sampled colour histogram, in bits, from which content is photo-like. */
export const PHOTO_MIN_ENTROPY_BITS = 5;
/** Below this area JPEG's headers cost more than lossless saves: never lossy. */
export const PHOTO_MIN_AREA = 64 * 64;

export interface RectAnalysis {
  kind: RectClass;
  /** Distinct colours among the samples (exact for solid). */
  colours: number;
  /** Entropy of the sampled colour histogram, bits. */
  entropyBits: number;
}

/** Reads the native pixel value at byte offset o (the surface's own format, any endianness). */
function pixelReader(surface: Surface): (o: number) => number {
  const d = surface.data;
  if (surface.format.bigEndian) {
    const n = bytesPerPixel(surface.format);
    return (o) => {
      let v = 0;
      for (let i = 0; i < n; i++) v = v * 256 + d[o + i]!;
      return v >>> 0;
    };
  }
  switch (bytesPerPixel(surface.format)) {
    case 1:
      return (o) => d[o]!;
    case 2:
      return (o) => d[o]! | (d[o + 1]! << 8);
    case 3:
      return (o) => d[o]! | (d[o + 1]! << 8) | (d[o + 2]! << 16);
    default:
      return (o) => (d[o]! | (d[o + 1]! << 8) | (d[o + 2]! << 16) | (d[o + 3]! << 24)) >>> 0;
  }
}

/**
 * The surface as 32-bit words when its pixels are 4-byte little-endian and aligned (XRGB8888
 * and kin, every guest framebuffer we see): one typed-array load per pixel instead of four
 * byte loads through a closure (analyseRect 2.8 -> 2.1 ms per 1080p Tight frame; the rest is
 * the histogram).
 */
function words(surface: Surface): Uint32Array | null {
  const d = surface.data;
  if (bytesPerPixel(surface.format) !== 4 || surface.format.bigEndian || !HOST_LE) return null;
  if (d.byteOffset % 4 !== 0 || surface.stride % 4 !== 0) return null;
  return new Uint32Array(d.buffer, d.byteOffset, d.byteLength >>> 2);
}

const HOST_LE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Every pixel of the rect has one colour? Padding bits (X of XRGB) are ignored. */
export function isSolid(surface: Surface, r: Rect, native: ClassifyNative | null = DEFAULT_NATIVE): boolean {
  const w32 = words(surface);
  if (w32 && native) return native.solidWords(w32, surface.stride >>> 2, r.x, r.y, r.width, r.height, colourMask(surface));
  if (w32) return isSolidWords(w32, surface.stride >>> 2, r, colourMask(surface));
  const bpp = bytesPerPixel(surface.format);
  const read = pixelReader(surface);
  const mask = colourMask(surface);
  const first = read(r.y * surface.stride + r.x * bpp) & mask;
  for (let y = r.y; y < r.y + r.height; y++) {
    const row = y * surface.stride;
    for (let o = row + r.x * bpp, end = row + (r.x + r.width) * bpp; o < end; o += bpp) {
      if ((read(o) & mask) !== first) return false;
    }
  }
  return true;
}

function isSolidWords(px: Uint32Array, stride: number, r: Rect, mask: number): boolean {
  const first = (px[r.y * stride + r.x]! & mask) >>> 0;
  for (let y = r.y; y < r.y + r.height; y++) {
    for (let i = y * stride + r.x, end = i + r.width; i < end; i++) if ((px[i]! & mask) >>> 0 !== first) return false;
  }
  return true;
}

function colourMask(surface: Surface): number {
  const f = surface.format;
  return ((f.redMax << f.redShift) | (f.greenMax << f.greenShift) | (f.blueMax << f.blueShift)) >>> 0;
}

/**
 * The colour histogram of one rect's samples: an open-addressing table reused from call to
 * call (a Map per rect cost more than the JPEG it decided on, issue 14). A slot is live when
 * its stamp is the current generation, so nothing is cleared between rects.
 */
class SampleHistogram {
  private static readonly BITS = 14;
  /** 16384 slots: four times CLASSIFY_MAX_SAMPLES; the caller adds at most half this many. */
  static readonly CAPACITY = 1 << SampleHistogram.BITS;
  private readonly keys = new Uint32Array(SampleHistogram.CAPACITY);
  private readonly counts = new Uint32Array(SampleHistogram.CAPACITY);
  private readonly stamps = new Uint32Array(SampleHistogram.CAPACITY);
  private readonly live = new Uint32Array(SampleHistogram.CAPACITY);
  private generation = 0;
  size = 0;

  reset(): void {
    this.size = 0;
    this.generation = (this.generation + 1) >>> 0;
    if (this.generation === 0) {
      this.stamps.fill(0);
      this.generation = 1;
    }
  }

  add(v: number): void {
    const mask = SampleHistogram.CAPACITY - 1;
    let i = Math.imul(v, 0x9e3779b1) >>> (32 - SampleHistogram.BITS);
    for (;;) {
      if (this.stamps[i] !== this.generation) {
        this.stamps[i] = this.generation;
        this.keys[i] = v;
        this.counts[i] = 1;
        this.live[this.size++] = i;
        return;
      }
      if (this.keys[i] === v) {
        this.counts[i]!++;
        return;
      }
      i = (i + 1) & mask;
    }
  }

  /** Shannon entropy in bits of the histogram of n samples: log2(n) - sum(c log2 c) / n. */
  entropy(n: number): number {
    let sum = 0;
    for (let k = 0; k < this.size; k++) sum += cLog2c(this.counts[this.live[k]!]!);
    return entropyOf(sum, n);
  }
}

/** Shannon entropy in bits of n samples whose counts c give sum(c log2 c). */
function entropyOf(sum: number, n: number): number {
  return Math.max(0, Math.log2(n) - sum / n);
}

/** c * log2(c) for the counts a histogram holds (at most its capacity), computed once. */
const C_LOG2_C = Float64Array.from({ length: SampleHistogram.CAPACITY + 1 }, (_, c) => (c > 0 ? c * Math.log2(c) : 0));
function cLog2c(c: number): number {
  return C_LOG2_C[c]!;
}

const histogram = new SampleHistogram();

const nativeOut = new Float64Array(3);

/** `native`: the twin to use for 32-bit surfaces (default: the addon's, unless disabled); null for the TypeScript loops. */
export function analyseRect(surface: Surface, r: Rect, native: ClassifyNative | null = DEFAULT_NATIVE): RectAnalysis {
  if (r.width === 0 || r.height === 0 || isSolid(surface, r, native)) return { kind: 'solid', colours: 1, entropyBits: 0 };
  const bpp = bytesPerPixel(surface.format);
  const read = pixelReader(surface);
  const w32 = words(surface);
  const mask = colourMask(surface);
  const step = Math.max(1, Math.ceil(Math.sqrt((r.width * r.height) / CLASSIFY_MAX_SAMPLES)));
  // A thin rect (65535x1) samples more than its area suggests: stop where the table is half full.
  const limit = SampleHistogram.CAPACITY >> 1;
  if (w32 && native) {
    native.sampleWords(w32, surface.stride >>> 2, r.x, r.y, r.width, r.height, mask, step, limit, C_LOG2_C, nativeOut);
    return classOf(r, nativeOut[1]!, entropyOf(nativeOut[2]!, nativeOut[0]!));
  }
  histogram.reset();
  let n = 0;
  for (let y = r.y; y < r.y + r.height && n < limit; y += step) {
    // Offset odd rows by half a step so regular patterns (text cells) are not sampled in phase.
    const x0 = r.x + (((y - r.y) / step) & 1 ? step >> 1 : 0);
    const end = r.x + r.width;
    if (w32) {
      const row = y * (surface.stride >>> 2);
      for (let x = x0; x < end && n < limit; x += step, n++) histogram.add((w32[row + x]! & mask) >>> 0);
      continue;
    }
    const row = y * surface.stride;
    for (let x = x0; x < end && n < limit; x += step, n++) histogram.add((read(row + x * bpp) & mask) >>> 0);
  }
  return classOf(r, histogram.size, histogram.entropy(n));
}

function classOf(r: Rect, colours: number, entropy: number): RectAnalysis {
  const photo = colours > PHOTO_MIN_COLOURS && entropy >= PHOTO_MIN_ENTROPY_BITS && r.width * r.height >= PHOTO_MIN_AREA;
  return { kind: photo ? 'photo' : 'palette', colours, entropyBits: entropy };
}
