// Tight (rfbproto §7.7.5) and, through TightPngEncoder, TightPNG (-260). Per rect:
//   u8 control: bits 0-3 reset zlib stream i; bits 4-7: 0x8 Fill | 0x9 JPEG | 0xA PNG (TightPNG)
//   | basic: bits 4-5 stream id, bit 6 "u8 filter-id follows" (0 copy, 1 palette, 2 gradient).
//   Fill: TPIXEL.  JPEG/PNG: compactLen | image.  Palette: u8 n-1 | n TPIXELs | data.
//   Basic data: < 12 bytes raw, else compactLen | zlib bytes (a persistent stream, sync-flushed).
// Choice per rect: one colour -> fill; up to 256 colours -> palette (1 bpp for 2 colours);
// otherwise JPEG when the client sent a quality level (16/32 bpp only), else gradient for
// smooth 16/32 bpp content, else copy. TightPNG replaces every basic form by PNG.
// The encode manager decides per rect whether JPEG is allowed (settings.qualityLevel) and
// tracks JPEG areas for a lossless refresh once they stop changing (lossless-refresh.ts).
// The palette (colour count, then each pixel's index) has two twins giving the same bytes
// (test/unit/vnc/encoders/tight-palette-twins.test.ts): PaletteBuilder plus an index pass in
// TypeScript, the reference, and paletteIndex() in the addon (native/src/palette.cc), used
// when the loaded addon has it; on 1080p text the TS pair was ~23 ms of a ~57 ms frame.
// XENVFB_NO_NATIVE_PALETTE=1 forces the TypeScript pair.

import { deflateRawSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { type PaletteIndexNative, paletteIndexNative } from '../../../native';
import type { ByteWriter } from '../../../shared/bytes';
import type { Rect } from '../../../shared/region';
import { bytesPerPixel, PIXEL_FORMAT_RGBX8888, type PixelFormat } from '../../display/pixel-format';
import type { Surface } from '../../display/display';
import { convertRectToNew } from '../../display/pixel-convert';
import { RfbEncoding } from '../messages';
import type { EncodeSettings, Encoder } from './encoder';
import { encodeJpeg, type JpegJob } from './jpeg';
import { PALETTE_MAX_COLOURS, PaletteBuilder } from './palette';
import { readClientPixels } from './pixels';
import { defaultTightFilters, FLAT_MAX, flatFraction, packTpixels, type TightFilters } from './tight-filters';
import { type ZStream, openDeflateStream } from './zstream';

export const TightCtl = { Fill: 0x80, Jpeg: 0x90, Png: 0xa0, ExplicitFilter: 0x40 } as const;
export const TightFilter = { Copy: 0, Palette: 1, Gradient: 2 } as const;
/** Filtered data shorter than this goes uncompressed (rfbproto TIGHT_MIN_TO_COMPRESS). */
export const TIGHT_MIN_TO_COMPRESS = 12;
/** TigerVNC EncodeManager SubRectMaxWidth / SubRectMaxArea. */
export const TIGHT_MAX_RECT = { width: 2048, area: 65536 } as const;
/** Compact length is at most 22 bits. */
export const TIGHT_MAX_COMPACT_LENGTH = 4194303;
export const TIGHT_DEFAULT_COMPRESS_LEVEL = 2;
export const NO_NATIVE_PALETTE_ENV = 'XENVFB_NO_NATIVE_PALETTE';
/** Rows of a flat smooth rect compressed both ways to choose between gradient and copy. */
export const GRADIENT_TRIAL_ROWS = 8;

/** A rect's palette: its colours, most frequent first, and each pixel's index (or a lookup). */
interface RectPalette {
  size: number;
  colours: Uint32Array;
  /** indices[i]: the index of pixel i in colours (the native twin fills it). */
  indices: Uint8Array | null;
  /** The TS twin looks indices up instead. */
  indexOf: (v: number) => number;
}

/** Stream ids by convention (TigerVNC TightEncoder; QEMU uses 3 for gradient). */
const STREAM_FULL = 0;
const STREAM_MONO = 1;
const STREAM_INDEXED = 2;
const STREAM_GRADIENT = 3;

/** zlib level per compress level, [indexed, mono, full] (TigerVNC TightEncoder). */
const ZLIB_LEVELS: ReadonlyArray<readonly [number, number, number]> = [
  [0, 0, 0],
  [1, 1, 1],
  [3, 3, 2],
  [5, 5, 2],
  [6, 7, 3],
  [7, 8, 4],
  [7, 8, 5],
  [8, 9, 6],
  [9, 9, 7],
  [9, 9, 9],
];

/** R, G, B, X bytes: what the JPEG and PNG paths take. */
const RGBX = PIXEL_FORMAT_RGBX8888;

export function compactLength(n: number): number[] {
  const out = [n & 0x7f];
  if (n > 0x7f) {
    out[0]! |= 0x80;
    out.push((n >> 7) & 0x7f);
    if (n > 0x3fff) {
      out[1]! |= 0x80;
      out.push((n >> 14) & 0xff);
    }
  }
  return out;
}

export class TightEncoder implements Encoder {
  readonly id: number = RfbEncoding.Tight;
  readonly name: string = 'Tight';
  readonly maxRect = TIGHT_MAX_RECT;
  /** TightPNG: PNG instead of basic compression. */
  protected readonly png: boolean = false;
  private readonly streams: Array<ZStream | null> = [null, null, null, null];
  private resets = 0;
  lastLossy = false;
  /** Reused for every rect (palette.ts). */
  private readonly pal = new PaletteBuilder();
  /** The native twin's outputs, reused while rects fit. */
  private readonly nativeColours = new Uint32Array(PALETTE_MAX_COLOURS);
  private nativeIndices = new Uint8Array(0);

  /** `native`: the C++ palette to use, or null for the TypeScript one (default: the addon's, unless disabled). */
  /** `filters`: the gradient filter and TPIXEL packing twin (default: the addon's, unless disabled). */
  constructor(
    private readonly native: PaletteIndexNative | null = process.env[NO_NATIVE_PALETTE_ENV] === '1' ? null : paletteIndexNative,
    private readonly filters: TightFilters = defaultTightFilters(),
  ) {}

  encode(surface: Surface, rect: Rect, pf: PixelFormat, writer: ByteWriter, settings: EncodeSettings): boolean {
    const px = readClientPixels(surface, rect, pf);
    const palette = this.countColours(px, rect);
    const n = palette ? palette.size : Infinity;
    const deep = bytesPerPixel(pf) >= 2;
    this.lastLossy = false;
    if (n === 1) this.fill(px[0]!, pf, writer);
    else if (!this.png && palette && (n === 2 || deep)) this.palette(px, rect, palette, pf, writer, settings);
    else if (settings.qualityLevel !== null && deep && n > 256) this.jpeg(surface, rect, settings.qualityLevel, writer, settings.jpeg);
    else if (this.png) this.pngRect(surface, rect, writer);
    else if (deep && this.filters.isSmooth(px, rect.width, pf) && this.gradientPays(px, rect.width, pf))
      this.gradient(px, rect, pf, writer, settings);
    else this.basic(STREAM_FULL, null, this.filters.packTpixels(px, pf), writer, settings);
    return true;
  }

  /** The rect's palette, or null past PALETTE_MAX_COLOURS colours; by the native twin when there is one. */
  private countColours(px: Uint32Array, rect: Rect): RectPalette | null {
    const native = this.native;
    if (native && px.length > 0) {
      if (this.nativeIndices.length < px.length) this.nativeIndices = new Uint8Array(px.length);
      const size = native(px, px.length, PALETTE_MAX_COLOURS, this.nativeColours, this.nativeIndices);
      if (size === 0) return null;
      return { size, colours: this.nativeColours, indices: this.nativeIndices, indexOf: () => -1 };
    }
    const pal = this.pal;
    if (!pal.build(px, 0, rect.width, rect.height, rect.width, PALETTE_MAX_COLOURS)) return null;
    return { size: pal.size, colours: pal.colours, indices: null, indexOf: (v) => pal.indexOf(v) };
  }

  private control(ctl: number, w: ByteWriter): void {
    w.u8(ctl | this.resets);
    this.resets = 0;
  }

  private fill(colour: number, pf: PixelFormat, w: ByteWriter): void {
    this.control(TightCtl.Fill, w);
    w.bytes(packTpixels(Uint32Array.of(colour), pf));
  }

  // u8 ctl | u8 filter=1 | u8 n-1 | n TPIXEL | data (1 bpp rows for 2 colours, else 1 byte/px)
  private palette(px: Uint32Array, rect: Rect, p: RectPalette, pf: PixelFormat, w: ByteWriter, s: EncodeSettings): void {
    const n = p.size;
    const header = [TightFilter.Palette, n - 1, ...packTpixels(p.colours.subarray(0, n), pf)];
    let data: Uint8Array;
    if (n === 2) {
      const rowBytes = (rect.width + 7) >> 3;
      data = new Uint8Array(rowBytes * rect.height);
      const one = p.colours[1]!;
      for (let y = 0; y < rect.height; y++) {
        for (let x = 0; x < rect.width; x++) {
          if (px[y * rect.width + x] === one) data[y * rowBytes + (x >> 3)]! |= 0x80 >> (x & 7);
        }
      }
    } else if (p.indices) {
      // Compressed (copied) by basic() before the next rect reuses it.
      data = p.indices.subarray(0, px.length);
    } else {
      data = new Uint8Array(px.length);
      // Runs are common (text, UI): look a colour up once per run.
      let prev = -1;
      let idx = 0;
      for (let i = 0; i < px.length; i++) {
        const v = px[i]!;
        if (v !== prev) {
          idx = p.indexOf(v);
          prev = v;
        }
        data[i] = idx;
      }
    }
    this.basic(n === 2 ? STREAM_MONO : STREAM_INDEXED, header, data, w, s);
  }

  /**
   * Smooth by the mean residual, but is the gradient smaller than copy? Yes for a photo (few
   * pixels equal their neighbour). For flat content (FLAT_MAX) it depends on the pattern: a
   * banded ramp compresses far better as residuals, a dithered desktop far worse (rfbproxy's
   * windows recording, bench:peers sessions: 253 KB through the gradient where copy takes
   * 199 KB). Both are tried on GRADIENT_TRIAL_ROWS rows from the middle of the rect, deflated
   * at level 1.
   */
  private gradientPays(px: Uint32Array, width: number, pf: PixelFormat): boolean {
    if (flatFraction(px, width) < FLAT_MAX) return true;
    const rows = px.length / width;
    const from = Math.max(0, Math.floor(rows / 2) - (GRADIENT_TRIAL_ROWS >> 1)) * width;
    const band = px.subarray(from, Math.min(px.length, from + GRADIENT_TRIAL_ROWS * width));
    const asGradient = deflateRawSync(this.filters.gradientTpixels(band, width, pf), { level: 1 }).length;
    const asCopy = deflateRawSync(this.filters.packTpixels(band, pf), { level: 1 }).length;
    return asGradient < asCopy;
  }

  // Per component: P = clamp(left + up - upleft), D = (V - P) & max, zeros outside the rect.
  private gradient(px: Uint32Array, rect: Rect, pf: PixelFormat, w: ByteWriter, s: EncodeSettings): void {
    this.basic(STREAM_GRADIENT, [TightFilter.Gradient], this.filters.gradientTpixels(px, rect.width, pf), w, s);
  }

  /** Basic compression: ctl, optional filter header, then data raw (< 12 bytes) or zlib'd. */
  private basic(stream: number, header: number[] | null, data: Uint8Array, w: ByteWriter, s: EncodeSettings): void {
    const level = zlibLevel(stream, s.compressLevel ?? TIGHT_DEFAULT_COMPRESS_LEVEL);
    let z = this.streams[stream];
    if (z && z.level !== level) {
      // A new level needs a new stream; the client is told to reset its inflater too.
      this.resets |= 1 << stream;
      z.end();
      z = null;
    }
    if (!z) z = this.streams[stream] = openDeflateStream(level);
    this.control((stream << 4) | (header ? TightCtl.ExplicitFilter : 0), w);
    if (header) w.bytes(Uint8Array.from(header));
    if (data.length < TIGHT_MIN_TO_COMPRESS) {
      w.bytes(data);
      return;
    }
    const zipped = z.compress(data);
    w.bytes(Uint8Array.from(compactLength(zipped.length))).bytes(zipped);
  }

  private jpeg(surface: Surface, rect: Rect, qualityLevel: number, w: ByteWriter, started?: JpegJob | null): void {
    // Started on a pool thread by the frame (encode-frame.ts), else libjpeg-turbo here, or its
    // jpeg-js twin (jpeg.ts).
    const image = started?.qualityLevel === qualityLevel ? started.take() : encodeJpeg(surface, rect, qualityLevel);
    this.lastLossy = true;
    this.image(TightCtl.Jpeg, image, w);
  }

  private pngRect(surface: Surface, rect: Rect, w: ByteWriter): void {
    const png = new PNG({ width: rect.width, height: rect.height });
    png.data = Buffer.from(opaqueRgba(surface, rect).buffer);
    this.image(TightCtl.Png, PNG.sync.write(png, { colorType: 2, deflateLevel: 6 }), w);
  }

  private image(ctl: number, bytes: Uint8Array, w: ByteWriter): void {
    if (bytes.length > TIGHT_MAX_COMPACT_LENGTH) throw new RangeError(`tight image of ${bytes.length} bytes`);
    this.control(ctl, w);
    w.bytes(Uint8Array.from(compactLength(bytes.length))).bytes(bytes);
  }
}

function zlibLevel(stream: number, compressLevel: number): number {
  const [indexed, mono, full] = ZLIB_LEVELS[Math.max(0, Math.min(9, compressLevel))]!;
  return stream === STREAM_MONO ? mono : stream === STREAM_INDEXED ? indexed : full;
}

function opaqueRgba(surface: Surface, rect: Rect): Uint8Array {
  const rgba = convertRectToNew(surface, rect, RGBX);
  for (let i = 3; i < rgba.length; i += 4) rgba[i] = 255;
  return rgba;
}

/** TightPNG (-260): Tight with PNG (ctl 0xA) in place of basic compression (noVNC). */
export class TightPngEncoder extends TightEncoder {
  override readonly id: number = RfbEncoding.TightPNG;
  override readonly name: string = 'TightPNG';
  protected override readonly png: boolean = true;
}
