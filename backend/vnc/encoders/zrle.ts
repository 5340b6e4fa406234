// ZRLE (rfbproto §7.7.6): u32 length | zlib data, one zlib stream per connection. Inflated:
// 64x64 tiles left to right, top to bottom, each a u8 subencoding then
//   0 raw CPIXELs | 1 one CPIXEL | 2..16 palette CPIXELs + packed indices (1/2/4 bits, rows
//   padded to a byte) | 128 (CPIXEL, run)* | 130..255 palette + (index | index|0x80, run)*.
// A run length L is written as L-1 in bytes of 255 and a final byte < 255. The cheapest of
// the forms is picked per tile from exact sizes, like TigerVNC's ZRLEEncoder.

import type { ByteWriter } from '../../../shared/bytes';
import type { Rect } from '../../../shared/region';
import type { PixelFormat } from '../../display/pixel-format';
import type { Surface } from '../../display/display';
import { RfbEncoding } from '../messages';
import type { EncodeSettings, Encoder } from './encoder';
import { buildPalette, cpixelPacker, type Palette, type PixelPacker, readClientPixels, subPixels } from './pixels';
import { ZLIB_DEFAULT_LEVEL } from './zlib';
import { DeflateStream } from './zstream';

export const ZRLE_TILE = 64;
export const ZrleSub = { Raw: 0, Solid: 1, PlainRle: 128, PaletteRleBase: 128 } as const;

/** A growable byte buffer for the uncompressed tile stream. */
class Bytes {
  buf = new Uint8Array(1 << 16);
  length = 0;
  reserve(n: number): number {
    if (this.length + n > this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap < this.length + n) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.buf.subarray(0, this.length));
      this.buf = next;
    }
    const at = this.length;
    this.length += n;
    return at;
  }
  u8(v: number): void {
    const at = this.reserve(1); // before reading this.buf: reserve() may replace it
    this.buf[at] = v;
  }
  runLength(len: number): void {
    let rest = len - 1;
    while (rest >= 255) {
      this.u8(255);
      rest -= 255;
    }
    this.u8(rest);
  }
}

export class ZrleEncoder implements Encoder {
  readonly id = RfbEncoding.ZRLE;
  readonly name = 'ZRLE';
  private stream: DeflateStream | null = null;

  encode(surface: Surface, rect: Rect, pf: PixelFormat, writer: ByteWriter, settings: EncodeSettings): boolean {
    this.stream ??= new DeflateStream(settings.compressLevel ?? ZLIB_DEFAULT_LEVEL);
    const px = readClientPixels(surface, rect, pf);
    const packer = cpixelPacker(pf);
    const b = new Bytes();
    for (let ty = 0; ty < rect.height; ty += ZRLE_TILE) {
      for (let tx = 0; tx < rect.width; tx += ZRLE_TILE) {
        const w = Math.min(ZRLE_TILE, rect.width - tx);
        const h = Math.min(ZRLE_TILE, rect.height - ty);
        encodeTile(subPixels(px, rect.width, tx, ty, w, h), w, h, packer, b);
      }
    }
    const z = this.stream.compress(b.buf.subarray(0, b.length));
    writer.u32be(z.length).bytes(z);
    return true;
  }
}

function runLengthBytes(len: number): number {
  return Math.floor((len - 1) / 255) + 1;
}

function encodeTile(tile: Uint32Array, w: number, h: number, packer: PixelPacker, b: Bytes): void {
  const cp = packer.size;
  const palette = buildPalette(tile, 127);
  if (palette && palette.colours.length === 1) {
    b.u8(ZrleSub.Solid);
    const at = b.reserve(cp); // before reading b.buf: reserve() may replace it
    packer.put(b.buf, at, tile[0]!);
    return;
  }
  // Exact sizes of each candidate form.

  let plainRle = 0;
  let paletteRle = 0;
  for (let i = 0; i < tile.length;) {
    let j = i + 1;
    while (j < tile.length && tile[j] === tile[i]) j++;
    const len = j - i;

    plainRle += cp + runLengthBytes(len);
    paletteRle += len === 1 ? 1 : 1 + runLengthBytes(len);
    i = j;
  }
  const raw = tile.length * cp;
  const n = palette?.colours.length ?? 0;
  const bits = n <= 2 ? 1 : n <= 4 ? 2 : 4;
  const packed = palette && n <= 16 ? n * cp + Math.ceil((w * bits) / 8) * h : Infinity;
  const palRle = palette ? n * cp + paletteRle : Infinity;
  const best = Math.min(raw, plainRle, packed, palRle);
  if (best === packed) packedPaletteTile(tile, w, h, palette!, bits, packer, b);
  else if (best === palRle) paletteRleTile(tile, palette!, packer, b);
  else if (best === plainRle) plainRleTile(tile, packer, b);
  else {
    b.u8(ZrleSub.Raw);
    const at = b.reserve(raw);
    for (let i = 0; i < tile.length; i++) packer.put(b.buf, at + i * cp, tile[i]!);
  }
}

function writePalette(p: Palette, packer: PixelPacker, b: Bytes): void {
  const at = b.reserve(p.colours.length * packer.size);
  p.colours.forEach((c, i) => packer.put(b.buf, at + i * packer.size, c));
}

function packedPaletteTile(tile: Uint32Array, w: number, h: number, p: Palette, bits: number, packer: PixelPacker, b: Bytes): void {
  b.u8(p.colours.length);
  writePalette(p, packer, b);
  const rowBytes = Math.ceil((w * bits) / 8);
  const at = b.reserve(rowBytes * h);
  b.buf.fill(0, at, at + rowBytes * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const idx = p.index.get(tile[y * w + x]!)!;
      const bit = x * bits;
      b.buf[at + y * rowBytes + (bit >> 3)]! |= idx << (8 - bits - (bit & 7));
    }
  }
}

function paletteRleTile(tile: Uint32Array, p: Palette, packer: PixelPacker, b: Bytes): void {
  b.u8(ZrleSub.PaletteRleBase + p.colours.length);
  writePalette(p, packer, b);
  for (let i = 0; i < tile.length;) {
    let j = i + 1;
    while (j < tile.length && tile[j] === tile[i]) j++;
    const idx = p.index.get(tile[i]!)!;
    if (j - i === 1) b.u8(idx);
    else {
      b.u8(idx | 0x80);
      b.runLength(j - i);
    }
    i = j;
  }
}

function plainRleTile(tile: Uint32Array, packer: PixelPacker, b: Bytes): void {
  b.u8(ZrleSub.PlainRle);
  for (let i = 0; i < tile.length;) {
    let j = i + 1;
    while (j < tile.length && tile[j] === tile[i]) j++;
    const at = b.reserve(packer.size); // before reading b.buf: reserve() may replace it
    packer.put(b.buf, at, tile[i]!);
    b.runLength(j - i);
    i = j;
  }
}
