// Raw, CopyRect, RRE and CoRRE (rfbproto §7.7.1-§7.7.3; CoRRE from the RFB 3.3 document).
// Each reads one rect's data from the reader and draws it into the framebuffer.

import type { ByteReader } from '../../bytes';
import { xerror } from '../../errors';
import type { Rect } from '../../region';
import type { Framebuffer } from '../framebuffer';
import { readPixel } from '../pixel-format';

// Raw: w * h PIXELs
export function decodeRaw(r: ByteReader, rect: Rect, fb: Framebuffer): void {
  const data = r.bytesView(rect.width * rect.height * fb.bpp);
  fb.putRows(rect.x, rect.y, rect.width, rect.height, data);
}

// CopyRect: u16 src_x | u16 src_y
export function decodeCopyRect(r: ByteReader, rect: Rect, fb: Framebuffer): { srcX: number; srcY: number } {
  const srcX = r.u16be();
  const srcY = r.u16be();
  fb.copy(srcX, srcY, rect);
  return { srcX, srcY };
}

function pixel(r: ByteReader, fb: Framebuffer): number {
  return readPixel(r.bytesView(fb.bpp), 0, fb.format);
}

// RRE: u32 n | PIXEL bg | n x (PIXEL | u16 x | u16 y | u16 w | u16 h)
// CoRRE: the same with u8 x | u8 y | u8 w | u8 h
export function decodeRre(r: ByteReader, rect: Rect, fb: Framebuffer, compact = false): void {
  const n = r.u32be();
  // Each subrect is at least bpp + 4 bytes: refuse counts the data cannot hold before looping.
  r.need(fb.bpp + n * (fb.bpp + (compact ? 4 : 8)));
  fb.fill(rect.x, rect.y, rect.width, rect.height, pixel(r, fb));
  for (let i = 0; i < n; i++) {
    const c = pixel(r, fb);
    const [x, y, w, h] = compact ? [r.u8(), r.u8(), r.u8(), r.u8()] : [r.u16be(), r.u16be(), r.u16be(), r.u16be()];
    if (x + w > rect.width || y + h > rect.height)
      throw xerror('RFB_E_DECODE', `RRE subrect ${w}x${h}+${x}+${y} outside its ${rect.width}x${rect.height} rect`);
    fb.fill(rect.x + x, rect.y + y, w, h, c);
  }
}
