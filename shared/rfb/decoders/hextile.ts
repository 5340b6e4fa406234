// Hextile (rfbproto §7.7.4): 16x16 tiles left to right, top to bottom, each
// u8 subencoding mask | [raw pixels] | [PIXEL bg] | [PIXEL fg] | [u8 n | n x ([PIXEL] | u8 xy | u8 wh)].
// Background and foreground carry over from the previous tile (also across raw tiles, as
// TigerVNC's decoder does); a tile that needs one that was never sent is an error.

import type { ByteReader } from '../../bytes';
import { xerror } from '../../errors';
import type { Rect } from '../../region';
import type { Framebuffer } from '../framebuffer';
import { readPixel } from '../pixel-format';

const RAW = 1;
const BACKGROUND = 2;
const FOREGROUND = 4;
const ANY_SUBRECTS = 8;
const SUBRECTS_COLOURED = 16;

export function decodeHextile(r: ByteReader, rect: Rect, fb: Framebuffer): void {
  const bpp = fb.bpp;
  const pixel = (): number => readPixel(r.bytesView(bpp), 0, fb.format);
  let bg: number | null = null;
  let fg: number | null = null;
  for (let ty = 0; ty < rect.height; ty += 16) {
    for (let tx = 0; tx < rect.width; tx += 16) {
      const tw = Math.min(16, rect.width - tx);
      const th = Math.min(16, rect.height - ty);
      const x0 = rect.x + tx;
      const y0 = rect.y + ty;
      const mask = r.u8();
      if (mask & RAW) {
        fb.putRows(x0, y0, tw, th, r.bytesView(tw * th * bpp));
        continue;
      }
      if (mask & BACKGROUND) bg = pixel();
      if (mask & FOREGROUND) fg = pixel();
      if (bg === null) throw xerror('RFB_E_DECODE', 'hextile tile without any background so far');
      fb.fill(x0, y0, tw, th, bg);
      if (!(mask & ANY_SUBRECTS)) continue;
      const n = r.u8();
      for (let i = 0; i < n; i++) {
        if (mask & SUBRECTS_COLOURED) fg = pixel();
        if (fg === null) throw xerror('RFB_E_DECODE', 'hextile subrect without any foreground so far');
        const xy = r.u8();
        const wh = r.u8();
        const [sx, sy, sw, sh] = [xy >> 4, xy & 15, (wh >> 4) + 1, (wh & 15) + 1];
        if (sx + sw > tw || sy + sh > th) throw xerror('RFB_E_DECODE', 'hextile subrect outside its tile');
        fb.fill(x0 + sx, y0 + sy, sw, sh, fg);
      }
    }
  }
}
