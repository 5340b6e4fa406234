// One RFB connection's rect decoder: the zlib streams it keeps (Zlib, ZRLE, Tight x4) and a
// dispatch by encoding number. Pure: bytes in through a ByteReader, pixels out into a
// Framebuffer. A ByteReader running out (BYTES_E_SHORT) means the rect is not complete yet.

import type { ByteReader } from '../../bytes';
import { xerror } from '../../errors';
import type { Rect } from '../../region';
import { rfbEncodingName, RfbEncodingNumber } from '../encodings';
import type { Framebuffer } from '../framebuffer';
import { InflateStream } from '../inflate-stream';
import { decodeCopyRect, decodeRaw, decodeRre } from './basic';
import { decodeHextile } from './hextile';
import { decodeTight, type TightState } from './tight';
import { decodeZlib, decodeZrle } from './zrle';

/** The encodings decodeRect() handles. */
export const DECODABLE_ENCODINGS: readonly number[] = [
  RfbEncodingNumber.Raw,
  RfbEncodingNumber.CopyRect,
  RfbEncodingNumber.RRE,
  RfbEncodingNumber.CoRRE,
  RfbEncodingNumber.Hextile,
  RfbEncodingNumber.Zlib,
  RfbEncodingNumber.Tight,
  RfbEncodingNumber.ZRLE,
  RfbEncodingNumber.TightPNG,
];

export class RfbRectDecoder {
  private readonly zlib = new InflateStream();
  private readonly zrle = new InflateStream();
  readonly tight: TightState = { streams: [0, 1, 2, 3].map(() => new InflateStream()), lastImage: null };
  /** Rects decoded per encoding name. */
  readonly counts: Record<string, number> = {};

  /**
   * Decode one rect's data (after its 12-byte header) into fb. Returns the CopyRect source
   * for CopyRect rects. Throws RFB_E_DECODE on bad data, RFB_E_UNSUPPORTED on an unknown
   * encoding, BYTES_E_SHORT when the reader ends inside the rect.
   */
  decodeRect(r: ByteReader, rect: Rect, encoding: number, fb: Framebuffer): { srcX: number; srcY: number } | null {
    fb.check(rect);
    const name = rfbEncodingName(encoding);
    this.counts[name] = (this.counts[name] ?? 0) + 1;
    switch (encoding) {
      case RfbEncodingNumber.Raw:
        decodeRaw(r, rect, fb);
        return null;
      case RfbEncodingNumber.CopyRect:
        return decodeCopyRect(r, rect, fb);
      case RfbEncodingNumber.RRE:
        decodeRre(r, rect, fb);
        return null;
      case RfbEncodingNumber.CoRRE:
        decodeRre(r, rect, fb, true);
        return null;
      case RfbEncodingNumber.Hextile:
        decodeHextile(r, rect, fb);
        return null;
      case RfbEncodingNumber.Zlib:
        decodeZlib(r, rect, fb, this.zlib);
        return null;
      case RfbEncodingNumber.ZRLE:
        decodeZrle(r, rect, fb, this.zrle);
        return null;
      case RfbEncodingNumber.Tight:
      case RfbEncodingNumber.TightPNG:
        decodeTight(r, rect, fb, this.tight, encoding === RfbEncodingNumber.TightPNG);
        return null;
      default:
        throw xerror('RFB_E_UNSUPPORTED', `no decoder for ${name}`, { encoding });
    }
  }
}
