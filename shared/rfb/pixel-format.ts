// The RFB true-colour pixel format (rfbproto §7.4 PIXEL_FORMAT) as the pure decoders and the
// capture format use it: structurally the backend's neutral PixelFormat
// (backend/display/pixel-format.ts), so either can be passed where the other is expected.
// Colour maps are not supported: decoded formats are always true colour.

import { xerror } from '../errors';

export interface RfbPixelFormat {
  bitsPerPixel: 8 | 16 | 24 | 32;
  depth: number;
  bigEndian: boolean;
  /** Absent means true colour; false (a colour-map format) is refused by checkPixelFormat. */
  trueColour?: boolean;
  redMax: number;
  greenMax: number;
  blueMax: number;
  redShift: number;
  greenShift: number;
  blueShift: number;
}

/** Size of PIXEL_FORMAT on the RFB wire (rfbproto §7.4). */
export const RFB_PIXEL_FORMAT_SIZE = 16;

// u8 bits-per-pixel | u8 depth | u8 big-endian-flag | u8 true-colour-flag | u16be red-max |
// u16be green-max | u16be blue-max | u8 red-shift | u8 green-shift | u8 blue-shift | u8 pad[3]
export function decodeRfbPixelFormat(b: Uint8Array, o = 0): RfbPixelFormat {
  if (b.length < o + RFB_PIXEL_FORMAT_SIZE) throw xerror('RFB_E_DECODE', 'PIXEL_FORMAT needs 16 bytes');
  const dv = new DataView(b.buffer, b.byteOffset + o, RFB_PIXEL_FORMAT_SIZE);
  if (dv.getUint8(3) === 0) throw xerror('RFB_E_UNSUPPORTED', 'PIXEL_FORMAT uses a colour map: only true colour is decoded');
  const pf: RfbPixelFormat = {
    bitsPerPixel: dv.getUint8(0) as RfbPixelFormat['bitsPerPixel'],
    depth: dv.getUint8(1),
    bigEndian: dv.getUint8(2) !== 0,
    redMax: dv.getUint16(4),
    greenMax: dv.getUint16(6),
    blueMax: dv.getUint16(8),
    redShift: dv.getUint8(10),
    greenShift: dv.getUint8(11),
    blueShift: dv.getUint8(12),
  };
  checkPixelFormat(pf);
  return pf;
}

export function encodeRfbPixelFormat(pf: RfbPixelFormat): Uint8Array {
  const out = new Uint8Array(RFB_PIXEL_FORMAT_SIZE);
  const dv = new DataView(out.buffer);
  dv.setUint8(0, pf.bitsPerPixel);
  dv.setUint8(1, pf.depth);
  dv.setUint8(2, pf.bigEndian ? 1 : 0);
  dv.setUint8(3, pf.trueColour === false ? 0 : 1);
  dv.setUint16(4, pf.redMax);
  dv.setUint16(6, pf.greenMax);
  dv.setUint16(8, pf.blueMax);
  dv.setUint8(10, pf.redShift);
  dv.setUint8(11, pf.greenShift);
  dv.setUint8(12, pf.blueShift);
  return out;
}

/** The decoders handle true colour at 8, 16 or 32 bpp with maxes of the form 2^n - 1. */
export function checkPixelFormat(pf: RfbPixelFormat): void {
  const okBpp = pf.bitsPerPixel === 8 || pf.bitsPerPixel === 16 || pf.bitsPerPixel === 32;
  const okMax = (m: number, s: number): boolean => m > 0 && (m & (m + 1)) === 0 && s < pf.bitsPerPixel && m * 2 ** s < 2 ** pf.bitsPerPixel;
  if (!okBpp || pf.trueColour === false) {
    throw xerror(
      'RFB_E_UNSUPPORTED',
      `pixel format ${pf.bitsPerPixel} bpp, true colour ${pf.trueColour !== false}: only true colour at 8/16/32 bpp`,
    );
  }
  if (!okMax(pf.redMax, pf.redShift) || !okMax(pf.greenMax, pf.greenShift) || !okMax(pf.blueMax, pf.blueShift)) {
    throw xerror('RFB_E_UNSUPPORTED', 'pixel format colour maxes/shifts do not fit the pixel size');
  }
}

export function bytesPerPixel(pf: RfbPixelFormat): number {
  return pf.bitsPerPixel >> 3;
}

/** Read one pixel value of format pf at b[o]. */
export function readPixel(b: Uint8Array, o: number, pf: RfbPixelFormat): number {
  switch (pf.bitsPerPixel) {
    case 8:
      return b[o]!;
    case 16:
      return pf.bigEndian ? (b[o]! << 8) | b[o + 1]! : b[o]! | (b[o + 1]! << 8);
    default:
      return pf.bigEndian
        ? ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0
        : (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
  }
}

/** Write one pixel value of format pf at b[o]. */
export function writePixel(b: Uint8Array, o: number, pf: RfbPixelFormat, v: number): void {
  const n = pf.bitsPerPixel >> 3;
  for (let k = 0; k < n; k++) {
    const shift = 8 * (pf.bigEndian ? n - 1 - k : k);
    b[o + k] = (v >>> shift) & 0xff;
  }
}

/** 8-bit R, G, B of a pixel value (each channel scaled from its max). */
export function pixelToRgb(v: number, pf: RfbPixelFormat): [number, number, number] {
  const ch = (max: number, shift: number): number => Math.round((((v >>> shift) & max) * 255) / max);
  return [ch(pf.redMax, pf.redShift), ch(pf.greenMax, pf.greenShift), ch(pf.blueMax, pf.blueShift)];
}

/** A pixel value of format pf from 8-bit R, G, B (rounded to each channel's max). */
export function rgbToPixel(r: number, g: number, b: number, pf: RfbPixelFormat): number {
  const ch = (c: number, max: number, shift: number): number => Math.round((c * max) / 255) * 2 ** shift;
  return ch(r, pf.redMax, pf.redShift) + ch(g, pf.greenMax, pf.greenShift) + ch(b, pf.blueMax, pf.blueShift);
}

export function pixelFormatsEqual(a: RfbPixelFormat, b: RfbPixelFormat): boolean {
  return (
    a.bitsPerPixel === b.bitsPerPixel &&
    (a.bitsPerPixel === 8 || a.bigEndian === b.bigEndian) &&
    (a.trueColour !== false) === (b.trueColour !== false) &&
    a.redMax === b.redMax &&
    a.greenMax === b.greenMax &&
    a.blueMax === b.blueMax &&
    a.redShift === b.redShift &&
    a.greenShift === b.greenShift &&
    a.blueShift === b.blueShift
  );
}
