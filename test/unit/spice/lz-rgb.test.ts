// The SPICE LZ_RGB (RGB32) encoder: golden bytes worked out by hand from the stream grammar
// (spice-common lz_decompress_tmpl.c), round trips through the test decoder at sizes that
// reach long lengths and far distances, and 1920x1080. spice-gtk's own C decoder checks the
// same encoder pixel for pixel in test/clients/spice-gi.test.ts (codec lz_rgb).

import { strict as assert } from 'node:assert';
import { decodeLzRgb32, encodeLzRgb32, LZ_MAX_DISTANCE } from '../../../shared/spice/lz-rgb';
import { prng } from '../../helpers/prng';

function image(width: number, height: number, f: (x: number, y: number) => number): Uint8Array {
  const b = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = f(x, y);
      const o = (y * width + x) * 4;
      b[o] = v & 255;
      b[o + 1] = (v >> 8) & 255;
      b[o + 2] = (v >> 16) & 255;
      b[o + 3] = 0xff; // the pad byte is never sent
    }
  }
  return b;
}

function roundTrip(width: number, height: number, px: Uint8Array): Buffer {
  const enc = encodeLzRgb32(width, height, px);
  const dec = decodeLzRgb32(enc);
  assert.equal(dec.width, width);
  assert.equal(dec.height, height);
  for (let i = 0; i < width * height; i++) {
    for (let c = 0; c < 3; c++) if (dec.pixels[i * 4 + c] !== px[i * 4 + c]) assert.fail(`pixel ${i} channel ${c}`);
    assert.equal(dec.pixels[i * 4 + 3], 0);
  }
  return enc;
}

describe('SPICE LZ_RGB encoder (spice-common lz.c format)', function () {
  it('golden bytes: header, a literal, a run (distance 1), literals, a repeat (distance 2)', function () {
    const A = 0x112233;
    const B = 0x445566;
    const C = 0x778899;
    const px = image(4, 2, (x, y) => (y === 0 ? A : x % 2 === 0 ? B : C));
    const want = Buffer.from([
      // magic "  ZL" | version 1.1 | type RGB32 | width 4 | height 2 | stride 16 | top_down 1
      0x20,
      0x20,
      0x5a,
      0x4c,
      0,
      1,
      0,
      1,
      0,
      0,
      0,
      8,
      0,
      0,
      0,
      4,
      0,
      0,
      0,
      2,
      0,
      0,
      0,
      16,
      0,
      0,
      0,
      1,
      0x00,
      0x33,
      0x22,
      0x11, // 1 literal pixel: B, G, R
      0x60,
      0x00, // match: len 3, distance 1 (d = 0)
      0x01,
      0x66,
      0x55,
      0x44,
      0x99,
      0x88,
      0x77, // 2 literal pixels
      0x40,
      0x01, // match: len 2, distance 2 (d = 1)
    ]);
    assert.deepEqual(encodeLzRgb32(4, 2, px), want);
    assert.deepEqual(
      decodeLzRgb32(want).pixels,
      image(4, 2, (x, y) => (y === 0 ? A : x % 2 === 0 ? B : C)).map((v, i) => (i % 4 === 3 ? 0 : v)),
    );
  });

  it('long runs take extra length bytes (7 + 255 + ... )', function () {
    const px = image(600, 1, (x) => (x === 0 ? 1 : 2));
    const enc = roundTrip(600, 1, px);
    // one literal, one literal, then a run of 598: ctrl, 255, 255, 81, distance
    assert.ok(enc.length < 28 + 20, `${enc.length} bytes`);
  });

  it('far distances (> MAX_DISTANCE pixels back) and every split of random content round-trip', function () {
    const rnd = prng(0x12);
    // Two identical random rows 10000 pixels apart: the second is a far match.
    const row = Array.from({ length: 500 }, () => Math.floor(rnd() * 0xffffff));
    const w = 500;
    const h = 2 + Math.ceil(LZ_MAX_DISTANCE / w) + 2;
    const px = image(w, h, (x, y) => (y === 0 || y === h - 1 ? row[x]! : (x * 7 + y * 13) & 0xffffff));
    const enc = roundTrip(w, h, px);
    assert.ok(enc.length < w * h * 3, 'compressed');
    for (let s = 0; s < 20; s++) {
      const ww = 1 + Math.floor(rnd() * 90);
      const hh = 1 + Math.floor(rnd() * 40);
      const palette = Array.from({ length: 1 + Math.floor(rnd() * 6) }, () => Math.floor(rnd() * 0xffffff));
      roundTrip(
        ww,
        hh,
        image(ww, hh, () => palette[Math.floor(rnd() * palette.length)]!),
      );
    }
  });

  it('input at an odd byte offset gives the same bytes', function () {
    const px = image(33, 7, (x, y) => (x * 3 + y) * 0x010101);
    const shifted = new Uint8Array(px.length + 1).subarray(1);
    shifted.set(px);
    assert.deepEqual(encodeLzRgb32(33, 7, shifted), encodeLzRgb32(33, 7, px));
  });

  it('1920x1080 of desktop-like content round-trips', function () {
    const px = image(1920, 1080, (x, y) => (y < 40 ? 0x203040 : x % 200 < 180 && y % 30 < 20 ? 0xffffff : ((x >> 4) * 0x10203) & 0xffffff));
    const enc = roundTrip(1920, 1080, px);
    assert.ok(enc.length < px.length / 10, `${enc.length} bytes for ${px.length}`);
  });

  it('the decoder refuses streams that end early, overrun the image or reach before its start', function () {
    const enc = encodeLzRgb32(
      4,
      2,
      image(4, 2, (x) => x),
    );
    assert.throws(() => decodeLzRgb32(enc.subarray(0, enc.length - 1)));
    assert.throws(() => decodeLzRgb32(Buffer.concat([enc, Buffer.from([0])])));
    const bad = Buffer.from(enc);
    bad[28] = 0x60; // a match before any pixel exists
    assert.throws(() => decodeLzRgb32(bad));
  });
});
