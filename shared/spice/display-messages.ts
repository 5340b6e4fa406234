// Display channel messages (spice.proto "channel DisplayChannel"; enums.h SPICE_MSG_DISPLAY_*).
// Pointers (u32) are byte offsets from the start of the message body; the layout below puts
// each pointed-to struct right after the struct that points at it, like spice-server's
// marshaller (common/marshaller.c), so a DRAW_COPY with clip NONE has its image at offset 57.

import { ByteWriter } from '../bytes';
import { xerror } from '../errors';
import type { Rect } from '../region';
import {
  SPICE_BITMAP_FLAGS_TOP_DOWN,
  SPICE_CLIP_TYPE_NONE,
  SPICE_ROPD_OP_PUT,
  SPICE_SURFACE_FLAGS_PRIMARY,
  SpiceBitmapFmt,
  SpiceImageType,
  SpiceMsgcDisplay,
  SpiceSurfaceFmt,
} from './constants';
import { fixedBody } from './common-messages';
import { parseStreamReport, type StreamReport } from './stream-messages';

/** SURFACE_CREATE: u32 surface_id | u32 width | u32 height | u32 format | u32 flags */
export function buildSurfaceCreate(surfaceId: number, width: number, height: number): Buffer {
  const w = new ByteWriter(20);
  w.u32le(surfaceId).u32le(width).u32le(height).u32le(SpiceSurfaceFmt.FMT_32_xRGB).u32le(SPICE_SURFACE_FLAGS_PRIMARY);
  return w.finish();
}

/** SURFACE_DESTROY: u32 surface_id */
export function buildSurfaceDestroy(surfaceId: number): Buffer {
  return new ByteWriter(4).u32le(surfaceId).finish();
}

/** MONITORS_CONFIG: u16 count | u16 max_allowed | { u32 id | u32 surface_id | u32 width | u32 height | u32 x | u32 y | u32 flags }[count] */
export function buildMonitorsConfig(width: number, height: number): Buffer {
  const w = new ByteWriter(4 + 28);
  w.u16le(1).u16le(1);
  w.u32le(0).u32le(0).u32le(width).u32le(height).u32le(0).u32le(0).u32le(0);
  return w.finish();
}

/** Rect on the wire: i32 top | i32 left | i32 bottom | i32 right (spice.proto struct Rect). */
function writeRect(w: ByteWriter, r: Rect): void {
  w.s32le(r.y)
    .s32le(r.x)
    .s32le(r.y + r.height)
    .s32le(r.x + r.width);
}

/** An image's payload after its 18-byte SpiceImageDescriptor. */
export interface SpiceImagePayload {
  type: number;
  /** Image-type bytes between the descriptor and `data` (e.g. the bitmap header, or u32 data_size). */
  head: Uint8Array;
  data: Uint8Array;
}

/** BITMAP payload: u8 format | u8 flags | u32 x | u32 y | u32 stride | u32 palette (0) | pixels (stride * y) */
export function bitmapPayload(width: number, height: number, pixels: Uint8Array): SpiceImagePayload {
  const stride = width * 4;
  if (pixels.length !== stride * height) {
    throw xerror('BYTES_E_RANGE', `BITMAP ${width}x${height} needs ${stride * height} bytes, got ${pixels.length}`);
  }
  const head = new ByteWriter(18);
  head.u8(SpiceBitmapFmt.FMT_32BIT).u8(SPICE_BITMAP_FLAGS_TOP_DOWN).u32le(width).u32le(height).u32le(stride).u32le(0);
  return { type: SpiceImageType.BITMAP, head: head.finish(), data: pixels };
}

/** LZ_RGB, LZ4, JPEG, QUIC payloads: u32 data_size | data */
export function sizedPayload(type: number, data: Uint8Array): SpiceImagePayload {
  return { type, head: new ByteWriter(4).u32le(data.length).finish(), data };
}

/** Offset of the image inside a DRAW_COPY body with clip NONE (spice-server puts it there too). */
export const DRAW_COPY_IMAGE_OFFSET = 57;

/**
 * DRAW_COPY with clip NONE, OP_PUT, no mask, src_area = the whole image:
 *   u32 surface_id | Rect box | u8 clip_type | u32 src_bitmap (ptr) | Rect src_area | u16 rop_descriptor |
 *   u8 scale_mode | u8 mask_flags | i32 mask_x | i32 mask_y | u32 mask_bitmap (ptr 0) |
 *   image: u64 id | u8 type | u8 flags | u32 width | u32 height | payload
 */
export function buildDrawCopy(box: Rect, image: { id: bigint; flags?: number } & SpiceImagePayload): Buffer {
  const size = DRAW_COPY_IMAGE_OFFSET + 18 + image.head.length + image.data.length;
  const w = new ByteWriter(size);
  w.u32le(0);
  writeRect(w, box);
  w.u8(SPICE_CLIP_TYPE_NONE);
  w.u32le(DRAW_COPY_IMAGE_OFFSET);
  writeRect(w, { x: 0, y: 0, width: box.width, height: box.height });
  w.u16le(SPICE_ROPD_OP_PUT).u8(0); // scale_mode INTERPOLATE (no scaling happens: src_area = box size)
  w.u8(0).s32le(0).s32le(0).u32le(0); // QMask: flags, pos, bitmap
  w.u64le(image.id)
    .u8(image.type)
    .u8(image.flags ?? 0)
    .u32le(box.width)
    .u32le(box.height);
  w.bytes(image.head).bytes(image.data);
  return w.finish();
}

/** COPY_BITS: u32 surface_id | Rect box | u8 clip_type | i32 src_x | i32 src_y (pixels of box come from src) */
export function buildCopyBits(box: Rect, srcX: number, srcY: number): Buffer {
  const w = new ByteWriter(29);
  w.u32le(0);
  writeRect(w, box);
  w.u8(SPICE_CLIP_TYPE_NONE).s32le(srcX).s32le(srcY);
  return w.finish();
}

/** INVAL_LIST: u16 count | { u8 type (1 = SPICE_RES_TYPE_PIXMAP) | u64 id }[count] */
export function buildInvalList(ids: readonly bigint[]): Buffer {
  if (ids.length > 0xffff) throw xerror('BYTES_E_RANGE', `INVAL_LIST holds at most 65535 ids, got ${ids.length}`);
  const w = new ByteWriter(2 + 9 * ids.length);
  w.u16le(ids.length);
  for (const id of ids) w.u8(1).u64le(id);
  return w.finish();
}

/** Most pixels a client may ask us to cache (DISPLAY_INIT pixmap_cache_size); larger is clamped. */
export const SPICE_MAX_PIXMAP_CACHE_PIXELS = 64 * 1024 * 1024;

export type DisplayClientMessage =
  | { kind: 'init'; pixmapCacheId: number; pixmapCacheSize: number; glzDictionaryId: number; glzWindowSize: number }
  | { kind: 'preferredCompression'; compression: number }
  | ({ kind: 'streamReport' } & StreamReport)
  | { kind: 'glDrawDone' }
  | { kind: 'preferredVideoCodecs' };

export function parseDisplayClientMessage(type: number, body: Uint8Array): DisplayClientMessage {
  switch (type) {
    case SpiceMsgcDisplay.INIT: {
      // u8 pixmap_cache_id | i64 pixmap_cache_size | u8 glz_dictionary_id | i32 glz_dictionary_window_size
      const r = fixedBody(type, body, 1 + 8 + 1 + 4);
      const pixmapCacheId = r.u8();
      const size = r.u64le();
      const glzDictionaryId = r.u8();
      const glzWindowSize = r.s32le();
      // i64 on the wire: a negative or huge size is clamped, never trusted.
      const pixmapCacheSize =
        size >= 1n << 63n ? 0 : Number(size > BigInt(SPICE_MAX_PIXMAP_CACHE_PIXELS) ? SPICE_MAX_PIXMAP_CACHE_PIXELS : size);
      return { kind: 'init', pixmapCacheId, pixmapCacheSize, glzDictionaryId, glzWindowSize };
    }
    case SpiceMsgcDisplay.PREFERRED_COMPRESSION: // u8 SpiceImageCompression
      return { kind: 'preferredCompression', compression: fixedBody(type, body, 1).u8() };
    case SpiceMsgcDisplay.STREAM_REPORT: // stream-messages.ts parseStreamReport
      return { kind: 'streamReport', ...parseStreamReport(body) };
    case SpiceMsgcDisplay.GL_DRAW_DONE:
      return { kind: 'glDrawDone' };
    case SpiceMsgcDisplay.PREFERRED_VIDEO_CODEC_TYPE: // u8 n | u8 codecs[n]
      return { kind: 'preferredVideoCodecs' };
    default:
      throw xerror('SPICE_E_BAD_MSG', `unknown display channel message type ${type}`, { type });
  }
}
