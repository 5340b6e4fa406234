// ZRLE (rfbproto §7.7.6): u32 length | zlib data, one zlib stream per connection. Inflated:
// 64x64 tiles left to right, top to bottom, each a u8 subencoding then
//   0 raw CPIXELs | 1 one CPIXEL | 2..16 palette CPIXELs + packed indices (1/2/4 bits, rows
//   padded to a byte) | 128 (CPIXEL, run)* | 130..255 palette + (index | index|0x80, run)*.
// A run length L is written as L-1 in bytes of 255 and a final byte < 255. The cheapest of
// the forms is picked per tile from exact sizes, like TigerVNC's ZRLEEncoder. A palette lists
// the tile's most frequent colour first and the others in order of appearance (the first one
// moved to where the most frequent was): the same glyph on the same background then gets the
// same indices in every tile, which deflate finds again. Sorting every colour by count instead
// made the bench:peers text page's stream 2.8% larger at level 2 (230,071 against 223,607
// bytes), 3.5% at level 6.
//
// Two twins write the same tile stream (test/unit/vnc/encoders/zrle-twins.test.ts): the tile
// loop below, the reference, and its C++ copy in the addon (native/src/zrle.cc), used when the
// loaded addon has it; the TS loop was ~30 ms of a 1080p text frame, deflate ~6 ms.
// XENVFB_NO_NATIVE_ZRLE=1 forces the TypeScript loop.

import { type ZrleTilesNative, zrleTilesNative } from '../../../native';
import { ByteWriter } from '../../../shared/bytes';
import type { Rect } from '../../../shared/region';
import type { PixelFormat } from '../../display/pixel-format';
import type { Surface } from '../../display/display';
import { RfbEncoding } from '../messages';
import type { EncodeSettings, Encoder } from './encoder';
import { PaletteBuilder } from './palette';
import { cpixelPacker, packRange, type PixelPacker, readClientPixels } from './pixels';
import { ZLIB_DEFAULT_LEVEL, ZLIB_STRIP_AREA } from './zlib';
import { type ZStream, openDeflateStream } from './zstream';

export const NO_NATIVE_ZRLE_ENV = 'XENVFB_NO_NATIVE_ZRLE';
export const ZRLE_TILE = 64;
/** Palette subencodings carry at most 127 colours (128 + n <= 255). */
const ZRLE_MAX_PALETTE = 127;
export const ZrleSub = { Raw: 0, Solid: 1, PlainRle: 128, PaletteRleBase: 128 } as const;

/** Most bytes one tile can take: the raw form (u8 subencoding + 64x64 CPIXELs of <= 4 bytes) is always a candidate. */
export const ZRLE_TILE_MAX_BYTES = 1 + ZRLE_TILE * ZRLE_TILE * 4;

/** A run length L as L-1 in bytes of 255 and a final byte < 255; returns the offset after it. */
function putRunLength(out: Uint8Array, o: number, len: number): number {
  let rest = len - 1;
  while (rest >= 255) {
    out[o++] = 255;
    rest -= 255;
  }
  out[o++] = rest;
  return o;
}

export class ZrleEncoder implements Encoder {
  readonly id = RfbEncoding.ZRLE;
  readonly name = 'ZRLE';
  readonly stripArea = ZLIB_STRIP_AREA;
  private stream: ZStream | null = null;
  /** Reused per tile: the tile's pixels and its colour table (no allocation per tile). */
  private readonly tileBuf = new Uint32Array(ZRLE_TILE * ZRLE_TILE);
  private readonly palette = new PaletteBuilder();
  /** The native twin's tile stream, reused from rect to rect (deflate copies it out). */
  private readonly tiles = new ByteWriter(64);

  /** `native`: the C++ tile loop to use, or null for the TypeScript one (default: the addon's, unless disabled). */
  constructor(private readonly native: ZrleTilesNative | null = process.env[NO_NATIVE_ZRLE_ENV] === '1' ? null : zrleTilesNative) {}

  encode(surface: Surface, rect: Rect, pf: PixelFormat, writer: ByteWriter, settings: EncodeSettings): boolean {
    this.stream ??= openDeflateStream(settings.compressLevel ?? ZLIB_DEFAULT_LEVEL);
    const px = readClientPixels(surface, rect, pf);
    const packer = cpixelPacker(pf);
    const native = this.native;
    if (native) {
      // Every form of a tile is at most its raw one: a subencoding byte and its CPIXELs.
      const room = Math.ceil(rect.width / ZRLE_TILE) * Math.ceil(rect.height / ZRLE_TILE) + px.length * packer.size;
      const shifts = Uint8Array.from(packer.shifts);
      const b = this.tiles.reset(room).direct(room, (out, at) => native(px, rect.width, rect.height, shifts, out, at));
      const z = this.stream.compress(b.finish());
      writer.u32be(z.length).bytes(z);
      return true;
    }
    // The uncompressed tile stream; each tile is written straight into the writer's storage
    // through direct(), which hands out the storage only after making room for the tile.
    const b = new ByteWriter(1 << 16);
    for (let ty = 0; ty < rect.height; ty += ZRLE_TILE) {
      for (let tx = 0; tx < rect.width; tx += ZRLE_TILE) {
        const w = Math.min(ZRLE_TILE, rect.width - tx);
        const h = Math.min(ZRLE_TILE, rect.height - ty);
        const tile = this.tileBuf.subarray(0, w * h);
        for (let y = 0; y < h; y++) tile.set(px.subarray((ty + y) * rect.width + tx, (ty + y) * rect.width + tx + w), y * w);
        b.direct(ZRLE_TILE_MAX_BYTES, (out, at) => encodeTile(tile, w, h, packer, this.palette, out, at));
      }
    }
    const z = this.stream.compress(b.finish());
    writer.u32be(z.length).bytes(z);
    return true;
  }
}

function runLengthBytes(len: number): number {
  return Math.floor((len - 1) / 255) + 1;
}

/** Writes one tile at out[o]; returns the offset after it (at most ZRLE_TILE_MAX_BYTES on). */
function encodeTile(tile: Uint32Array, w: number, h: number, packer: PixelPacker, pal: PaletteBuilder, out: Uint8Array, o: number): number {
  const cp = packer.size;
  const palette = pal.build(tile, 0, w, h, w, ZRLE_MAX_PALETTE, 'first') ? pal : null;
  if (palette && palette.size === 1) {
    out[o] = ZrleSub.Solid;
    packer.put(out, o + 1, tile[0]!);
    return o + 1 + cp;
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
  const n = palette?.size ?? 0;
  const bits = n <= 2 ? 1 : n <= 4 ? 2 : 4;
  const packed = palette && n <= 16 ? n * cp + Math.ceil((w * bits) / 8) * h : Infinity;
  const palRle = palette ? n * cp + paletteRle : Infinity;
  const best = Math.min(raw, plainRle, packed, palRle);
  if (best === packed) return packedPaletteTile(tile, w, h, palette!, bits, packer, out, o);
  if (best === palRle) return paletteRleTile(tile, palette!, packer, out, o);
  if (best === plainRle) return plainRleTile(tile, packer, out, o);
  out[o++] = ZrleSub.Raw;
  return packRange(tile, 0, tile.length, packer, out, o);
}

function putPalette(p: PaletteBuilder, packer: PixelPacker, out: Uint8Array, o: number): number {
  for (let i = 0; i < p.size; i++, o += packer.size) packer.put(out, o, p.colours[i]!);
  return o;
}

// u8 n | n CPIXEL | rows of n-colour indices, 1/2/4 bits each, MSB first, each row padded to a byte
function packedPaletteTile(
  tile: Uint32Array,
  w: number,
  h: number,
  p: PaletteBuilder,
  bits: number,
  packer: PixelPacker,
  out: Uint8Array,
  o: number,
): number {
  out[o++] = p.size;
  o = putPalette(p, packer, out, o);
  const rowBytes = Math.ceil((w * bits) / 8);
  out.fill(0, o, o + rowBytes * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const idx = p.indexOf(tile[y * w + x]!);
      const bit = x * bits;
      out[o + y * rowBytes + (bit >> 3)]! |= idx << (8 - bits - (bit & 7));
    }
  }
  return o + rowBytes * h;
}

// u8 128+n | n CPIXEL | (u8 index | u8 index|0x80, run length)*
function paletteRleTile(tile: Uint32Array, p: PaletteBuilder, packer: PixelPacker, out: Uint8Array, o: number): number {
  out[o++] = ZrleSub.PaletteRleBase + p.size;
  o = putPalette(p, packer, out, o);
  for (let i = 0; i < tile.length;) {
    let j = i + 1;
    while (j < tile.length && tile[j] === tile[i]) j++;
    const idx = p.indexOf(tile[i]!);
    if (j - i === 1) out[o++] = idx;
    else {
      out[o++] = idx | 0x80;
      o = putRunLength(out, o, j - i);
    }
    i = j;
  }
  return o;
}

// u8 128 | (CPIXEL, run length)*
function plainRleTile(tile: Uint32Array, packer: PixelPacker, out: Uint8Array, o: number): number {
  out[o++] = ZrleSub.PlainRle;
  for (let i = 0; i < tile.length;) {
    let j = i + 1;
    while (j < tile.length && tile[j] === tile[i]) j++;
    packer.put(out, o, tile[i]!);
    o = putRunLength(out, o + packer.size, j - i);
    i = j;
  }
  return o;
}
