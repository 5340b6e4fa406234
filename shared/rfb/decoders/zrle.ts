// Zlib (rfbproto §7.7.5) and ZRLE (§7.7.6): a u32 length, then bytes of the connection's
// one zlib stream. Zlib inflates to Raw pixels; ZRLE to 64x64 tiles, each
// u8 subencoding | ...: 0 raw CPIXELs, 1 solid, 2-16 packed palette, 128 plain RLE,
// 130-255 palette RLE.

import { ByteReader } from '../../bytes';
import { isXenvfbError, xerror } from '../../errors';
import type { Rect } from '../../region';
import type { Framebuffer } from '../framebuffer';
import type { InflateStream } from '../inflate-stream';
import { readPixel, type RfbPixelFormat } from '../pixel-format';

/** Largest compressed length of one Zlib/ZRLE rect (the data of a 8192x8192x4 raw rect, plus slack). */
export const RFB_MAX_ZLIB_LENGTH = 8192 * 8192 * 4 + 65536;

function compressed(r: ByteReader): Uint8Array {
  const len = r.u32be();
  if (len > RFB_MAX_ZLIB_LENGTH) throw xerror('RFB_E_DECODE', `zlib length ${len} exceeds RFB_MAX_ZLIB_LENGTH`);
  return r.bytesView(len);
}

export function decodeZlib(r: ByteReader, rect: Rect, fb: Framebuffer, z: InflateStream): void {
  const data = z.take(compressed(r), rect.width * rect.height * fb.bpp);
  fb.putRows(rect.x, rect.y, rect.width, rect.height, data);
}

/** ZRLE CPIXEL: 3 bytes when a 32bpp pixel of depth <= 24 has all colour bits in its low or high 3 bytes. */
export function cpixelReader(pf: RfbPixelFormat): { size: number; read: (b: Uint8Array, o: number) => number } {
  const mask = pf.redMax * 2 ** pf.redShift + pf.greenMax * 2 ** pf.greenShift + pf.blueMax * 2 ** pf.blueShift;
  const low = mask < 2 ** 24;
  const high = mask % 256 === 0;
  if (pf.bitsPerPixel === 32 && pf.depth <= 24 && (low || high)) {
    // The three bytes are the wire bytes that hold colour: little-endian low = first three.
    const firstThree = pf.bigEndian ? high : low;
    const four = new Uint8Array(4);
    return {
      size: 3,
      read: (b, o) => {
        four.set(b.subarray(o, o + 3), firstThree ? 0 : 1);
        four[firstThree ? 3 : 0] = 0;
        return readPixel(four, 0, pf);
      },
    };
  }
  return { size: pf.bitsPerPixel >> 3, read: (b, o) => readPixel(b, o, pf) };
}

function runLength(r: ByteReader): number {
  let len = 1;
  let v: number;
  do {
    v = r.u8();
    len += v;
  } while (v === 255);
  return len;
}

export function decodeZrle(r: ByteReader, rect: Rect, fb: Framebuffer, z: InflateStream): void {
  const cp = cpixelReader(fb.format);
  const tiles = Math.ceil(rect.width / 64) * Math.ceil(rect.height / 64);
  const bound = tiles * (1 + 128 * cp.size) + rect.width * rect.height * (cp.size + 2) + 1024;
  const d = new ByteReader(z.take(compressed(r), bound, false));
  const tile = new Uint32Array(64 * 64);
  const cpix = (): number => cp.read(d.bytesView(cp.size), 0);
  try {
    for (let ty = 0; ty < rect.height; ty += 64) {
      for (let tx = 0; tx < rect.width; tx += 64) {
        const tw = Math.min(64, rect.width - tx);
        const th = Math.min(64, rect.height - ty);
        zrleTile(d, tile, tw * th, tw, cpix);
        fb.putValues(rect.x + tx, rect.y + ty, tw, th, tile);
      }
    }
  } catch (e) {
    if (isXenvfbError(e, 'BYTES_E_SHORT')) throw xerror('RFB_E_DECODE', 'ZRLE data ends inside a tile');
    throw e;
  }
  if (d.remaining !== 0) throw xerror('RFB_E_DECODE', `ZRLE: ${d.remaining} bytes left after the last tile`);
}

function zrleTile(d: ByteReader, tile: Uint32Array, n: number, tw: number, cpix: () => number): void {
  const sub = d.u8();
  const palSize = sub >= 2 && sub <= 16 ? sub : sub >= 130 ? sub - 128 : 0;
  const pal: number[] = [];
  for (let i = 0; i < palSize; i++) pal.push(cpix());
  if (sub === 0) for (let i = 0; i < n; i++) tile[i] = cpix();
  else if (sub === 1) tile.fill(cpix(), 0, n);
  else if (sub <= 16) {
    const bits = sub <= 2 ? 1 : sub <= 4 ? 2 : 4;
    const th = n / tw;
    const rowBytes = Math.ceil((tw * bits) / 8);
    const packed = d.bytesView(rowBytes * th);
    for (let y = 0; y < th; y++) {
      for (let x = 0; x < tw; x++) {
        const byte = packed[y * rowBytes + ((x * bits) >> 3)]!;
        const idx = (byte >> (8 - bits - ((x * bits) & 7))) & ((1 << bits) - 1);
        if (idx >= palSize) throw xerror('RFB_E_DECODE', `ZRLE palette index ${idx} of ${palSize}`);
        tile[y * tw + x] = pal[idx]!;
      }
    }
  } else if (sub === 128 || sub >= 130) {
    for (let i = 0; i < n;) {
      let c: number;
      let run = 1;
      if (sub === 128) {
        c = cpix();
        run = runLength(d);
      } else {
        const idx = d.u8();
        if ((idx & 0x7f) >= palSize) throw xerror('RFB_E_DECODE', `ZRLE palette index ${idx & 0x7f} of ${palSize}`);
        c = pal[idx & 0x7f]!;
        if (idx & 0x80) run = runLength(d);
      }
      if (i + run > n) throw xerror('RFB_E_DECODE', 'ZRLE run past the end of its tile');
      tile.fill(c, i, i + run);
      i += run;
    }
  } else throw xerror('RFB_E_DECODE', `ZRLE subencoding ${sub} is not defined`);
}
