// True-colour to true-colour pixel conversion, from a surface's format to a client's
// (rfbproto §7.4 PIXEL_FORMAT semantics: pixel = r << redShift | g << greenShift | b << blueShift,
// stored in bitsPerPixel/8 bytes of the given endianness). Pure: arrays in, arrays out.

import type { Rect } from '../../shared/region';
import { bytesPerPixel, type PixelFormat } from './pixel-format';

/** The parts of a Surface conversion reads. */
export interface PixelSource {
  readonly data: Uint8Array;
  readonly stride: number;
  readonly format: PixelFormat;
}

/** Equal as far as the bytes produced are concerned (depth and 8bpp endianness do not matter). */
export function pixelFormatsEqual(a: PixelFormat, b: PixelFormat): boolean {
  return (
    a.bitsPerPixel === b.bitsPerPixel &&
    (a.bitsPerPixel === 8 || a.bigEndian === b.bigEndian) &&
    a.redMax === b.redMax &&
    a.greenMax === b.greenMax &&
    a.blueMax === b.blueMax &&
    a.redShift === b.redShift &&
    a.greenShift === b.greenShift &&
    a.blueShift === b.blueShift
  );
}

/** Bytes needed for a w x h rect in format pf, tightly packed. */
export function packedSize(pf: PixelFormat, width: number, height: number): number {
  return width * height * bytesPerPixel(pf);
}

/**
 * Convert `rect` (already inside the source) to `dst`, tightly packed rows starting at
 * `out[outOffset]`. `out` must hold packedSize(dst, rect.width, rect.height) bytes there.
 */
export function convertRect(src: PixelSource, rect: Rect, dst: PixelFormat, out: Uint8Array, outOffset = 0): void {
  if (rect.width <= 0 || rect.height <= 0) return;
  if (pixelFormatsEqual(src.format, dst)) copyRows(src, rect, out, outOffset);
  else if (isByteShuffle32(src.format, dst)) shuffle32(src, rect, dst, out, outOffset);
  else convertGeneric(src, rect, dst, out, outOffset);
}

/** Same as convertRect but allocates the output. */
export function convertRectToNew(src: PixelSource, rect: Rect, dst: PixelFormat): Uint8Array {
  const out = new Uint8Array(packedSize(dst, rect.width, rect.height));
  convertRect(src, rect, dst, out, 0);
  return out;
}

function copyRows(src: PixelSource, rect: Rect, out: Uint8Array, outOffset: number): void {
  const bpp = bytesPerPixel(src.format);
  const rowBytes = rect.width * bpp;
  if (rowBytes === src.stride) {
    // Whole rows back to back in the source: one copy (a full-width rect, e.g. a 1080p frame).
    const from = rect.y * src.stride;
    out.set(src.data.subarray(from, from + rowBytes * rect.height), outOffset);
    return;
  }
  for (let row = 0; row < rect.height; row++) {
    const from = (rect.y + row) * src.stride + rect.x * bpp;
    out.set(src.data.subarray(from, from + rowBytes), outOffset + row * rowBytes);
  }
}

// 32bpp -> 32bpp with 8-bit channels on byte boundaries: a byte shuffle per pixel.
function isByteShuffle32(a: PixelFormat, b: PixelFormat): boolean {
  const eightBitAligned = (f: PixelFormat): boolean =>
    f.bitsPerPixel === 32 &&
    f.redMax === 255 &&
    f.greenMax === 255 &&
    f.blueMax === 255 &&
    f.redShift % 8 === 0 &&
    f.greenShift % 8 === 0 &&
    f.blueShift % 8 === 0;
  return eightBitAligned(a) && eightBitAligned(b);
}

function byteIndex(f: PixelFormat, shift: number): number {
  return f.bigEndian ? 3 - shift / 8 : shift / 8;
}

function shuffle32(src: PixelSource, rect: Rect, dst: PixelFormat, out: Uint8Array, outOffset: number): void {
  const sf = src.format;
  const sr = byteIndex(sf, sf.redShift);
  const sg = byteIndex(sf, sf.greenShift);
  const sb = byteIndex(sf, sf.blueShift);
  const dr = byteIndex(dst, dst.redShift);
  const dg = byteIndex(dst, dst.greenShift);
  const db = byteIndex(dst, dst.blueShift);
  const data = src.data;
  out.fill(0, outOffset, outOffset + rect.width * rect.height * 4);
  let o = outOffset;
  for (let row = 0; row < rect.height; row++) {
    let i = (rect.y + row) * src.stride + rect.x * 4;
    for (let col = 0; col < rect.width; col++, i += 4, o += 4) {
      out[o + dr] = data[i + sr]!;
      out[o + dg] = data[i + sg]!;
      out[o + db] = data[i + sb]!;
    }
  }
}

interface ChannelTables {
  r: Uint32Array;
  g: Uint32Array;
  b: Uint32Array;
}

const LUT_CACHE_MAX = 16;
const lutCache = new Map<string, ChannelTables>();

function formatKey(f: PixelFormat): string {
  return `${f.redMax}/${f.greenMax}/${f.blueMax}/${f.redShift}/${f.greenShift}/${f.blueShift}`;
}

/** table[c] = c rescaled from srcMax to dstMax, already shifted into place in the dst pixel. */
function channelTable(srcMax: number, dstMax: number, dstShift: number): Uint32Array {
  const t = new Uint32Array(srcMax + 1);
  for (let c = 0; c <= srcMax; c++) {
    t[c] = (Math.floor((c * dstMax + (srcMax >> 1)) / srcMax) << dstShift) >>> 0;
  }
  return t;
}

function tablesFor(s: PixelFormat, d: PixelFormat): ChannelTables {
  const key = `${formatKey(s)}>${formatKey(d)}`;
  let t = lutCache.get(key);
  if (!t) {
    t = {
      r: channelTable(s.redMax, d.redMax, d.redShift),
      g: channelTable(s.greenMax, d.greenMax, d.greenShift),
      b: channelTable(s.blueMax, d.blueMax, d.blueShift),
    };
    if (lutCache.size >= LUT_CACHE_MAX) lutCache.delete(lutCache.keys().next().value as string);
    lutCache.set(key, t);
  }
  return t;
}

type PixelReader = (data: Uint8Array, i: number) => number;
type PixelWriter = (out: Uint8Array, o: number, v: number) => void;

function pixelReader(f: PixelFormat): PixelReader {
  switch (f.bitsPerPixel) {
    case 8:
      return (d, i) => d[i]!;
    case 16:
      return f.bigEndian ? (d, i) => (d[i]! << 8) | d[i + 1]! : (d, i) => d[i]! | (d[i + 1]! << 8);
    case 24:
      return f.bigEndian ? (d, i) => (d[i]! << 16) | (d[i + 1]! << 8) | d[i + 2]! : (d, i) => d[i]! | (d[i + 1]! << 8) | (d[i + 2]! << 16);
    case 32:
      return f.bigEndian
        ? (d, i) => ((d[i]! << 24) | (d[i + 1]! << 16) | (d[i + 2]! << 8) | d[i + 3]!) >>> 0
        : (d, i) => (d[i]! | (d[i + 1]! << 8) | (d[i + 2]! << 16) | (d[i + 3]! << 24)) >>> 0;
  }
}

function pixelWriter(f: PixelFormat): PixelWriter {
  switch (f.bitsPerPixel) {
    case 8:
      return (o, at, v) => {
        o[at] = v;
      };
    case 16:
      return f.bigEndian
        ? (o, at, v) => {
            o[at] = v >>> 8;
            o[at + 1] = v;
          }
        : (o, at, v) => {
            o[at] = v;
            o[at + 1] = v >>> 8;
          };
    case 24:
      return f.bigEndian
        ? (o, at, v) => {
            o[at] = v >>> 16;
            o[at + 1] = v >>> 8;
            o[at + 2] = v;
          }
        : (o, at, v) => {
            o[at] = v;
            o[at + 1] = v >>> 8;
            o[at + 2] = v >>> 16;
          };
    case 32:
      return f.bigEndian
        ? (o, at, v) => {
            o[at] = v >>> 24;
            o[at + 1] = v >>> 16;
            o[at + 2] = v >>> 8;
            o[at + 3] = v;
          }
        : (o, at, v) => {
            o[at] = v;
            o[at + 1] = v >>> 8;
            o[at + 2] = v >>> 16;
            o[at + 3] = v >>> 24;
          };
  }
}

function convertGeneric(src: PixelSource, rect: Rect, dst: PixelFormat, out: Uint8Array, outOffset: number): void {
  const sf = src.format;
  const { r: lr, g: lg, b: lb } = tablesFor(sf, dst);
  const read = pixelReader(sf);
  const write = pixelWriter(dst);
  const sbpp = bytesPerPixel(sf);
  const dbpp = bytesPerPixel(dst);
  const { redShift: rs, greenShift: gs, blueShift: bs, redMax: rm, greenMax: gm, blueMax: bm } = sf;
  const data = src.data;
  let o = outOffset;
  for (let row = 0; row < rect.height; row++) {
    let i = (rect.y + row) * src.stride + rect.x * sbpp;
    for (let col = 0; col < rect.width; col++, i += sbpp, o += dbpp) {
      const v = read(data, i);
      write(out, o, (lr[(v >>> rs) & rm]! | lg[(v >>> gs) & gm]! | lb[(v >>> bs) & bm]!) >>> 0);
    }
  }
}
