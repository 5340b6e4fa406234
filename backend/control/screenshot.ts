// A PNG of a display surface in any of the pixel formats a guest can have (pixel-format.ts),
// for the control socket's `screenshot` (and the watch daemon's thumbnails).

import { PNG } from 'pngjs';
import type { Surface } from '../display/display';

/** The surface as 8-bit RGBA, row by row (alpha 255). */
export function surfaceToRgba(surface: Surface): Buffer {
  const { width, height, stride, format: f, data } = surface;
  const bytes = f.bitsPerPixel / 8;
  const out = Buffer.alloc(width * height * 4);
  const xrgb = bytes === 4 && !f.bigEndian && f.redShift === 16 && f.greenShift === 8 && f.blueShift === 0 && f.redMax === 255;
  const scale = (v: number, max: number) => (max === 255 ? v : max === 0 ? 0 : Math.round((v * 255) / max));
  for (let y = 0; y < height; y++) {
    let src = y * stride;
    let dst = y * width * 4;
    if (xrgb) {
      // The common guest format (XRGB8888, little-endian): bytes B, G, R, X.
      for (let x = 0; x < width; x++, src += 4, dst += 4) {
        out[dst] = data[src + 2]!;
        out[dst + 1] = data[src + 1]!;
        out[dst + 2] = data[src]!;
        out[dst + 3] = 255;
      }
      continue;
    }
    for (let x = 0; x < width; x++, src += bytes, dst += 4) {
      let px = 0;
      if (f.bigEndian) for (let i = 0; i < bytes; i++) px = px * 256 + data[src + i]!;
      else for (let i = bytes - 1; i >= 0; i--) px = px * 256 + data[src + i]!;
      out[dst] = scale(Math.floor(px / 2 ** f.redShift) & f.redMax, f.redMax);
      out[dst + 1] = scale(Math.floor(px / 2 ** f.greenShift) & f.greenMax, f.greenMax);
      out[dst + 2] = scale(Math.floor(px / 2 ** f.blueShift) & f.blueMax, f.blueMax);
      out[dst + 3] = 255;
    }
  }
  return out;
}

export function surfaceToPng(surface: Surface): Buffer {
  const png = new PNG({ width: surface.width, height: surface.height });
  surfaceToRgba(surface).copy(png.data);
  return PNG.sync.write(png, { colorType: 2 });
}
