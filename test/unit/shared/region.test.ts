// shared/region.ts: the one rect module. Properties checked pixel by pixel on small grids.

import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import {
  boundingRect,
  clipRect,
  containsRect,
  intersectRect,
  isEmptyRect,
  overlapsAny,
  type Rect,
  rectsOverlap,
  splitIntoTiles,
  subtractAll,
  subtractRect,
} from '../../../shared/region';

const rect = fc.record({
  x: fc.integer({ min: -4, max: 20 }),
  y: fc.integer({ min: -4, max: 20 }),
  width: fc.integer({ min: 0, max: 16 }),
  height: fc.integer({ min: 0, max: 16 }),
});

function inside(r: Rect, x: number, y: number): boolean {
  return x >= r.x && x < r.x + r.width && y >= r.y && y < r.y + r.height;
}

function forEachPixel(fn: (x: number, y: number) => void): void {
  for (let y = -5; y < 40; y++) for (let x = -5; x < 40; x++) fn(x, y);
}

describe('shared/region', () => {
  it('intersect, overlap and contains agree with pixel membership', () => {
    fc.assert(
      fc.property(rect, rect, (a, b) => {
        const i = intersectRect(a, b);
        let shared = false;
        let aInB = true;
        forEachPixel((x, y) => {
          const both = inside(a, x, y) && inside(b, x, y);
          shared ||= both;
          if (inside(a, x, y) && !inside(b, x, y)) aInB = false;
          assert.equal(inside(i, x, y), both);
        });
        assert.equal(rectsOverlap(a, b), shared);
        assert.equal(overlapsAny(a, [{ x: 99, y: 99, width: 1, height: 1 }, b]), shared);
        if (!isEmptyRect(a)) assert.equal(containsRect(b, a), aInB);
      }),
    );
  });

  it('subtractRect and subtractAll give disjoint pieces covering exactly a minus b', () => {
    fc.assert(
      fc.property(rect, rect, rect, (a, b, c) => {
        const pieces = subtractRect(a, b);
        const all = subtractAll([a], [b, c]);
        forEachPixel((x, y) => {
          const n = pieces.filter((p) => inside(p, x, y)).length;
          assert.equal(n, inside(a, x, y) && !inside(b, x, y) ? 1 : 0);
          const m = all.filter((p) => inside(p, x, y)).length;
          assert.equal(m, inside(a, x, y) && !inside(b, x, y) && !inside(c, x, y) ? 1 : 0);
        });
      }),
    );
  });

  it('splitIntoTiles covers the rect once with tiles no bigger than asked', () => {
    fc.assert(
      fc.property(rect, fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 7 }), (r, tw, th) => {
        const tiles = splitIntoTiles(r, tw, th);
        for (const t of tiles) assert.ok(t.width <= tw && t.height <= th && !isEmptyRect(t));
        forEachPixel((x, y) => assert.equal(tiles.filter((t) => inside(t, x, y)).length, inside(r, x, y) ? 1 : 0));
      }),
    );
    assert.throws(() => splitIntoTiles({ x: 0, y: 0, width: 4, height: 4 }, 0, 4), RangeError);
  });

  it('boundingRect holds every rect; clipRect stays inside the surface', () => {
    assert.equal(boundingRect([]), null);
    fc.assert(
      fc.property(fc.array(rect, { minLength: 1, maxLength: 5 }), (rs) => {
        const box = boundingRect(rs)!;
        for (const r of rs) if (!isEmptyRect(r)) assert.ok(containsRect(box, r));
        const c = clipRect(rs[0]!, 10, 10);
        assert.ok(c.x >= 0 && c.y >= 0 && c.x + c.width <= 10 && c.y + c.height <= 10);
      }),
    );
  });
});
