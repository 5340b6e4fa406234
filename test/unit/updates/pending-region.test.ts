import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { intersectRect, subtractRect } from '../../../shared/region';
import { MAX_PENDING_RECTS, PendingRegion } from '../../../backend/updates/pending-region';
import type { Rect } from '../../../shared/region';

const covers = (rects: readonly Rect[], x: number, y: number): boolean =>
  rects.some((r) => x >= r.x && y >= r.y && x < r.x + r.width && y < r.y + r.height);

describe('vnc/damage', () => {
  it('drops empty and contained rects, replaces contained ones', () => {
    const p = new PendingRegion();
    p.add({ x: 0, y: 0, width: 0, height: 5 });
    assert.equal(p.isEmpty, true);
    p.add({ x: 2, y: 2, width: 2, height: 2 });
    p.add({ x: 3, y: 3, width: 1, height: 1 });
    p.add({ x: 0, y: 0, width: 10, height: 10 });
    assert.deepEqual(p.rects, [{ x: 0, y: 0, width: 10, height: 10 }]);
  });

  it(`past ${MAX_PENDING_RECTS} rects merges the pair whose bounding box adds the fewest pixels`, () => {
    const p = new PendingRegion();
    // A diagonal of single pixels 2 apart, then one far away: the far one is never merged.
    for (let i = 0; i < MAX_PENDING_RECTS; i++) p.add({ x: i * 2, y: i, width: 1, height: 1 });
    p.add({ x: 500, y: 500, width: 1, height: 1 });
    assert.equal(p.rects.length, MAX_PENDING_RECTS);
    assert.deepEqual(p.rects[p.rects.length - 1], { x: 0, y: 0, width: 3, height: 2 });
    assert.ok(p.rects.some((r) => r.x === 500));
    // A row of touching pixels merges at no cost: one rect per row run.
    const q = new PendingRegion();
    for (let i = 0; i <= MAX_PENDING_RECTS; i++) q.add({ x: i, y: 7, width: 1, height: 1 });
    assert.equal(
      q.rects.reduce((n, r) => n + r.width * r.height, 0),
      MAX_PENDING_RECTS + 1,
    );
  });

  it('a rect crossing every pending one: bounded rects, every pixel still pending', () => {
    const p = new PendingRegion();
    // 16 tall thin rects, then wide ones crossing all of them (each cut into 17 pieces or kept whole).
    for (let i = 0; i < MAX_PENDING_RECTS; i++) p.add({ x: i * 10, y: 0, width: 2, height: 100 });
    for (let y = 0; y < 100; y += 20) p.add({ x: 0, y, width: 200, height: 10 });
    assert.ok(p.rects.length <= MAX_PENDING_RECTS);
    for (let y = 0; y < 100; y++)
      for (let x = 0; x < 200; x++) {
        const thin = x % 10 < 2 && x < 10 * MAX_PENDING_RECTS;
        if (thin || y % 20 < 10) assert.ok(covers(p.rects, x, y), `lost (${x},${y})`);
      }
  });

  it('keeps its rects disjoint: an overlapping rect adds only its new part', () => {
    const p = new PendingRegion();
    p.add({ x: 0, y: 0, width: 10, height: 10 });
    p.add({ x: 5, y: 5, width: 10, height: 10 });
    assert.equal(
      p.rects.reduce((n, r) => n + r.width * r.height, 0),
      100 + 100 - 25,
    );
    for (let i = 0; i < p.rects.length; i++)
      for (let j = i + 1; j < p.rects.length; j++)
        assert.equal(intersectRect(p.rects[i]!, p.rects[j]!).width * intersectRect(p.rects[i]!, p.rects[j]!).height, 0);
  });

  it('subtract and takeInside never lose a pixel (property)', () => {
    const rect = fc.record({
      x: fc.integer({ min: 0, max: 20 }),
      y: fc.integer({ min: 0, max: 20 }),
      width: fc.integer({ min: 0, max: 12 }),
      height: fc.integer({ min: 0, max: 12 }),
    });
    fc.assert(
      fc.property(fc.array(rect, { maxLength: 30 }), rect, (rects, area) => {
        const p = new PendingRegion();
        for (const r of rects) p.add(r);
        const before = [...p.rects];
        assert.ok(before.length <= MAX_PENDING_RECTS);
        for (const r of rects)
          for (let y = r.y; y < r.y + r.height; y++)
            for (let x = r.x; x < r.x + r.width; x++) assert.ok(covers(before, x, y), `lost (${x},${y}) on add`);
        const inside = p.takeInside(area);
        for (let y = 0; y < 34; y++) {
          for (let x = 0; x < 34; x++) {
            if (!covers(before, x, y)) continue;
            const inArea = covers([area], x, y);
            if (inArea) assert.ok(covers(inside, x, y), `lost (${x},${y}) inside`);
            else assert.ok(covers(p.rects, x, y), `lost (${x},${y}) outside`);
          }
        }
        for (const r of inside) assert.deepEqual(intersectRect(r, area), r);
        const a = rects[0] ?? area;
        const parts = subtractRect(a, area);
        for (const q of parts) assert.equal(intersectRect(q, area).width * intersectRect(q, area).height, 0);
      }),
      { numRuns: 300 },
    );
  });

  it('clip keeps only the surface', () => {
    const p = new PendingRegion();
    p.add({ x: -5, y: 5, width: 20, height: 20 });
    p.clip(10, 10);
    assert.deepEqual(p.rects, [{ x: 0, y: 5, width: 10, height: 5 }]);
  });
});
