// Hextile's two twins (STYLE 12): the C++ tile loop in the addon (native/src/hextile.cc) and
// the TypeScript one in hextile.ts, the reference, give the same bytes: on the full-HD photo,
// text and noise pictures in the pixel formats clients ask for, and on random small pictures
// built to hit every tile kind (solid, two colours, coloured subrects, over 48 colours, subrect
// budgets overflowing into raw, edge tiles). The native call checks its sizes and never
// writes past its output. In a frame that sends parts ahead (EncodeSettings.progress) both
// cut a rect in the same bands, hand out only bands that compressed well, and the bytes
// still decode to the picture.

import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { hextileNative } from '../../../../native';
import { ByteWriter } from '../../../../shared/bytes';
import type { Surface } from '../../../../backend/display/display';
import {
  PIXEL_FORMAT_RGB332,
  PIXEL_FORMAT_RGB565,
  PIXEL_FORMAT_XRGB8888,
  type PixelFormat,
} from '../../../../backend/display/pixel-format';
import { HEXTILE_PART_ROWS, HextileEncoder } from '../../../../backend/vnc/encoders/hextile';
import { decodeHextile } from './reference-decoders';
import { blockPicture, FULL_HD, fullHdPicture, PICTURE_KINDS } from './fullhd-pictures';

const FORMATS: Array<[string, PixelFormat]> = [
  ['XRGB8888', PIXEL_FORMAT_XRGB8888],
  ['XRGB8888 big-endian', { ...PIXEL_FORMAT_XRGB8888, bigEndian: true }],
  ['RGB565 big-endian', { ...PIXEL_FORMAT_RGB565, bigEndian: true }],
  ['RGB332', PIXEL_FORMAT_RGB332],
];

function encodeWith(enc: HextileEncoder, s: Surface, pf: PixelFormat, rect = { x: 0, y: 0, width: s.width, height: s.height }): Buffer {
  const w = new ByteWriter(64);
  assert.ok(enc.encode(s, rect, pf, w));
  return w.finish();
}

/** The rect encoded with a progress callback: the bytes, and the writer's length at each call. */
function encodeInParts(enc: HextileEncoder, s: Surface, pf: PixelFormat): { bytes: Buffer; cuts: number[] } {
  const w = new ByteWriter(64);
  const cuts: number[] = [];
  const rect = { x: 0, y: 0, width: s.width, height: s.height };
  assert.ok(enc.encode(s, rect, pf, w, { qualityLevel: null, compressLevel: null, progress: () => cuts.push(w.length) }));
  return { bytes: w.finish(), cuts };
}

describe('vnc/encoders: Hextile native and TypeScript twins', function () {
  this.timeout(60000);
  const native = hextileNative;
  before(function () {
    if (!native) assert.fail('the loaded addon has no hextile(): rebuild it (npm run install)');
  });
  const ts = () => new HextileEncoder(null);
  const cxx = () => new HextileEncoder(native);

  for (const kind of PICTURE_KINDS) {
    it(`full-HD ${kind}: the same bytes in ${FORMATS.map(([n]) => n).join(', ')}`, () => {
      const s = fullHdPicture(kind);
      for (const [name, pf] of FORMATS) {
        const a = encodeWith(ts(), s, pf);
        const b = encodeWith(cxx(), s, pf);
        assert.equal(b.length, a.length, `${name}: ${b.length} vs ${a.length} bytes`);
        assert.ok(b.equals(a), `${name}: first difference at byte ${a.findIndex((v, i) => v !== b[i])}`);
      }
      assert.equal(s.width * s.height, FULL_HD.width * FULL_HD.height);
    });
  }

  it('in a frame sent in parts: the same bands both ways, a part after each band of text, none after noise bands (raw-sized)', () => {
    const bands = Math.ceil(FULL_HD.height / HEXTILE_PART_ROWS);
    for (const kind of PICTURE_KINDS) {
      const s = fullHdPicture(kind);
      const a = encodeInParts(ts(), s, PIXEL_FORMAT_XRGB8888);
      const b = encodeInParts(cxx(), s, PIXEL_FORMAT_XRGB8888);
      assert.ok(b.bytes.equals(a.bytes), `${kind}: the twins differ at byte ${a.bytes.findIndex((v, i) => v !== b.bytes[i])}`);
      assert.deepEqual(b.cuts, a.cuts, `${kind}: the twins report the same pieces`);
      const d = decodeHextile(a.bytes, s.width, s.height, PIXEL_FORMAT_XRGB8888);
      assert.equal(d.used, a.bytes.length, `${kind}: every byte is tiles`);
      const px = new Uint32Array(s.data.buffer, s.data.byteOffset, s.width * s.height);
      const wrong = d.pixels.findIndex((v, i) => v !== (px[i]! & 0xffffff));
      assert.equal(wrong, -1, `${kind}: pixel ${wrong} decodes wrong`);
      // Bands restart the background: a few bytes more than the rect in one go.
      const whole = encodeWith(cxx(), s, PIXEL_FORMAT_XRGB8888).length;
      assert.ok(a.bytes.length >= whole && a.bytes.length <= whole + bands * 16, `${kind}: ${a.bytes.length} against ${whole} bytes`);
    }
    const text = encodeInParts(cxx(), fullHdPicture('text'), PIXEL_FORMAT_XRGB8888);
    assert.equal(text.cuts.length, bands - 1, 'text: a piece after every band but the last');
    const noise = encodeInParts(cxx(), fullHdPicture('noise'), PIXEL_FORMAT_XRGB8888);
    assert.deepEqual(noise.cuts, [], 'noise: its bands are raw-sized, none is handed out early');
  });

  it('random pictures (few to many colours, runs, blocks, odd sizes): the same bytes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 70 }),
        fc.integer({ min: 1, max: 70 }),
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 0, max: FORMATS.length - 1 }),
        fc.integer(),
        (width, height, colours, blockSize, f, seed) => {
          const s = blockPicture(width, height, colours, blockSize, 0.15, seed);
          const pf = FORMATS[f]![1];
          return encodeWith(ts(), s, pf).equals(encodeWith(cxx(), s, pf));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('checks its arguments and never writes past its output', () => {
    const values = new Uint32Array(16 * 16).fill(7);
    const bytes = new Uint8Array(16 * 16 * 4);
    const out = new Uint8Array(64).fill(0xaa);
    assert.throws(() => native!(values, bytes, 16, 16, 4, out.subarray(0, 8), 0), RangeError);
    assert.throws(() => native!(values, bytes, 17, 16, 4, out, 0), /needs 272 values/);
    assert.throws(() => native!(values, bytes, 16, 16, 3, out, 0), RangeError);
    assert.throws(() => native!(new Uint8Array(256) as unknown as Uint32Array, bytes, 16, 16, 4, out, 0), TypeError);
    assert.throws(() => native!(values, bytes, 16, 16, 4, out, 65), RangeError);
    // Noise that goes raw: 1 + 1024 bytes do not fit in 64, and nothing past them is touched.
    const noisy = Uint32Array.from({ length: 256 }, (_, i) => i * 2654435761);
    const big = new Uint8Array(2048).fill(0xaa);
    assert.throws(() => native!(noisy, bytes, 16, 16, 4, big.subarray(0, 1024), 0), RangeError);
    assert.ok(big.subarray(1024).every((v) => v === 0xaa));
    // Room for the tile's raw size is required, even for a tile that comes out smaller.
    assert.throws(() => native!(values, bytes, 16, 16, 4, out, 3), /too few for the tile at 0,0/);
    // A solid tile: mask, then the background pixel's wire bytes.
    const wire = Uint8Array.from({ length: 1024 }, (_, i) => i % 4);
    assert.equal(native!(values, wire, 16, 16, 4, big, 3), 3 + 5);
    assert.deepEqual([...big.subarray(3, 8)], [2, 0, 1, 2, 3]);
  });
});
