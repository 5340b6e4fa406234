// The client-side framebuffer the RFB decoders draw into: packed rows of pixels in the
// stream's pixel format (rfbproto §7.4). Every write is bounds-checked against the surface,
// so a malformed rect raises RFB_E_DECODE instead of writing out of range.

import { xerror } from '../errors';
import type { Rect } from '../region';
import { bytesPerPixel, writePixel, type RfbPixelFormat } from './pixel-format';

/** Largest framebuffer side a decoder accepts (RFB sizes are u16; memory is the real bound). */
export const RFB_MAX_DIMENSION = 8192;

export class Framebuffer {
  readonly bpp: number;
  pixels: Uint8Array;
  private readonly one: Uint8Array;

  constructor(
    public width: number,
    public height: number,
    readonly format: RfbPixelFormat,
  ) {
    this.bpp = bytesPerPixel(format);
    this.one = new Uint8Array(this.bpp);
    checkSize(width, height);
    this.pixels = new Uint8Array(width * height * this.bpp);
  }

  get stride(): number {
    return this.width * this.bpp;
  }

  /** A new surface size (DesktopSize): the picture is cleared, as a client would. */
  resize(width: number, height: number): void {
    checkSize(width, height);
    this.width = width;
    this.height = height;
    this.pixels = new Uint8Array(width * height * this.bpp);
  }

  /** Throws RFB_E_DECODE unless rect lies inside the surface. */
  check(r: Rect): void {
    if (r.x < 0 || r.y < 0 || r.width < 0 || r.height < 0 || r.x + r.width > this.width || r.y + r.height > this.height) {
      throw xerror('RFB_E_DECODE', `rect ${r.width}x${r.height}+${r.x}+${r.y} outside the ${this.width}x${this.height} framebuffer`);
    }
  }

  fill(x: number, y: number, w: number, h: number, value: number): void {
    if (w <= 0 || h <= 0) return;
    const bpp = this.bpp;
    writePixel(this.one, 0, this.format, value);
    const stride = this.stride;
    const first = y * stride + x * bpp;
    for (let i = 0; i < w; i++) this.pixels.set(this.one, first + i * bpp);
    for (let row = 1; row < h; row++) this.pixels.copyWithin(first + row * stride, first, first + w * bpp);
  }

  /** Copy tightly packed rows (w * bpp bytes each) into (x, y). */
  putRows(x: number, y: number, w: number, h: number, src: Uint8Array, srcOffset = 0): void {
    const rowBytes = w * this.bpp;
    for (let row = 0; row < h; row++) {
      const from = srcOffset + row * rowBytes;
      this.pixels.set(src.subarray(from, from + rowBytes), (y + row) * this.stride + x * this.bpp);
    }
  }

  /** Write pixel values (numbers in the format) of a w x h block at (x, y). */
  putValues(x: number, y: number, w: number, h: number, values: ArrayLike<number>): void {
    const bpp = this.bpp;
    for (let row = 0; row < h; row++) {
      let o = (y + row) * this.stride + x * bpp;
      for (let col = 0; col < w; col++, o += bpp) writePixel(this.pixels, o, this.format, values[row * w + col]!);
    }
  }

  /** CopyRect: the rect at dst takes the pixels at src (overlap-safe, like memmove). */
  copy(srcX: number, srcY: number, dst: Rect): void {
    this.check({ x: srcX, y: srcY, width: dst.width, height: dst.height });
    const rowBytes = dst.width * this.bpp;
    const down = dst.y > srcY;
    for (let i = 0; i < dst.height; i++) {
      const row = down ? dst.height - 1 - i : i;
      const from = (srcY + row) * this.stride + srcX * this.bpp;
      this.pixels.copyWithin((dst.y + row) * this.stride + dst.x * this.bpp, from, from + rowBytes);
    }
  }

  /** Packed pixels of a rect. */
  read(r: Rect): Uint8Array {
    const out = new Uint8Array(r.width * r.height * this.bpp);
    const rowBytes = r.width * this.bpp;
    for (let row = 0; row < r.height; row++) {
      const from = (r.y + row) * this.stride + r.x * this.bpp;
      out.set(this.pixels.subarray(from, from + rowBytes), row * rowBytes);
    }
    return out;
  }
}

function checkSize(w: number, h: number): void {
  if (!Number.isInteger(w) || !Number.isInteger(h) || w < 0 || h < 0 || w > RFB_MAX_DIMENSION || h > RFB_MAX_DIMENSION) {
    throw xerror('RFB_E_UNSUPPORTED', `framebuffer ${w}x${h} is larger than RFB_MAX_DIMENSION (${RFB_MAX_DIMENSION})`);
  }
}
