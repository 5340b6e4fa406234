// CopyRect (rfbproto §7.7.2, encoding 1): the rect header names the destination, the data is
// `u16 src-x | u16 src-y`; the client copies its own pixels, so nothing of the surface is read.
// Rects of one FramebufferUpdate are applied in order, so copies go first (rfb-vnc.md §1.5,
// TigerVNC applies copies to the old buffer first, §2.2).

import { ByteWriter } from '../../../shared/bytes';
import type { CopyHint } from '../../display/shadow';
import { RECT_HEADER_SIZE, writeRectHeader } from '../encode-manager';
import { RfbEncoding } from '../messages';

/** u16 src-x | u16 src-y */
export const COPYRECT_DATA_SIZE = 2 + 2;

/** u8 message-type | u8 pad | u16 number-of-rectangles */
const UPDATE_HEADER_SIZE = 1 + 1 + 2;

export function writeCopyRect(w: ByteWriter, c: CopyHint): void {
  writeRectHeader(w, c.dst, RfbEncoding.CopyRect);
  w.u16be(c.src.x).u16be(c.src.y);
}

/**
 * The FramebufferUpdate `update` (exact rect count in its header) with `copies` put before its
 * rects and the count raised to match.
 */
export function prependCopyRects(update: Uint8Array, copies: readonly CopyHint[]): Uint8Array {
  if (copies.length === 0) return update;
  const count = ((update[2]! << 8) | update[3]!) + copies.length;
  const w = new ByteWriter(update.length + copies.length * (RECT_HEADER_SIZE + COPYRECT_DATA_SIZE));
  w.u8(update[0]!).u8(update[1]!).u16be(count);
  for (const c of copies) writeCopyRect(w, c);
  w.bytes(update.subarray(UPDATE_HEADER_SIZE));
  return w.finish();
}
