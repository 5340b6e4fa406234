// Image codecs for DRAW_COPY, one per client: chosen from the client's display caps (and a
// forced choice for tests and benchmarks). BITMAP is what every client decodes.

import { xerror } from '../../shared/errors';
import { SpiceImageType } from '../../shared/spice/constants';
import { bitmapPayload, type SpiceImagePayload } from '../../shared/spice/display-messages';

export const IMAGE_CODECS = ['bitmap'] as const;
export type ImageCodecName = (typeof IMAGE_CODECS)[number];

export function parseImageCodec(name: string): ImageCodecName {
  if ((IMAGE_CODECS as readonly string[]).includes(name)) return name as ImageCodecName;
  throw xerror('SPICE_E_CONFIG', `unknown SPICE image codec ${name}; one of ${IMAGE_CODECS.join(', ')}`);
}

/** The codec for a client with these display caps. */
export function chooseImageCodec(_caps: readonly number[], forced?: ImageCodecName): ImageCodecName {
  return forced ?? 'bitmap';
}

/** Encode w x h pixels (B, G, R, X bytes, rows packed) as a DRAW_COPY image payload. */
export function encodeImage(codec: ImageCodecName, width: number, height: number, pixels: Uint8Array): SpiceImagePayload {
  switch (codec) {
    case 'bitmap':
      return bitmapPayload(width, height, pixels);
  }
}

export { SpiceImageType };
