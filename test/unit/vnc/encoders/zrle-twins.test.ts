// ZRLE's two twins (STYLE 12): the C++ tile loop in the addon (native/src/zrle.cc) and the
// TypeScript one in zrle.ts, the reference, give the same bytes: on the full-HD photo, text
// and noise pictures in the pixel formats clients ask for (3-byte CPIXELs for 32 bpp depth 24,
// both byte orders, 16 and 8 bpp), on random pictures built to hit every subencoding (solid,
// packed palettes of 1, 2 and 4 bits, palette RLE, plain RLE, raw, runs longer than 255,
// over 127 colours, edge tiles), and the native call checks its sizes and never writes past
// its output.

import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { zrleTilesNative } from '../../../../native';
import { ByteWriter } from '../../../../shared/bytes';
import type { Surface } from '../../../../backend/display/display';
import {
  PIXEL_FORMAT_RGB332,
  PIXEL_FORMAT_RGB565,
  PIXEL_FORMAT_XRGB8888,
  type PixelFormat,
} from '../../../../backend/display/pixel-format';
import { ZrleEncoder } from '../../../../backend/vnc/encoders/zrle';
import { blockPicture, fullHdPicture, PICTURE_KINDS } from './fullhd-pictures';

const FORMATS: Array<[string, PixelFormat]> = [
  ['XRGB8888', PIXEL_FORMAT_XRGB8888],
  ['XRGB8888 big-endian', { ...PIXEL_FORMAT_XRGB8888, bigEndian: true }],
  ['32 bpp depth 32', { ...PIXEL_FORMAT_XRGB8888, depth: 32 }],
  ['RGB565 big-endian', { ...PIXEL_FORMAT_RGB565, bigEndian: true }],
  ['RGB332', PIXEL_FORMAT_RGB332],
];
const LOSSLESS = { qualityLevel: null, compressLevel: null };

/** Encode the rects in order with one encoder (its zlib stream carries over). */
function encodeAll(
  enc: ZrleEncoder,
  s: Surface,
  pf: PixelFormat,
  rects: Array<{ x: number; y: number; width: number; height: number }>,
): Buffer {
  const w = new ByteWriter(64);
  for (const r of rects) enc.encode(s, r, pf, w, LOSSLESS);
  return w.finish();
}

describe('vnc/encoders: ZRLE native and TypeScript twins', function () {
  this.timeout(120000);
  const native = zrleTilesNative;
  before(function () {
    if (!native) assert.fail('the loaded addon has no zrleTiles(): rebuild it (npm run install)');
  });

  for (const kind of PICTURE_KINDS) {
    it(`full-HD ${kind}: the same bytes in ${FORMATS.length} pixel formats`, () => {
      const s = fullHdPicture(kind);
      // Two rects: the whole frame, then an odd-sized one (edge tiles of every width).
      const rects = [
        { x: 0, y: 0, width: 1920, height: 1080 },
        { x: 37, y: 101, width: 1001, height: 517 },
      ];
      for (const [name, pf] of FORMATS) {
        const a = encodeAll(new ZrleEncoder(null), s, pf, rects);
        const b = encodeAll(new ZrleEncoder(native), s, pf, rects);
        assert.ok(b.equals(a), `${name}: ${b.length} vs ${a.length} bytes, first difference at ${a.findIndex((v, i) => v !== b[i])}`);
      }
    });
  }

  it('random pictures (every subencoding, long runs, odd sizes): the same bytes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 150 }),
        fc.integer({ min: 1, max: 150 }),
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 0, max: 0.5, noNaN: true }),
        fc.integer({ min: 0, max: FORMATS.length - 1 }),
        fc.integer(),
        (width, height, colours, blockSize, scatter, f, seed) => {
          const s = blockPicture(width, height, colours, blockSize, scatter, seed);
          const pf = FORMATS[f]![1];
          const rects = [{ x: 0, y: 0, width, height }];
          return encodeAll(new ZrleEncoder(null), s, pf, rects).equals(encodeAll(new ZrleEncoder(native), s, pf, rects));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('checks its arguments and never writes past its output', () => {
    const values = new Uint32Array(64 * 64).fill(7);
    const shifts = Uint8Array.of(0, 8, 16);
    const out = new Uint8Array(64).fill(0xaa);
    assert.throws(() => native!(values, 65, 64, shifts, out, 0), /needs 4160 values/);
    assert.throws(() => native!(values, 64, 64, new Uint8Array(0), out, 0), RangeError);
    assert.throws(() => native!(values, 64, 64, Uint8Array.of(0, 8, 16, 24, 0), out, 0), RangeError);
    assert.throws(() => native!(values, 64, 64, Uint8Array.of(32), out, 0), RangeError);
    assert.throws(() => native!(values, 64, 64, shifts, out, 65), RangeError);
    assert.throws(() => native!(new Int32Array(16) as unknown as Uint32Array, 4, 4, shifts, out, 0), TypeError);
    // Room for the tile's raw size is required (1 + 4096 * 3 here), and nothing past `out` is touched.
    const big = new Uint8Array(20000).fill(0xaa);
    assert.throws(() => native!(values, 64, 64, shifts, big.subarray(0, 12288), 0), /too few for the tile at 0,0/);
    assert.ok(big.subarray(12288).every((v) => v === 0xaa));
    // A solid tile: subencoding 1, then the CPIXEL.
    assert.equal(native!(values, 64, 64, shifts, big, 0), 4);
    assert.deepEqual([...big.subarray(0, 4)], [1, 7, 0, 0]);
  });
});
