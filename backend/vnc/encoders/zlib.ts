// Zlib encoding (rfbproto §7.7.4): u32 length | zlib data. The data, inflated, is the rect
// as Raw pixels; one zlib stream carries every Zlib rect of the connection.

import type { ByteWriter } from '../../../shared/bytes';
import type { Rect } from '../../../shared/region';
import type { PixelFormat } from '../../display/pixel-format';
import type { Surface } from '../../display/display';
import { RfbEncoding } from '../messages';
import type { EncodeSettings, Encoder } from './encoder';
import { readClientBytes } from './pixels';
import { type ZStream, openDeflateStream } from './zstream';

/** zlib level when the client sent no compress level (TigerVNC's default is 2 as well). */
export const ZLIB_DEFAULT_LEVEL = 2;

export class ZlibEncoder implements Encoder {
  readonly id = RfbEncoding.Zlib;
  readonly name = 'Zlib';
  private stream: ZStream | null = null;

  encode(surface: Surface, rect: Rect, pf: PixelFormat, writer: ByteWriter, settings: EncodeSettings): boolean {
    // The level is fixed by the first rect: a zlib stream cannot signal a restart here.
    this.stream ??= openDeflateStream(settings.compressLevel ?? ZLIB_DEFAULT_LEVEL);
    // A view of a worker's snapshot when it is in the client's format (deflate only reads it).
    const z = this.stream.compress(readClientBytes(surface, rect, pf));
    writer.u32be(z.length).bytes(z);
    return true;
  }
}
