// The xenvfb capture format, version 1: constants, named limits and record types.
// The normative description is docs/capture-format.md; every layout below cites its section.

import type { Rect } from '../region';
import type { RfbPixelFormat } from '../rfb/pixel-format';

/** §2: the first 8 bytes of every capture file. */
export const CAPTURE_MAGIC = 'XVFBCAP\n';
export const CAPTURE_VERSION_MAJOR = 1;
export const CAPTURE_VERSION_MINOR = 0;
/** §2: file header size. */
export const CAPTURE_HEADER_SIZE = 32;
/** §3: record header size. */
export const RECORD_HEADER_SIZE = 16;
/** §4.11: the END record (header + u64 index offset), always the last 24 bytes of a closed file. */
export const END_RECORD_SIZE = RECORD_HEADER_SIZE + 8;

// Named limits (§5). A reader refuses anything past them with CAP_E_OVERSIZE.
/** Largest payload of one record. */
export const CAPTURE_MAX_PAYLOAD = 64 * 1024 * 1024;
/** Largest width or height of a geometry or keyframe. */
export const CAPTURE_MAX_DIMENSION = 8192;
/** Largest uncompressed pixel data of one record (8192 x 8192 x 4). */
export const CAPTURE_MAX_RAW = CAPTURE_MAX_DIMENSION * CAPTURE_MAX_DIMENSION * 4;
/** Rects in one damage record, copies in one copy record (the count is a u16). */
export const CAPTURE_MAX_RECTS = 0xffff;
/** Largest cursor image side. */
export const CAPTURE_MAX_CURSOR = 256;
/** Largest META record (UTF-8 JSON). */
export const CAPTURE_MAX_META = 64 * 1024;
/** Entries of one INDEX record (a keyframe a second for 12 days). */
export const CAPTURE_MAX_INDEX_ENTRIES = 1 << 20;
/** Tile rows in a TILE_SCAN record (docs/dirty-tiles.md: at most 128 rows of 64 columns). */
export const CAPTURE_MAX_TILE_ROWS = 128;
export const CAPTURE_MAX_TILE_COLS = 64;

/** §3: record types (u8). */
export const RecordType = {
  GEOMETRY: 1,
  KEYFRAME: 2,
  DAMAGE: 3,
  COPY: 4,
  INPUT: 5,
  TILE_SCAN: 6,
  CURSOR: 7,
  TIMING: 8,
  META: 9,
  INDEX: 10,
  END: 11,
} as const;
export type RecordTypeNumber = (typeof RecordType)[keyof typeof RecordType];

export function recordTypeName(n: number): string {
  for (const [k, v] of Object.entries(RecordType)) if (v === n) return k;
  return `unknown(${n})`;
}

/** §4.2: pixel data compression (u8). */
export const Compression = { NONE: 0, DEFLATE_RAW: 1 } as const;

/** §4.5: INPUT kinds (u8). */
export const InputKind = { KEY: 1, POINTER_ABS: 2, POINTER_REL: 3, BUTTON: 4, WHEEL: 5 } as const;

/** §4.8: TIMING kinds (u8). */
export const TimingKind = { FRAME_END: 1, HEARTBEAT: 2, GAP: 3 } as const;

/** §2 */
export interface CaptureHeader {
  versionMajor: number;
  versionMinor: number;
  /** Wall-clock time of the first record, Unix ms. */
  startUnixMs: number;
  /** How often the writer puts a keyframe (ms); 0 = only at start and on geometry changes. */
  keyframeIntervalMs: number;
}

/** Width, height and pixel format of the surface; pixels in records are packed rows of it. */
export interface Geometry {
  width: number;
  height: number;
  format: RfbPixelFormat;
}

export interface CopyRect {
  srcX: number;
  srcY: number;
  dstX: number;
  dstY: number;
  width: number;
  height: number;
}

export type InputEvent =
  | { kind: 'key'; code: number; pressed: boolean }
  | { kind: 'pointerAbs'; x: number; y: number; width: number; height: number }
  | { kind: 'pointerRel'; dx: number; dy: number }
  | { kind: 'button'; code: number; pressed: boolean }
  | { kind: 'wheel'; vertical: number; horizontal: number };

export interface TileScan {
  cols: number;
  rows: number;
  tileWidth: number;
  tileHeight: number;
  generation: number;
  active: number;
  /** 0: drained from the dirty-tile page; 1: built from UPDATE events. */
  source: number;
  /** rows x u64 little-endian: bit c of row word r = tile (c, r) was dirty. */
  bitmap: Uint8Array;
}

export interface CursorShape {
  x: number;
  y: number;
  hotX: number;
  hotY: number;
  width: number;
  height: number;
  visible: boolean;
  /** width * height * 4 bytes, R G B A. */
  rgba: Uint8Array;
}

export interface IndexEntry {
  timeMs: number;
  offset: number;
}

export interface CaptureIndex {
  durationMs: number;
  records: number;
  frames: number;
  keyframes: IndexEntry[];
}

interface At {
  /** Milliseconds since the header's start time. */
  timeMs: number;
}

export type CaptureRecord =
  | (At & { type: 'geometry'; geometry: Geometry | null })
  | (At & { type: 'keyframe'; geometry: Geometry; pixels: Uint8Array })
  | (At & { type: 'damage'; bytesPerPixel: number; rects: Rect[]; pixels: Uint8Array })
  | (At & { type: 'copy'; copies: CopyRect[] })
  | (At & { type: 'input'; input: InputEvent })
  | (At & { type: 'tiles'; scan: TileScan })
  | (At & { type: 'cursor'; cursor: CursorShape })
  | (At & { type: 'timing'; kind: number; seq: number })
  | (At & { type: 'meta'; meta: Record<string, unknown> })
  | (At & { type: 'index'; index: CaptureIndex })
  | (At & { type: 'end'; indexOffset: number });
