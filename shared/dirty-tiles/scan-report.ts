// What one damage scan of a domain found, as the inspector (`xenvfb inspect`) and a capture
// file see it: the tile grid, which bitmap was active, the generation, and the dirty tiles as
// row words (bit c of word r = tile (c, r), docs/dirty-tiles.md §5). For stock guests, whose
// damage comes as XENFB_TYPE_UPDATE rectangles, the same report is made on the grid the
// dirty-tile extension would use (chooseTileGeometry), so one view serves both.
// Pure: the JSON shape (u64 words as hex strings) and a strict reader for untrusted input.

import { xerror } from '../errors';
import type { Rect } from '../region';
import { rectToRowMask } from './bitmap';
import { DT_MAX_COLS, DT_MAX_ROWS, type TileGeometry } from './page';

export type ScanSource = 'tiles' | 'update';

export interface ScanReport {
  /** Increases by one per report of a monitor. */
  seq: number;
  /** Milliseconds on the monitor's clock. */
  t: number;
  source: ScanSource;
  fbWidth: number;
  fbHeight: number;
  geometry: TileGeometry;
  /** Dirty-tile page: the bitmap the guest writes now, and its switch counter (null for UPDATE). */
  active: 0 | 1 | null;
  generation: number | null;
  /** The guest switched bitmaps since the previous scan. */
  switched: boolean;
  /** The scan asked the guest to switch (paced or late) / put it to idle / sent the whole screen. */
  late: boolean;
  idle: boolean;
  full: boolean;
  /** Why the page was taken for garbage (an error code), else null. */
  garbage: string | null;
  /** Dirty tiles, one word per tile row. */
  words: bigint[];
  tiles: number;
  /** Rectangles this scan handed to the display. */
  rects: number;
}

/** ScanReport as JSON: words as 16-digit hex strings. */
export type ScanReportJson = Omit<ScanReport, 'words'> & { words: string[] };

export function scanReportToJson(r: ScanReport): ScanReportJson {
  return { ...r, words: r.words.map((w) => w.toString(16).padStart(16, '0')) };
}

/** Rows of words on `geom` for damage rects (the UPDATE path). */
export function wordsForRects(rects: readonly Rect[], geom: TileGeometry, fbWidth: number, fbHeight: number): bigint[] {
  const words = new Array<bigint>(geom.rows).fill(0n);
  for (const r of rects) {
    const m = rectToRowMask(r, geom, fbWidth, fbHeight);
    if (!m) continue;
    for (let row = m.row0; row < m.row1; row++) words[row]! |= m.mask;
  }
  return words;
}

function bad(what: string): never {
  throw xerror('DT_E_BAD_REPORT', `scan report: ${what}`);
}

function int(v: unknown, name: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(`${name} must be an integer in ${min}..${max}`);
  return v;
}

function bool(v: unknown, name: string): boolean {
  if (typeof v !== 'boolean') bad(`${name} must be true or false`);
  return v;
}

/** A report read back from JSON (a control socket, a file): every field checked, DT_E_BAD_REPORT otherwise. */
export function scanReportFromJson(v: unknown): ScanReport {
  if (typeof v !== 'object' || v === null) bad('not an object');
  const o = v as Record<string, unknown>;
  const g = (typeof o.geometry === 'object' && o.geometry !== null ? o.geometry : bad('geometry missing')) as Record<string, unknown>;
  const geometry = {
    cols: int(g.cols, 'cols', 1, DT_MAX_COLS),
    rows: int(g.rows, 'rows', 1, DT_MAX_ROWS),
    tileW: int(g.tileW, 'tileW', 1, 65535),
    tileH: int(g.tileH, 'tileH', 1, 65535),
  };
  if (o.source !== 'tiles' && o.source !== 'update') bad('source must be tiles or update');
  if (!Array.isArray(o.words) || o.words.length !== geometry.rows) bad('words must have one entry per tile row');
  const words = o.words.map((w) =>
    typeof w === 'string' && /^[0-9a-f]{1,16}$/.test(w) ? BigInt(`0x${w}`) : bad('a word is not 1-16 hex digits'),
  );
  return {
    seq: int(o.seq, 'seq', 0, Number.MAX_SAFE_INTEGER),
    t: typeof o.t === 'number' && Number.isFinite(o.t) ? o.t : bad('t must be a number'),
    source: o.source,
    fbWidth: int(o.fbWidth, 'fbWidth', 1, 32768),
    fbHeight: int(o.fbHeight, 'fbHeight', 1, 32768),
    geometry,
    active: o.active === null ? null : (int(o.active, 'active', 0, 1) as 0 | 1),
    generation: o.generation === null ? null : int(o.generation, 'generation', 0, 0xffffffff),
    switched: bool(o.switched, 'switched'),
    late: bool(o.late, 'late'),
    idle: bool(o.idle, 'idle'),
    full: bool(o.full, 'full'),
    garbage: o.garbage === null || typeof o.garbage === 'string' ? (o.garbage as string | null) : bad('garbage must be a string or null'),
    words,
    tiles: int(o.tiles, 'tiles', 0, DT_MAX_COLS * DT_MAX_ROWS),
    rects: int(o.rects, 'rects', 0, Number.MAX_SAFE_INTEGER),
  };
}
