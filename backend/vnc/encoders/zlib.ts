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
/**
 * Zlib and ZRLE rects carry a length before their data, so a rect leaves only once it is
 * compressed whole; a full-screen update goes as strips of this many pixels (1920x128 at
 * 1080p; a multiple of ZRLE's 64-row tiles there), each sent while the next is compressed
 * (Encoder.stripArea). LibVNCServer cuts Zlib rects too, and TigerVNC streams its deflate
 * output as it goes. One stream across the strips; each ends on a sync flush (a few bytes).
 */
export const ZLIB_STRIP_AREA = 1920 * 128;

export class ZlibEncoder implements Encoder {
  readonly id = RfbEncoding.Zlib;
  readonly name = 'Zlib';
  readonly stripArea = ZLIB_STRIP_AREA;
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
