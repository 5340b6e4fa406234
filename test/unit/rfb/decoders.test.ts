// The shared RFB decoders (shared/rfb/) against the server's encoders at 1920x1080 and at
// small sizes: a whole FramebufferUpdate per encoding, read back through the server-stream
// reader, must reproduce the picture exactly (lossless settings). Plus hand-built CoRRE and
// CopyRect rects, and fuzz: cut or flipped streams end in a typed error, never a crash.

import { strict as assert } from 'node:assert';
import { ByteWriter } from '../../../shared/bytes';
import { isXenvfbError } from '../../../shared/errors';
import { RfbRectDecoder } from '../../../shared/rfb/decoders';
import { RfbEncodingNumber } from '../../../shared/rfb/encodings';
import { Framebuffer } from '../../../shared/rfb/framebuffer';
import { encodeRfbPixelFormat, type RfbPixelFormat } from '../../../shared/rfb/pixel-format';
import { RfbServerStreamReader } from '../../../shared/rfb/server-stream';
import { ByteReader } from '../../../shared/bytes';
import type { Surface } from '../../../backend/display/display';
import { PIXEL_FORMAT_RGB565, PIXEL_FORMAT_XRGB8888, type PixelFormat } from '../../../backend/display/pixel-format';
import { convertRectToNew } from '../../../backend/display/pixel-convert';
import { EncodeManager } from '../../../backend/vnc/encode-manager';
import { RfbEncoding } from '../../../backend/vnc/messages';
import { prng } from '../../helpers/prng';

/** A desktop-like picture: gradient background, solid windows, text-like noise, a photo-like patch. */
function desktop(w: number, h: number, seed: number): Surface {
  const rnd = prng(seed);
  const data = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 4;
      let [r, g, b] = [(x * 255) / w, (y * 255) / h, 128];
      if (x > w / 8 && x < w / 2 && y > h / 8 && y < h / 2) [r, g, b] = [240, 240, 240];
      if (x > w / 8 && x < w / 2 && y > h / 8 && y < h / 2 && y % 12 < 8 && rnd() < 0.3) [r, g, b] = [0, 0, 0];
      if (x > (w * 5) / 8 && y > (h * 5) / 8) [r, g, b] = [rnd() * 256, rnd() * 256, rnd() * 256];
      data[i] = b | 0;
      data[i + 1] = g | 0;
      data[i + 2] = r | 0;
    }
  }
  return { width: w, height: h, stride: w * 4, format: PIXEL_FORMAT_XRGB8888, data };
}

/** An RFB 3.3 server stream: handshake, ServerInit in pf, then the given updates. */
function stream(w: number, h: number, pf: RfbPixelFormat, updates: Uint8Array[]): Uint8Array {
  const hs = new ByteWriter();
  hs.ascii('RFB 003.003\n').u32be(1).u16be(w).u16be(h).bytes(encodeRfbPixelFormat(pf)).u32be(4).ascii('test');
  return Uint8Array.from(Buffer.concat([hs.finish(), ...updates]));
}

/** One FramebufferUpdate covering the whole surface through the server's EncodeManager. */
function update(m: EncodeManager, s: Surface, pf: PixelFormat): Uint8Array {
  const rects = m.split([{ x: 0, y: 0, width: s.width, height: s.height }]);
  const w = new ByteWriter(1 << 20);
  w.u8(0).u8(0).u16be(rects.length);
  for (const r of rects) m.encodeRect(s, r, pf, w);
  return Uint8Array.from(w.finish());
}

const ENCODINGS: Array<[string, number]> = [
  ['Raw', RfbEncoding.Raw],
  ['RRE', RfbEncoding.RRE],
  ['Hextile', RfbEncoding.Hextile],
  ['Zlib', RfbEncoding.Zlib],
  ['ZRLE', RfbEncoding.ZRLE],
  ['Tight', RfbEncoding.Tight],
  ['TightPNG', RfbEncoding.TightPNG],
];
const FORMATS: Array<[string, PixelFormat]> = [
  ['32bpp', PIXEL_FORMAT_XRGB8888],
  ['16bpp', PIXEL_FORMAT_RGB565],
];

describe('shared/rfb decoders against the server encoders', function () {
  this.timeout(120_000);
  for (const [w, h] of [
    [1920, 1080],
    [37, 23],
  ] as const) {
    for (const [ename, enc] of ENCODINGS) {
      for (const [fname, pf] of FORMATS) {
        if (w === 1920 && fname === '16bpp' && enc !== RfbEncoding.ZRLE && enc !== RfbEncoding.Tight) continue; // keep the 1080p run short
        it(`${ename} ${fname} ${w}x${h}: two frames (persistent streams) decode exactly`, () => {
          const m = new EncodeManager();
          m.setClientEncodings([enc]);
          const a = desktop(w, h, 1);
          const b = desktop(w, h, 2);
          const reader = new RfbServerStreamReader(stream(w, h, pf, [update(m, a, pf), update(m, b, pf)]));
          for (const s of [a, b]) {
            const ev = reader.next();
            assert.equal(ev.kind, 'update');
            const want = convertRectToNew(s, { x: 0, y: 0, width: w, height: h }, pf);
            assert.ok(Buffer.from(reader.fb.pixels).equals(Buffer.from(want)), 'decoded picture differs');
          }
          assert.ok(reader.done);
        });
      }
    }
  }

  it('CoRRE and CopyRect (hand-built rects, overlapping copy)', () => {
    const pf = PIXEL_FORMAT_XRGB8888 as RfbPixelFormat;
    const fb = new Framebuffer(8, 4, pf);
    const d = new RfbRectDecoder();
    // CoRRE: u32 n=1 | bg | fg | u8 x=1 y=1 w=2 h=2
    const corre = Uint8Array.from([0, 0, 0, 1, 1, 1, 1, 0, 9, 9, 9, 0, 1, 1, 2, 2]);
    d.decodeRect(new ByteReader(corre), { x: 0, y: 0, width: 4, height: 4 }, RfbEncodingNumber.CoRRE, fb);
    const px = (x: number, y: number): number => fb.pixels[(y * 8 + x) * 4]!;
    assert.deepEqual([px(0, 0), px(1, 1), px(2, 2), px(3, 3)], [1, 9, 9, 1]);
    // CopyRect 4x4 from (0,0) to (2,0): overlaps its source.
    d.decodeRect(new ByteReader(Uint8Array.from([0, 0, 0, 0])), { x: 2, y: 0, width: 4, height: 4 }, RfbEncodingNumber.CopyRect, fb);
    assert.deepEqual([px(2, 0), px(3, 1), px(4, 2), px(5, 3)], [1, 9, 9, 1]);
  });

  it('a rect outside the framebuffer and an unknown encoding are typed errors', () => {
    const fb = new Framebuffer(8, 4, PIXEL_FORMAT_XRGB8888 as RfbPixelFormat);
    const d = new RfbRectDecoder();
    assert.throws(
      () => d.decodeRect(new ByteReader(new Uint8Array(1000)), { x: 6, y: 0, width: 4, height: 1 }, 0, fb),
      (e) => isXenvfbError(e, 'RFB_E_DECODE'),
    );
    assert.throws(
      () => d.decodeRect(new ByteReader(new Uint8Array(10)), { x: 0, y: 0, width: 1, height: 1 }, 99, fb),
      (e) => isXenvfbError(e, 'RFB_E_UNSUPPORTED'),
    );
  });

  it('fuzz: cut and bit-flipped update streams end in a typed error or decode', () => {
    const rnd = prng(7);
    const s = desktop(200, 120, 3);
    for (const [, enc] of ENCODINGS) {
      const m = new EncodeManager();
      m.setClientEncodings([enc]);
      const good = stream(200, 120, PIXEL_FORMAT_XRGB8888, [update(m, s, PIXEL_FORMAT_XRGB8888)]);
      for (let i = 0; i < 60; i++) {
        const b = good.slice(0, rnd() < 0.5 ? 40 + ((rnd() * (good.length - 40)) | 0) : good.length);
        for (let k = 0; k < 3; k++) b[40 + ((rnd() * (b.length - 40)) | 0)] ^= 1 << ((rnd() * 8) | 0);
        try {
          const r = new RfbServerStreamReader(b);
          while (!r.done) r.next();
        } catch (e) {
          if (!isXenvfbError(e)) throw e;
          assert.match(e.code, /^FBS_E_/);
        }
      }
    }
  });
});
