// Raw encoding (rfbproto §7.7.1): width * height pixels in the client's pixel format,
// left to right, top to bottom, no header.

import type { ByteWriter } from '../../../shared/bytes';
import type { Rect } from '../../../shared/region';
import type { PixelFormat } from '../../display/pixel-format';
import type { Surface } from '../../display/display';
import { convertRect, packedSize } from '../../display/pixel-convert';
import { RfbEncoding } from '../messages';
import type { Encoder } from './encoder';

export class RawEncoder implements Encoder {
  readonly id = RfbEncoding.Raw;
  readonly name = 'Raw';

  encode(surface: Surface, rect: Rect, clientFormat: PixelFormat, writer: ByteWriter): boolean {
    const size = packedSize(clientFormat, rect.width, rect.height);
    writer.direct(size, (out, at) => {
      convertRect(surface, rect, clientFormat, out, at);
      return at + size;
    });
    return true;
  }
}
