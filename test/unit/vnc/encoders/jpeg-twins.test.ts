// The two JPEG twins (backend/vnc/encoders/jpeg.ts): libjpeg-turbo in the addon and jpeg-js.
// Different libraries give different bytes, so both images are decoded (by jpeg-js's decoder,
// independent of libjpeg-turbo's encoder) and must show the same picture: each within a PSNR
// of the source and of each other, on the full-HD photo and on sub-rects of padded surfaces in
// several pixel layouts. Also the switch (XENVFB_NO_NATIVE_JPEG=1) and the native argument
// checks. Without libjpeg-turbo in the addon the native cases are pending with the reason.

import { strict as assert } from 'node:assert';
import * as jpegJs from 'jpeg-js';
import { type Surface } from '../../../../backend/display/display';
import { PIXEL_FORMAT_RGB565, PIXEL_FORMAT_XRGB8888, type PixelFormat } from '../../../../backend/display/pixel-format';
import { convertRectToNew } from '../../../../backend/display/pixel-convert';
import {
  encodeJpeg,
  encodeJpegNative,
  encodeJpegTs,
  jpegPath,
  NO_NATIVE_JPEG_ENV,
  resetJpegChoiceForTests,
  turboLayout,
} from '../../../../backend/vnc/encoders/jpeg';
import type { Rect } from '../../../../shared/region';
import { turbojpeg } from '../../../../native';
import { fullHdPicture } from './fullhd-pictures';

const NATIVE_MISSING = 'the addon was built without libjpeg-turbo (apt-get install libturbojpeg0-dev, then npm rebuild)';

/** RGB PSNR between two RGBA buffers of the same size. */
function psnrRgba(a: Uint8Array, b: Uint8Array): number {
  let se = 0;
  let n = 0;
  for (let i = 0; i < a.length; i += 4) {
    for (let c = 0; c < 3; c++) {
      const d = a[i + c]! - b[i + c]!;
      se += d * d;
      n++;
    }
  }
  return se === 0 ? Infinity : 10 * Math.log10((255 * 255) / (se / n));
}

/** The rect of the surface as opaque RGBA, the reference the decoded images are held to. */
const RGBA: PixelFormat = { ...PIXEL_FORMAT_XRGB8888, redShift: 0, greenShift: 8, blueShift: 16 };
function sourceRgba(s: Surface, r: Rect): Uint8Array {
  const out = convertRectToNew(s, r, RGBA);
  for (let i = 3; i < out.length; i += 4) out[i] = 255;
  return out;
}

function decode(jpeg: Uint8Array, r: Rect): Uint8Array {
  const img = jpegJs.decode(jpeg, { useTArray: true, formatAsRGBA: true });
  assert.deepEqual([img.width, img.height], [r.width, r.height]);
  return img.data;
}

/** The photo's pixels re-laid in `pf` with a padded stride (what a guest framebuffer may be). */
function relayout(src: Surface, pf: PixelFormat): Surface {
  const bpp = pf.bitsPerPixel / 8;
  const stride = src.width * bpp + 48;
  const data = new Uint8Array(stride * src.height);
  const rows = convertRectToNew(src, { x: 0, y: 0, width: src.width, height: src.height }, pf);
  for (let y = 0; y < src.height; y++) data.set(rows.subarray(y * src.width * bpp, (y + 1) * src.width * bpp), y * stride);
  return { width: src.width, height: src.height, stride, format: pf, data };
}

/**
 * Bounds, measured on the photo (noisy texture, the hard case for JPEG), from the source /
 * between the twins: level 2 (q41; libjpeg-turbo subsamples 4:2:0 as TigerVNC does, jpeg-js
 * cannot and stays 4:4:4) 38.4 and 39.5 / 40.1 dB; level 6 (q79, 4:4:4) 41.5 / 51.3 dB;
 * level 9 (q100) 49.3 / 53.9 dB. The bounds leave 2-3 dB of slack.
 */
const LEVELS: Array<{ level: number; minSource: number; minTwin: number }> = [
  { level: 2, minSource: 36, minTwin: 38 },
  { level: 6, minSource: 39.5, minTwin: 48 },
  { level: 9, minSource: 47, minTwin: 51 },
];

describe('Tight JPEG twins: libjpeg-turbo and jpeg-js show the same picture', function () {
  this.timeout(60000);
  let photo: Surface;
  before(() => {
    photo = fullHdPicture('photo', 1920 * 4 + 64);
  });

  const needNative = function (this: Mocha.Context): void {
    if (!turbojpeg) {
      console.log(`      pending: ${NATIVE_MISSING}`);
      this.skip();
    }
  };

  for (const { level, minSource, minTwin } of LEVELS) {
    it(`1920x1080 photo at quality level ${level}: each >= ${minSource} dB from the source, >= ${minTwin} dB from the other`, function () {
      needNative.call(this);
      const r = { x: 0, y: 0, width: 1920, height: 1080 };
      const src = sourceRgba(photo, r);
      const native = decode(encodeJpegNative(turbojpeg!, photo, r, level), r);
      const ts = decode(encodeJpegTs(photo, r, level), r);
      const db = { native: psnrRgba(native, src), ts: psnrRgba(ts, src), twins: psnrRgba(native, ts) };
      if (process.env.XENVFB_DEBUG_PSNR) console.log(`      level ${level}:`, db);
      assert.ok(db.native >= minSource && db.ts >= minSource, `from the source: ${JSON.stringify(db)}`);
      assert.ok(db.twins >= minTwin, `from each other: ${JSON.stringify(db)}`);
    });
  }

  const layouts: Array<[string, PixelFormat, string | null]> = [
    ['XRGB8888 LE (BGRX bytes)', PIXEL_FORMAT_XRGB8888, 'BGRX'],
    ['RGBX LE', RGBA, 'RGBX'],
    ['XRGB8888 BE (XRGB bytes)', { ...PIXEL_FORMAT_XRGB8888, bigEndian: true }, 'XRGB'],
    ['RGB565 (converted first)', PIXEL_FORMAT_RGB565, null],
  ];
  for (const [name, pf, layout] of layouts) {
    it(`${name}: TurboJPEG layout ${layout ?? 'none'}; an odd sub-rect of a padded surface encodes alike`, function () {
      assert.equal(turboLayout(pf), layout);
      needNative.call(this);
      const s = relayout(photo, pf);
      const r = { x: 101, y: 53, width: 333, height: 77 };
      const src = sourceRgba(s, r);
      const native = decode(encodeJpegNative(turbojpeg!, s, r, 6), r);
      const ts = decode(encodeJpegTs(s, r, 6), r);
      assert.ok(psnrRgba(native, src) >= 36, `native ${psnrRgba(native, src).toFixed(2)} dB`);
      assert.ok(psnrRgba(native, ts) >= 38, `twins ${psnrRgba(native, ts).toFixed(2)} dB`);
    });
  }

  it(`${NO_NATIVE_JPEG_ENV}=1 forces jpeg-js; unset, libjpeg-turbo is used when built`, function () {
    const saved = process.env[NO_NATIVE_JPEG_ENV];
    const r = { x: 0, y: 0, width: 64, height: 48 };
    try {
      process.env[NO_NATIVE_JPEG_ENV] = '1';
      resetJpegChoiceForTests();
      assert.equal(jpegPath(), 'jpeg-js');
      assert.deepEqual(encodeJpeg(photo, r, 6), encodeJpegTs(photo, r, 6));
      delete process.env[NO_NATIVE_JPEG_ENV];
      resetJpegChoiceForTests();
      assert.equal(jpegPath(), turbojpeg ? 'libjpeg-turbo' : 'jpeg-js');
      if (turbojpeg) assert.deepEqual(encodeJpeg(photo, r, 6), encodeJpegNative(turbojpeg, photo, r, 6));
    } finally {
      if (saved === undefined) delete process.env[NO_NATIVE_JPEG_ENV];
      else process.env[NO_NATIVE_JPEG_ENV] = saved;
      resetJpegChoiceForTests();
    }
  });

  it('the native call checks its arguments against the view before reading a byte', function () {
    needNative.call(this);
    const tj = turbojpeg!;
    const px = new Uint8Array(16 * 16 * 4);
    const code = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (e) {
        return (e as { code?: string }).code;
      }
      return undefined;
    };
    assert.ok(tj.compress(px, 0, 16, 16, 64, 'BGRX', 79, 0).length > 0);
    assert.equal(
      code(() => tj.compress(px, 4, 16, 16, 64, 'BGRX', 79, 0)),
      'ERR_OUT_OF_RANGE',
      'one pixel past the end',
    );
    assert.equal(
      code(() => tj.compress(px, 0, 16, 17, 64, 'BGRX', 79, 0)),
      'ERR_OUT_OF_RANGE',
      'one row past the end',
    );
    assert.equal(
      code(() => tj.compress(px, 0, 16, 16, 60, 'BGRX', 79, 0)),
      'ERR_OUT_OF_RANGE',
      'stride < width * 4',
    );
    assert.equal(
      code(() => tj.compress(px, 0, 0, 16, 64, 'BGRX', 79, 0)),
      'ERR_OUT_OF_RANGE',
      'empty',
    );
    assert.equal(
      code(() => tj.compress(px, 0, 16, 16, 64, 'BGRX', 101, 0)),
      'ERR_OUT_OF_RANGE',
      'quality',
    );
    assert.equal(
      code(() => tj.compress(px, 0, 16, 16, 64, 'BGRX', 79, 3)),
      'ERR_OUT_OF_RANGE',
      'subsampling',
    );
    assert.equal(
      code(() => tj.compress(px, 0, 16, 16, 64, 'RGB' as 'RGBX', 79, 0)),
      'ERR_INVALID_ARG_VALUE',
      'pixel format',
    );
    assert.equal(
      code(() => tj.compress([] as unknown as Uint8Array, 0, 1, 1, 4, 'BGRX', 79, 0)),
      'ERR_INVALID_ARG_TYPE',
      'not a Uint8Array',
    );
  });

  it('each image is its own copy: the compressor reuses its buffer, images given out keep their bytes', function () {
    needNative.call(this);
    // jpeg.cc compresses into one buffer per compressor and copies each image out. An image
    // handed out as a view of that buffer would change under the next call; a buffer grown for
    // a larger image must not cut a smaller one's bytes either.
    const tj = turbojpeg!;
    const s = fullHdPicture('photo');
    const strip = (y: number) => tj.compress(s.data, y * s.stride, 1920, 32, s.stride, 'BGRX', 86, 0);
    const first = strip(0);
    const kept = Buffer.from(first);
    const whole = tj.compress(s.data, 0, 1920, 1080, s.stride, 'BGRX', 86, 0);
    const tiny = tj.compress(s.data, 0, 8, 8, s.stride, 'BGRX', 86, 0);
    const second = strip(512);
    assert.ok(first.equals(kept), 'the first strip changed after three more images');
    assert.ok(strip(0).equals(kept), 'the same strip compresses to the same bytes');
    assert.ok(whole.length > 100 * 1024 && tiny.length < 2048, `sizes ${whole.length}, ${tiny.length}`);
    for (const [name, img, w, h] of [
      ['whole', whole, 1920, 1080],
      ['tiny', tiny, 8, 8],
      ['second', second, 1920, 32],
    ] as const) {
      const d = jpegJs.decode(img, { useTArray: true });
      assert.deepEqual([d.width, d.height], [w, h], name);
    }
  });
});
