// Drawing primitives shared by the workloads. Every function clips to the surface and
// returns the rectangle it actually wrote, so callers report exactly that as damage.
// Pixels are XRGB8888 little-endian (byte 0 = B, 1 = G, 2 = R, 3 = X written as 0).

import type { Rect } from '../../shared/region';
import { clipRect } from '../../shared/region';
import { FONT_CELL_HEIGHT, FONT_CELL_WIDTH, glyphRows, FONT_GLYPH_WIDTH } from './font';

export const BYTES_PER_PIXEL = 4;

/** Anything laid out like a framebuffer: the guest framebuffer or an off-screen image. */
export interface Surface {
  readonly width: number;
  readonly height: number;
  readonly stride: number;
  readonly data: Uint8Array;
}

/** A colour as 0xRRGGBB. */
export type Rgb = number;

export function rgb(r: number, g: number, b: number): Rgb {
  return ((r & 0xff) << 16) | ((g & 0xff) << 8) | (b & 0xff);
}

/** A tightly packed off-screen surface (stride = width * 4), all black. */
export function createSurface(width: number, height: number): Surface {
  const stride = width * BYTES_PER_PIXEL;
  return { width, height, stride, data: new Uint8Array(stride * height) };
}

export function setPixel(s: Surface, x: number, y: number, color: Rgb): void {
  if (x < 0 || y < 0 || x >= s.width || y >= s.height) return;
  writePixel(s.data, y * s.stride + x * BYTES_PER_PIXEL, color);
}

/** 0xRRGGBB at (x, y); the X byte is ignored. */
export function getPixel(s: Surface, x: number, y: number): Rgb {
  const o = y * s.stride + x * BYTES_PER_PIXEL;
  return rgb(s.data[o + 2], s.data[o + 1], s.data[o]);
}

function writePixel(data: Uint8Array, offset: number, color: Rgb): void {
  data[offset] = color & 0xff;
  data[offset + 1] = (color >> 8) & 0xff;
  data[offset + 2] = (color >> 16) & 0xff;
  data[offset + 3] = 0;
}

export function fillRect(s: Surface, rect: Rect, color: Rgb): Rect {
  const r = clipRect(rect, s.width, s.height);
  if (r.width === 0 || r.height === 0) return r;
  const first = r.y * s.stride + r.x * BYTES_PER_PIXEL;
  const rowBytes = r.width * BYTES_PER_PIXEL;
  for (let o = first; o < first + rowBytes; o += BYTES_PER_PIXEL) writePixel(s.data, o, color);
  // Later rows are copies of the first one.
  for (let y = 1; y < r.height; y++) s.data.copyWithin(first + y * s.stride, first, first + rowBytes);
  return r;
}

/** Copy the whole of src to (dx, dy) in dst, clipped to dst. */
export function blit(dst: Surface, dx: number, dy: number, src: Surface): Rect {
  const r = clipRect({ x: dx, y: dy, width: src.width, height: src.height }, dst.width, dst.height);
  const rowBytes = r.width * BYTES_PER_PIXEL;
  for (let y = 0; y < r.height; y++) {
    const from = (r.y - dy + y) * src.stride + (r.x - dx) * BYTES_PER_PIXEL;
    dst.data.set(src.data.subarray(from, from + rowBytes), (r.y + y) * dst.stride + r.x * BYTES_PER_PIXEL);
  }
  return r;
}

/**
 * Move the pixels of `rect` up by `dy` rows inside the rect (what a terminal does when it
 * scrolls). The bottom `dy` rows keep their old contents for the caller to repaint.
 * Returns the rect, clipped: every pixel in it may have changed.
 */
export function scrollUp(s: Surface, rect: Rect, dy: number): Rect {
  const r = clipRect(rect, s.width, s.height);
  if (dy <= 0 || r.width === 0 || r.height === 0) return { x: r.x, y: r.y, width: 0, height: 0 };
  if (dy >= r.height) return r;
  const rowBytes = r.width * BYTES_PER_PIXEL;
  const left = r.x * BYTES_PER_PIXEL;
  if (r.x === 0 && rowBytes === s.stride) {
    // Full-width rows are contiguous: one move.
    s.data.copyWithin(r.y * s.stride, (r.y + dy) * s.stride, (r.y + r.height) * s.stride);
  } else {
    for (let y = r.y; y < r.y + r.height - dy; y++) {
      const from = (y + dy) * s.stride + left;
      s.data.copyWithin(y * s.stride + left, from, from + rowBytes);
    }
  }
  return r;
}

export interface TextStyle {
  fg: Rgb;
  /** Fill the cell background too; without it the text is drawn over what is there. */
  bg?: Rgb;
  /** Integer pixel scale of the 6 x 8 cell. */
  scale?: number;
}

export function textWidth(text: string, scale = 1): number {
  return text.length * FONT_CELL_WIDTH * scale;
}

export function textHeight(scale = 1): number {
  return FONT_CELL_HEIGHT * scale;
}

/** Draw one line of text with its top-left cell corner at (x, y). */
export function drawText(s: Surface, x: number, y: number, text: string, style: TextStyle): Rect {
  const scale = Math.max(1, Math.floor(style.scale ?? 1));
  const box = { x, y, width: textWidth(text, scale), height: textHeight(scale) };
  if (style.bg !== undefined) fillRect(s, box, style.bg);
  for (let i = 0; i < text.length; i++) {
    drawGlyph(s, x + i * FONT_CELL_WIDTH * scale, y, text.charCodeAt(i), style.fg, scale);
  }
  return clipRect(box, s.width, s.height);
}

function drawGlyph(s: Surface, x: number, y: number, charCode: number, fg: Rgb, scale: number): void {
  const rows = glyphRows(charCode);
  for (let row = 0; row < FONT_CELL_HEIGHT; row++) {
    const mask = rows[row];
    if (mask === 0) continue;
    for (let col = 0; col < FONT_GLYPH_WIDTH; col++) {
      if ((mask >> (FONT_GLYPH_WIDTH - 1 - col)) & 1) {
        fillRect(s, { x: x + col * scale, y: y + row * scale, width: scale, height: scale }, fg);
      }
    }
  }
}
