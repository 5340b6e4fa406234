// Tile bitmaps <-> rectangles: exactness of the merge (the union of rects is the set
// tiles, never less, never more, no overlaps) and rect -> row mask at the edges.

import { strict as assert } from 'node:assert';
import fc from 'fast-check';

import { Rect } from '../../../shared/region';
import { bitRange, bitRuns, countTiles, rectToRowMask, tilesToRects } from '../../../shared/dirty-tiles/bitmap';
import { TileGeometry, chooseTileGeometry } from '../../../shared/dirty-tiles/page';

/** Per-pixel coverage count of rects over a w x h surface. */
function paint(rects: Rect[], w: number, h: number): Uint8Array {
  const px = new Uint8Array(w * h);
  for (const r of rects) {
    assert.ok(r.x >= 0 && r.y >= 0 && r.width > 0 && r.height > 0, JSON.stringify(r));
    assert.ok(r.x + r.width <= w && r.y + r.height <= h, `outside: ${JSON.stringify(r)}`);
    for (let y = r.y; y < r.y + r.height; y++) for (let x = r.x; x < r.x + r.width; x++) px[y * w + x]++;
  }
  return px;
}

/** Per-pixel coverage of the set tiles, computed tile by tile. */
function paintTiles(words: bigint[], g: TileGeometry, w: number, h: number): Uint8Array {
  const px = new Uint8Array(w * h);
  for (let row = 0; row < g.rows; row++) {
    for (let col = 0; col < g.cols; col++) {
      if (((words[row] >> BigInt(col)) & 1n) === 0n) continue;
      for (let y = row * g.tileH; y < Math.min(h, (row + 1) * g.tileH); y++) {
        for (let x = col * g.tileW; x < Math.min(w, (col + 1) * g.tileW); x++) px[y * w + x] = 1;
      }
    }
  }
  return px;
}

const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });

// Sparse words (mostly zero, with runs) exercise merging better than uniform noise.
const word = fc.oneof(
  u64,
  fc.constant(0n),
  fc.tuple(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: 64 })).map(([a, b]) => bitRange(Math.min(a, b), Math.max(a, b))),
);

describe('dirty-tiles: bitmap', () => {
  it('bitRange and bitRuns', () => {
    assert.equal(bitRange(0, 64), (1n << 64n) - 1n);
    assert.equal(bitRange(3, 5), 0b11000n);
    assert.equal(bitRange(5, 5), 0n);
    assert.deepEqual(bitRuns(0b1110011n, 64), [
      [0, 2],
      [4, 7],
    ]);
    assert.deepEqual(bitRuns((1n << 64n) - 1n, 64), [[0, 64]]);
    assert.deepEqual(bitRuns((1n << 64n) - 1n, 10), [[0, 10]]);
  });

  it('rectToRowMask: tile edges, clipping, empty and off-screen rects', () => {
    const g: TileGeometry = { cols: 60, rows: 68, tileW: 32, tileH: 16 };
    assert.deepEqual(rectToRowMask({ x: 0, y: 0, width: 1, height: 1 }, g, 1920, 1080), { row0: 0, row1: 1, mask: 1n });
    assert.deepEqual(rectToRowMask({ x: 31, y: 15, width: 2, height: 2 }, g, 1920, 1080), { row0: 0, row1: 2, mask: 3n });
    assert.deepEqual(rectToRowMask({ x: 32, y: 16, width: 32, height: 16 }, g, 1920, 1080), { row0: 1, row1: 2, mask: 2n });
    assert.deepEqual(rectToRowMask({ x: -100, y: -100, width: 1e9, height: 1e9 }, g, 1920, 1080), {
      row0: 0,
      row1: 68,
      mask: bitRange(0, 60),
    });
    assert.equal(rectToRowMask({ x: 1920, y: 0, width: 5, height: 5 }, g, 1920, 1080), null);
    assert.equal(rectToRowMask({ x: 5, y: 5, width: 0, height: 5 }, g, 1920, 1080), null);
  });

  it('tilesToRects merges identical runs in adjacent rows', () => {
    const g: TileGeometry = { cols: 4, rows: 4, tileW: 10, tileH: 10 };
    const rects = tilesToRects([0b0110n, 0b0110n, 0b1111n, 0b0110n], g, 40, 40);
    assert.deepEqual(rects, [
      { x: 10, y: 0, width: 20, height: 20 },
      { x: 0, y: 20, width: 40, height: 10 },
      { x: 10, y: 30, width: 20, height: 10 },
    ]);
    assert.deepEqual(tilesToRects(new Array(4).fill(0b1111n), g, 35, 37), [{ x: 0, y: 0, width: 35, height: 37 }]);
  });

  it('ignores bits past cols and words past rows', () => {
    const g: TileGeometry = { cols: 2, rows: 1, tileW: 16, tileH: 16 };
    assert.deepEqual(tilesToRects([0b1110n, 0b1n], g, 32, 16), [{ x: 16, y: 0, width: 16, height: 16 }]);
    assert.equal(countTiles([0b1110n, 0b1n], g), 1);
  });

  it('property: union of rects == set tiles exactly, no overlap, inside the fb', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 300 }),
        fc.array(word, { minLength: 128, maxLength: 128 }),
        (w, h, words) => {
          const g = chooseTileGeometry(w, h);
          // smaller tiles than chosen so the 300px surface has many of them
          const small: TileGeometry = { cols: Math.min(64, Math.ceil(w / 5)), rows: Math.min(128, Math.ceil(h / 3)), tileW: 5, tileH: 3 };
          for (const geom of [g, small]) {
            if (geom.cols * geom.tileW < w || geom.rows * geom.tileH < h) continue;
            const got = paint(tilesToRects(words, geom, w, h), w, h);
            assert.deepEqual(got, paintTiles(words, geom, w, h));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('property: rectToRowMask covers the rect and no tile outside its bounding tiles', () => {
    fc.assert(
      fc.property(
        fc.record({
          x: fc.integer({ min: -50, max: 400 }),
          y: fc.integer({ min: -50, max: 400 }),
          width: fc.integer({ min: -5, max: 500 }),
          height: fc.integer({ min: -5, max: 500 }),
        }),
        (r) => {
          const g: TileGeometry = { cols: 20, rows: 30, tileW: 16, tileH: 16 };
          const m = rectToRowMask(r, g, 300, 200);
          const clipped = { x: Math.max(0, r.x), y: Math.max(0, r.y), x1: Math.min(300, r.x + r.width), y1: Math.min(200, r.y + r.height) };
          if (clipped.x1 <= clipped.x || clipped.y1 <= clipped.y) {
            assert.equal(m, null);
            return;
          }
          assert.ok(m !== null);
          const words = new Array<bigint>(30).fill(0n);
          for (let row = m.row0; row < m.row1; row++) words[row] = m.mask;
          const rects = tilesToRects(words, g, 300, 200);
          assert.equal(rects.length, 1);
          const t = rects[0];
          assert.ok(t.x <= clipped.x && t.y <= clipped.y && t.x + t.width >= clipped.x1 && t.y + t.height >= clipped.y1);
          assert.ok(t.x > clipped.x - 16 && t.y > clipped.y - 16);
          assert.ok(t.x + t.width < clipped.x1 + 16 && t.y + t.height < clipped.y1 + 16);
        },
      ),
      { numRuns: 500 },
    );
  });
});
