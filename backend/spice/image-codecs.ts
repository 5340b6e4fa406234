// Image codecs for DRAW_COPY, one per client: chosen from the client's display caps (and a
// forced choice for tests and benchmarks). BITMAP is what every client decodes.

import { xerror } from '../../shared/errors';
import { hasCap, SpiceDisplayCap, SpiceImageType } from '../../shared/spice/constants';
import { bitmapPayload, sizedPayload, type SpiceImagePayload } from '../../shared/spice/display-messages';
import { encodeLzRgb32 } from '../../shared/spice/lz-rgb';
import { encodeLz4Image } from '../../shared/spice/lz4-image';
import { encodeBgrxJpeg } from './jpeg';

export const IMAGE_CODECS = ['bitmap', 'lz_rgb', 'lz4', 'jpeg'] as const;
/** JPEG quality for lossy rects (libjpeg scale 1..100; jpeg.ts); still areas are re-sent losslessly. */
export const SPICE_JPEG_QUALITY = 80;

/** Lossy codecs leave areas the display channel re-sends losslessly once they are still. */
export function isLossy(codec: ImageCodecName): boolean {
  return codec === 'jpeg';
}
export type ImageCodecName = (typeof IMAGE_CODECS)[number];

export function parseImageCodec(name: string): ImageCodecName {
  if ((IMAGE_CODECS as readonly string[]).includes(name)) return name as ImageCodecName;
  throw xerror('SPICE_E_CONFIG', `unknown SPICE image codec ${name}; one of ${IMAGE_CODECS.join(', ')}`);
}

/**
 * The codec for a client with these display caps. LZ_RGB by default: spice-gtk and spice-html5
 * both decode it, and it came out smaller than LZ4 at about the same encode time on our test
 * pictures (npm run bench:spice). LZ4 only for a client that sent LZ4_COMPRESSION
 * (spice-server checks the same cap, dcc.cpp); a forced LZ4 falls back to LZ_RGB otherwise.
 */
export function chooseImageCodec(caps: readonly number[], forced?: ImageCodecName): ImageCodecName {
  if (forced === 'lz4' && !hasCap(caps, SpiceDisplayCap.LZ4_COMPRESSION)) return 'lz_rgb';
  return forced ?? 'lz_rgb';
}

/** Encode w x h pixels (B, G, R, X bytes, rows packed) as a DRAW_COPY image payload. */
export function encodeImage(codec: ImageCodecName, width: number, height: number, pixels: Uint8Array): SpiceImagePayload {
  switch (codec) {
    case 'bitmap':
      return bitmapPayload(width, height, pixels);
    case 'lz_rgb':
      return sizedPayload(SpiceImageType.LZ_RGB, encodeLzRgb32(width, height, pixels));
    case 'lz4':
      return sizedPayload(SpiceImageType.LZ4, encodeLz4Image(width, height, pixels));
    case 'jpeg':
      return sizedPayload(SpiceImageType.JPEG, encodeBgrxJpeg(width, height, pixels, SPICE_JPEG_QUALITY));
  }
}
