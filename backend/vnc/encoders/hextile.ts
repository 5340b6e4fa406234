// Hextile (rfbproto §7.7.4): 16x16 tiles left to right, top to bottom (edge tiles smaller),
// each u8 subencoding mask then:
//   Raw(1): w*h PIXELs, nothing else;  BackgroundSpecified(2): PIXEL;  ForegroundSpecified(4): PIXEL;
//   AnySubrects(8): u8 n, then n x ([PIXEL if SubrectsColoured(16)] | u8 x<<4|y | u8 (w-1)<<4|(h-1)).
// Background and foreground carry over from the previous tile, but not across a raw tile.
// After a coloured-subrect tile the foreground is re-sent too: libvncclient reads coloured
// subrect pixels into its foreground variable.
//
// Two twins give the same bytes (test/unit/vnc/encoders/hextile-twins.test.ts): the tile
// loop below, the reference, and its C++ copy in the addon (native/src/hextile.cc), used when
// the loaded addon has it. The greedy subrect search was ~28 ms of a 1080p text frame in
// TypeScript, most of the gap to LibVNCServer (docs/vnc-encoders.md).
// XENVFB_NO_NATIVE_HEXTILE=1 forces the TypeScript loop.

import type { ByteWriter } from '../../../shared/bytes';
import type { Rect } from '../../../shared/region';
import type { PixelFormat } from '../../display/pixel-format';
import type { Surface } from '../../display/display';
import { type HextileNative, hextileNative } from '../../../native';
import { bytesPerPixel } from '../../display/pixel-format';
import { RfbEncoding } from '../messages';
import type { EncodeSettings, Encoder } from './encoder';
import { PaletteBuilder } from './palette';
import { type PixelPacker, pixelPacker, readClientRect } from './pixels';

export const HextileMask = {
  Raw: 1,
  BackgroundSpecified: 2,
  ForegroundSpecified: 4,
  AnySubrects: 8,
  SubrectsColoured: 16,
} as const;

export const NO_NATIVE_HEXTILE_ENV = 'XENVFB_NO_NATIVE_HEXTILE';

const TILE = 16;
/**
 * Past this many colours a tile goes raw without a subrect search. Anti-aliased text has tiles
 * of 50-96 colours whose coloured subrects still beat raw: at 48 the 1080p text page of
 * bench:peers took 1.71 MB (1.30x LibVNCServer, which searches every tile), at 96 1.25 MB.
 * Above 96 nothing more was saved and photo tiles cost more search time.
 */
const HEXTILE_MAX_COLOURS = 96;
/**
 * Rows per band of a rect in a frame that sends parts ahead (EncodeSettings.progress). A band
 * that compressed to half its raw size or less goes out before the next is encoded: the client
 * decodes 1080p text while the rest is encoded, as it does with LibVNCServer and TigerVNC
 * (they write as they encode). A photo band (mostly raw tiles) does not: its bytes would cross
 * from the encode worker as a copy of nearly raw size. Each band starts without the
 * background and foreground of the tile before it: a few bytes a band.
 */
export const HEXTILE_PART_ROWS = 128;

export class HextileEncoder implements Encoder {
  readonly id = RfbEncoding.Hextile;
  readonly name = 'Hextile';
  /** Reused for every tile: no allocation per tile (the profile's top cost: docs/vnc-encoders.md). */
  private readonly palette = new PaletteBuilder();
  private readonly covered = new Uint8Array(TILE * TILE);

  /** `native`: the C++ twin to use, or null for the TypeScript loop (default: the addon's, unless disabled). */
  constructor(private readonly native: HextileNative | null = process.env[NO_NATIVE_HEXTILE_ENV] === '1' ? null : hextileNative) {}

  encode(surface: Surface, rect: Rect, pf: PixelFormat, writer: ByteWriter, settings?: EncodeSettings): boolean {
    const { bytes, values } = readClientRect(surface, rect, pf);
    const bpp = bytesPerPixel(pf);
    // With a frame that sends parts ahead, the rect goes in bands of tile rows; a band that
    // came out at most half its raw size is handed out before the next one is encoded.
    const progress = settings?.progress;
    const band = progress ? HEXTILE_PART_ROWS : rect.height;
    for (let y = 0; y < rect.height; y += band) {
      const h = Math.min(band, rect.height - y);
      const before = writer.length;
      const from = y * rect.width;
      this.encodeBand(
        values.subarray(from, from + h * rect.width),
        bytes.subarray(from * bpp, (from + h * rect.width) * bpp),
        rect.width,
        h,
        pf,
        bpp,
        writer,
      );
      if (progress && y + h < rect.height && (writer.length - before) * 2 <= h * rect.width * bpp) progress();
    }
    return true;
  }

  /** Tiles of a width x h block, the first one carrying no background or foreground over. */
  private encodeBand(
    values: Uint32Array,
    bytes: Uint8Array,
    width: number,
    h: number,
    pf: PixelFormat,
    bpp: number,
    writer: ByteWriter,
  ): void {
    // Worst case: every tile raw, a mask byte + its pixels.
    const tiles = Math.ceil(width / TILE) * Math.ceil(h / TILE);
    const native = this.native;
    if (native) {
      writer.direct(tiles + bytes.length, (out, o) => native(values, bytes, width, h, bpp, out, o));
      return;
    }
    const t: TileWriter = {
      px: values,
      bytes: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      stride: width,
      packer: pixelPacker(pf),
      palette: this.palette,
      covered: this.covered,
      bg: null,
      fg: null,
    };
    writer.direct(tiles + bytes.length, (out, o) => {
      for (let ty = 0; ty < h; ty += TILE) {
        for (let tx = 0; tx < width; tx += TILE) {
          o = encodeTile(t, tx, ty, Math.min(TILE, width - tx), Math.min(TILE, h - ty), out, o);
        }
      }
      return o;
    });
  }
}

/** One rect's pixels and the state carried from tile to tile. */
interface TileWriter {
  /** Client pixel values of the whole rect, row-major, `stride` per row. */
  px: Uint32Array;
  /** The same pixels as client wire bytes (raw tiles are copied from here, Buffer.copy: no views made). */
  bytes: Buffer;
  stride: number;
  packer: PixelPacker;
  palette: PaletteBuilder;
  covered: Uint8Array;
  /** Background and foreground the client holds from the previous tile (null: none). */
  bg: number | null;
  fg: number | null;
}

// u8 mask | [PIXEL bg] | [PIXEL fg] | [u8 n | n x ([PIXEL] | u8 x<<4|y | u8 (w-1)<<4|(h-1))]
function encodeTile(t: TileWriter, tx: number, ty: number, w: number, h: number, out: Uint8Array, o: number): number {
  const bpp = t.packer.size;
  const rawSize = 1 + w * h * bpp;
  const off = ty * t.stride + tx;
  // Past HEXTILE_MAX_COLOURS a tile is photo- or noise-like: subrects would exceed raw, so skip the search.
  if (!t.palette.build(t.px, off, w, h, t.stride, HEXTILE_MAX_COLOURS, 'first')) return rawTile(t, tx, ty, w, h, out, o);
  const bg = t.palette.colours[0]!;
  const colours = t.palette.size;
  let mask = 0;
  const start = o;
  o++;
  if (t.bg !== bg) {
    mask |= HextileMask.BackgroundSpecified;
    t.packer.put(out, o, bg);
    o += bpp;
  }
  if (colours === 1) {
    out[start] = mask;
    t.bg = bg;
    return o;
  }
  const two = colours === 2;
  const fg = two ? t.palette.colours[1]! : 0;
  if (two && t.fg !== fg) {
    mask |= HextileMask.ForegroundSpecified;
    t.packer.put(out, o, fg);
    o += bpp;
  }
  const perSub = two ? 2 : 2 + bpp;
  const budget = Math.min(Math.floor((rawSize - (o - start) - 1) / perSub), 255);
  const end = budget > 0 ? writeSubrects(t, off, w, h, bg, two, budget, out, o + 1) : -1;
  if (end < 0) return rawTile(t, tx, ty, w, h, out, start);
  out[o] = (end - o - 1) / perSub;
  out[start] = mask | HextileMask.AnySubrects | (two ? 0 : HextileMask.SubrectsColoured);
  t.bg = bg;
  t.fg = two ? fg : null;
  return end;
}

/**
 * Cover every pixel that differs from `bg` with single-colour rectangles, greedily (the
 * widest run of one colour from the first uncovered pixel, grown down while rows match), and
 * write each as it is found; -1 once there would be more than `limit`.
 */
function writeSubrects(
  t: TileWriter,
  off: number,
  w: number,
  h: number,
  bg: number,
  two: boolean,
  limit: number,
  out: Uint8Array,
  o: number,
): number {
  const { px, stride, covered } = t;
  const bpp = t.packer.size;
  covered.fill(0, 0, w * h);
  let n = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const c = px[off + y * stride + x]!;
      if (c === bg || covered[y * w + x]) continue;
      let sw = 1;
      while (x + sw < w && px[off + y * stride + x + sw] === c && !covered[y * w + x + sw]) sw++;
      let sh = 1;
      grow: while (y + sh < h) {
        const row = off + (y + sh) * stride + x;
        const crow = (y + sh) * w + x;
        for (let k = 0; k < sw; k++) if (px[row + k] !== c || covered[crow + k]) break grow;
        sh++;
      }
      for (let r = 0; r < sh; r++) covered.fill(1, (y + r) * w + x, (y + r) * w + x + sw);
      if (++n > limit) return -1;
      if (!two) {
        t.packer.put(out, o, c);
        o += bpp;
      }
      out[o++] = (x << 4) | y;
      out[o++] = ((sw - 1) << 4) | (sh - 1);
    }
  }
  return o;
}

// u8 mask=Raw | w*h PIXELs, copied row by row from the client bytes
function rawTile(t: TileWriter, tx: number, ty: number, w: number, h: number, out: Uint8Array, o: number): number {
  const bpp = t.packer.size;
  out[o++] = HextileMask.Raw;
  for (let y = 0; y < h; y++) {
    const from = ((ty + y) * t.stride + tx) * bpp;
    t.bytes.copy(out, o, from, from + w * bpp);
    o += w * bpp;
  }
  t.bg = null;
  t.fg = null;
  return o;
}
