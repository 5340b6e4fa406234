// How a surface stores a pixel: a packed true-colour value of bitsPerPixel bits, each channel
// `max << shift`, in bytes of the given endianness. The same description pixman, RFB's
// PIXEL_FORMAT (rfbproto §7.4) and SPICE's surface formats reduce to; no colour maps (Xen's
// fbif.h framebuffers are true colour at depth 8, 16, 24 or 32). Protocols keep their own
// wire shape (vnc/messages.ts RfbPixelFormat) and convert at their edge.

export interface PixelFormat {
  bitsPerPixel: 8 | 16 | 24 | 32;
  /** Significant bits (24 for XRGB8888). */
  depth: number;
  bigEndian: boolean;
  redMax: number;
  greenMax: number;
  blueMax: number;
  redShift: number;
  greenShift: number;
  blueShift: number;
}

/** XRGB8888 little-endian, the format of Linux xen-fbfront (depth 32). */
export const PIXEL_FORMAT_XRGB8888: PixelFormat = {
  bitsPerPixel: 32,
  depth: 24,
  bigEndian: false,
  redMax: 255,
  greenMax: 255,
  blueMax: 255,
  redShift: 16,
  greenShift: 8,
  blueShift: 0,
};

/** Bytes R, G, B, X in memory (what image codecs such as JPEG and PNG take). */
export const PIXEL_FORMAT_RGBX8888: PixelFormat = {
  bitsPerPixel: 32,
  depth: 24,
  bigEndian: false,
  redMax: 255,
  greenMax: 255,
  blueMax: 255,
  redShift: 0,
  greenShift: 8,
  blueShift: 16,
};

/** RGB565 little-endian: 16-bit guests (Linux fbdev at depth 16). */
export const PIXEL_FORMAT_RGB565: PixelFormat = {
  bitsPerPixel: 16,
  depth: 16,
  bigEndian: false,
  redMax: 31,
  greenMax: 63,
  blueMax: 31,
  redShift: 11,
  greenShift: 5,
  blueShift: 0,
};

/** RGB332, as QEMU's pixman x8r8g8b8 fallback treats 8-bit guests. */
export const PIXEL_FORMAT_RGB332: PixelFormat = {
  bitsPerPixel: 8,
  depth: 8,
  bigEndian: false,
  redMax: 7,
  greenMax: 7,
  blueMax: 3,
  redShift: 5,
  greenShift: 2,
  blueShift: 0,
};

export function bytesPerPixel(pf: PixelFormat): number {
  return pf.bitsPerPixel >> 3;
}

/** Pixel formats of the guest depths QEMU's xenfb accepts (hw/display/xenfb.c xenfb_configure_fb: 8/16/24/32). */
export function pixelFormatForDepth(depth: number): PixelFormat {
  switch (depth) {
    case 32:
      return PIXEL_FORMAT_XRGB8888;
    case 24:
      return { ...PIXEL_FORMAT_XRGB8888, bitsPerPixel: 24 };
    case 16:
      return PIXEL_FORMAT_RGB565;
    case 8:
      return PIXEL_FORMAT_RGB332;
    default:
      throw new RangeError(`unsupported guest depth ${depth}`);
  }
}
