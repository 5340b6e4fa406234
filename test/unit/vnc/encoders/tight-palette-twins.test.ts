// Tight's palette twins (STYLE 12): paletteIndex() in the addon (native/src/palette.cc) gives
// the colours PaletteBuilder.build 'all' gives, in the same order, and each pixel's index in
// them; a TightEncoder on either twin writes the same bytes over a run of full-HD pictures
// split into Tight rects, in three pixel formats, lossless and with JPEG allowed (the zlib
// streams carry over from rect to rect, so one wrong byte shows in every later rect).

import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { paletteIndexNative } from '../../../../native';
import { ByteWriter } from '../../../../shared/bytes';
import { splitIntoTiles } from '../../../../shared/region';
import {
  PIXEL_FORMAT_RGB332,
  PIXEL_FORMAT_RGB565,
  PIXEL_FORMAT_XRGB8888,
  type PixelFormat,
} from '../../../../backend/display/pixel-format';
import type { EncodeSettings } from '../../../../backend/vnc/encoders/encoder';
import { PaletteBuilder } from '../../../../backend/vnc/encoders/palette';
import { TIGHT_MAX_RECT, TightEncoder } from '../../../../backend/vnc/encoders/tight';
import { FULL_HD, fullHdPicture, PICTURE_KINDS } from './fullhd-pictures';

describe('vnc/encoders: Tight palette native and TypeScript twins', function () {
  this.timeout(120000);
  const native = paletteIndexNative;
  before(function () {
    if (!native) assert.fail('the loaded addon has no paletteIndex(): rebuild it (npm run install)');
  });

  it("paletteIndex gives PaletteBuilder's colours and order, and every pixel's index", () => {
    const builder = new PaletteBuilder();
    const colours = new Uint32Array(256);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 1, max: 300 }),
        fc.constantFrom(1, 2, 16, 127, 256),
        fc.boolean(),
        fc.integer(),
        (n, pool, max, runs, seed) => {
          let s = seed >>> 0;
          const rnd = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
          const values = Array.from({ length: pool }, () => rnd());
          const px = new Uint32Array(n);
          let c = values[0]!;
          for (let i = 0; i < n; i++) {
            if (!runs || rnd() % 4 === 0) c = values[rnd() % pool]!;
            px[i] = c;
          }
          const indices = new Uint8Array(n + 4).fill(0xee);
          const size = native!(px, n, max, colours, indices);
          const ok = builder.build(px, 0, n, 1, n, max, 'all');
          assert.equal(size === 0, !ok);
          if (!ok) return;
          assert.deepEqual([...colours.subarray(0, size)], [...builder.colours.subarray(0, builder.size)]);
          for (let i = 0; i < n; i++) assert.equal(indices[i], builder.indexOf(px[i]!), `pixel ${i}`);
          assert.deepEqual([...indices.subarray(n)], [0xee, 0xee, 0xee, 0xee], 'nothing past n');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a TightEncoder on either twin writes the same bytes over full-HD pictures (three pixel formats, lossless and JPEG)', () => {
    const formats: Array<[string, PixelFormat]> = [
      ['XRGB8888', PIXEL_FORMAT_XRGB8888],
      ['RGB565 big-endian', { ...PIXEL_FORMAT_RGB565, bigEndian: true }],
      ['RGB332', PIXEL_FORMAT_RGB332],
    ];
    const settings: EncodeSettings[] = [
      { qualityLevel: null, compressLevel: null },
      { qualityLevel: 6, compressLevel: 6 },
    ];
    // Every third Tight rect of each picture: all kinds of content, a third of the time.
    const rects = splitIntoTiles({ x: 0, y: 0, ...FULL_HD }, FULL_HD.width, Math.floor(TIGHT_MAX_RECT.area / FULL_HD.width)).filter(
      (_, i) => i % 3 === 0,
    );
    for (const [name, pf] of formats) {
      for (const s of settings) {
        const a = new TightEncoder(null);
        const b = new TightEncoder(native);
        for (const kind of PICTURE_KINDS) {
          const surface = fullHdPicture(kind);
          for (const r of rects) {
            const wa = new ByteWriter(64);
            const wb = new ByteWriter(64);
            a.encode(surface, r, pf, wa, s);
            b.encode(surface, r, pf, wb, s);
            assert.ok(wa.finish().equals(wb.finish()), `${name}, ${JSON.stringify(s)}, ${kind}, rect at y=${r.y}`);
          }
        }
      }
    }
  });

  it('checks its arguments', () => {
    const px = new Uint32Array([1, 2, 3]);
    const colours = new Uint32Array(256);
    assert.throws(() => native!(px, 4, 16, colours, null), RangeError);
    assert.throws(() => native!(px, 0, 16, colours, null), RangeError);
    assert.throws(() => native!(px, 3, 257, colours, null), RangeError);
    assert.throws(() => native!(px, 3, 16, new Uint32Array(8), null), RangeError);
    assert.throws(() => native!(px, 3, 16, colours, new Uint8Array(2)), RangeError);
    assert.throws(() => native!(px, 3, 16, colours, new Uint16Array(3) as unknown as Uint8Array), TypeError);
    assert.equal(native!(px, 3, 2, colours, null), 0, 'three colours, two allowed');
    assert.equal(native!(Uint32Array.of(5, 7, 7), 3, 2, colours, null), 2);
    assert.deepEqual([...colours.subarray(0, 2)], [7, 5]);
  });
});
