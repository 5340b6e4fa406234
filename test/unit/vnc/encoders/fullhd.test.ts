// Every encoder on full-HD (1920x1080) photo, text and noise pictures, decoded by the
// independent reference decoders (reference-decoders.ts, written from rfbproto alone). At
// this size the encoders' buffers grow through many doublings and 64 KiB boundaries
// (STYLE 19): the ZRLE bug of issue 14 (the byte written at each buffer doubling lost) made
// 89% of a photo's pixels wrong and is caught here. Lossless encodings must decode exactly;
// Tight JPEG within the PSNR stated per picture.

import { strict as assert } from 'node:assert';
import { ByteWriter } from '../../../../shared/bytes';
import type { Rect } from '../../../../shared/region';
import { type Surface } from '../../../../backend/display/display';
import { PIXEL_FORMAT_XRGB8888, type PixelFormat } from '../../../../backend/display/pixel-format';
import type { EncodeSettings, Encoder } from '../../../../backend/vnc/encoders/encoder';
import { HextileEncoder } from '../../../../backend/vnc/encoders/hextile';
import { RawEncoder } from '../../../../backend/vnc/encoders/raw';
import { RreEncoder } from '../../../../backend/vnc/encoders/rre';
import { TightEncoder, TightPngEncoder } from '../../../../backend/vnc/encoders/tight';
import { ZlibEncoder } from '../../../../backend/vnc/encoders/zlib';
import { ZrleEncoder } from '../../../../backend/vnc/encoders/zrle';
import { FULL_HD, fullHdPicture, PICTURE_KINDS, type PictureKind, psnr } from './fullhd-pictures';
import { type Decoded, decodeHextile, decodeRaw, decodeRre, decodeTight, decodeZlib, decodeZrle, Inflater } from './reference-decoders';

const PF: PixelFormat = PIXEL_FORMAT_XRGB8888;
/** Tight JPEG quality level used here (libjpeg quality 79, TigerVNC's default level). */
const JPEG_LEVEL = 6;
/**
 * Least PSNR of the whole picture after Tight+JPEG at level 6. Text and the title bar go
 * lossless (palette), so only photo-like rects are approximated. Measured with jpeg-js and
 * with libjpeg-turbo (4:4:4 at this level, like TigerVNC): photo ~41.7 dB, noise ~23.6 dB; the
 * bounds leave about 2 dB of slack.
 */
const JPEG_MIN_PSNR: Record<PictureKind, number> = { photo: 38, text: Infinity, noise: 21.5 };

type Decode = (b: Uint8Array, w: number, h: number, pf: PixelFormat) => Decoded;
interface Case {
  name: string;
  make: () => Encoder;
  decoder: () => Decode;
  settings: EncodeSettings;
  lossy?: boolean;
}

const lossless: EncodeSettings = { qualityLevel: null, compressLevel: null };
const withInflater = (f: (b: Uint8Array, w: number, h: number, pf: PixelFormat, i: Inflater) => Decoded) => (): Decode => {
  const inf = new Inflater();
  return (b, w, h, pf) => f(b, w, h, pf, inf);
};
const tight = (png: boolean) => (): Decode => {
  const inf = [0, 1, 2, 3].map(() => new Inflater());
  return (b, w, h, pf) => decodeTight(b, w, h, pf, inf, png);
};

const CASES: Case[] = [
  { name: 'Raw', make: () => new RawEncoder(), decoder: () => decodeRaw, settings: lossless },
  { name: 'RRE', make: () => new RreEncoder(), decoder: () => decodeRre, settings: lossless },
  { name: 'Hextile', make: () => new HextileEncoder(), decoder: () => decodeHextile, settings: lossless },
  { name: 'Zlib', make: () => new ZlibEncoder(), decoder: withInflater(decodeZlib), settings: lossless },
  { name: 'ZRLE', make: () => new ZrleEncoder(), decoder: withInflater(decodeZrle), settings: lossless },
  { name: 'Tight', make: () => new TightEncoder(), decoder: tight(false), settings: lossless },
  {
    name: `Tight+JPEG level ${JPEG_LEVEL}`,
    make: () => new TightEncoder(),
    decoder: tight(false),
    settings: { qualityLevel: JPEG_LEVEL, compressLevel: null },
    lossy: true,
  },
  { name: 'TightPNG', make: () => new TightPngEncoder(), decoder: tight(true), settings: lossless },
];

/** The rects an encoder is given for the whole screen: split like EncodeManager.split does. */
function tiles(e: Encoder): Rect[] {
  const { width: W, height: H } = FULL_HD;
  const max = e.maxRect;
  if (!max) return [{ x: 0, y: 0, width: W, height: H }];
  const w = Math.min(W, max.width);
  const h = Math.max(1, Math.floor(max.area / w));
  const out: Rect[] = [];
  for (let y = 0; y < H; y += h) for (let x = 0; x < W; x += w) out.push({ x, y, width: Math.min(w, W - x), height: Math.min(h, H - y) });
  return out;
}

/** Encode the whole picture with one encoder instance and decode it back into RGB. */
function roundTrip(c: Case, s: Surface): { rgb: Uint8Array; wrong: number; firstWrong: string } {
  const e = c.make();
  const decode = c.decoder();
  const rgb = new Uint8Array(s.width * s.height * 3);
  for (const r of tiles(e)) {
    const w = new ByteWriter(1 << 16);
    // RRE declines rects that would be larger than Raw; the manager then sends Raw.
    const raw = !e.encode(s, r, PF, w, c.settings);
    const bytes = raw ? new Uint8Array(0) : w.finish();
    const d = raw ? null : decode(bytes, r.width, r.height, PF);
    if (d) assert.equal(d.used, bytes.length, `${c.name}: decoder used ${d.used} of ${bytes.length} bytes at ${JSON.stringify(r)}`);
    for (let y = 0; y < r.height; y++) {
      for (let x = 0; x < r.width; x++) {
        const o = ((r.y + y) * s.width + r.x + x) * 3;
        const k = y * r.width + x;
        if (d?.rgba) {
          rgb.set(d.rgba.subarray(k * 4, k * 4 + 3), o);
        } else {
          // XRGB8888 client pixel values, or the surface itself where RRE fell back to Raw.
          const v = d ? d.pixels[k]! : surfaceValue(s, r.x + x, r.y + y);
          rgb[o] = (v >>> 16) & 255;
          rgb[o + 1] = (v >>> 8) & 255;
          rgb[o + 2] = v & 255;
        }
      }
    }
  }
  let wrong = 0;
  let firstWrong = '';
  for (let y = 0; y < s.height; y++) {
    for (let x = 0; x < s.width; x++) {
      const o = (y * s.width + x) * 3;
      if (surfaceValue(s, x, y) !== ((rgb[o]! << 16) | (rgb[o + 1]! << 8) | rgb[o + 2]!)) {
        if (wrong++ === 0) firstWrong = `first at (${x},${y})`;
      }
    }
  }
  return { rgb, wrong, firstWrong };
}

function surfaceValue(s: Surface, x: number, y: number): number {
  const i = y * s.stride + x * 4;
  return (s.data[i + 2]! << 16) | (s.data[i + 1]! << 8) | s.data[i]!;
}

describe('VNC encoders at 1920x1080: photo, text and noise decode exactly (JPEG within a PSNR)', function () {
  this.timeout(120000);
  const pictures = new Map<PictureKind, Surface>();
  before(() => {
    for (const k of PICTURE_KINDS) pictures.set(k, fullHdPicture(k, FULL_HD.width * 4 + 64));
  });

  for (const c of CASES) {
    for (const kind of PICTURE_KINDS) {
      it(`${c.name}: ${kind}`, () => {
        const s = pictures.get(kind)!;
        const res = roundTrip(c, s);
        if (!c.lossy) {
          assert.equal(res.wrong, 0, `${c.name} ${kind}: ${res.wrong} of ${s.width * s.height} pixels wrong, ${res.firstWrong}`);
          return;
        }
        const db = psnr(s, res.rgb, 3);
        if (process.env.XENVFB_DEBUG_PSNR) console.log(`      ${c.name} ${kind}: PSNR ${db.toFixed(2)} dB`);
        assert.ok(db >= JPEG_MIN_PSNR[kind], `${c.name} ${kind}: PSNR ${db.toFixed(2)} dB < ${JPEG_MIN_PSNR[kind]}`);
      });
    }
  }
});
