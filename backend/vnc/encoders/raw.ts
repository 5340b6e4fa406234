// Raw encoding (rfbproto §7.7.1): width * height pixels in the client's pixel format,
// left to right, top to bottom, no header.

import type { ByteWriter } from '../../../shared/bytes';
import type { Rect } from '../../../shared/region';
import type { PixelFormat } from '../../display/pixel-format';
import type { Surface } from '../../display/display';
import { convertRect, packedSize } from '../../display/pixel-convert';
import { RfbEncoding } from '../messages';
import type { EncodeSettings, Encoder } from './encoder';

/**
 * With a frame that sends parts ahead (EncodeSettings.progress), a rect is copied in pieces of
 * about this many bytes, whole rows each (1920x136 at 1080p, 32 bpp): the first megabyte can
 * leave while the rest is still being copied. One rect on the wire either way.
 */
export const RAW_PIECE_BYTES = 1024 * 1024;

export class RawEncoder implements Encoder {
  readonly id = RfbEncoding.Raw;
  readonly name = 'Raw';

  encode(surface: Surface, rect: Rect, clientFormat: PixelFormat, writer: ByteWriter, settings?: EncodeSettings): boolean {
    const progress = settings?.progress;
    const rows = progress ? Math.max(1, Math.floor(RAW_PIECE_BYTES / packedSize(clientFormat, rect.width, 1))) : rect.height;
    for (let y = 0; y < rect.height; y += rows) {
      const piece = { x: rect.x, y: rect.y + y, width: rect.width, height: Math.min(rows, rect.height - y) };
      const size = packedSize(clientFormat, piece.width, piece.height);
      writer.direct(size, (out, at) => {
        convertRect(surface, piece, clientFormat, out, at);
        return at + size;
      });
      if (y + rows < rect.height) progress?.();
    }
    return true;
  }
}
