// The encoder tests' view of the client-side decoders: a thin adapter over the project's one
// RFB decoder implementation (shared/rfb/, written from rfbproto §7.7 and sharing no code
// with backend/vnc/encoders). Each call decodes one rect into a fresh framebuffer and returns
// its pixel values, how many bytes it used and, for JPEG/PNG rects, the RGBA decoded.

import { ByteReader } from '../../../../shared/bytes';
import { Framebuffer } from '../../../../shared/rfb/framebuffer';
import { InflateStream } from '../../../../shared/rfb/inflate-stream';
import { RfbEncodingNumber } from '../../../../shared/rfb/encodings';
import { RfbRectDecoder } from '../../../../shared/rfb/decoders';
import { decodeTight as tight } from '../../../../shared/rfb/decoders/tight';
import { decodeZlib as zlibRect, decodeZrle as zrleRect } from '../../../../shared/rfb/decoders/zrle';
import { readPixel, type RfbPixelFormat } from '../../../../shared/rfb/pixel-format';
import type { PixelFormat } from '../../../../backend/display/pixel-format';

export { readPixel };
/** A client's zlib stream (one per Zlib/ZRLE connection, four for Tight). */
export { InflateStream as Inflater };

export interface Decoded {
  pixels: Uint32Array;
  used: number;
  /** Set for lossy/PNG rects: RGBA as decoded, the test compares with a tolerance. */
  rgba?: Uint8Array;
}

function run(b: Uint8Array, w: number, h: number, pf: PixelFormat, draw: (r: ByteReader, fb: Framebuffer) => void): Decoded {
  const fb = new Framebuffer(w, h, pf as RfbPixelFormat);
  const r = new ByteReader(b);
  draw(r, fb);
  const pixels = new Uint32Array(w * h);
  for (let i = 0; i < w * h; i++) pixels[i] = readPixel(fb.pixels, i * fb.bpp, pf);
  return { pixels, used: r.offset };
}

function simple(encoding: number): (b: Uint8Array, w: number, h: number, pf: PixelFormat) => Decoded {
  return (b, w, h, pf) =>
    run(b, w, h, pf, (r, fb) => new RfbRectDecoder().decodeRect(r, { x: 0, y: 0, width: w, height: h }, encoding, fb));
}

export const decodeRaw = simple(RfbEncodingNumber.Raw);
export const decodeRre = simple(RfbEncodingNumber.RRE);
export const decodeHextile = simple(RfbEncodingNumber.Hextile);

export function decodeZlib(b: Uint8Array, w: number, h: number, pf: PixelFormat, inf: InflateStream): Decoded {
  return run(b, w, h, pf, (r, fb) => zlibRect(r, { x: 0, y: 0, width: w, height: h }, fb, inf));
}

export function decodeZrle(b: Uint8Array, w: number, h: number, pf: PixelFormat, inf: InflateStream): Decoded {
  return run(b, w, h, pf, (r, fb) => zrleRect(r, { x: 0, y: 0, width: w, height: h }, fb, inf));
}

/** Tight and TightPNG. `inf` are the client's four streams (missing ones are created). */
export function decodeTight(b: Uint8Array, w: number, h: number, pf: PixelFormat, inf: InflateStream[], png = false): Decoded {
  for (let i = 0; i < 4; i++) inf[i] ??= new InflateStream();
  const st = { streams: inf, lastImage: null as Uint8Array | null };
  const d = run(b, w, h, pf, (r, fb) => tight(r, { x: 0, y: 0, width: w, height: h }, fb, st, png));
  return st.lastImage ? { ...d, rgba: st.lastImage } : d;
}
