// Scan reports (shared/dirty-tiles/scan-report.ts) as the capture format's TILE_SCAN records
// (docs/capture-format.md §4.7) and back: a recorder keeps what the inspector would have
// shown, and `xenvfb inspect --capture FILE` shows it again. Pure.

import type { ScanReport } from '../dirty-tiles/scan-report';
import type { TileScan } from './format';

/** TILE_SCAN source byte: drained from the dirty-tile page, or built from UPDATE events. */
export const TILE_SCAN_SOURCE = { tiles: 0, update: 1 } as const;

export function tileScanFromReport(r: ScanReport): TileScan {
  const bitmap = new Uint8Array(r.geometry.rows * 8);
  const view = new DataView(bitmap.buffer);
  r.words.forEach((w, row) => view.setBigUint64(row * 8, w, true));
  return {
    cols: r.geometry.cols,
    rows: r.geometry.rows,
    tileWidth: r.geometry.tileW,
    tileHeight: r.geometry.tileH,
    generation: (r.generation ?? 0) >>> 0,
    active: r.active ?? 0,
    source: TILE_SCAN_SOURCE[r.source],
    bitmap,
  };
}

/**
 * A TILE_SCAN record as a report (seq = its order in the file, t = its time). The record
 * does not carry the scan's flags or rect count: those read as false / 0.
 */
export function reportFromTileScan(s: TileScan, seq: number, timeMs: number, fbWidth: number, fbHeight: number): ScanReport {
  const view = new DataView(s.bitmap.buffer, s.bitmap.byteOffset, s.bitmap.byteLength);
  const words: bigint[] = [];
  for (let row = 0; row < s.rows; row++) words.push(view.getBigUint64(row * 8, true) & ((1n << BigInt(s.cols)) - 1n));
  const tiles = words.reduce((n, w) => n + w.toString(2).split('1').length - 1, 0);
  const fromPage = s.source === TILE_SCAN_SOURCE.tiles;
  return {
    seq,
    t: timeMs,
    source: fromPage ? 'tiles' : 'update',
    fbWidth: fbWidth || s.cols * s.tileWidth,
    fbHeight: fbHeight || s.rows * s.tileHeight,
    geometry: { cols: s.cols, rows: s.rows, tileW: s.tileWidth, tileH: s.tileHeight },
    active: fromPage ? (s.active === 1 ? 1 : 0) : null,
    generation: fromPage ? s.generation : null,
    switched: false,
    late: false,
    idle: false,
    full: false,
    garbage: null,
    words,
    tiles,
    rects: 0,
  };
}
