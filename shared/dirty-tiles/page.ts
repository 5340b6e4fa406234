// The dirty-tile page (docs/dirty-tiles.md §3): constants, geometry choice and the pure
// header codec. No timers, no mappings: the marker and the scanner are the adapters.

import { ByteReader } from '../bytes';
import { xerror } from '../errors';
import { XEN_PAGE_SIZE } from '../page';

/** 'XVDT' read as a little-endian u32 (bytes 58 56 44 54). */
export const DT_MAGIC = 0x54445658;
export const DT_VERSION = 1;
export const DT_MAX_COLS = 64;
export const DT_MAX_ROWS = 128;
/** Tile sides are multiples of this (hextile/tight work in 16x16 blocks). */
export const DT_TILE_ALIGN = 16;
/** tile_w / tile_h are u16 on the page; an aligned tile side is at most this. */
export const DT_MAX_TILE_SIDE = 65520;
/** Largest framebuffer side a page can describe: DT_MAX_COLS * DT_MAX_TILE_SIDE is more; fbif caps far lower. */
export const DT_MAX_FB_SIDE = 32768;

/** Byte offsets of the page fields (docs/dirty-tiles.md §3, table "Page layout v1"). */
export const DT_OFF = {
  magic: 0, // u32 frontend
  version: 4, // u32 frontend
  cols: 8, // u16 frontend
  rows: 10, // u16 frontend
  tileW: 12, // u16 frontend
  tileH: 14, // u16 frontend
  active: 16, // u32 frontend (atomic)
  generation: 20, // u32 frontend (atomic)
  periodMs: 24, // u32 backend (atomic)
  flags: 28, // u32 both (atomic OR / AND only)
  scannedGeneration: 32, // u32 backend (atomic), refinement r1
  bitmap0: 1024, // u64[128]
  bitmap1: 2048, // u64[128]
} as const;

/** Index of each atomic u32 field in a Uint32Array over the page. */
export const DT_U32 = {
  active: DT_OFF.active / 4,
  generation: DT_OFF.generation / 4,
  periodMs: DT_OFF.periodMs / 4,
  flags: DT_OFF.flags / 4,
  scannedGeneration: DT_OFF.scannedGeneration / 4,
} as const;

/** Index of word 0 of bitmap[b] in a BigUint64Array over the page. */
export function bitmapWordIndex(b: 0 | 1): number {
  return (b === 0 ? DT_OFF.bitmap0 : DT_OFF.bitmap1) / 8;
}

/** flags bit 0, set by the backend: switch now and notify back. */
export const DT_FLAG_SWITCH_NOW = 1 << 0;
/** flags bit 1, set by the frontend: a mark arrived while period_ms was 0. */
export const DT_FLAG_WOKE = 1 << 1;
/**
 * flags bit 2, set by the backend (r9, only for a frontend that wrote
 * `dirty-tiles-switch-on-mark=1`): switch once the drawing step that makes the next mark
 * ends, and notify. Cleared by the frontend that takes it.
 */
export const DT_FLAG_SWITCH_ON_MARK = 1 << 2;

export interface TileGeometry {
  cols: number;
  rows: number;
  tileW: number;
  tileH: number;
}

export interface TileHeader extends TileGeometry {
  magic: number;
  version: number;
  active: number;
  generation: number;
  periodMs: number;
  flags: number;
  scannedGeneration: number;
}

function roundUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}

/**
 * The smallest DT_TILE_ALIGN-multiple tiles that cut width x height into at most
 * DT_MAX_COLS x DT_MAX_ROWS tiles; cols/rows are then just enough to cover the framebuffer.
 */
export function chooseTileGeometry(width: number, height: number): TileGeometry {
  for (const [name, v] of [
    ['width', width],
    ['height', height],
  ] as const) {
    if (!Number.isInteger(v) || v < 1 || v > DT_MAX_FB_SIDE) {
      throw xerror('DT_E_BAD_GEOMETRY', `framebuffer ${name} ${v} not in 1..${DT_MAX_FB_SIDE}`, { width, height });
    }
  }
  const tileW = roundUp(Math.ceil(width / DT_MAX_COLS), DT_TILE_ALIGN);
  const tileH = roundUp(Math.ceil(height / DT_MAX_ROWS), DT_TILE_ALIGN);
  return { cols: Math.ceil(width / tileW), rows: Math.ceil(height / tileH), tileW, tileH };
}

/** Throws DT_E_BAD_PAGE unless `page` can hold the layout and take 8-byte atomics. */
export function checkPageBuffer(page: Uint8Array): void {
  if (page.byteLength < XEN_PAGE_SIZE || page.byteOffset % 8 !== 0) {
    throw xerror('DT_E_BAD_PAGE', `page of ${page.byteLength} bytes at offset ${page.byteOffset}`, {
      byteLength: page.byteLength,
      byteOffset: page.byteOffset,
    });
  }
}

/**
 * Frontend: zero the page and write a v1 header for `geom`. period_ms starts at 0 (idle):
 * the backend writes its period when it answers `request-dirty-tiles`.
 */
export function initTilePage(page: Uint8Array, geom: TileGeometry): void {
  checkPageBuffer(page);
  validateGeometry(geom);
  page.fill(0, 0, XEN_PAGE_SIZE);
  const v = new DataView(page.buffer, page.byteOffset, XEN_PAGE_SIZE);
  v.setUint32(DT_OFF.magic, DT_MAGIC, true);
  v.setUint32(DT_OFF.version, DT_VERSION, true);
  v.setUint16(DT_OFF.cols, geom.cols, true);
  v.setUint16(DT_OFF.rows, geom.rows, true);
  v.setUint16(DT_OFF.tileW, geom.tileW, true);
  v.setUint16(DT_OFF.tileH, geom.tileH, true);
}

/** Decode the header (offsets 0..35). A snapshot: the atomic fields may move right after. */
export function readTileHeader(page: Uint8Array): TileHeader {
  // u32 magic | u32 version | u16 cols | u16 rows | u16 tile_w | u16 tile_h |
  // u32 active | u32 generation | u32 period_ms | u32 flags | u32 scanned_generation
  const r = new ByteReader(page.subarray(0, DT_OFF.scannedGeneration + 4));
  return {
    magic: r.u32le(),
    version: r.u32le(),
    cols: r.u16le(),
    rows: r.u16le(),
    tileW: r.u16le(),
    tileH: r.u16le(),
    active: r.u32le(),
    generation: r.u32le(),
    periodMs: r.u32le(),
    flags: r.u32le(),
    scannedGeneration: r.u32le(),
  };
}

function validateGeometry(g: TileGeometry): void {
  const ok =
    Number.isInteger(g.cols) &&
    Number.isInteger(g.rows) &&
    g.cols >= 1 &&
    g.cols <= DT_MAX_COLS &&
    g.rows >= 1 &&
    g.rows <= DT_MAX_ROWS &&
    Number.isInteger(g.tileW) &&
    Number.isInteger(g.tileH) &&
    g.tileW >= 1 &&
    g.tileW <= 0xffff &&
    g.tileH >= 1 &&
    g.tileH <= 0xffff;
  if (!ok) {
    throw xerror('DT_E_BAD_GEOMETRY', `tiles ${g.cols}x${g.rows} of ${g.tileW}x${g.tileH}`, { ...g });
  }
}

/**
 * Backend: accept a header for a fbWidth x fbHeight framebuffer or throw a typed error
 * (DT_E_BAD_MAGIC, DT_E_BAD_VERSION, DT_E_BAD_GEOMETRY, DT_E_BAD_ACTIVE). Returns the geometry.
 */
export function validateTileHeader(h: TileHeader, fbWidth: number, fbHeight: number): TileGeometry {
  if (h.magic !== DT_MAGIC) {
    throw xerror('DT_E_BAD_MAGIC', `magic 0x${h.magic.toString(16)}`, { magic: h.magic });
  }
  if (h.version !== DT_VERSION) {
    throw xerror('DT_E_BAD_VERSION', `version ${h.version}, want ${DT_VERSION}`, { version: h.version });
  }
  const geom: TileGeometry = { cols: h.cols, rows: h.rows, tileW: h.tileW, tileH: h.tileH };
  validateGeometry(geom);
  if (h.cols * h.tileW < fbWidth || h.rows * h.tileH < fbHeight) {
    throw xerror('DT_E_BAD_GEOMETRY', `tiles ${h.cols}x${h.tileW} by ${h.rows}x${h.tileH} do not cover ${fbWidth}x${fbHeight}`, {
      ...geom,
      fbWidth,
      fbHeight,
    });
  }
  if (h.active !== 0 && h.active !== 1) {
    throw xerror('DT_E_BAD_ACTIVE', `active ${h.active}`, { active: h.active });
  }
  return geom;
}

export function geometryEquals(a: TileGeometry, b: TileGeometry): boolean {
  return a.cols === b.cols && a.rows === b.rows && a.tileW === b.tileW && a.tileH === b.tileH;
}
