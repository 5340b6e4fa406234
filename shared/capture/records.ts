// Payload codecs of the capture records (docs/capture-format.md §4): one encoder and one
// decoder per record type, each starting with its wire layout. Little-endian throughout.
// Pure: bytes in, values out (zlib's one-shot raw deflate is the only dependency).

import * as zlib from 'node:zlib';
import { ByteReader, ByteWriter } from '../bytes';
import { isXenvfbError, xerror } from '../errors';
import type { Rect } from '../region';
import { checkPixelFormat, type RfbPixelFormat } from '../rfb/pixel-format';
import {
  CAPTURE_MAX_CURSOR,
  CAPTURE_MAX_DIMENSION,
  CAPTURE_MAX_INDEX_ENTRIES,
  CAPTURE_MAX_META,
  CAPTURE_MAX_RAW,
  CAPTURE_MAX_RECTS,
  CAPTURE_MAX_TILE_COLS,
  CAPTURE_MAX_TILE_ROWS,
  Compression,
  InputKind,
  RecordType,
  type CaptureIndex,
  type CaptureRecord,
  type CopyRect,
  type CursorShape,
  type Geometry,
  type InputEvent,
  type TileScan,
} from './format';

/** The decoded payload of a record: a CaptureRecord without its time. */
export type RecordBody = CaptureRecord extends infer R ? (R extends CaptureRecord ? Omit<R, 'timeMs'> : never) : never;

export const GEOMETRY_SIZE = 18;

function bad(message: string, details: Record<string, unknown> = {}): Error {
  return xerror('CAP_E_BAD_RECORD', message, details);
}

// §4.1 u16 width | u16 height | u8 bpp | u8 depth | u8 big_endian | u8 true_colour |
//      u16 red_max | u16 green_max | u16 blue_max | u8 red_shift | u8 green_shift | u8 blue_shift | u8 pad
function writeGeometry(w: ByteWriter, g: Geometry | null): void {
  const f = g?.format;
  w.u16le(g?.width ?? 0).u16le(g?.height ?? 0);
  w.u8(f?.bitsPerPixel ?? 0)
    .u8(f?.depth ?? 0)
    .u8(f?.bigEndian ? 1 : 0)
    .u8(f && f.trueColour !== false ? 1 : 0);
  w.u16le(f?.redMax ?? 0)
    .u16le(f?.greenMax ?? 0)
    .u16le(f?.blueMax ?? 0);
  w.u8(f?.redShift ?? 0)
    .u8(f?.greenShift ?? 0)
    .u8(f?.blueShift ?? 0)
    .u8(0);
}

function readGeometry(r: ByteReader, allowNone: boolean): Geometry | null {
  const width = r.u16le();
  const height = r.u16le();
  const bitsPerPixel = r.u8() as RfbPixelFormat['bitsPerPixel'];
  const depth = r.u8();
  const bigEndian = r.u8() !== 0;
  const trueColour = r.u8() !== 0;
  const format: RfbPixelFormat = {
    bitsPerPixel,
    depth,
    bigEndian,
    redMax: r.u16le(),
    greenMax: r.u16le(),
    blueMax: r.u16le(),
    redShift: r.u8(),
    greenShift: r.u8(),
    blueShift: r.u8(),
  };
  r.skip(1);
  if (width === 0 && height === 0 && allowNone) return null;
  if (!trueColour) throw bad('geometry pixel format is not true colour');
  if (width < 1 || height < 1 || width > CAPTURE_MAX_DIMENSION || height > CAPTURE_MAX_DIMENSION) {
    throw xerror('CAP_E_OVERSIZE', `geometry ${width}x${height} outside 1..${CAPTURE_MAX_DIMENSION}`, { width, height });
  }
  try {
    checkPixelFormat(format);
  } catch (e) {
    throw bad(`geometry pixel format: ${(e as Error).message}`);
  }
  return { width, height, format };
}

/** Deflate pixel data (raw deflate, level 1: capture must be cheap for the backend). */
export function compressPixels(raw: Uint8Array): Uint8Array {
  return zlib.deflateRawSync(raw, { level: 1 });
}

function inflatePixels(compression: number, data: Uint8Array, rawLength: number): Uint8Array {
  if (rawLength > CAPTURE_MAX_RAW) throw xerror('CAP_E_OVERSIZE', `pixel data of ${rawLength} bytes exceeds CAPTURE_MAX_RAW`);
  if (compression === Compression.NONE) {
    if (data.length !== rawLength) throw bad(`uncompressed pixels: ${data.length} bytes, header says ${rawLength}`);
    return data;
  }
  if (compression !== Compression.DEFLATE_RAW) throw bad(`unknown compression ${compression}`);
  let out: Buffer;
  try {
    out = zlib.inflateRawSync(data, { maxOutputLength: Math.max(1, rawLength) });
  } catch (e) {
    throw bad(`pixel data does not inflate to ${rawLength} bytes: ${(e as Error).message}`);
  }
  if (out.length !== rawLength) throw bad(`pixel data inflates to ${out.length} bytes, header says ${rawLength}`);
  return out;
}

// §4.2 pixel block: u8 compression | u8 pad[3] | u32 raw_length | u8 data[...] (to the end of the payload)
function writePixels(w: ByteWriter, pixels: Uint8Array, compress: boolean): void {
  const data = compress ? compressPixels(pixels) : pixels;
  w.u8(compress ? Compression.DEFLATE_RAW : Compression.NONE)
    .zeros(3)
    .u32le(pixels.length)
    .bytes(data);
}

function readPixels(r: ByteReader): Uint8Array {
  const compression = r.u8();
  r.skip(3);
  const rawLength = r.u32le();
  return inflatePixels(compression, r.bytesView(r.remaining), rawLength);
}

// §4.3 KEYFRAME: geometry (18) | pixel block (height rows of width * bpp bytes)
function keyframeBody(r: ByteReader): RecordBody {
  const geometry = readGeometry(r, false)!;
  const pixels = readPixels(r);
  const want = geometry.width * geometry.height * (geometry.format.bitsPerPixel >> 3);
  if (pixels.length !== want) throw bad(`keyframe has ${pixels.length} pixel bytes, ${want} expected`);
  return { type: 'keyframe', geometry, pixels };
}

// §4.4 DAMAGE: u8 bytes_per_pixel | u8 pad | u16 count | count x (u16 x | u16 y | u16 w | u16 h) | pixel block
function damageBody(r: ByteReader): RecordBody {
  const bytesPerPixel = r.u8();
  r.skip(1);
  const count = r.u16le();
  if (bytesPerPixel !== 1 && bytesPerPixel !== 2 && bytesPerPixel !== 4) throw bad(`damage bytes per pixel ${bytesPerPixel}`);
  const rects: Rect[] = [];
  let area = 0;
  for (let i = 0; i < count; i++) {
    const rect = { x: r.u16le(), y: r.u16le(), width: r.u16le(), height: r.u16le() };
    if (rect.x + rect.width > CAPTURE_MAX_DIMENSION || rect.y + rect.height > CAPTURE_MAX_DIMENSION) {
      throw xerror('CAP_E_OVERSIZE', `damage rect ${JSON.stringify(rect)} past CAPTURE_MAX_DIMENSION`);
    }
    area += rect.width * rect.height;
    rects.push(rect);
  }
  const pixels = readPixels(r);
  if (pixels.length !== area * bytesPerPixel) throw bad(`damage has ${pixels.length} pixel bytes, rects need ${area * bytesPerPixel}`);
  return { type: 'damage', bytesPerPixel, rects, pixels };
}

// §4.5 COPY: u16 count | u16 pad | count x (u16 src_x | u16 src_y | u16 dst_x | u16 dst_y | u16 w | u16 h)
function copyBody(r: ByteReader): RecordBody {
  const count = r.u16le();
  r.skip(2);
  const copies: CopyRect[] = [];
  for (let i = 0; i < count; i++) {
    copies.push({ srcX: r.u16le(), srcY: r.u16le(), dstX: r.u16le(), dstY: r.u16le(), width: r.u16le(), height: r.u16le() });
  }
  return { type: 'copy', copies };
}

// §4.6 INPUT: u8 kind | u8 pad | then key/button: u16 code | u8 pressed;
//   pointer_abs: u16 x | u16 y | u16 width | u16 height; pointer_rel: s16 dx | s16 dy; wheel: s16 vertical | s16 horizontal
function inputBody(r: ByteReader): RecordBody {
  const kind = r.u8();
  r.skip(1);
  let input: InputEvent;
  switch (kind) {
    case InputKind.KEY:
    case InputKind.BUTTON:
      input = { kind: kind === InputKind.KEY ? 'key' : 'button', code: r.u16le(), pressed: r.u8() !== 0 };
      break;
    case InputKind.POINTER_ABS:
      input = { kind: 'pointerAbs', x: r.u16le(), y: r.u16le(), width: r.u16le(), height: r.u16le() };
      break;
    case InputKind.POINTER_REL:
      input = { kind: 'pointerRel', dx: r.s16le(), dy: r.s16le() };
      break;
    case InputKind.WHEEL:
      input = { kind: 'wheel', vertical: r.s16le(), horizontal: r.s16le() };
      break;
    default:
      throw bad(`unknown input kind ${kind}`);
  }
  return { type: 'input', input };
}

function writeInput(w: ByteWriter, e: InputEvent): void {
  switch (e.kind) {
    case 'key':
    case 'button':
      w.u8(e.kind === 'key' ? InputKind.KEY : InputKind.BUTTON)
        .u8(0)
        .u16le(e.code)
        .u8(e.pressed ? 1 : 0);
      return;
    case 'pointerAbs':
      w.u8(InputKind.POINTER_ABS).u8(0).u16le(e.x).u16le(e.y).u16le(e.width).u16le(e.height);
      return;
    case 'pointerRel':
      w.u8(InputKind.POINTER_REL).u8(0).s16le(e.dx).s16le(e.dy);
      return;
    case 'wheel':
      w.u8(InputKind.WHEEL).u8(0).s16le(e.vertical).s16le(e.horizontal);
  }
}

// §4.7 TILE_SCAN: u16 cols | u16 rows | u16 tile_w | u16 tile_h | u32 generation | u8 active | u8 source |
//   u16 pad | rows x u64 bitmap
function tileScanBody(r: ByteReader): RecordBody {
  const cols = r.u16le();
  const rows = r.u16le();
  const tileWidth = r.u16le();
  const tileHeight = r.u16le();
  const generation = r.u32le();
  const active = r.u8();
  const source = r.u8();
  r.skip(2);
  if (cols < 1 || cols > CAPTURE_MAX_TILE_COLS || rows < 1 || rows > CAPTURE_MAX_TILE_ROWS) {
    throw xerror('CAP_E_OVERSIZE', `tile scan ${cols}x${rows} outside 64x128`);
  }
  const scan: TileScan = { cols, rows, tileWidth, tileHeight, generation, active, source, bitmap: r.bytesView(rows * 8) };
  return { type: 'tiles', scan };
}

// §4.8 CURSOR: u16 x | u16 y | u16 hot_x | u16 hot_y | u16 w | u16 h | u8 visible | u8 pad[3] | w*h*4 RGBA
function cursorBody(r: ByteReader): RecordBody {
  const [x, y, hotX, hotY, width, height] = [r.u16le(), r.u16le(), r.u16le(), r.u16le(), r.u16le(), r.u16le()];
  const visible = r.u8() !== 0;
  r.skip(3);
  if (width > CAPTURE_MAX_CURSOR || height > CAPTURE_MAX_CURSOR) {
    throw xerror('CAP_E_OVERSIZE', `cursor ${width}x${height} larger than CAPTURE_MAX_CURSOR`);
  }
  const cursor: CursorShape = { x, y, hotX, hotY, width, height, visible, rgba: r.bytesView(width * height * 4) };
  return { type: 'cursor', cursor };
}

// §4.10 INDEX: u32 duration_ms | u32 records | u32 frames | u32 count | count x (u32 time_ms | u64 offset)
function indexBody(r: ByteReader): RecordBody {
  const durationMs = r.u32le();
  const records = r.u32le();
  const frames = r.u32le();
  const count = r.u32le();
  if (count > CAPTURE_MAX_INDEX_ENTRIES) throw xerror('CAP_E_OVERSIZE', `index of ${count} entries`);
  r.need(count * 12);
  const keyframes = [];
  for (let i = 0; i < count; i++) keyframes.push({ timeMs: r.u32le(), offset: Number(r.u64le()) });
  const index: CaptureIndex = { durationMs, records, frames, keyframes };
  return { type: 'index', index };
}

function metaBody(r: ByteReader): RecordBody {
  if (r.remaining > CAPTURE_MAX_META) throw xerror('CAP_E_OVERSIZE', `META of ${r.remaining} bytes`);
  let meta: unknown;
  try {
    meta = JSON.parse(r.utf8(r.remaining));
  } catch {
    throw bad('META is not JSON');
  }
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) throw bad('META is not a JSON object');
  return { type: 'meta', meta: meta as Record<string, unknown> };
}

const DECODERS: Record<number, (r: ByteReader) => RecordBody> = {
  // §4.1 GEOMETRY: geometry (18); 0x0 = no surface
  [RecordType.GEOMETRY]: (r) => ({ type: 'geometry', geometry: readGeometry(r, true) }),
  [RecordType.KEYFRAME]: keyframeBody,
  [RecordType.DAMAGE]: damageBody,
  [RecordType.COPY]: copyBody,
  [RecordType.INPUT]: inputBody,
  [RecordType.TILE_SCAN]: tileScanBody,
  [RecordType.CURSOR]: cursorBody,
  // §4.9 TIMING: u8 kind | u8 pad[3] | u32 seq
  [RecordType.TIMING]: (r) => {
    const kind = r.u8();
    r.skip(3);
    return { type: 'timing', kind, seq: r.u32le() };
  },
  [RecordType.META]: metaBody,
  [RecordType.INDEX]: indexBody,
  // §4.11 END: u64 index_offset
  [RecordType.END]: (r) => ({ type: 'end', indexOffset: Number(r.u64le()) }),
};

/**
 * Decode a payload of a record type. Unknown types return null (a reader skips them: minor
 * versions may add types). Bytes after the known fields are ignored (room for minor versions).
 */
export function decodePayload(type: number, payload: Uint8Array): RecordBody | null {
  const decode = DECODERS[type];
  if (!decode) return null;
  try {
    return decode(new ByteReader(payload));
  } catch (e) {
    if (isXenvfbError(e, 'BYTES_E_SHORT')) throw bad(`record type ${type}: payload too short (${payload.length} bytes)`);
    throw e;
  }
}

export interface EncodeOptions {
  /** Deflate pixel data (default true). Golden tests turn it off for stable bytes. */
  compress?: boolean;
}

/** Encode the payload of a record; returns its type number and bytes. */
export function encodePayload(rec: RecordBody, opts: EncodeOptions = {}): { type: number; payload: Uint8Array } {
  const compress = opts.compress ?? true;
  const w = new ByteWriter(64);
  switch (rec.type) {
    case 'geometry':
      writeGeometry(w, rec.geometry);
      return { type: RecordType.GEOMETRY, payload: w.finish() };
    case 'keyframe':
      writeGeometry(w, rec.geometry);
      writePixels(w, rec.pixels, compress);
      return { type: RecordType.KEYFRAME, payload: w.finish() };
    case 'damage':
      if (rec.rects.length > CAPTURE_MAX_RECTS) throw xerror('CAP_E_OVERSIZE', `${rec.rects.length} rects in one damage record`);
      w.u8(rec.bytesPerPixel).u8(0).u16le(rec.rects.length);
      for (const r of rec.rects) w.u16le(r.x).u16le(r.y).u16le(r.width).u16le(r.height);
      writePixels(w, rec.pixels, compress);
      return { type: RecordType.DAMAGE, payload: w.finish() };
    case 'copy':
      if (rec.copies.length > CAPTURE_MAX_RECTS) throw xerror('CAP_E_OVERSIZE', `${rec.copies.length} copies in one record`);
      w.u16le(rec.copies.length).u16le(0);
      for (const c of rec.copies) w.u16le(c.srcX).u16le(c.srcY).u16le(c.dstX).u16le(c.dstY).u16le(c.width).u16le(c.height);
      return { type: RecordType.COPY, payload: w.finish() };
    case 'input':
      writeInput(w, rec.input);
      return { type: RecordType.INPUT, payload: w.finish() };
    case 'tiles': {
      const s = rec.scan;
      w.u16le(s.cols).u16le(s.rows).u16le(s.tileWidth).u16le(s.tileHeight).u32le(s.generation).u8(s.active).u8(s.source).u16le(0);
      w.bytes(s.bitmap.subarray(0, s.rows * 8));
      return { type: RecordType.TILE_SCAN, payload: w.finish() };
    }
    case 'cursor': {
      const c = rec.cursor;
      w.u16le(c.x)
        .u16le(c.y)
        .u16le(c.hotX)
        .u16le(c.hotY)
        .u16le(c.width)
        .u16le(c.height)
        .u8(c.visible ? 1 : 0)
        .zeros(3);
      w.bytes(c.rgba.subarray(0, c.width * c.height * 4));
      return { type: RecordType.CURSOR, payload: w.finish() };
    }
    case 'timing':
      w.u8(rec.kind).zeros(3).u32le(rec.seq);
      return { type: RecordType.TIMING, payload: w.finish() };
    case 'meta': {
      const json = Buffer.from(JSON.stringify(rec.meta), 'utf8');
      if (json.length > CAPTURE_MAX_META) throw xerror('CAP_E_OVERSIZE', `META of ${json.length} bytes`);
      return { type: RecordType.META, payload: json };
    }
    case 'index': {
      const x = rec.index;
      w.u32le(x.durationMs).u32le(x.records).u32le(x.frames).u32le(x.keyframes.length);
      for (const k of x.keyframes) w.u32le(k.timeMs).u64le(BigInt(k.offset));
      return { type: RecordType.INDEX, payload: w.finish() };
    }
    case 'end':
      w.u64le(BigInt(rec.indexOffset));
      return { type: RecordType.END, payload: w.finish() };
  }
}
