// Shadow framebuffer refinement (backend/display/shadow.ts): the reported rects cover every
// changed pixel and stay small, the shadow ends equal to the guest, and vertical scrolls come
// back as exact copy hints that, applied before the rects, rebuild the guest from the old picture.

import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { PIXEL_FORMAT_XRGB8888 } from '../../../backend/display/pixel-format';
import type { Surface } from '../../../backend/display/display';
import { pixelFormatForDepth } from '../../../backend/display/pixel-format';
import type { CopyHint } from '../../../backend/display/display';
import { SHADOW_FIRST_READS, ShadowFramebuffer } from '../../../backend/display/shadow';
import type { Rect } from '../../../shared/region';

interface Geometry {
  width: number;
  height: number;
  depth: 16 | 32;
  pad: number;
  /** Byte offset of the surface inside its buffer (alignment other than 4 is legal). */
  offset: number;
}

function makeSurface(g: Geometry, fill: (i: number) => number): Surface {
  const bpp = g.depth / 8;
  const stride = g.width * bpp + g.pad;
  const buf = new ArrayBuffer(g.offset + stride * g.height + 8);
  const data = new Uint8Array(buf, g.offset, stride * g.height);
  for (let i = 0; i < data.length; i++) data[i] = fill(i);
  return { width: g.width, height: g.height, stride, format: g.depth === 32 ? PIXEL_FORMAT_XRGB8888 : pixelFormatForDepth(16), data };
}

function changedPixels(before: Uint8Array, s: Surface): Array<[number, number]> {
  const bpp = s.format.bitsPerPixel / 8;
  const out: Array<[number, number]> = [];
  for (let y = 0; y < s.height; y++) {
    for (let x = 0; x < s.width; x++) {
      const i = y * s.stride + x * bpp;
      for (let k = 0; k < bpp; k++) {
        if (before[i + k] !== s.data[i + k]) {
          out.push([x, y]);
          break;
        }
      }
    }
  }
  return out;
}

/** Pixel bytes only: the stride's padding is not the shadow's business. */
function pixels(s: Surface, data: Uint8Array = s.data): Buffer {
  const bpp = s.format.bitsPerPixel / 8;
  const rows: Buffer[] = [];
  for (let y = 0; y < s.height; y++) rows.push(Buffer.from(data.subarray(y * s.stride, y * s.stride + s.width * bpp)));
  return Buffer.concat(rows);
}

function inside(r: Rect, x: number, y: number): boolean {
  return x >= r.x && y >= r.y && x < r.x + r.width && y < r.y + r.height;
}

/** Apply copies (in order) then the guest's pixels of rects to `old`: what a client ends with. */
function replay(old: Uint8Array, s: Surface, copies: readonly CopyHint[], rects: readonly Rect[]): Uint8Array {
  const bpp = s.format.bitsPerPixel / 8;
  const fb = Uint8Array.from(old);
  for (const c of copies) {
    const rows = [];
    for (let y = 0; y < c.src.height; y++) {
      const a = (c.src.y + y) * s.stride + c.src.x * bpp;
      rows.push(fb.slice(a, a + c.src.width * bpp));
    }
    rows.forEach((row, y) => fb.set(row, (c.dst.y + y) * s.stride + c.dst.x * bpp));
  }
  for (const r of rects) {
    for (let y = r.y; y < r.y + r.height; y++) {
      const a = y * s.stride + r.x * bpp;
      fb.set(s.data.subarray(a, a + r.width * bpp), a);
    }
  }
  return fb;
}

const geometry = fc.record({
  width: fc.integer({ min: 1, max: 70 }),
  height: fc.integer({ min: 1, max: 70 }),
  depth: fc.constantFrom(16 as const, 32 as const),
  pad: fc.constantFrom(0, 2, 4, 12),
  offset: fc.constantFrom(0, 1, 2, 4),
});

describe('shadow framebuffer refine', () => {
  it('covers every changed pixel, leaves the shadow equal to the guest, and stays small (property)', () => {
    fc.assert(
      fc.property(geometry, fc.integer(), fc.array(fc.tuple(fc.nat(), fc.nat(), fc.nat(255)), { maxLength: 12 }), (g, seed, writes) => {
        const s = makeSurface(g, (i) => (Math.imul(i + 1, seed | 1) >>> 13) & 255);
        const shadow = new ShadowFramebuffer(s);
        const before = Uint8Array.from(s.data);
        for (const [x, y, v] of writes) s.data[(y % g.height) * s.stride + (x % g.width) * (g.depth / 8)] = v;
        const changed = changedPixels(before, s);
        const res = shadow.refine([{ x: 0, y: 0, width: g.width, height: g.height }]);
        assert.deepEqual(res.copies, []);
        for (const [x, y] of changed)
          assert.ok(
            res.rects.some((r) => inside(r, x, y)),
            `pixel ${x},${y} not covered`,
          );
        assert.deepEqual(pixels(s, shadow.surface.data), pixels(s));
        const area = res.rects.reduce((n, r) => n + r.width * r.height, 0);
        if (changed.length === 0) assert.equal(area, 0);
        if (changed.length === 1) assert.equal(area, 1);
        for (const r of res.rects) assert.ok(r.x >= 0 && r.y >= 0 && r.x + r.width <= g.width && r.y + r.height <= g.height);
      }),
      { numRuns: 300 },
    );
  });

  it('only looks inside the damaged rects', () => {
    const s = makeSurface({ width: 40, height: 40, depth: 32, pad: 0, offset: 0 }, () => 0);
    const shadow = new ShadowFramebuffer(s);
    s.data.fill(9, 0, s.stride * 40);
    const res = shadow.refine([{ x: 5, y: 6, width: 3, height: 2 }]);
    assert.deepEqual(res.rects, [{ x: 5, y: 6, width: 3, height: 2 }]);
    assert.equal(shadow.surface.data[0], 0);
  });

  it('far-apart changes in different bands give separate rects', () => {
    const s = makeSurface({ width: 64, height: 64, depth: 32, pad: 0, offset: 0 }, () => 0);
    const shadow = new ShadowFramebuffer(s);
    s.data[1 * s.stride + 4 * 4] = 1;
    s.data[60 * s.stride + 50 * 4] = 1;
    const res = shadow.refine([{ x: 0, y: 0, width: 64, height: 64 }]);
    assert.deepEqual(res.rects, [
      { x: 4, y: 1, width: 1, height: 1 },
      { x: 50, y: 60, width: 1, height: 1 },
    ]);
  });
});

/** Rows of distinct random content, so a scroll offset is unambiguous. */
function rowsSurface(g: Geometry, seed: number): Surface {
  let st = seed >>> 0 || 1;
  return makeSurface(g, () => ((st = (Math.imul(st, 1664525) + 1013904223) >>> 0) >>> 24) & 255);
}

function scrollUp(s: Surface, dy: number, fresh: number): void {
  s.data.copyWithin(0, dy * s.stride, s.height * s.stride);
  for (let i = (s.height - dy) * s.stride; i < s.height * s.stride; i++) s.data[i] = (i * 31 + fresh) & 255;
}

describe('shadow framebuffer: the first copy', () => {
  it('is read again while the guest drew during it, until it equals guest memory (at most SHADOW_FIRST_READS reads)', () => {
    const guest = makeSurface({ width: 64, height: 48, depth: 32, pad: 0, offset: 0 }, () => 0x11);
    const px = new Uint32Array(guest.data.buffer, guest.data.byteOffset, 64 * 48);
    // The guest finishes a frame just after the first read: the copy holds the old frame.
    let reads = 0;
    const racing = new ShadowFramebuffer(guest, (into, from) => {
      into.set(from);
      if (++reads === 1) px.fill(0x445566);
    });
    assert.equal(reads, 2);
    assert.ok(Buffer.from(racing.surface.data).equals(Buffer.from(guest.data)), 'the shadow holds the finished frame');
    // A guest that never stops drawing: the last read is kept.
    reads = 0;
    const busy = new ShadowFramebuffer(guest, (into, from) => {
      into.set(from);
      px[reads++] ^= 1;
    });
    assert.equal(reads, SHADOW_FIRST_READS);
    assert.equal(
      new Uint32Array(busy.surface.data.buffer, busy.surface.data.byteOffset, 4)[SHADOW_FIRST_READS - 1],
      px[SHADOW_FIRST_READS - 1]! ^ 1,
    );
    // A still guest: one read.
    reads = 0;
    new ShadowFramebuffer(guest, (into, from) => {
      into.set(from);
      reads++;
    });
    assert.equal(reads, 1);
  });
});

describe('shadow scroll detection', () => {
  it('counts its own writes (Surface.changes): equal counts mean the shadow did not change', () => {
    const s = rowsSurface({ width: 80, height: 96, depth: 32, pad: 0, offset: 0 }, 5);
    const shadow = new ShadowFramebuffer(s);
    const whole = { x: 0, y: 0, width: 80, height: 96 };
    const count = (): number => shadow.surface.changes!;
    const start = count();
    // Damage with nothing changed (a guest rewriting the same pixels): no write, same count.
    assert.deepEqual(shadow.refine([whole], { detectCopies: true }).rects, []);
    assert.equal(count(), start);
    // The guest changes after the last refine: the shadow has not, and says so.
    s.data[5 * s.stride + 9] ^= 0xff;
    assert.equal(count(), start);
    assert.equal(shadow.refine([whole]).rects.length, 1);
    const afterEdit = count();
    assert.ok(afterEdit > start);
    scrollUp(s, 16, 3);
    assert.equal(shadow.refine([whole], { detectCopies: true }).copies.length, 1);
    const afterScroll = count();
    assert.ok(afterScroll > afterEdit);
    shadow.copyIn([{ x: 0, y: 0, width: 1, height: 1 }]);
    assert.ok(count() > afterScroll);
    // Guest surfaces have no count: nothing there says their memory did not change.
    assert.equal(s.changes, undefined);
  });

  it('a terminal scroll up by 16 rows is one exact copy hint plus the new bottom rows', () => {
    const s = rowsSurface({ width: 80, height: 96, depth: 32, pad: 0, offset: 0 }, 5);
    const shadow = new ShadowFramebuffer(s);
    scrollUp(s, 16, 3);
    const res = shadow.refine([{ x: 0, y: 0, width: 80, height: 96 }], { detectCopies: true });
    assert.deepEqual(res.copies, [{ src: { x: 0, y: 16, width: 80, height: 80 }, dst: { x: 0, y: 0, width: 80, height: 80 } }]);
    assert.deepEqual(res.rects, [{ x: 0, y: 80, width: 80, height: 16 }]);
    assert.deepEqual(pixels(s, shadow.surface.data), pixels(s));
  });

  it('a 1080p terminal of blocky glyphs (each glyph row repeated 10 times) scrolled 32 rows is found', () => {
    // bench:latency's scroll: 16-row text lines, white but for random dark blocks on rows
    // 3..12, so every sampled row matches 10 identical old rows of its line (found missing
    // when up to 4 were allowed: the whole screen went out as pixels).
    const g: Geometry = { width: 1920, height: 1080, depth: 32, pad: 0, offset: 0 };
    let st = 7;
    const rnd = (): number => (st = (Math.imul(st, 1664525) + 1013904223) >>> 0);
    const line = (): Uint8Array => {
      const row = new Uint8Array(g.width * 4).fill(0xff);
      for (let x = 8; x < g.width - 16; x += 9) if (rnd() & 0x100) row.fill(0x30, x * 4, (x + 6) * 4);
      return row;
    };
    const s = makeSurface(g, () => 0xff);
    const drawLine = (y0: number): void => {
      const row = line();
      for (let y = y0 + 3; y < y0 + 13; y++) s.data.set(row, y * s.stride);
    };
    for (let y0 = 0; y0 + 16 <= g.height; y0 += 16) drawLine(y0);
    const shadow = new ShadowFramebuffer(s);
    s.data.copyWithin(0, 32 * s.stride, g.height * s.stride);
    s.data.fill(0xff, (g.height - 32) * s.stride);
    drawLine(g.height - 40);
    drawLine(g.height - 24);
    const res = shadow.refine([{ x: 0, y: 0, width: g.width, height: g.height }], { detectCopies: true });
    assert.equal(res.copies.length, 1);
    assert.equal(res.copies[0]!.src.y - res.copies[0]!.dst.y, 32);
    assert.ok(res.rects.reduce((n, r) => n + r.height, 0) <= 48, JSON.stringify(res.rects));
    assert.deepEqual(pixels(s, shadow.surface.data), pixels(s));
  });

  it('a block moved down inside the damaged rect (16 bpp, odd offset, padded stride)', () => {
    const g: Geometry = { width: 50, height: 80, depth: 16, pad: 6, offset: 2 };
    const s = rowsSurface(g, 11);
    const shadow = new ShadowFramebuffer(s);
    const old = Uint8Array.from(s.data);
    const r = { x: 10, y: 5, width: 30, height: 60 };
    // rows 5..45 of the rect's columns move down by 20 (to 25..65); 5..25 get new content.
    for (let y = 44; y >= 5; y--) s.data.copyWithin((y + 20) * s.stride + 20, y * s.stride + 20, y * s.stride + 80);
    for (let y = 5; y < 25; y++) s.data.fill(y, y * s.stride + 20, y * s.stride + 80);
    const res = shadow.refine([r], { detectCopies: true });
    assert.deepEqual(res.copies, [{ src: { x: 10, y: 5, width: 30, height: 40 }, dst: { x: 10, y: 25, width: 30, height: 40 } }]);
    assert.deepEqual(pixels(s, replay(old, s, res.copies, res.rects)), pixels(s));
  });

  it('a change that is no scroll gives no copy hint', () => {
    const s = rowsSurface({ width: 64, height: 64, depth: 32, pad: 0, offset: 0 }, 8);
    const shadow = new ShadowFramebuffer(s);
    const fresh = rowsSurface({ width: 64, height: 64, depth: 32, pad: 0, offset: 0 }, 9);
    s.data.set(fresh.data);
    const res = shadow.refine([{ x: 0, y: 0, width: 64, height: 64 }], { detectCopies: true });
    assert.deepEqual(res.copies, []);
    assert.deepEqual(res.rects, [{ x: 0, y: 0, width: 64, height: 64 }]);
  });

  it('without detectCopies a scroll is plain damage', () => {
    const s = rowsSurface({ width: 40, height: 64, depth: 32, pad: 0, offset: 0 }, 2);
    const shadow = new ShadowFramebuffer(s);
    scrollUp(s, 16, 1);
    assert.deepEqual(shadow.refine([{ x: 0, y: 0, width: 40, height: 64 }]).copies, []);
  });

  it('copies then rects rebuild the guest from the old picture (property: scrolls, edits, several rects)', () => {
    fc.assert(
      fc.property(
        geometry,
        fc.integer({ min: 1, max: 1e6 }),
        fc.integer({ min: -40, max: 40 }),
        fc.array(fc.tuple(fc.nat(), fc.nat(), fc.nat(255)), { maxLength: 6 }),
        fc.array(fc.record({ x: fc.nat(80), y: fc.nat(80), width: fc.nat(80), height: fc.nat(80) }), { minLength: 1, maxLength: 3 }),
        (g, seed, dy, writes, rects) => {
          const s = rowsSurface({ ...g, height: g.height + 20 }, seed);
          const shadow = new ShadowFramebuffer(s);
          const old = Uint8Array.from(s.data);
          if (dy > 0) s.data.copyWithin(dy * s.stride, 0, Math.max(0, s.height - dy) * s.stride);
          if (dy < 0) s.data.copyWithin(0, -dy * s.stride, s.height * s.stride);
          for (const [x, y, v] of writes) s.data[(y % s.height) * s.stride + (x % s.width) * (g.depth / 8)] = v;
          const clipped = [{ x: 0, y: 0, width: s.width, height: s.height }, ...rects].map((r) => ({
            x: Math.min(r.x, s.width - 1),
            y: Math.min(r.y, s.height - 1),
            width: Math.min(r.width, s.width - Math.min(r.x, s.width - 1)),
            height: Math.min(r.height, s.height - Math.min(r.y, s.height - 1)),
          }));
          // The full-screen rect last, so the partial ones run first and may find scrolls.
          const res = shadow.refine([...clipped.slice(1), clipped[0]!], { detectCopies: true });
          assert.deepEqual(pixels(s, shadow.surface.data), pixels(s));
          assert.deepEqual(pixels(s, replay(old, s, res.copies, res.rects)), pixels(s));
        },
      ),
      { numRuns: 300 },
    );
  });
});
