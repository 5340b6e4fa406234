// Tight's gradient filter twins (STYLE 12): the addon's tightFilters (native/src/gradient.cc)
// give the TypeScript loops' smoothness score to the last bit, the same residuals and the same
// TPIXEL bytes, in every pixel format a client may ask for; a TightEncoder on either twin
// writes the same bytes over the full-HD pictures split into Tight rects (the zlib streams
// carry over, so one wrong byte shows in every later rect). The native calls check their
// arguments.

import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { tightFiltersNative } from '../../../../native';
import { ByteWriter } from '../../../../shared/bytes';
import { splitIntoTiles } from '../../../../shared/region';
import {
  PIXEL_FORMAT_RGB332,
  PIXEL_FORMAT_RGB565,
  PIXEL_FORMAT_XRGB8888,
  type PixelFormat,
} from '../../../../backend/display/pixel-format';
import { TIGHT_MAX_RECT, TightEncoder } from '../../../../backend/vnc/encoders/tight';
import {
  gradientResiduals,
  nativeTightFilters,
  packTpixels,
  SMOOTH_SAMPLE_STEP,
  smoothScore,
  TS_TIGHT_FILTERS,
} from '../../../../backend/vnc/encoders/tight-filters';
import { FULL_HD, fullHdPicture, PICTURE_KINDS } from './fullhd-pictures';

const FORMATS: Array<[string, PixelFormat]> = [
  ['XRGB8888', PIXEL_FORMAT_XRGB8888],
  ['XBGR8888 (shifts 0/8/16)', { ...PIXEL_FORMAT_XRGB8888, redShift: 0, blueShift: 16 }],
  ['RGB565', PIXEL_FORMAT_RGB565],
  ['RGB332', PIXEL_FORMAT_RGB332],
];

const channelsOf = (pf: PixelFormat): Uint32Array =>
  Uint32Array.of(pf.redShift, pf.redMax, pf.greenShift, pf.greenMax, pf.blueShift, pf.blueMax);

/** Pixel values of a random rect in `pf`: smooth ramps with noise, or blocks, from a seed (short counterexamples). */
function randomPixels(pf: PixelFormat, width: number, height: number, seed: number, smooth: boolean): Uint32Array {
  let s = seed >>> 0;
  const rnd = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const px = new Uint32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const channel = (max: number, k: number): number => {
        const v = smooth ? ((x * (k + 1) + y * 2) % (max + 1)) + Math.round(rnd() * 2) : Math.floor(rnd() * (max + 1));
        return Math.min(max, v);
      };
      px[y * width + x] =
        ((channel(pf.redMax, 0) << pf.redShift) | (channel(pf.greenMax, 1) << pf.greenShift) | (channel(pf.blueMax, 2) << pf.blueShift)) >>>
        0;
    }
  }
  return px;
}

function encodeAll(enc: TightEncoder, pf: PixelFormat, kind: (typeof PICTURE_KINDS)[number]): Buffer {
  const s = fullHdPicture(kind);
  const w = new ByteWriter(1 << 20);
  for (const r of splitIntoTiles(
    { x: 0, y: 0, ...FULL_HD },
    TIGHT_MAX_RECT.width,
    Math.floor(TIGHT_MAX_RECT.area / TIGHT_MAX_RECT.width),
  )) {
    enc.encode(s, r, pf, w, { qualityLevel: null, compressLevel: 2 });
  }
  return w.finish();
}

describe('vnc/encoders: Tight gradient filter, native and TypeScript twins', function () {
  this.timeout(120000);
  const native = tightFiltersNative;
  before(function () {
    if (!native) assert.fail('the loaded addon has no tightFilters: rebuild it (npm run install)');
  });

  for (const [name, pf] of FORMATS) {
    it(`${name}: the same smoothness score, residuals and TPIXELs on random rects (fast-check)`, () => {
      const filters = nativeTightFilters(native!);
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 300 }),
          fc.integer({ min: 1, max: 60 }),
          fc.integer(),
          fc.boolean(),
          (width, height, seed, smooth) => {
            const px = randomPixels(pf, width, height, seed, smooth);
            assert.equal(native!.smoothScore(px, width, channelsOf(pf), SMOOTH_SAMPLE_STEP), smoothScore(px, width, pf));
            assert.equal(filters.isSmooth(px, width, pf), TS_TIGHT_FILTERS.isSmooth(px, width, pf));
            const residuals = new Uint32Array(px.length);
            native!.gradient(px, width, channelsOf(pf), residuals);
            assert.deepEqual(residuals, gradientResiduals(px, width, pf));
            assert.deepEqual(filters.gradientTpixels(px, width, pf), TS_TIGHT_FILTERS.gradientTpixels(px, width, pf));
            assert.deepEqual(filters.packTpixels(px, pf), packTpixels(px, pf));
          },
        ),
        { numRuns: 150 },
      );
    });
  }

  it('with a limit, both twins stop at the same point and answer "below the limit?" as the full score does (fast-check)', () => {
    const pf = PIXEL_FORMAT_XRGB8888;
    let stopped = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 64, max: 640 }),
        fc.integer({ min: 20, max: 120 }),
        fc.integer(),
        fc.boolean(),
        fc.double({ min: 0, max: 0.3, noNaN: true }),
        (width, height, seed, smooth, limit) => {
          const px = randomPixels(pf, width, height, seed, smooth);
          const full = smoothScore(px, width, pf);
          const capped = smoothScore(px, width, pf, limit);
          assert.equal(native!.smoothScore(px, width, channelsOf(pf), SMOOTH_SAMPLE_STEP, limit), capped);
          assert.equal(capped < limit, full < limit);
          assert.ok(capped <= full);
          if (capped < full) stopped++;
        },
      ),
      { numRuns: 200 },
    );
    // The property above holds trivially if no sum ever stopped early.
    assert.ok(stopped > 0, 'no run stopped before its last sample');
  });

  it('noise stops early: the score with the threshold as limit is a lower bound past it, the full score is higher', () => {
    const pf = PIXEL_FORMAT_XRGB8888;
    const noise = randomPixels(pf, 640, 360, 7, false);
    const full = smoothScore(noise, 640, pf);
    const capped = smoothScore(noise, 640, pf, 0.02);
    assert.ok(capped >= 0.02 && capped < full / 4, `capped ${capped}, full ${full}`);
    assert.equal(native!.smoothScore(noise, 640, channelsOf(pf), SMOOTH_SAMPLE_STEP, 0.02), capped);
  });

  it('a smooth ramp is smooth and noise is not, for both twins', () => {
    const pf = PIXEL_FORMAT_XRGB8888;
    const ramp = randomPixels(pf, 200, 40, 1, true);
    const noise = randomPixels(pf, 200, 40, 1, false);
    for (const f of [TS_TIGHT_FILTERS, nativeTightFilters(native!)]) {
      assert.equal(f.isSmooth(ramp, 200, pf), true);
      assert.equal(f.isSmooth(noise, 200, pf), false);
    }
  });

  for (const kind of PICTURE_KINDS) {
    it(`full-HD ${kind}: a TightEncoder writes the same bytes on either twin, in ${FORMATS.length} pixel formats`, () => {
      for (const [name, pf] of FORMATS) {
        const a = encodeAll(new TightEncoder(undefined, TS_TIGHT_FILTERS), pf, kind);
        const b = encodeAll(new TightEncoder(undefined, nativeTightFilters(native!)), pf, kind);
        assert.ok(a.equals(b), `${name}: ${a.length} bytes (TS) vs ${b.length} (native)`);
      }
    });
  }

  it('the native calls check their arguments and never write past their output', () => {
    const px = new Uint32Array(100);
    const ch = channelsOf(PIXEL_FORMAT_XRGB8888);
    assert.throws(() => native!.gradient(px, 10, ch, new Uint8Array(299)), { name: 'RangeError' });
    assert.throws(() => native!.gradient(px, 10, ch, new Uint32Array(99)), { name: 'RangeError' });
    assert.throws(() => native!.gradient(px, 10, channelsOf(PIXEL_FORMAT_RGB565), new Uint8Array(300)), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => native!.pack24(px, ch, new Uint8Array(10)), { name: 'RangeError' });
    assert.throws(() => native!.smoothScore(px, 0, ch, 7), { name: 'RangeError' });
    assert.throws(() => native!.smoothScore(px, 10, ch, 7, 'x' as unknown as number), { name: 'TypeError' });
    assert.throws(() => (native!.smoothScore as (...a: unknown[]) => number)(px, 10, ch, 7, 1, 2), { name: 'TypeError' });
    assert.throws(() => native!.smoothScore(px, 10, Uint32Array.of(1, 2, 3), 7), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => native!.smoothScore(px, 10, Uint32Array.of(40, 255, 8, 255, 0, 255), 7), { name: 'RangeError' });
    assert.throws(() => native!.gradient(new Uint8Array(4) as unknown as Uint32Array, 1, ch, new Uint32Array(4)), { name: 'TypeError' });
  });
});
