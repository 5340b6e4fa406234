// Pixel helpers shared by the encoders. Encoders work on client pixel VALUES (the integer
// rfbproto §7.4 PIXEL_FORMAT describes: r << redShift | g << greenShift | b << blueShift),
// produced from the surface by pixel-convert, and write them back as PIXEL, CPIXEL (ZRLE,
// rfbproto §7.7.6) or TPIXEL (Tight, §7.7.5).

import type { Rect } from '../../../shared/region';
import type { PixelFormat } from '../../display/pixel-format';
import type { Surface } from '../../display/display';
import { bytesPerPixel } from '../../display/pixel-format';
import { convertRectToNew, pixelFormatsEqual } from '../../display/pixel-convert';

/** Is this host little-endian? Then 32 bpp little-endian client bytes are already the values. */
const HOST_LE = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/**
 * The rect's pixels in the client's format, as values, row-major, tightly packed. Read only:
 * it may be a view of the surface's memory.
 */
export function readClientPixels(surface: Surface, rect: Rect, pf: PixelFormat): Uint32Array {
  return pixelValues(readClientBytes(surface, rect, pf), rect.width * rect.height, pf);
}

/** The rect in the client's format both ways: its wire bytes (PIXELs) and their values. Read only, as above. */
export function readClientRect(surface: Surface, rect: Rect, pf: PixelFormat): { bytes: Uint8Array; values: Uint32Array } {
  const bytes = readClientBytes(surface, rect, pf);
  return { bytes, values: pixelValues(bytes, rect.width * rect.height, pf) };
}

/**
 * The rect's client bytes: a view when the surface is a snapshot already in the client's
 * format with the rect's rows back to back (an encode worker's rect, a client in the guest's
 * format: the common case), else a converted copy. The view saves a frame-sized allocation and
 * copy per rect (8 MB per 1080p frame, and the worker's GC of it).
 */
export function readClientBytes(surface: Surface, rect: Rect, pf: PixelFormat): Uint8Array {
  const rowBytes = rect.width * bytesPerPixel(pf);
  if (surface.snapshot && rowBytes === surface.stride && pixelFormatsEqual(surface.format, pf)) {
    const from = rect.y * surface.stride;
    return surface.data.subarray(from, from + rowBytes * rect.height);
  }
  return convertRectToNew(surface, rect, pf);
}

/** Values of n packed client pixels. */
function pixelValues(bytes: Uint8Array, n: number, pf: PixelFormat): Uint32Array {
  // 4-byte aligned (a fresh conversion always is, a snapshot's rect is): view it rather than copy it pixel by pixel.
  if (bytesPerPixel(pf) === 4 && !pf.bigEndian && HOST_LE && bytes.byteOffset % 4 === 0)
    return new Uint32Array(bytes.buffer, bytes.byteOffset, n);
  const out = new Uint32Array(n);
  switch (bytesPerPixel(pf)) {
    case 1:
      for (let i = 0; i < n; i++) out[i] = bytes[i]!;
      break;
    case 2:
      if (pf.bigEndian) for (let i = 0, o = 0; i < n; i++, o += 2) out[i] = (bytes[o]! << 8) | bytes[o + 1]!;
      else for (let i = 0, o = 0; i < n; i++, o += 2) out[i] = bytes[o]! | (bytes[o + 1]! << 8);
      break;
    default:
      if (pf.bigEndian) {
        for (let i = 0, o = 0; i < n; i++, o += 4) {
          out[i] = ((bytes[o]! << 24) | (bytes[o + 1]! << 16) | (bytes[o + 2]! << 8) | bytes[o + 3]!) >>> 0;
        }
      } else {
        for (let i = 0, o = 0; i < n; i++, o += 4) {
          out[i] = (bytes[o]! | (bytes[o + 1]! << 8) | (bytes[o + 2]! << 16) | (bytes[o + 3]! << 24)) >>> 0;
        }
      }
  }
  return out;
}

/** Writes one pixel value at out[o] in some wire form: byte k is `v >>> shifts[k]`. */
export interface PixelPacker {
  readonly size: number;
  readonly shifts: readonly number[];
  put(out: Uint8Array, o: number, v: number): void;
}

/** The packer whose byte k is `v >>> shifts[k]` (1 to 4 bytes). */
function bytePacker(shifts: readonly number[]): PixelPacker {
  const [s0 = 0, s1 = 0, s2 = 0, s3 = 0] = shifts;
  const size = shifts.length;
  switch (size) {
    case 1:
      return { size, shifts, put: (out, o, v) => void (out[o] = v >>> s0) };
    case 2:
      return { size, shifts, put: (out, o, v) => void ((out[o] = v >>> s0), (out[o + 1] = v >>> s1)) };
    case 3:
      return { size, shifts, put: (out, o, v) => void ((out[o] = v >>> s0), (out[o + 1] = v >>> s1), (out[o + 2] = v >>> s2)) };
    default:
      return {
        size,
        shifts,
        put: (out, o, v) => void ((out[o] = v >>> s0), (out[o + 1] = v >>> s1), (out[o + 2] = v >>> s2), (out[o + 3] = v >>> s3)),
      };
  }
}

/** Full PIXEL: bitsPerPixel/8 bytes in the client's byte order. */
export function pixelPacker(pf: PixelFormat): PixelPacker {
  switch (bytesPerPixel(pf)) {
    case 1:
      return bytePacker([0]);
    case 2:
      return bytePacker(pf.bigEndian ? [8, 0] : [0, 8]);
    default:
      return bytePacker(pf.bigEndian ? [24, 16, 8, 0] : [0, 8, 16, 24]);
  }
}

function colourMask(pf: PixelFormat): number {
  return ((pf.redMax << pf.redShift) | (pf.greenMax << pf.greenShift) | (pf.blueMax << pf.blueShift)) >>> 0;
}

/**
 * ZRLE CPIXEL (rfbproto §7.7.6): 3 bytes when true colour, 32 bpp, depth <= 24 and every
 * colour bit sits in the 3 least or the 3 most significant bytes; those 3 bytes go in wire
 * order. When both fit, the first three wire bytes are used, as libvncclient's zrle.c
 * decides (LE: low bytes first; BE: high bytes first).
 */
export function cpixelPacker(pf: PixelFormat): PixelPacker {
  if (!(pf.bitsPerPixel === 32 && pf.depth <= 24)) return pixelPacker(pf);
  const mask = colourMask(pf);
  const fitsLow = (mask & 0xff000000) === 0;
  const fitsHigh = (mask & 0xff) === 0;
  const low = bytePacker(pf.bigEndian ? [16, 8, 0] : [0, 8, 16]);
  const high = bytePacker(pf.bigEndian ? [24, 16, 8] : [8, 16, 24]);
  if (pf.bigEndian) return fitsHigh ? high : fitsLow ? low : pixelPacker(pf);
  return fitsLow ? low : fitsHigh ? high : pixelPacker(pf);
}

/** Tight TPIXEL (rfbproto §7.7.5) is R, G, B bytes whatever the shifts, in this case only. */
export function isTight24(pf: PixelFormat): boolean {
  return pf.bitsPerPixel === 32 && pf.depth === 24 && pf.redMax === 255 && pf.greenMax === 255 && pf.blueMax === 255;
}

export function tpixelPacker(pf: PixelFormat): PixelPacker {
  if (!isTight24(pf)) return pixelPacker(pf);
  return bytePacker([pf.redShift, pf.greenShift, pf.blueShift]);
}

/** Pack values[from..to) with `packer`. */
export function packPixels(values: ArrayLike<number>, packer: PixelPacker): Uint8Array {
  const out = new Uint8Array(values.length * packer.size);
  for (let i = 0, o = 0; i < values.length; i++, o += packer.size) packer.put(out, o, values[i]!);
  return out;
}

/**
 * Pack values[from..to) into out at o, with the shifts inlined (no call per pixel: the raw
 * tiles of ZRLE pack 4096 pixels each); returns the offset after them.
 */
export function packRange(values: Uint32Array, from: number, to: number, packer: PixelPacker, out: Uint8Array, o: number): number {
  const [s0 = 0, s1 = 0, s2 = 0, s3 = 0] = packer.shifts;
  switch (packer.size) {
    case 3:
      for (let i = from; i < to; i++, o += 3) {
        const v = values[i]!;
        out[o] = v >>> s0;
        out[o + 1] = v >>> s1;
        out[o + 2] = v >>> s2;
      }
      return o;
    case 4:
      for (let i = from; i < to; i++, o += 4) {
        const v = values[i]!;
        out[o] = v >>> s0;
        out[o + 1] = v >>> s1;
        out[o + 2] = v >>> s2;
        out[o + 3] = v >>> s3;
      }
      return o;
    default:
      for (let i = from; i < to; i++, o += packer.size) packer.put(out, o, values[i]!);
      return o;
  }
}

export interface Palette {
  /** Distinct colours, most frequent first. */
  colours: number[];
  /** colour -> index in `colours`. */
  index: Map<number, number>;
}

/** The distinct colours of `px`, or null once there are more than `max`. */
export function buildPalette(px: Uint32Array, max: number): Palette | null {
  const counts = new Map<number, number>();
  let prev = -1;
  let run = 0;
  for (let i = 0; i < px.length; i++) {
    const v = px[i]!;
    if (v === prev) {
      run++;
      continue;
    }
    if (run > 0) counts.set(prev, (counts.get(prev) ?? 0) + run);
    if (!counts.has(v) && counts.size >= max) return null;
    prev = v;
    run = 1;
  }
  if (run > 0) counts.set(prev, (counts.get(prev) ?? 0) + run);
  const colours = [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([c]) => c);
  return { colours, index: new Map(colours.map((c, i) => [c, i])) };
}

/**
 * Cover every pixel that differs from `bg` with single-colour rectangles, greedily: the
 * widest run of one colour from the first uncovered pixel, grown down while rows match.
 */
export interface SubRect {
  colour: number;
  x: number;
  y: number;
  w: number;
  h: number;
}

export function findSubrects(px: Uint32Array, width: number, height: number, bg: number, limit: number): SubRect[] | null {
  const covered = new Uint8Array(px.length);
  const out: SubRect[] = [];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const c = px[i]!;
      if (c === bg || covered[i]) continue;
      let w = 1;
      while (x + w < width && px[i + w] === c && !covered[i + w]) w++;
      let h = 1;
      grow: while (y + h < height) {
        const rowStart = (y + h) * width + x;
        for (let k = 0; k < w; k++) if (px[rowStart + k] !== c || covered[rowStart + k]) break grow;
        h++;
      }
      for (let r = 0; r < h; r++) covered.fill(1, (y + r) * width + x, (y + r) * width + x + w);
      out.push({ colour: c, x, y, w, h });
      if (out.length > limit) return null;
    }
  }
  return out;
}
