// Cursor channel messages (spice.proto "channel CursorChannel"; enums.h SPICE_MSG_CURSOR_*).
// Shapes go out as ALPHA cursors with no cache flags: the only kind spice-html5 draws
// (cursor.js), and spice-gtk draws it too (channel-cursor.c set_cursor).

import { ByteWriter } from '../bytes';
import { xerror } from '../errors';
import { SpiceCursorFlags, SpiceCursorType } from './constants';

export interface CursorShape {
  /** Unique id of this shape (SpiceCursorHeader.unique). */
  unique: bigint;
  width: number;
  height: number;
  hotX: number;
  hotY: number;
  /** width * height pixels, 4 bytes each: B, G, R, A (0xAARRGGBB little-endian). */
  bgra: Uint8Array;
}

/** Cursor: u16 flags | [u64 unique | u8 type | u16 width | u16 height | u16 hot_x | u16 hot_y | data] */
function writeCursor(w: ByteWriter, shape: CursorShape | null): void {
  if (!shape) {
    w.u16le(SpiceCursorFlags.NONE);
    return;
  }
  if (shape.bgra.length !== shape.width * shape.height * 4) {
    throw xerror('BYTES_E_RANGE', `ALPHA cursor ${shape.width}x${shape.height} needs ${shape.width * shape.height * 4} bytes`);
  }
  w.u16le(0).u64le(shape.unique).u8(SpiceCursorType.ALPHA);
  w.u16le(shape.width).u16le(shape.height).u16le(shape.hotX).u16le(shape.hotY);
  w.bytes(shape.bgra);
}

/** INIT: i16 x | i16 y | u16 trail_length | u16 trail_frequency | u8 visible | Cursor */
export function buildCursorInit(x: number, y: number, visible: boolean, shape: CursorShape | null): Buffer {
  const w = new ByteWriter(32 + (shape?.bgra.length ?? 0));
  w.s16le(x)
    .s16le(y)
    .u16le(0)
    .u16le(0)
    .u8(visible ? 1 : 0);
  writeCursor(w, shape);
  return w.finish();
}

/** SET: i16 x | i16 y | u8 visible | Cursor */
export function buildCursorSet(x: number, y: number, visible: boolean, shape: CursorShape | null): Buffer {
  const w = new ByteWriter(28 + (shape?.bgra.length ?? 0));
  w.s16le(x)
    .s16le(y)
    .u8(visible ? 1 : 0);
  writeCursor(w, shape);
  return w.finish();
}

/** MOVE: i16 x | i16 y */
export function buildCursorMove(x: number, y: number): Buffer {
  return new ByteWriter(4).s16le(x).s16le(y).finish();
}

/**
 * The default arrow (shown while the guest gives no cursor): 12 x 19, hot spot at the tip,
 * black outline and white fill, drawn from this mask ('#' outline, '.' fill, ' ' clear).
 */
const ARROW = [
  '#           ',
  '##          ',
  '#.#         ',
  '#..#        ',
  '#...#       ',
  '#....#      ',
  '#.....#     ',
  '#......#    ',
  '#.......#   ',
  '#........#  ',
  '#.........# ',
  '#......#####',
  '#...#..#    ',
  '#..# #..#   ',
  '#.#  #..#   ',
  '##    #..#  ',
  '#     #..#  ',
  '       #..# ',
  '       #### ',
];

export function defaultArrowCursor(): CursorShape {
  const width = ARROW[0]!.length;
  const height = ARROW.length;
  const bgra = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const c = ARROW[y]![x];
      const o = (y * width + x) * 4;
      if (c === ' ') continue;
      const v = c === '.' ? 255 : 0;
      bgra[o] = bgra[o + 1] = bgra[o + 2] = v;
      bgra[o + 3] = 255;
    }
  }
  return { unique: 1n, width, height, hotX: 0, hotY: 0, bgra };
}
