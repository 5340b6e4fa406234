// Tile bitmaps <-> rectangles (docs/dirty-tiles.md §5). Word r is tile row r; bit c is
// tile column c. Pure functions, shared by the marker (rect -> mask) and the scanner
// (words -> rects).

import { Rect, clipRect } from '../region';
import { DT_MAX_ROWS, TileGeometry } from './page';

/** The row words and column mask a rectangle covers, or null when it covers nothing. */
export interface RowMask {
  /** First tile row covered. */
  row0: number;
  /** One past the last tile row covered. */
  row1: number;
  /** Bits col0..col1-1 set. */
  mask: bigint;
}

/** Bits lo..hi-1 set (0 <= lo <= hi <= 64). */
export function bitRange(lo: number, hi: number): bigint {
  if (hi <= lo) return 0n;
  return ((1n << BigInt(hi - lo)) - 1n) << BigInt(lo);
}

/**
 * Tiles a rectangle touches, after clipping it to the framebuffer. Empty or off-screen
 * rectangles give null.
 */
export function rectToRowMask(rect: Rect, geom: TileGeometry, fbWidth: number, fbHeight: number): RowMask | null {
  const r = clipRect(rect, fbWidth, fbHeight);
  if (r.width === 0 || r.height === 0) return null;
  const col0 = Math.floor(r.x / geom.tileW);
  const col1 = Math.min(geom.cols, Math.ceil((r.x + r.width) / geom.tileW));
  const row0 = Math.floor(r.y / geom.tileH);
  const row1 = Math.min(geom.rows, Math.ceil((r.y + r.height) / geom.tileH));
  if (col0 >= col1 || row0 >= row1) return null;
  return { row0, row1, mask: bitRange(col0, col1) };
}

/** Runs of set bits in a word as [start, end) column pairs, restricted to cols. */
export function bitRuns(word: bigint, cols: number): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  let w = word & bitRange(0, cols);
  let c = 0;
  while (w !== 0n) {
    while ((w & 1n) === 0n) {
      w >>= 1n;
      c++;
    }
    const start = c;
    while ((w & 1n) === 1n) {
      w >>= 1n;
      c++;
    }
    runs.push([start, c]);
  }
  return runs;
}

export function popcount64(word: bigint): number {
  let n = 0;
  let w = BigInt.asUintN(64, word);
  while (w !== 0n) {
    w &= w - 1n;
    n++;
  }
  return n;
}

/** Set tiles among the first geom.rows words, bits past geom.cols ignored. */
export function countTiles(words: ArrayLike<bigint>, geom: TileGeometry): number {
  const mask = bitRange(0, geom.cols);
  let n = 0;
  for (let r = 0; r < Math.min(geom.rows, words.length, DT_MAX_ROWS); r++) n += popcount64(words[r] & mask);
  return n;
}

interface OpenRun {
  c0: number;
  c1: number;
  row0: number;
}

function tileRunRect(run: OpenRun, row1: number, geom: TileGeometry, fbWidth: number, fbHeight: number): Rect {
  const x = run.c0 * geom.tileW;
  const y = run.row0 * geom.tileH;
  return clipRect({ x, y, width: (run.c1 - run.c0) * geom.tileW, height: (row1 - run.row0) * geom.tileH }, fbWidth, fbHeight);
}

/**
 * Set tiles as few rectangles in framebuffer pixels: runs of set bits per row, and a run
 * with the same columns in the next row extends the rectangle above it (greedy). The union
 * is exactly the set tiles (clipped to the framebuffer); rectangles never overlap.
 */
export function tilesToRects(words: ArrayLike<bigint>, geom: TileGeometry, fbWidth: number, fbHeight: number): Rect[] {
  const out: Rect[] = [];
  let open = new Map<number, OpenRun>(); // key c0 * 128 + c1
  const rows = Math.min(geom.rows, words.length, DT_MAX_ROWS);
  for (let row = 0; row < rows; row++) {
    const next = new Map<number, OpenRun>();
    for (const [c0, c1] of bitRuns(BigInt.asUintN(64, words[row]), geom.cols)) {
      const key = c0 * 128 + c1;
      const prev = open.get(key);
      if (prev !== undefined) open.delete(key);
      next.set(key, prev ?? { c0, c1, row0: row });
    }
    for (const run of open.values()) out.push(tileRunRect(run, row, geom, fbWidth, fbHeight));
    open = next;
  }
  for (const run of open.values()) out.push(tileRunRect(run, rows, geom, fbWidth, fbHeight));
  return out.filter((r) => r.width > 0 && r.height > 0);
}
