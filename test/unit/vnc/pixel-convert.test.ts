import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { PIXEL_FORMAT_RGB565, PIXEL_FORMAT_XRGB8888, type PixelFormat } from '../../../backend/display/pixel-format';
import { convertRectToNew, pixelFormatsEqual } from '../../../backend/display/pixel-convert';
import { patternRgb, patternSurface } from './helpers';

const RGB565_LE: PixelFormat = { ...PIXEL_FORMAT_RGB565, bigEndian: false };
const RGB565_BE: PixelFormat = { ...RGB565_LE, bigEndian: true };
const BGR233: PixelFormat = {
  bitsPerPixel: 8,
  depth: 8,
  bigEndian: false,
  redMax: 7,
  greenMax: 7,
  blueMax: 3,
  redShift: 0,
  greenShift: 3,
  blueShift: 6,
};
const XBGR_BE: PixelFormat = { ...PIXEL_FORMAT_XRGB8888, bigEndian: true, redShift: 0, greenShift: 8, blueShift: 16 };
const TEN_BIT_ODD: PixelFormat = {
  bitsPerPixel: 32,
  depth: 30,
  bigEndian: false,
  redMax: 1023,
  greenMax: 1023,
  blueMax: 1023,
  redShift: 2,
  greenShift: 12,
  blueShift: 22,
};

const scale = (c: number, from: number, to: number): number => Math.floor((c * to + (from >> 1)) / from);

/** Reference: one pixel at a time, written without the module's tables or fast paths. */
function expectedPixel(rgb8: [number, number, number], pf: PixelFormat): number[] {
  const [r, g, b] = rgb8;
  const v =
    scale(r, 255, pf.redMax) * 2 ** pf.redShift +
    scale(g, 255, pf.greenMax) * 2 ** pf.greenShift +
    scale(b, 255, pf.blueMax) * 2 ** pf.blueShift;
  const n = pf.bitsPerPixel / 8;
  const bytes: number[] = [];
  for (let i = 0; i < n; i++) bytes.push(Math.floor(v / 2 ** (8 * i)) & 255);
  return pf.bigEndian ? bytes.reverse() : bytes;
}

function expectedRect(x0: number, y0: number, w: number, h: number, pf: PixelFormat): number[] {
  const out: number[] = [];
  for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) out.push(...expectedPixel(patternRgb(x, y), pf));
  return out;
}

describe('display/pixel-convert', () => {
  const src = patternSurface(40, 30);
  const rect = { x: 3, y: 5, width: 17, height: 9 };

  it('equal formats: a plain copy of the rect rows', () => {
    const out = convertRectToNew(src, rect, PIXEL_FORMAT_XRGB8888);
    assert.deepEqual([...out], expectedRect(3, 5, 17, 9, PIXEL_FORMAT_XRGB8888));
  });

  it('32bpp -> 32bpp big-endian with swapped shifts (byte shuffle path)', () => {
    assert.deepEqual([...convertRectToNew(src, rect, XBGR_BE)], expectedRect(3, 5, 17, 9, XBGR_BE));
  });

  it('32bpp -> 32bpp 10-bit channels at odd shifts (general path)', () => {
    assert.deepEqual([...convertRectToNew(src, rect, TEN_BIT_ODD)], expectedRect(3, 5, 17, 9, TEN_BIT_ODD));
  });

  it('32bpp -> 16bpp RGB565 big-endian and little-endian', () => {
    assert.deepEqual([...convertRectToNew(src, rect, RGB565_BE)], expectedRect(3, 5, 17, 9, RGB565_BE));
    assert.deepEqual([...convertRectToNew(src, rect, RGB565_LE)], expectedRect(3, 5, 17, 9, RGB565_LE));
  });

  it('32bpp -> 8bpp BGR233', () => {
    assert.deepEqual([...convertRectToNew(src, rect, BGR233)], expectedRect(3, 5, 17, 9, BGR233));
  });

  it('16bpp RGB565 source -> XRGB8888 expands channels to full range', () => {
    const data = new Uint8Array(4);
    new DataView(data.buffer).setUint16(0, 0xffff, true); // white
    new DataView(data.buffer).setUint16(2, (31 << 11) | 0, true); // pure red
    const s = { data, stride: 4, format: RGB565_LE };
    const out = convertRectToNew(s, { x: 0, y: 0, width: 2, height: 1 }, PIXEL_FORMAT_XRGB8888);
    assert.deepEqual([...out], [255, 255, 255, 0, 0, 0, 255, 0]);
  });

  it('fuzz: any true-colour destination equals the reference', () => {
    const channel = fc.record({ bits: fc.integer({ min: 1, max: 8 }), shift: fc.integer({ min: 0, max: 31 }) });
    fc.assert(
      fc.property(
        fc.constantFrom(8, 16, 32),
        fc.boolean(),
        channel,
        channel,
        channel,
        fc.integer({ min: 0, max: 39 }),
        fc.integer({ min: 0, max: 29 }),
        (bpp, bigEndian, r, g, b, x, y) => {
          const fits = (c: { bits: number; shift: number }): boolean => c.bits + c.shift <= bpp;
          fc.pre(fits(r) && fits(g) && fits(b));
          const pf: PixelFormat = {
            bitsPerPixel: bpp as 8 | 16 | 32,
            depth: bpp,
            bigEndian,
            redMax: 2 ** r.bits - 1,
            greenMax: 2 ** g.bits - 1,
            blueMax: 2 ** b.bits - 1,
            redShift: r.shift,
            greenShift: g.shift,
            blueShift: b.shift,
          };
          const w = Math.min(5, 40 - x);
          const h = Math.min(3, 30 - y);
          // Overlapping channels OR together in the server; the reference adds. Keep them apart.
          const masks = [r, g, b].map((c) => (2 ** c.bits - 1) * 2 ** c.shift);
          fc.pre(masks.every((m, i) => masks.every((n, j) => i === j || (BigInt(m) & BigInt(n)) === 0n)));
          assert.deepEqual([...convertRectToNew(src, { x, y, width: w, height: h }, pf)], expectedRect(x, y, w, h, pf));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('pixelFormatsEqual ignores depth and 8bpp endianness', () => {
    assert.ok(pixelFormatsEqual(PIXEL_FORMAT_XRGB8888, { ...PIXEL_FORMAT_XRGB8888, depth: 32 }));
    assert.ok(pixelFormatsEqual(BGR233, { ...BGR233, bigEndian: true }));
    assert.ok(!pixelFormatsEqual(RGB565_LE, RGB565_BE));
  });
});
