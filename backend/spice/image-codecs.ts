// Image codecs for DRAW_COPY, one per client: chosen from the client's display caps (and a
// forced choice for tests and benchmarks). BITMAP is what every client decodes.

import { xerror } from '../../shared/errors';
import { SpiceImageType } from '../../shared/spice/constants';
import { bitmapPayload, sizedPayload, type SpiceImagePayload } from '../../shared/spice/display-messages';
import { encodeLzRgb32 } from '../../shared/spice/lz-rgb';

export const IMAGE_CODECS = ['bitmap', 'lz_rgb'] as const;
export type ImageCodecName = (typeof IMAGE_CODECS)[number];

export function parseImageCodec(name: string): ImageCodecName {
  if ((IMAGE_CODECS as readonly string[]).includes(name)) return name as ImageCodecName;
  throw xerror('SPICE_E_CONFIG', `unknown SPICE image codec ${name}; one of ${IMAGE_CODECS.join(', ')}`);
}

/** The codec for a client with these display caps: LZ_RGB, which spice-gtk and spice-html5 both decode. */
export function chooseImageCodec(_caps: readonly number[], forced?: ImageCodecName): ImageCodecName {
  return forced ?? 'lz_rgb';
}

/** Encode w x h pixels (B, G, R, X bytes, rows packed) as a DRAW_COPY image payload. */
export function encodeImage(codec: ImageCodecName, width: number, height: number, pixels: Uint8Array): SpiceImagePayload {
  switch (codec) {
    case 'bitmap':
      return bitmapPayload(width, height, pixels);
    case 'lz_rgb':
      return sizedPayload(SpiceImageType.LZ_RGB, encodeLzRgb32(width, height, pixels));
  }
}
