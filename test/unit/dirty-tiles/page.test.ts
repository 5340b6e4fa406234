// Dirty-tile page codec: geometry at the limits, golden header bytes from an independent
// helper (decode, encode, round trip, split at every byte), and validation errors by code.

import { strict as assert } from 'node:assert';

import { isXenvfbError } from '../../../shared/errors';
import {
  DT_MAGIC,
  DT_MAX_COLS,
  DT_MAX_FB_SIDE,
  DT_MAX_ROWS,
  DT_OFF,
  DT_VERSION,
  TileHeader,
  chooseTileGeometry,
  initTilePage,
  readTileHeader,
  validateTileHeader,
} from '../../../shared/dirty-tiles/page';
import { XEN_PAGE_SIZE } from '../../../shared/page';

/** Builds a header the long way: byte by byte, little-endian, from the spec table. */
function goldenPage(f: Partial<TileHeader> & { cols: number; rows: number; tileW: number; tileH: number }): Uint8Array {
  const p = new Uint8Array(XEN_PAGE_SIZE);
  const put = (off: number, size: number, v: number): void => {
    for (let i = 0; i < size; i++) p[off + i] = Math.floor(v / 2 ** (8 * i)) & 0xff;
  };
  p.set([0x58, 0x56, 0x44, 0x54], 0); // 'X' 'V' 'D' 'T'
  put(4, 4, f.version ?? 1);
  put(8, 2, f.cols);
  put(10, 2, f.rows);
  put(12, 2, f.tileW);
  put(14, 2, f.tileH);
  put(16, 4, f.active ?? 0);
  put(20, 4, f.generation ?? 0);
  put(24, 4, f.periodMs ?? 0);
  put(28, 4, f.flags ?? 0);
  put(32, 4, f.scannedGeneration ?? 0);
  return p;
}

function expectCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => isXenvfbError(e) && e.code === code);
}

describe('dirty-tiles: page', () => {
  describe('chooseTileGeometry', () => {
    const cases: Array<[number, number]> = [
      [1, 1],
      [640, 480],
      [800, 600],
      [1920, 1080],
      [4096, 2160],
      [8192, 8192],
      [DT_MAX_FB_SIDE, DT_MAX_FB_SIDE],
      [1, DT_MAX_FB_SIDE],
      [1024, 2048], // exactly 64 cols of 16 and 128 rows of 16
      [1025, 2049], // one past: tiles grow to 32
    ];
    for (const [w, h] of cases) {
      it(`${w}x${h}: tiles cover, within limits, multiples of 16, smallest`, () => {
        const g = chooseTileGeometry(w, h);
        assert.ok(g.cols >= 1 && g.cols <= DT_MAX_COLS && g.rows >= 1 && g.rows <= DT_MAX_ROWS);
        assert.ok(g.cols * g.tileW >= w && g.rows * g.tileH >= h);
        assert.equal(g.tileW % 16, 0);
        assert.equal(g.tileH % 16, 0);
        // one size smaller would need too many tiles (or there is no smaller)
        assert.ok(g.tileW === 16 || Math.ceil(w / (g.tileW - 16)) > DT_MAX_COLS);
        assert.ok(g.tileH === 16 || Math.ceil(h / (g.tileH - 16)) > DT_MAX_ROWS);
        // no wasted column or row
        assert.ok((g.cols - 1) * g.tileW < w && (g.rows - 1) * g.tileH < h);
        validateTileHeader(readTileHeader(goldenPage(g)), w, h);
      });
    }
    it('1x1 is one 16x16 tile; 4096x2160 is 64x128 tiles of 64x32 (rows 68)', () => {
      assert.deepEqual(chooseTileGeometry(1, 1), { cols: 1, rows: 1, tileW: 16, tileH: 16 });
      assert.deepEqual(chooseTileGeometry(4096, 2160), { cols: 64, rows: 68, tileW: 64, tileH: 32 });
      assert.deepEqual(chooseTileGeometry(8192, 8192), { cols: 64, rows: 128, tileW: 128, tileH: 64 });
    });
    it('rejects 0, negative, fractional and one past DT_MAX_FB_SIDE', () => {
      for (const [w, h] of [
        [0, 1],
        [1, 0],
        [-5, 10],
        [1.5, 10],
        [DT_MAX_FB_SIDE + 1, 1],
        [1, DT_MAX_FB_SIDE + 1],
      ]) {
        expectCode(() => chooseTileGeometry(w, h), 'DT_E_BAD_GEOMETRY');
      }
    });
  });

  describe('header codec (golden)', () => {
    const fields: TileHeader = {
      magic: DT_MAGIC,
      version: DT_VERSION,
      cols: 60,
      rows: 68,
      tileW: 32,
      tileH: 16,
      active: 1,
      generation: 0xfffffffe,
      periodMs: 33,
      flags: 3,
      scannedGeneration: 0x01020304,
    };
    it('magic is the bytes XVDT', () => {
      const p = goldenPage({ cols: 1, rows: 1, tileW: 16, tileH: 16 });
      assert.equal(Buffer.from(p.subarray(0, 4)).toString('latin1'), 'XVDT');
      assert.equal(readTileHeader(p).magic, DT_MAGIC);
    });
    it('decodes golden bytes', () => {
      assert.deepEqual(readTileHeader(goldenPage(fields)), fields);
    });
    it('initTilePage encodes the same bytes as the golden helper, zeroing the rest', () => {
      const p = new Uint8Array(XEN_PAGE_SIZE).fill(0xaa);
      const g = { cols: 60, rows: 68, tileW: 32, tileH: 16 };
      initTilePage(p, g);
      assert.deepEqual(p, goldenPage(g));
    });
    it('round trip through initTilePage + readTileHeader', () => {
      const p = new Uint8Array(XEN_PAGE_SIZE);
      const g = chooseTileGeometry(1920, 1080);
      initTilePage(p, g);
      assert.deepEqual(readTileHeader(p), {
        ...g,
        magic: DT_MAGIC,
        version: 1,
        active: 0,
        generation: 0,
        periodMs: 0,
        flags: 0,
        scannedGeneration: 0,
      });
    });
    it('split at every byte: a page cut short anywhere in the header is BYTES_E_SHORT', () => {
      const p = goldenPage(fields);
      for (let n = 0; n < DT_OFF.scannedGeneration + 4; n++) {
        expectCode(() => readTileHeader(p.subarray(0, n)), 'BYTES_E_SHORT');
      }
      assert.deepEqual(readTileHeader(p.subarray(0, 36)), fields);
    });
    it('offsets match the spec table', () => {
      assert.deepEqual(DT_OFF, {
        magic: 0,
        version: 4,
        cols: 8,
        rows: 10,
        tileW: 12,
        tileH: 14,
        active: 16,
        generation: 20,
        periodMs: 24,
        flags: 28,
        scannedGeneration: 32,
        bitmap0: 1024,
        bitmap1: 2048,
      });
    });
    it('initTilePage refuses a short or misaligned buffer', () => {
      const g = { cols: 1, rows: 1, tileW: 16, tileH: 16 };
      expectCode(() => initTilePage(new Uint8Array(XEN_PAGE_SIZE - 1), g), 'DT_E_BAD_PAGE');
      expectCode(() => initTilePage(new Uint8Array(XEN_PAGE_SIZE + 8).subarray(4), g), 'DT_E_BAD_PAGE');
      expectCode(() => initTilePage(new Uint8Array(XEN_PAGE_SIZE), { ...g, cols: 65 }), 'DT_E_BAD_GEOMETRY');
    });
  });

  describe('validateTileHeader', () => {
    const ok = { cols: 60, rows: 68, tileW: 32, tileH: 16 };
    const h = (over: Partial<TileHeader>): TileHeader => ({ ...readTileHeader(goldenPage(ok)), ...over });
    it('accepts a covering header and returns the geometry', () => {
      assert.deepEqual(validateTileHeader(h({}), 1920, 1080), ok);
    });
    it('limits: cols 64 / rows 128 accepted, 65 / 129 rejected, 0 rejected', () => {
      validateTileHeader(h({ cols: 64, rows: 128 }), 1920, 1080);
      expectCode(() => validateTileHeader(h({ cols: 65 }), 1920, 1080), 'DT_E_BAD_GEOMETRY');
      expectCode(() => validateTileHeader(h({ rows: 129 }), 1920, 1080), 'DT_E_BAD_GEOMETRY');
      expectCode(() => validateTileHeader(h({ cols: 0 }), 1920, 1080), 'DT_E_BAD_GEOMETRY');
      expectCode(() => validateTileHeader(h({ tileW: 0 }), 1920, 1080), 'DT_E_BAD_GEOMETRY');
    });
    it('tiles must cover the framebuffer (exactly covering is fine, one pixel short is not)', () => {
      validateTileHeader(h({}), 1920, 1088);
      expectCode(() => validateTileHeader(h({}), 1921, 1080), 'DT_E_BAD_GEOMETRY');
      expectCode(() => validateTileHeader(h({}), 1920, 1089), 'DT_E_BAD_GEOMETRY');
    });
    it('bad magic, version, active', () => {
      expectCode(() => validateTileHeader(h({ magic: 0 }), 1920, 1080), 'DT_E_BAD_MAGIC');
      expectCode(() => validateTileHeader(h({ version: 2 }), 1920, 1080), 'DT_E_BAD_VERSION');
      expectCode(() => validateTileHeader(h({ active: 2 }), 1920, 1080), 'DT_E_BAD_ACTIVE');
    });
  });
});
