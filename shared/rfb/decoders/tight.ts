// Tight (rfbproto §7.7.7) and TightPNG (-260): u8 control | ...
//   control bits 0-3: reset zlib stream 0-3; bits 4-7: 8 fill, 9 JPEG, 10 PNG (TightPNG only),
//   else basic: bits 4-5 stream id, bit 6 "u8 filter-id follows" (0 copy, 1 palette, 2 gradient).
//   Fill: TPIXEL.  JPEG/PNG: compact length | image.  Palette: u8 n-1 | n TPIXELs | indices.
//   Data shorter than 12 bytes is sent as is, longer as compact length | zlib bytes.

import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import type { ByteReader } from '../../bytes';
import { xerror } from '../../errors';
import type { Rect } from '../../region';
import type { Framebuffer } from '../framebuffer';
import type { InflateStream } from '../inflate-stream';
import { readPixel, rgbToPixel, type RfbPixelFormat } from '../pixel-format';

/** rfbproto §7.7.7: Tight rects are at most 2048 pixels wide. */
export const TIGHT_MAX_WIDTH = 2048;
/** Below this many bytes, data goes uncompressed. */
const TIGHT_MIN_TO_COMPRESS = 12;

const FILL = 8;
const JPEG = 9;
const PNG_KIND = 10;
const FILTER_COPY = 0;
const FILTER_PALETTE = 1;
const FILTER_GRADIENT = 2;

/** TPIXEL: R, G, B bytes for 32bpp depth 24 with 255 maxes, else a PIXEL. */
export function tpixelReader(pf: RfbPixelFormat): { size: number; read: (b: Uint8Array, o: number) => number } {
  if (pf.bitsPerPixel === 32 && pf.depth === 24 && pf.redMax === 255 && pf.greenMax === 255 && pf.blueMax === 255) {
    return { size: 3, read: (b, o) => ((b[o]! << pf.redShift) | (b[o + 1]! << pf.greenShift) | (b[o + 2]! << pf.blueShift)) >>> 0 };
  }
  return { size: pf.bitsPerPixel >> 3, read: (b, o) => readPixel(b, o, pf) };
}

/** The 1-3 byte compact length (7 bits per byte, low first; at most 22 bits). */
export function readCompactLength(r: ByteReader): number {
  let b = r.u8();
  let n = b & 0x7f;
  if (b & 0x80) {
    b = r.u8();
    n |= (b & 0x7f) << 7;
    if (b & 0x80) n |= r.u8() << 14;
  }
  return n;
}

export interface TightState {
  streams: InflateStream[];
  /** RGBA of the last JPEG/PNG rect (tests compare lossy output with a tolerance). */
  lastImage: Uint8Array | null;
}

export function decodeTight(r: ByteReader, rect: Rect, fb: Framebuffer, st: TightState, png: boolean): void {
  const ctl = r.u8();
  for (let i = 0; i < 4; i++) if (ctl & (1 << i)) st.streams[i]!.reset();
  const kind = ctl >> 4;
  const tp = tpixelReader(fb.format);
  st.lastImage = null;
  if (kind === FILL) {
    fb.fill(rect.x, rect.y, rect.width, rect.height, tp.read(r.bytesView(tp.size), 0));
    return;
  }
  if (kind === JPEG || (png && kind === PNG_KIND)) {
    const img = r.bytesView(readCompactLength(r));
    const rgba = kind === JPEG ? decodeJpeg(img, rect) : decodePng(img, rect);
    st.lastImage = rgba;
    const values = new Uint32Array(rect.width * rect.height);
    for (let i = 0; i < values.length; i++) values[i] = rgbToPixel(rgba[i * 4]!, rgba[i * 4 + 1]!, rgba[i * 4 + 2]!, fb.format);
    fb.putValues(rect.x, rect.y, rect.width, rect.height, values);
    return;
  }
  if (kind > 7 || png) throw xerror('RFB_E_DECODE', `Tight control byte 0x${ctl.toString(16)} is not defined${png ? ' in TightPNG' : ''}`);
  if (rect.width > TIGHT_MAX_WIDTH) throw xerror('RFB_E_DECODE', `Tight rect ${rect.width} wide exceeds TIGHT_MAX_WIDTH`);
  const filter = kind & 4 ? r.u8() : FILTER_COPY;
  const pal: number[] = [];
  if (filter === FILTER_PALETTE) {
    const n = r.u8() + 1;
    const raw = r.bytesView(n * tp.size);
    for (let i = 0; i < n; i++) pal.push(tp.read(raw, i * tp.size));
  } else if (filter !== FILTER_COPY && filter !== FILTER_GRADIENT) throw xerror('RFB_E_DECODE', `Tight filter ${filter} is not defined`);
  const mono = filter === FILTER_PALETTE && pal.length <= 2;
  const rowBytes = (rect.width + 7) >> 3;
  const size = filter === FILTER_PALETTE ? (mono ? rowBytes * rect.height : rect.width * rect.height) : rect.width * rect.height * tp.size;
  const data = size < TIGHT_MIN_TO_COMPRESS ? r.bytesView(size) : st.streams[kind & 3]!.take(r.bytesView(readCompactLength(r)), size);
  const px = new Uint32Array(rect.width * rect.height);
  if (filter === FILTER_PALETTE) {
    for (let y = 0; y < rect.height; y++) {
      for (let x = 0; x < rect.width; x++) {
        const idx = mono ? (data[y * rowBytes + (x >> 3)]! >> (7 - (x & 7))) & 1 : data[y * rect.width + x]!;
        if (idx >= pal.length) throw xerror('RFB_E_DECODE', `Tight palette index ${idx} of ${pal.length}`);
        px[y * rect.width + x] = pal[idx]!;
      }
    }
  } else {
    for (let i = 0; i < px.length; i++) px[i] = tp.read(data, i * tp.size);
    if (filter === FILTER_GRADIENT) ungradient(px, rect.width, fb.format);
  }
  fb.putValues(rect.x, rect.y, rect.width, rect.height, px);
}

/** Undo the gradient filter: each channel = its residual + clamp(left + up - up-left). */
function ungradient(px: Uint32Array, w: number, pf: RfbPixelFormat): void {
  const ch: Array<[number, number]> = [
    [pf.redShift, pf.redMax],
    [pf.greenShift, pf.greenMax],
    [pf.blueShift, pf.blueMax],
  ];
  const comp = (v: number, c: number): number => Math.floor(v / 2 ** ch[c]![0]) & ch[c]![1];
  for (let i = 0; i < px.length; i++) {
    const x = i % w;
    let v = 0;
    for (let c = 0; c < 3; c++) {
      const left = x > 0 ? comp(px[i - 1]!, c) : 0;
      const up = i >= w ? comp(px[i - w]!, c) : 0;
      const ul = x > 0 && i >= w ? comp(px[i - w - 1]!, c) : 0;
      const p = Math.min(ch[c]![1], Math.max(0, left + up - ul));
      v += ((p + comp(px[i]!, c)) & ch[c]![1]) * 2 ** ch[c]![0];
    }
    px[i] = v;
  }
}

function decodeJpeg(img: Uint8Array, rect: Rect): Uint8Array {
  let out: { width: number; height: number; data: Uint8Array };
  try {
    out = jpeg.decode(img, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: 70, maxMemoryUsageInMB: 512 });
  } catch (e) {
    throw xerror('RFB_E_DECODE', `Tight JPEG does not decode: ${(e as Error).message}`);
  }
  if (out.width !== rect.width || out.height !== rect.height)
    throw xerror('RFB_E_DECODE', `Tight JPEG is ${out.width}x${out.height}, rect ${rect.width}x${rect.height}`);
  return out.data;
}

function decodePng(img: Uint8Array, rect: Rect): Uint8Array {
  let out: PNG;
  try {
    out = PNG.sync.read(Buffer.from(img));
  } catch (e) {
    throw xerror('RFB_E_DECODE', `TightPNG image does not decode: ${(e as Error).message}`);
  }
  if (out.width !== rect.width || out.height !== rect.height)
    throw xerror('RFB_E_DECODE', `TightPNG image is ${out.width}x${out.height}, rect ${rect.width}x${rect.height}`);
  return new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.length);
}
