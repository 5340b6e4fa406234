// Hextile (rfbproto §7.7.4): 16x16 tiles left to right, top to bottom (edge tiles smaller),
// each u8 subencoding mask then:
//   Raw(1): w*h PIXELs, nothing else;  BackgroundSpecified(2): PIXEL;  ForegroundSpecified(4): PIXEL;
//   AnySubrects(8): u8 n, then n x ([PIXEL if SubrectsColoured(16)] | u8 x<<4|y | u8 (w-1)<<4|(h-1)).
// Background and foreground carry over from the previous tile, but not across a raw tile.
// After a coloured-subrect tile the foreground is re-sent too: libvncclient reads coloured
// subrect pixels into its foreground variable.

import type { ByteWriter } from '../../../shared/bytes';
import type { Rect } from '../../../shared/region';
import type { PixelFormat } from '../../display/pixel-format';
import type { Surface } from '../../display/display';
import { bytesPerPixel } from '../../display/pixel-format';
import { RfbEncoding } from '../messages';
import type { Encoder } from './encoder';
import { buildPalette, findSubrects, type PixelPacker, pixelPacker, readClientPixels, subPixels } from './pixels';

export const HextileMask = {
  Raw: 1,
  BackgroundSpecified: 2,
  ForegroundSpecified: 4,
  AnySubrects: 8,
  SubrectsColoured: 16,
} as const;

const TILE = 16;
const HEXTILE_MAX_COLOURS = 48;

interface TileState {
  bg: number | null;
  fg: number | null;
}

export class HextileEncoder implements Encoder {
  readonly id = RfbEncoding.Hextile;
  readonly name = 'Hextile';

  encode(surface: Surface, rect: Rect, pf: PixelFormat, writer: ByteWriter): boolean {
    const px = readClientPixels(surface, rect, pf);
    const packer = pixelPacker(pf);
    const bpp = bytesPerPixel(pf);
    // Worst case per tile: mask + 256 raw pixels.
    const tilesX = Math.ceil(rect.width / TILE);
    const tilesY = Math.ceil(rect.height / TILE);
    const out = new Uint8Array(tilesX * tilesY + px.length * bpp);
    const state: TileState = { bg: null, fg: null };
    let o = 0;
    for (let ty = 0; ty < rect.height; ty += TILE) {
      for (let tx = 0; tx < rect.width; tx += TILE) {
        const w = Math.min(TILE, rect.width - tx);
        const h = Math.min(TILE, rect.height - ty);
        o = encodeTile(subPixels(px, rect.width, tx, ty, w, h), w, h, packer, state, out, o);
      }
    }
    writer.bytes(out.subarray(0, o));
    return true;
  }
}

function encodeTile(tile: Uint32Array, w: number, h: number, packer: PixelPacker, st: TileState, out: Uint8Array, o: number): number {
  const bpp = packer.size;
  const rawSize = 1 + tile.length * bpp;
  // Past HEXTILE_MAX_COLOURS a tile is noise-like: subrects would exceed raw, so skip the search.
  const palette = buildPalette(tile, HEXTILE_MAX_COLOURS);
  if (!palette) return rawTile(tile, packer, st, out, o);
  const bg = palette.colours[0]!;
  let mask = 0;
  const start = o;
  o++;
  if (st.bg !== bg) {
    mask |= HextileMask.BackgroundSpecified;
    packer.put(out, o, bg);
    o += bpp;
  }
  if (palette.colours.length === 1) {
    out[start] = mask;
    st.bg = bg;
    return o;
  }
  const two = palette.colours.length === 2;
  const fg = two ? palette.colours[1]! : 0;
  if (two && st.fg !== fg) {
    mask |= HextileMask.ForegroundSpecified;
    packer.put(out, o, fg);
    o += bpp;
  }
  const perSub = two ? 2 : 2 + bpp;
  const budget = Math.floor((rawSize - (o - start) - 1) / perSub);
  const subs = budget > 0 ? findSubrects(tile, w, h, bg, Math.min(budget, 255)) : null;
  if (!subs) return rawTile(tile, packer, st, out, start);
  mask |= HextileMask.AnySubrects | (two ? 0 : HextileMask.SubrectsColoured);
  out[o++] = subs.length;
  for (const s of subs) {
    if (!two) {
      packer.put(out, o, s.colour);
      o += bpp;
    }
    out[o++] = (s.x << 4) | s.y;
    out[o++] = ((s.w - 1) << 4) | (s.h - 1);
  }
  out[start] = mask;
  st.bg = bg;
  st.fg = two ? fg : null;
  return o;
}

function rawTile(tile: Uint32Array, packer: PixelPacker, st: TileState, out: Uint8Array, o: number): number {
  out[o++] = HextileMask.Raw;
  for (let i = 0; i < tile.length; i++, o += packer.size) packer.put(out, o, tile[i]!);
  st.bg = null;
  st.fg = null;
  return o;
}
