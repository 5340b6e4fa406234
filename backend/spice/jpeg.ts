// JPEG for SPICE (DRAW_COPY images of type JPEG and MJPEG stream frames), through the same two
// twins as VNC's Tight JPEG (backend/vnc/encoders/jpeg.ts): libjpeg-turbo in the addon when it
// was built with it, jpeg-js otherwise or with XENVFB_NO_NATIVE_JPEG=1. SPICE takes a libjpeg
// quality (1..100) directly; spice-gtk decodes with libjpeg, spice-html5 with the browser.

import * as jpegJs from 'jpeg-js';
import type { Rect } from '../../shared/region';
import { TJSAMP, turbojpeg } from '../../native';
import type { Surface } from '../display/display';
import { PIXEL_FORMAT_RGBX8888, PIXEL_FORMAT_XRGB8888 } from '../display/pixel-format';
import { convertRectToNew, pixelFormatsEqual } from '../display/pixel-convert';

/** Forces jpeg-js: the same switch as VNC's (backend/vnc/encoders/jpeg.ts NO_NATIVE_JPEG_ENV). */
const NO_NATIVE_JPEG_ENV = 'XENVFB_NO_NATIVE_JPEG';

/** Which twin encodes SPICE JPEG in this process. */
export function spiceJpegPath(): 'libjpeg-turbo' | 'jpeg-js' {
  return turbojpeg && process.env[NO_NATIVE_JPEG_ENV] !== '1' ? 'libjpeg-turbo' : 'jpeg-js';
}

/**
 * A baseline JFIF of `rect` of the surface. `subsample` picks 4:2:0 (video frames: half the
 * bytes, and what spice-server's MJPEG encoder uses) over 4:4:4 (still images); jpeg-js can only
 * do 4:4:4.
 */
export function encodeSurfaceJpeg(surface: Surface, rect: Rect, quality: number, subsample: boolean): Uint8Array {
  const q = Math.max(1, Math.min(100, Math.round(quality)));
  const sampling = subsample ? TJSAMP.S420 : TJSAMP.S444;
  if (spiceJpegPath() === 'libjpeg-turbo') {
    if (pixelFormatsEqual(surface.format, PIXEL_FORMAT_XRGB8888)) {
      // Read in place: XRGB8888 little-endian is B, G, R, X in memory (TurboJPEG TJPF_BGRX).
      const offset = rect.y * surface.stride + rect.x * 4;
      return turbojpeg!.compress(surface.data, offset, rect.width, rect.height, surface.stride, 'BGRX', q, sampling);
    }
    const rgbx = convertRectToNew(surface, rect, PIXEL_FORMAT_RGBX8888);
    return turbojpeg!.compress(rgbx, 0, rect.width, rect.height, rect.width * 4, 'RGBX', q, sampling);
  }
  const rgba = convertRectToNew(surface, rect, PIXEL_FORMAT_RGBX8888);
  for (let i = 3; i < rgba.length; i += 4) rgba[i] = 255;
  return jpegJs.encode({ data: rgba, width: rect.width, height: rect.height }, q).data;
}

/** The same for packed B, G, R, X pixels (what the DRAW_COPY path holds). */
export function encodeBgrxJpeg(width: number, height: number, pixels: Uint8Array, quality: number): Uint8Array {
  if (spiceJpegPath() === 'libjpeg-turbo') return turbojpeg!.compress(pixels, 0, width, height, width * 4, 'BGRX', quality, TJSAMP.S444);
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < rgba.length; i += 4) {
    rgba[i] = pixels[i + 2]!;
    rgba[i + 1] = pixels[i + 1]!;
    rgba[i + 2] = pixels[i]!;
    rgba[i + 3] = 255;
  }
  return jpegJs.encode({ data: rgba, width, height }, quality).data;
}
