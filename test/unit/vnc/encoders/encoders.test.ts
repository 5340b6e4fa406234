// Every encoder against the independent reference decoders: solid, 2-colour, few-colour,
// random and smooth rects, sizes off the 16/64 tile grid, in 32bpp LE/BE, 16bpp BE and 8bpp.
// Each encoder instance encodes a sequence of rects, so persistent zlib streams are exercised.

import { strict as assert } from 'node:assert';
import { ByteWriter } from '../../../../shared/bytes';
import type { Rect } from '../../../../shared/region';
import { PIXEL_FORMAT_RGB565, PIXEL_FORMAT_XRGB8888, type PixelFormat } from '../../../../backend/display/pixel-format';
import type { Surface } from '../../../../backend/display/display';
import { convertRectToNew } from '../../../../backend/display/pixel-convert';
import { EncodeManager } from '../../../../backend/vnc/encode-manager';
import type { EncodeSettings, Encoder } from '../../../../backend/vnc/encoders/encoder';
import { HextileEncoder } from '../../../../backend/vnc/encoders/hextile';
import { cpixelPacker } from '../../../../backend/vnc/encoders/pixels';
import { RreEncoder } from '../../../../backend/vnc/encoders/rre';
import { compactLength, TightEncoder, TightPngEncoder } from '../../../../backend/vnc/encoders/tight';
import { ZlibEncoder } from '../../../../backend/vnc/encoders/zlib';
import { ZrleEncoder } from '../../../../backend/vnc/encoders/zrle';
import { RfbEncoding } from '../../../../backend/vnc/messages';
import {
  type Decoded,
  decodeHextile,
  decodeRaw,
  decodeRre,
  decodeTight,
  decodeZlib,
  decodeZrle,
  Inflater,
  readPixel,
} from './reference-decoders';

const RGB565_BE: PixelFormat = { ...PIXEL_FORMAT_RGB565, bigEndian: true };
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
const RGBX_BE: PixelFormat = { ...PIXEL_FORMAT_XRGB8888, bigEndian: true, redShift: 0, greenShift: 8, blueShift: 16 };
const FORMATS: Array<[string, PixelFormat]> = [
  ['32bpp LE', PIXEL_FORMAT_XRGB8888],
  ['32bpp BE', RGBX_BE],
  ['16bpp BE', RGB565_BE],
  ['8bpp', BGR233],
];

/** Deterministic PRNG so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

type Content = 'solid' | 'two' | 'few' | 'random' | 'smooth' | 'text';
const CONTENTS: Content[] = ['solid', 'two', 'few', 'random', 'smooth', 'text'];
const SIZES: Array<[number, number]> = [
  [37, 23],
  [70, 65],
  [1, 1],
  [130, 17],
  [16, 16],
];

function surfaceOf(w: number, h: number, content: Content, seed: number): Surface {
  const data = new Uint8Array(w * h * 4);
  const r = rng(seed);
  const few = Array.from({ length: 20 }, () => [r() * 256, r() * 256, r() * 256].map(Math.floor));
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let rgb: number[];
      if (content === 'solid') rgb = [30, 60, 90];
      else if (content === 'two') rgb = (x * 3 + y * 5) % 7 < 2 ? [255, 255, 255] : [0, 0, 128];
      else if (content === 'few') rgb = few[Math.floor(r() * few.length)]!;
      else if (content === 'random') rgb = [r() * 256, r() * 256, r() * 256].map(Math.floor);
      else if (content === 'smooth') rgb = [(x * 2) & 255, (y * 3) & 255, (x + y) & 255];
      else rgb = r() < 0.2 ? [0, 0, 0] : y % 10 === 0 ? [200, 200, 200] : [255, 255, 240];
      const i = (y * w + x) * 4;
      data[i] = rgb[2]!;
      data[i + 1] = rgb[1]!;
      data[i + 2] = rgb[0]!;
    }
  }
  return { width: w, height: h, stride: w * 4, format: PIXEL_FORMAT_XRGB8888, data };
}

function expected(s: Surface, rect: Rect, pf: PixelFormat): Uint32Array {
  return decodeRaw(convertRectToNew(s, rect, pf), rect.width, rect.height, pf).pixels;
}

interface Case {
  name: string;
  make: () => Encoder;
  decoder: () => (b: Uint8Array, w: number, h: number, pf: PixelFormat) => Decoded;
}

const CASES: Case[] = [
  { name: 'RRE', make: () => new RreEncoder(), decoder: () => decodeRre },
  { name: 'Hextile', make: () => new HextileEncoder(), decoder: () => decodeHextile },
  {
    name: 'Zlib',
    make: () => new ZlibEncoder(),
    decoder: () => {
      const inf = new Inflater();
      return (b, w, h, pf) => decodeZlib(b, w, h, pf, inf);
    },
  },
  {
    name: 'ZRLE',
    make: () => new ZrleEncoder(),
    decoder: () => {
      const inf = new Inflater();
      return (b, w, h, pf) => decodeZrle(b, w, h, pf, inf);
    },
  },
  {
    name: 'Tight',
    make: () => new TightEncoder(),
    decoder: () => {
      const inf = [0, 1, 2, 3].map(() => new Inflater());
      return (b, w, h, pf) => decodeTight(b, w, h, pf, inf);
    },
  },
];

const LOSSLESS: EncodeSettings = { qualityLevel: null, compressLevel: null };

describe('vnc/encoders: each encoder against a reference decoder', () => {
  for (const c of CASES) {
    for (const [fname, pf] of FORMATS) {
      it(`${c.name} ${fname}: all contents and sizes through one encoder (persistent streams)`, () => {
        const enc = c.make();
        const decode = c.decoder();
        let seed = 1;
        for (const content of CONTENTS) {
          for (const [w, h] of SIZES) {
            const s = surfaceOf(w + 3, h + 2, content, seed++);
            const rect = { x: 2, y: 1, width: w, height: h };
            for (const settings of [LOSSLESS, { qualityLevel: null, compressLevel: 9 }]) {
              const wr = new ByteWriter();
              const accepted = enc.encode(s, rect, pf, wr, settings);
              if (!accepted) {
                assert.equal(c.name, 'RRE', 'only RRE declines');
                assert.equal(wr.length, 0, 'a declined rect writes nothing');
                continue;
              }
              const bytes = wr.finish();
              const d = decode(bytes, w, h, pf);
              assert.equal(d.used, bytes.length, `${content} ${w}x${h}: every byte consumed`);
              assert.deepEqual(d.pixels, expected(s, rect, pf), `${content} ${w}x${h}`);
            }
          }
        }
      });
    }
  }

  it('RRE declines rects larger than Raw (random), accepts solid ones with 0 subrects', () => {
    const wr = new ByteWriter();
    assert.equal(
      (new RreEncoder() as Encoder).encode(
        surfaceOf(32, 32, 'random', 3),
        { x: 0, y: 0, width: 32, height: 32 },
        PIXEL_FORMAT_XRGB8888,
        wr,
        LOSSLESS,
      ),
      false,
    );
    assert.equal(
      (new RreEncoder() as Encoder).encode(
        surfaceOf(8, 8, 'solid', 3),
        { x: 0, y: 0, width: 8, height: 8 },
        PIXEL_FORMAT_XRGB8888,
        wr,
        LOSSLESS,
      ),
      true,
    );
    assert.deepEqual([...wr.finish()], [0, 0, 0, 0, 90, 60, 30, 0]);
  });
});

describe('vnc/encoders: Tight specifics', () => {
  const rect = { x: 0, y: 0, width: 40, height: 30 };
  const ctlOf = (s: Surface, settings: EncodeSettings, pf = PIXEL_FORMAT_XRGB8888, enc: Encoder = new TightEncoder()): number => {
    const wr = new ByteWriter();
    enc.encode(s, rect, pf, wr, settings);
    return wr.finish()[0]!;
  };

  it('control byte per content: fill, mono palette, indexed palette, gradient, copy, JPEG', () => {
    assert.equal(ctlOf(surfaceOf(40, 30, 'solid', 1), LOSSLESS), 0x80);
    assert.equal(ctlOf(surfaceOf(40, 30, 'two', 1), LOSSLESS), 0x50);
    assert.equal(ctlOf(surfaceOf(40, 30, 'few', 1), LOSSLESS), 0x60);
    assert.equal(ctlOf(surfaceOf(40, 30, 'smooth', 1), LOSSLESS), 0x70);
    assert.equal(ctlOf(surfaceOf(40, 30, 'random', 1), LOSSLESS), 0x00);
    assert.equal(ctlOf(surfaceOf(40, 30, 'random', 1), { qualityLevel: 5, compressLevel: null }), 0x90);
    assert.equal(ctlOf(surfaceOf(40, 30, 'random', 1), { qualityLevel: 5, compressLevel: null }, BGR233), 0x00, 'no JPEG at 8bpp');
    assert.equal(ctlOf(surfaceOf(40, 30, 'few', 1), { qualityLevel: 5, compressLevel: null }), 0x60, 'palettes stay lossless');
  });

  it('a compress-level change resets that stream (control bits 0-3) and stays decodable', () => {
    const enc = new TightEncoder();
    const inf = [0, 1, 2, 3].map(() => new Inflater());
    const s = surfaceOf(40, 30, 'random', 9);
    const ctls: number[] = [];
    for (const cl of [2, 2, 6, 6]) {
      const wr = new ByteWriter();
      enc.encode(s, rect, PIXEL_FORMAT_XRGB8888, wr, { qualityLevel: null, compressLevel: cl });
      const bytes = wr.finish();
      ctls.push(bytes[0]!);
      assert.deepEqual(decodeTight(bytes, 40, 30, PIXEL_FORMAT_XRGB8888, inf).pixels, expected(s, rect, PIXEL_FORMAT_XRGB8888));
    }
    assert.deepEqual(ctls, [0x00, 0x00, 0x01, 0x00]);
  });

  for (const [fname, pf] of [FORMATS[0]!, FORMATS[2]!]) {
    for (const q of [0, 5, 9]) {
      it(`JPEG quality ${q}, ${fname}: decodes, error shrinks with quality`, () => {
        const s = surfaceOf(67, 45, 'smooth', 4);
        const r = { x: 0, y: 0, width: 67, height: 45 };
        const noise = surfaceOf(67, 45, 'random', 4);
        const wr = new ByteWriter();
        new TightEncoder().encode(s, r, pf, wr, { qualityLevel: q, compressLevel: null });
        new TightEncoder().encode(noise, r, pf, wr, { qualityLevel: q, compressLevel: null });
        const bytes = wr.finish();
        const d = decodeTight(bytes, 67, 45, pf, []);
        assert.ok(d.rgba, 'smooth 16/32bpp content with >256 colours is JPEG');
        const err = meanError(d.rgba, s, r);
        // Tolerances measured with jpeg-js: q9 (libjpeg 100) < 1.5, q5 (77) < 3, q0 (15) < 8.
        assert.ok(err < [8, 0, 0, 0, 0, 3, 0, 0, 0, 1.5][q]!, `mean error ${err}`);
        assert.ok(decodeTight(bytes.subarray(d.used), 67, 45, pf, []).rgba);
      });
    }
  }

  it('TightPNG: fill, PNG (lossless) for the rest, JPEG with a quality level', () => {
    for (const [, pf] of FORMATS) {
      for (const content of CONTENTS) {
        const s = surfaceOf(40, 30, content, 7);
        const wr = new ByteWriter();
        new TightPngEncoder().encode(s, rect, pf, wr, LOSSLESS);
        const bytes = wr.finish();
        const d = decodeTight(bytes, 40, 30, pf, [], true);
        assert.equal(d.used, bytes.length);
        if (content === 'solid') assert.deepEqual(d.pixels, expected(s, rect, pf));
        else assert.equal(meanError(d.rgba!, s, rect), 0, `${content} is exact`);
      }
    }
    assert.equal(
      ctlOf(surfaceOf(40, 30, 'random', 1), { qualityLevel: 9, compressLevel: null }, PIXEL_FORMAT_XRGB8888, new TightPngEncoder()),
      0x90,
    );
  });

  it('compact length (rfbproto example 10000 -> 90 4E) and its limits', () => {
    assert.deepEqual(compactLength(10000), [0x90, 0x4e]);
    assert.deepEqual(compactLength(127), [0x7f]);
    assert.deepEqual(compactLength(128), [0x80, 0x01]);
    assert.deepEqual(compactLength(16383), [0xff, 0x7f]);
    assert.deepEqual(compactLength(16384), [0x80, 0x80, 0x01]);
    assert.deepEqual(compactLength(4194303), [0xff, 0xff, 0xff]);
  });
});

function meanError(rgba: Uint8Array, s: Surface, r: Rect): number {
  let sum = 0;
  for (let y = 0; y < r.height; y++) {
    for (let x = 0; x < r.width; x++) {
      const i = (r.y + y) * s.stride + (r.x + x) * 4;
      const o = (y * r.width + x) * 4;
      sum += Math.abs(rgba[o]! - s.data[i + 2]!) + Math.abs(rgba[o + 1]! - s.data[i + 1]!) + Math.abs(rgba[o + 2]! - s.data[i]!);
    }
  }
  return sum / (r.width * r.height * 3);
}

describe('vnc/encoders: CPIXEL', () => {
  const bytesOf = (pf: PixelFormat, v: number): number[] => {
    const p = cpixelPacker(pf);
    const out = new Uint8Array(p.size);
    p.put(out, 0, v);
    return [...out];
  };
  it('3 bytes in wire order for 32bpp depth <= 24 (LE low, BE low, LE high), else a full PIXEL', () => {
    assert.deepEqual(bytesOf(PIXEL_FORMAT_XRGB8888, 0x112233), [0x33, 0x22, 0x11]);
    assert.deepEqual(bytesOf(RGBX_BE, 0x112233), [0x11, 0x22, 0x33]);
    const high = { ...PIXEL_FORMAT_XRGB8888, redShift: 24, greenShift: 16, blueShift: 8 };
    assert.deepEqual(bytesOf(high, 0x11223300), [0x33, 0x22, 0x11]);
    assert.deepEqual(bytesOf({ ...PIXEL_FORMAT_XRGB8888, depth: 32 }, 0x112233), [0x33, 0x22, 0x11, 0]);
    assert.deepEqual(bytesOf(RGB565_BE, 0xf800), [0xf8, 0x00]);
    const v = 0x00abcdef;
    assert.equal(readPixel(Uint8Array.from(bytesOf(PIXEL_FORMAT_XRGB8888, v).concat(0)), 0, PIXEL_FORMAT_XRGB8888), v);
  });
});

describe('vnc/encode-manager', () => {
  const s = surfaceOf(3000, 40, 'random', 2);
  it('per-session instances, the client preference, quality and compress pseudo-encodings', () => {
    const a = new EncodeManager();
    const b = new EncodeManager();
    assert.notEqual(a.setClientEncodings([RfbEncoding.Tight]), b.setClientEncodings([RfbEncoding.Tight]));
    assert.equal(a.setClientEncodings([-300, RfbEncoding.ZRLE, RfbEncoding.Hextile, -23, -30, -247]).name, 'ZRLE');
    assert.deepEqual(a.settings, { qualityLevel: 9, compressLevel: 9 });
    assert.equal(a.setClientEncodings([RfbEncoding.Raw, RfbEncoding.Tight]).name, 'Raw');
    assert.deepEqual(a.settings, { qualityLevel: null, compressLevel: null });
  });

  it('Tight rects are split to <= 2048 wide and <= 65536 px; other encodings are not', () => {
    const m = new EncodeManager();
    m.setClientEncodings([RfbEncoding.Tight]);
    const parts = m.split([{ x: 0, y: 0, width: 3000, height: 40 }]);
    assert.ok(parts.every((r) => r.width <= 2048 && r.width * r.height <= 65536));
    assert.equal(
      parts.reduce((n, r) => n + r.width * r.height, 0),
      3000 * 40,
    );
    m.setClientEncodings([RfbEncoding.ZRLE]);
    assert.equal(m.split([{ x: 0, y: 0, width: 3000, height: 40 }]).length, 1);
    m.setClientEncodings([RfbEncoding.Hextile]);
    assert.equal(m.split([{ x: 0, y: 0, width: 1920, height: 1080 }]).length, 1);
  });

  it('a full-screen Zlib or ZRLE rect goes as full-width strips of whole 64-row tile rows, a small one whole', () => {
    const m = new EncodeManager();
    for (const enc of [RfbEncoding.Zlib, RfbEncoding.ZRLE]) {
      m.setClientEncodings([enc]);
      const hd = m.split([{ x: 0, y: 0, width: 1920, height: 1080 }]);
      assert.deepEqual(
        hd.map((r) => [r.x, r.y, r.width, r.height]),
        [...Array.from({ length: 8 }, (_, i) => [0, i * 128, 1920, 128]), [0, 1024, 1920, 56]],
        `encoding ${enc}: 1080p in 128-row strips`,
      );
      // 1366 wide: 179 rows would fit the area; strips stay on the 64-row tile grid.
      const odd = m.split([{ x: 3, y: 5, width: 1366, height: 768 }]);
      assert.ok(odd.slice(0, -1).every((r) => r.height === 128 && r.width === 1366 && (r.y - 5) % 64 === 0));
      assert.equal(
        odd.reduce((n, r) => n + r.width * r.height, 0),
        1366 * 768,
      );
      assert.equal(m.split([{ x: 0, y: 0, width: 640, height: 360 }]).length, 1, 'a 640x360 rect fits one strip');
    }
  });

  it('with a JPEG quality level, 1080p Tight strips are a whole number of 16-row MCUs (32 rows, not 34)', () => {
    const m = new EncodeManager();
    const frame = { x: 0, y: 0, width: 1920, height: 1080 };
    m.setClientEncodings([RfbEncoding.Tight]);
    assert.deepEqual(new Set(m.split([frame]).map((r) => r.height)), new Set([34, 26]), 'lossless: as many rows as fit');
    m.setClientEncodings([RfbEncoding.Tight, -32 + 7]);
    const parts = m.split([frame]);
    assert.equal(parts.length, 34);
    assert.ok(parts.slice(0, -1).every((r) => r.height === 32 && r.width === 1920));
    assert.deepEqual(parts.at(-1), { x: 0, y: 1056, width: 1920, height: 24 });
    // A rect that fits whole is not cut for the sake of MCUs.
    assert.equal(m.split([{ x: 5, y: 7, width: 1920, height: 34 }]).length, 1);
  });

  it('an RRE rect larger than Raw goes out as Raw; stats per encoder', () => {
    const m = new EncodeManager();
    m.setClientEncodings([RfbEncoding.RRE]);
    const w = new ByteWriter();
    m.encodeRect(s, { x: 0, y: 0, width: 20, height: 20 }, PIXEL_FORMAT_XRGB8888, w);
    m.encodeRect(surfaceOf(20, 20, 'solid', 1), { x: 0, y: 0, width: 20, height: 20 }, PIXEL_FORMAT_XRGB8888, w);
    const bytes = w.finish();
    assert.equal(bytes.readInt32BE(8), RfbEncoding.Raw);
    assert.equal(bytes.readInt32BE(12 + 1600 + 8), RfbEncoding.RRE);
    const st = m.snapshot();
    assert.equal(st.Raw!.rects, 1);
    assert.equal(st.RRE!.rects, 1);
    assert.equal(st.RRE!.bytes, 12 + 8);
  });
});
