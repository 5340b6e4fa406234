// The interface every RFB encoding implements (one file per encoding, like TigerVNC's
// Encoder.h / QEMU ui/vnc-enc-*.c). The encode manager writes the rect header
// (rfbproto §7.6.1: u16 x | u16 y | u16 w | u16 h | s32 encoding); an encoder writes the data.

import type { ByteWriter } from '../../../shared/bytes';
import type { Rect } from '../../../shared/region';
import type { PixelFormat, Surface } from '../../display/display';

export interface Encoder {
  /** The RfbEncoding number written in the rect header. */
  readonly id: number;
  readonly name: string;
  /** Append the encoded pixels of `rect` (inside the surface) in the client's format. */
  encode(surface: Surface, rect: Rect, clientFormat: PixelFormat, writer: ByteWriter): void;
}
