// RRE (rfbproto §7.7.3): u32 nSubrects | PIXEL background | nSubrects x (PIXEL | u16 x | u16 y |
// u16 w | u16 h). A solid rect is a background and no subrects. RRE has no raw escape, so a
// rect that would come out larger than Raw is declined and the manager sends it as Raw.

import type { ByteWriter } from '../../../shared/bytes';
import type { Rect } from '../../../shared/region';
import type { PixelFormat } from '../../display/pixel-format';
import type { Surface } from '../../display/display';
import { bytesPerPixel } from '../../display/pixel-format';
import { RfbEncoding } from '../messages';
import type { Encoder } from './encoder';
import { buildPalette, findSubrects, pixelPacker, readClientPixels } from './pixels';

export class RreEncoder implements Encoder {
  readonly id = RfbEncoding.RRE;
  readonly name = 'RRE';

  encode(surface: Surface, rect: Rect, pf: PixelFormat, writer: ByteWriter): boolean {
    const px = readClientPixels(surface, rect, pf);
    const bpp = bytesPerPixel(pf);
    const rawSize = px.length * bpp;
    const subSize = bpp + 8;
    const limit = Math.floor((rawSize - 4 - bpp) / subSize);
    const bg = mostFrequent(px);
    const subs = limit >= 0 ? findSubrects(px, rect.width, rect.height, bg, limit) : null;
    if (!subs) return false;
    const packer = pixelPacker(pf);
    const out = new Uint8Array(4 + bpp + subs.length * subSize);
    const view = new DataView(out.buffer);
    view.setUint32(0, subs.length);
    packer.put(out, 4, bg);
    let o = 4 + bpp;
    for (const s of subs) {
      packer.put(out, o, s.colour);
      view.setUint16(o + bpp, s.x);
      view.setUint16(o + bpp + 2, s.y);
      view.setUint16(o + bpp + 4, s.w);
      view.setUint16(o + bpp + 6, s.h);
      o += subSize;
    }
    writer.bytes(out);
    return true;
  }
}

/** The commonest colour, from a sample of at most 256 distinct colours (first pixel otherwise). */
export function mostFrequent(px: Uint32Array): number {
  return buildPalette(px, 256)?.colours[0] ?? px[0]!;
}
