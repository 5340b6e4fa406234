// Writers of the server-to-client messages of a FramebufferUpdate (rfbproto §7.6.1): the
// update header, the rectangle header every encoding and pseudo-encoding starts with, and
// CopyRect (§7.7.2), which is not a pixel encoding: the client copies its own pixels. The
// handshake's server messages are in handshake.ts, the pseudo-encodings in pseudo-encodings.ts;
// client-messages.ts parses the other direction.

import type { ByteWriter } from '../../shared/bytes';
import type { Rect } from '../../shared/region';
import type { CopyHint } from '../display/display';
import { RfbEncoding, ServerMessageType } from './messages';

/** u8 message-type | u8 pad | u16 number-of-rectangles */
export const UPDATE_HEADER_SIZE = 1 + 1 + 2;
/** u16 x | u16 y | u16 w | u16 h | s32 encoding */
export const RECT_HEADER_SIZE = 2 + 2 + 2 + 2 + 4;
/** u16 src-x | u16 src-y */
export const COPYRECT_DATA_SIZE = 2 + 2;

// u8 type=0 | u8 pad | u16 number-of-rectangles
export function writeFramebufferUpdateHeader(w: ByteWriter, rects: number): void {
  w.u8(ServerMessageType.FramebufferUpdate).u8(0).u16be(rects);
}

// u16 x | u16 y | u16 w | u16 h | s32 encoding
export function writeRectHeader(w: ByteWriter, r: Rect, encoding: number): void {
  w.u16be(r.x).u16be(r.y).u16be(r.width).u16be(r.height).s32be(encoding);
}

// rect header (dst, encoding 1) | u16 src-x | u16 src-y
export function writeCopyRect(w: ByteWriter, c: CopyHint): void {
  writeRectHeader(w, c.dst, RfbEncoding.CopyRect);
  w.u16be(c.src.x).u16be(c.src.y);
}
