// Client-side reference decoders for the encoder tests, written from rfbproto §7.7 alone and
// sharing no code with backend/vnc/encoders: each turns one rect's bytes back into client
// pixel values (or RGB for JPEG/PNG) and says how many bytes it used.

import * as zlib from 'node:zlib';
import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import type { PixelFormat } from '../../../../backend/display/pixel-format';

export interface Decoded {
  pixels: Uint32Array;
  used: number;
  /** Set for lossy/PNG rects: RGBA as decoded, the test compares with a tolerance. */
  rgba?: Uint8Array;
}

/** A client inflater: concatenates compressed bytes and hands out the new output. */
export class Inflater {
  private input: Buffer = Buffer.alloc(0);
  private produced = 0;
  take(z: Uint8Array): Buffer {
    this.input = Buffer.concat([this.input, z]);
    const all = zlib.inflateSync(this.input, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    const fresh = all.subarray(this.produced);
    this.produced = all.length;
    return fresh;
  }
}

export function readPixel(b: Uint8Array, o: number, pf: PixelFormat): number {
  const bpp = pf.bitsPerPixel / 8;
  let v = 0;
  for (let k = 0; k < bpp; k++) v = pf.bigEndian ? v * 256 + b[o + k]! : v + b[o + k]! * 2 ** (8 * k);
  return v;
}

function mask(pf: PixelFormat): number {
  return pf.redMax * 2 ** pf.redShift + pf.greenMax * 2 ** pf.greenShift + pf.blueMax * 2 ** pf.blueShift;
}

/** ZRLE CPIXEL size and reader (3 bytes: the first three wire bytes when they hold all colour bits). */
export function cpixel(pf: PixelFormat): { size: number; read: (b: Uint8Array, o: number) => number } {
  const m = mask(pf);
  const low = m < 2 ** 24;
  const high = m % 256 === 0;
  if (pf.bitsPerPixel === 32 && pf.depth <= 24 && (low || high)) {
    // Rebuild the 4 wire bytes with the missing one as zero, then read a normal pixel.
    const firstThree = pf.bigEndian ? high : low;
    return {
      size: 3,
      read: (b, o) => {
        const four = firstThree ? [b[o]!, b[o + 1]!, b[o + 2]!, 0] : [0, b[o]!, b[o + 1]!, b[o + 2]!];
        return readPixel(Uint8Array.from(four), 0, pf);
      },
    };
  }
  return { size: pf.bitsPerPixel / 8, read: (b, o) => readPixel(b, o, pf) };
}

/** Tight TPIXEL: R, G, B for 32bpp depth 24 with 255 maxes. */
export function tpixel(pf: PixelFormat): { size: number; read: (b: Uint8Array, o: number) => number } {
  if (pf.bitsPerPixel === 32 && pf.depth === 24 && pf.redMax === 255 && pf.greenMax === 255 && pf.blueMax === 255) {
    return { size: 3, read: (b, o) => b[o]! * 2 ** pf.redShift + b[o + 1]! * 2 ** pf.greenShift + b[o + 2]! * 2 ** pf.blueShift };
  }
  return { size: pf.bitsPerPixel / 8, read: (b, o) => readPixel(b, o, pf) };
}

export function decodeRaw(b: Uint8Array, w: number, h: number, pf: PixelFormat): Decoded {
  const bpp = pf.bitsPerPixel / 8;
  const pixels = new Uint32Array(w * h);
  for (let i = 0; i < w * h; i++) pixels[i] = readPixel(b, i * bpp, pf);
  return { pixels, used: w * h * bpp };
}

export function decodeRre(b: Uint8Array, w: number, h: number, pf: PixelFormat): Decoded {
  const bpp = pf.bitsPerPixel / 8;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const n = dv.getUint32(0);
  const pixels = new Uint32Array(w * h).fill(readPixel(b, 4, pf));
  let o = 4 + bpp;
  for (let i = 0; i < n; i++, o += bpp + 8) {
    const c = readPixel(b, o, pf);
    const [x, y, sw, sh] = [0, 2, 4, 6].map((k) => dv.getUint16(o + bpp + k)) as [number, number, number, number];
    if (x + sw > w || y + sh > h) throw new Error('RRE subrect outside the rect');
    for (let yy = y; yy < y + sh; yy++) pixels.fill(c, yy * w + x, yy * w + x + sw);
  }
  return { pixels, used: o };
}

export function decodeHextile(b: Uint8Array, w: number, h: number, pf: PixelFormat): Decoded {
  const bpp = pf.bitsPerPixel / 8;
  const pixels = new Uint32Array(w * h);
  let o = 0;
  let bg: number | undefined;
  let fg: number | undefined;
  for (let ty = 0; ty < h; ty += 16) {
    for (let tx = 0; tx < w; tx += 16) {
      const tw = Math.min(16, w - tx);
      const th = Math.min(16, h - ty);
      const m = b[o++]!;
      if (m & 1) {
        for (let y = 0; y < th; y++) for (let x = 0; x < tw; x++, o += bpp) pixels[(ty + y) * w + tx + x] = readPixel(b, o, pf);
        bg = fg = undefined;
        continue;
      }
      if (m & 2) {
        bg = readPixel(b, o, pf);
        o += bpp;
      }
      if (m & 4) {
        fg = readPixel(b, o, pf);
        o += bpp;
      }
      if (bg === undefined) throw new Error('hextile tile without a background');
      for (let y = 0; y < th; y++) pixels.fill(bg, (ty + y) * w + tx, (ty + y) * w + tx + tw);
      if (!(m & 8)) continue;
      const n = b[o++]!;
      for (let i = 0; i < n; i++) {
        if (m & 16) {
          fg = readPixel(b, o, pf);
          o += bpp;
        }
        if (fg === undefined) throw new Error('hextile subrect without a foreground');
        const [xy, wh] = [b[o++]!, b[o++]!];
        const [sx, sy, sw, sh] = [xy >> 4, xy & 15, (wh >> 4) + 1, (wh & 15) + 1];
        if (sx + sw > tw || sy + sh > th) throw new Error('hextile subrect outside its tile');
        for (let y = sy; y < sy + sh; y++) pixels.fill(fg, (ty + y) * w + tx + sx, (ty + y) * w + tx + sx + sw);
      }
    }
  }
  return { pixels, used: o };
}

export function decodeZlib(b: Uint8Array, w: number, h: number, pf: PixelFormat, inf: Inflater): Decoded {
  const len = new DataView(b.buffer, b.byteOffset).getUint32(0);
  const data = inf.take(b.subarray(4, 4 + len));
  if (data.length !== w * h * (pf.bitsPerPixel / 8)) throw new Error(`zlib: ${data.length} bytes inflated`);
  return { pixels: decodeRaw(data, w, h, pf).pixels, used: 4 + len };
}

function runLength(d: Uint8Array, at: { o: number }): number {
  let len = 1;
  let v: number;
  do {
    v = d[at.o++]!;
    len += v;
  } while (v === 255);
  return len;
}

export function decodeZrle(b: Uint8Array, w: number, h: number, pf: PixelFormat, inf: Inflater): Decoded {
  const len = new DataView(b.buffer, b.byteOffset).getUint32(0);
  const d = inf.take(b.subarray(4, 4 + len));
  const cp = cpixel(pf);
  const pixels = new Uint32Array(w * h);
  const at = { o: 0 };
  for (let ty = 0; ty < h; ty += 64) {
    for (let tx = 0; tx < w; tx += 64) {
      const tw = Math.min(64, w - tx);
      const th = Math.min(64, h - ty);
      const tile: number[] = [];
      const sub = d[at.o++]!;
      const pal: number[] = [];
      const palSize = sub >= 2 && sub <= 16 ? sub : sub >= 130 ? sub - 128 : sub === 1 ? 1 : 0;
      for (let i = 0; i < palSize; i++, at.o += cp.size) pal.push(cp.read(d, at.o));
      if (sub === 0) for (let i = 0; i < tw * th; i++, at.o += cp.size) tile.push(cp.read(d, at.o));
      else if (sub === 1) for (let i = 0; i < tw * th; i++) tile.push(pal[0]!);
      else if (sub <= 16) {
        const bits = sub <= 2 ? 1 : sub <= 4 ? 2 : 4;
        const rowBytes = Math.ceil((tw * bits) / 8);
        for (let y = 0; y < th; y++) {
          for (let x = 0; x < tw; x++) {
            const byte = d[at.o + y * rowBytes + ((x * bits) >> 3)]!;
            tile.push(pal[(byte >> (8 - bits - ((x * bits) & 7))) & ((1 << bits) - 1)]!);
          }
        }
        at.o += rowBytes * th;
      } else if (sub === 128) {
        while (tile.length < tw * th) {
          const c = cp.read(d, at.o);
          at.o += cp.size;
          const n = runLength(d, at);
          for (let i = 0; i < n; i++) tile.push(c);
        }
      } else if (sub >= 130) {
        while (tile.length < tw * th) {
          const idx = d[at.o++]!;
          const n = idx & 0x80 ? runLength(d, at) : 1;
          for (let i = 0; i < n; i++) tile.push(pal[idx & 0x7f]!);
        }
      } else throw new Error(`ZRLE subencoding ${sub}`);
      if (tile.length !== tw * th) throw new Error('ZRLE tile overrun');
      tile.forEach((c, i) => (pixels[(ty + Math.floor(i / tw)) * w + tx + (i % tw)] = c));
    }
  }
  if (at.o !== d.length) throw new Error(`ZRLE: ${d.length - at.o} bytes left over`);
  return { pixels, used: 4 + len };
}

function compactLen(b: Uint8Array, at: { o: number }): number {
  let n = b[at.o] & 0x7f;
  if (b[at.o++]! & 0x80) {
    n |= (b[at.o] & 0x7f) << 7;
    if (b[at.o++]! & 0x80) n |= b[at.o++]! << 14;
  }
  return n;
}

/** Tight and TightPNG. `inf` are the client's four inflaters (reset per the control byte). */
export function decodeTight(b: Uint8Array, w: number, h: number, pf: PixelFormat, inf: Inflater[], png = false): Decoded {
  const at = { o: 0 };
  const ctl = b[at.o++]!;
  for (let i = 0; i < 4; i++) if (ctl & (1 << i)) inf[i] = new Inflater();
  const kind = ctl >> 4;
  const tp = tpixel(pf);
  if (kind === 8) {
    const c = tp.read(b, at.o);
    return { pixels: new Uint32Array(w * h).fill(c), used: at.o + tp.size };
  }
  if (kind === 9 || (png && kind === 10)) {
    const n = compactLen(b, at);
    const img = b.subarray(at.o, at.o + n);
    const rgba = kind === 9 ? jpeg.decode(img, { useTArray: true }).data : PNG.sync.read(Buffer.from(img)).data;
    return { pixels: new Uint32Array(0), used: at.o + n, rgba: new Uint8Array(rgba) };
  }
  if (kind > 7 || png) throw new Error(`bad tight control ${ctl.toString(16)}`);
  const stream = kind & 3;
  const filter = kind & 4 ? b[at.o++]! : 0;
  const pal: number[] = [];
  if (filter === 1) {
    const n = b[at.o++]! + 1;
    for (let i = 0; i < n; i++, at.o += tp.size) pal.push(tp.read(b, at.o));
  }
  const rowBytes = filter === 1 && pal.length === 2 ? (w + 7) >> 3 : 0;
  const size = filter === 1 ? (pal.length === 2 ? rowBytes * h : w * h) : w * h * tp.size;
  let data: Uint8Array;
  if (size < 12) {
    data = b.subarray(at.o, at.o + size);
    at.o += size;
  } else {
    const n = compactLen(b, at);
    data = inf[stream]!.take(b.subarray(at.o, at.o + n));
    at.o += n;
  }
  if (data.length !== size) throw new Error(`tight: ${data.length} bytes, want ${size}`);
  const pixels = new Uint32Array(w * h);
  if (filter === 1) {
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        pixels[y * w + x] = pal.length === 2 ? pal[(data[y * rowBytes + (x >> 3)]! >> (7 - (x & 7))) & 1]! : pal[data[y * w + x]!]!;
  } else {
    for (let i = 0; i < w * h; i++) pixels[i] = tp.read(data, i * tp.size);
    if (filter === 2) ungradient(pixels, w, pf);
    else if (filter !== 0) throw new Error(`tight filter ${filter}`);
  }
  return { pixels, used: at.o };
}

function ungradient(px: Uint32Array, w: number, pf: PixelFormat): void {
  const ch = [
    [pf.redShift, pf.redMax],
    [pf.greenShift, pf.greenMax],
    [pf.blueShift, pf.blueMax],
  ] as const;
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
