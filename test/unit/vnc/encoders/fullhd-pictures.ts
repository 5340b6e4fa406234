// Full-HD (1920x1080) XRGB8888 test pictures for the encoder tests, made here from a seeded
// PRNG so every run and every machine sees the same pixels:
//  - photo: a clear sky (a smooth vertical gradient: runs along each row) above a textured
//    landscape (value noise at three scales plus per-pixel grain: thousands of colours, no
//    runs), so the JPEG, gradient, RLE and raw paths all see their kind of tile;
//  - text: a terminal-like page of 9x18 glyph cells, anti-aliased edges, a title bar and
//    coloured lines (few colours, long runs: the palette and RLE paths);
//  - noise: every pixel random (incompressible: the raw escapes and the worst-case sizes).

import { type Surface } from '../../../../backend/display/display';
import { PIXEL_FORMAT_XRGB8888 } from '../../../../backend/display/pixel-format';

export const FULL_HD = { width: 1920, height: 1080 } as const;
export type PictureKind = 'photo' | 'text' | 'noise';
export const PICTURE_KINDS: readonly PictureKind[] = ['photo', 'text', 'noise'];

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** Bilinear value noise in [0, 1) with lattice cells of `cell` pixels. */
function valueNoise(width: number, height: number, cell: number, rnd: () => number): Float32Array {
  const gw = Math.ceil(width / cell) + 2;
  const gh = Math.ceil(height / cell) + 2;
  const grid = Float32Array.from({ length: gw * gh }, rnd);
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const gy = Math.floor(y / cell);
    const fy = (y % cell) / cell;
    for (let x = 0; x < width; x++) {
      const gx = Math.floor(x / cell);
      const fx = (x % cell) / cell;
      const a = grid[gy * gw + gx]! * (1 - fx) + grid[gy * gw + gx + 1]! * fx;
      const b = grid[(gy + 1) * gw + gx]! * (1 - fx) + grid[(gy + 1) * gw + gx + 1]! * fx;
      out[y * width + x] = a * (1 - fy) + b * fy;
    }
  }
  return out;
}

function put(data: Uint8Array, stride: number, x: number, y: number, r: number, g: number, b: number): void {
  const o = y * stride + x * 4;
  data[o] = b;
  data[o + 1] = g;
  data[o + 2] = r;
  data[o + 3] = 0;
}

const clamp = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));

function paintPhoto(data: Uint8Array, width: number, height: number, stride: number): void {
  const rnd = lcg(11);
  const layers = [0, 1, 2].map(() => [
    valueNoise(width, height, 240, rnd),
    valueNoise(width, height, 60, rnd),
    valueNoise(width, height, 12, rnd),
  ]);
  const horizon = Math.floor(height / 3);
  for (let y = 0; y < horizon; y++) {
    const t = y / horizon;
    for (let x = 0; x < width; x++) put(data, stride, x, y, clamp(90 + 80 * t), clamp(140 + 70 * t), clamp(230 + 20 * t));
  }
  for (let y = horizon; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const ch = layers.map(([a, b, c]) => 200 * a![i]! + 50 * b![i]! + 18 * c![i]! - 20 + (rnd() - 0.5) * 8);
      put(data, stride, x, y, clamp(ch[0]!), clamp(ch[1]!), clamp(ch[2]!));
    }
  }
}

function paintText(data: Uint8Array, width: number, height: number, stride: number): void {
  const rnd = lcg(22);
  const bg = [250, 250, 245];
  const inks = [
    [20, 20, 20],
    [30, 30, 160],
    [170, 20, 20],
  ];
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) put(data, stride, x, y, bg[0]!, bg[1]!, bg[2]!);
  for (let y = 0; y < 28; y++) for (let x = 0; x < width; x++) put(data, stride, x, y, 60, 90, 160);
  for (let cy = 36; cy + 18 <= height; cy += 18) {
    const ink = inks[Math.floor(cy / 18) % 7 === 0 ? 1 + Math.floor(rnd() * 2) : 0]!;
    const lineLen = Math.floor(rnd() * (width / 9));
    for (let cx = 4; cx + 9 <= Math.min(width, lineLen * 9); cx += 9) {
      if (rnd() < 0.15) continue; // spaces
      for (let row = 4; row < 15; row++) {
        for (let col = 1; col < 8; col++) {
          const v = rnd();
          // ink, an anti-aliased half tone, or background
          const a = v < 0.35 ? 1 : v < 0.45 ? 0.5 : 0;
          if (a === 0) continue;
          put(data, stride, cx + col, cy + row, ...(ink.map((c, k) => clamp(c * a + bg[k]! * (1 - a))) as [number, number, number]));
        }
      }
    }
  }
}

function paintNoise(data: Uint8Array, width: number, height: number, stride: number): void {
  const rnd = lcg(33);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) put(data, stride, x, y, (rnd() * 256) | 0, (rnd() * 256) | 0, (rnd() * 256) | 0);
  }
}

/** A 1920x1080 XRGB8888 surface of the given kind; `stride` may be padded like a real guest's. */
export function fullHdPicture(kind: PictureKind, stride: number = FULL_HD.width * 4): Surface {
  const { width, height } = FULL_HD;
  const data = new Uint8Array(stride * height);
  if (kind === 'photo') paintPhoto(data, width, height, stride);
  else if (kind === 'text') paintText(data, width, height, stride);
  else paintNoise(data, width, height, stride);
  return { width, height, stride, format: PIXEL_FORMAT_XRGB8888, data };
}

/** Peak signal-to-noise ratio (dB) over R, G, B between the surface and RGB(A) pixels; Infinity if equal. */
export function psnr(s: Surface, pixels: Uint8Array, channels: 3 | 4): number {
  let se = 0;
  for (let y = 0; y < s.height; y++) {
    for (let x = 0; x < s.width; x++) {
      const i = y * s.stride + x * 4;
      const o = (y * s.width + x) * channels;
      const dr = s.data[i + 2]! - pixels[o]!;
      const dg = s.data[i + 1]! - pixels[o + 1]!;
      const db = s.data[i]! - pixels[o + 2]!;
      se += dr * dr + dg * dg + db * db;
    }
  }
  const mse = se / (s.width * s.height * 3);
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

/**
 * A random XRGB8888 picture for the encoder twin tests: blocks of `blockSize` pixels of one
 * colour from a palette of `colours` (runs and rectangles), with a `scatter` share of pixels
 * of any palette colour. Same seed, same picture.
 */
export function blockPicture(width: number, height: number, colours: number, blockSize: number, scatter: number, seed: number): Surface {
  let s0 = seed >>> 0;
  const rnd = (): number => (s0 = (Math.imul(s0, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const palette = Array.from({ length: colours }, () => Math.floor(rnd() * 0x1000000));
  const blocks = new Map<number, number>();
  const data = new Uint8Array(width * height * 4);
  const dv = new DataView(data.buffer);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const key = Math.floor(x / blockSize) * 1000 + Math.floor(y / blockSize);
      if (!blocks.has(key)) blocks.set(key, palette[Math.floor(rnd() * colours)]!);
      const v = rnd() < scatter ? palette[Math.floor(rnd() * colours)]! : blocks.get(key)!;
      dv.setUint32((y * width + x) * 4, v, true);
    }
  }
  return { width, height, stride: width * 4, format: PIXEL_FORMAT_XRGB8888, data };
}
