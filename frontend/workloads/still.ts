// The still workload: one picture, drawn once. Either a PNG file (the framebuffer takes the
// image's size) or a built-in test card. No timers.

import { readFile } from 'node:fs/promises';
import { PNG } from 'pngjs';
import { ByteReader } from '../../shared/bytes';
import { xerror, isXenvfbError } from '../../shared/errors';
import type { Rect } from '../../shared/region';
import { blit, createSurface, drawText, fillRect, rgb, textWidth, type Surface } from './canvas';
import { checkDimensions, resolveSize, type FramebufferTarget, type Workload, type WorkloadOptions } from './workload';

// PNG file signature and IHDR layout (PNG spec, 5.2 and 11.2.2):
// u8 sig[8] | u32be length | 'IHDR' | u32be width | u32be height | u8 depth | u8 colour | ...
const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
const PNG_IHDR_MIN_BYTES = 8 + 4 + 4 + 4 + 4;

/** Width and height from a PNG's IHDR, read before decoding so a huge image is never inflated. */
export function pngDimensions(bytes: Uint8Array): { width: number; height: number } {
  if (bytes.length < PNG_IHDR_MIN_BYTES || PNG_SIGNATURE.some((b, i) => bytes[i] !== b)) {
    throw new Error('not a PNG file (bad signature)');
  }
  const r = new ByteReader(bytes, PNG_SIGNATURE.length);
  r.skip(4);
  if (r.ascii(4) !== 'IHDR') throw new Error('first chunk is not IHDR');
  return { width: r.u32be(), height: r.u32be() };
}

/**
 * Decode PNG bytes of any kind pngjs reads (palette, grey, 16-bit, alpha) into an XRGB
 * surface. Alpha is composited over black so every pixel is defined. `source` names the
 * file in errors. Throws IMG_E_DECODE, or FB_E_BAD_GEOMETRY past WORKLOAD_MAX_DIMENSION.
 */
export function decodePng(bytes: Uint8Array, source = '<buffer>'): Surface {
  let png: { width: number; height: number; data: Uint8Array };
  try {
    const { width, height } = pngDimensions(bytes);
    checkDimensions(width, height, `PNG ${source}`, { path: source });
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    if (isXenvfbError(e, 'FB_E_BAD_GEOMETRY')) throw e;
    throw decodeError(source, e);
  }
  const out = createSurface(png.width, png.height);
  const src = png.data; // RGBA, 8 bits per sample after pngjs's rescale
  for (let i = 0, o = 0; i < src.length; i += 4, o += 4) {
    const a = src[i + 3];
    // round(c * a / 255) without floating point; 255 is odd so no value sits at .5.
    out.data[o] = ((src[i + 2] * a + 127) / 255) | 0;
    out.data[o + 1] = ((src[i + 1] * a + 127) / 255) | 0;
    out.data[o + 2] = ((src[i] * a + 127) / 255) | 0;
    out.data[o + 3] = 0;
  }
  return out;
}

/** Read and decode a PNG file. Throws IMG_E_DECODE with the reason and what to do. */
export async function readPng(path: string): Promise<Surface> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw decodeError(path, e);
  }
  return decodePng(bytes, path);
}

function decodeError(path: string, cause: unknown): Error {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return xerror('IMG_E_DECODE', `cannot read PNG ${path}: ${reason} (pass --image with a readable .png file)`, {
    path,
    reason,
  });
}

/** Colour bars over a grey ramp, labelled with the size: shows channel order and scaling. */
export function drawTestCard(s: Surface): void {
  const bars = [rgb(255, 255, 255), rgb(255, 255, 0), rgb(0, 255, 255), rgb(0, 255, 0), rgb(255, 0, 255), rgb(255, 0, 0), rgb(0, 0, 255)];
  const barsHeight = Math.ceil((s.height * 2) / 3);
  bars.forEach((color, i) => {
    const x0 = Math.floor((i * s.width) / bars.length);
    const x1 = Math.floor(((i + 1) * s.width) / bars.length);
    fillRect(s, { x: x0, y: 0, width: x1 - x0, height: barsHeight }, color);
  });
  for (let x = 0; x < s.width; x++) {
    const v = s.width > 1 ? Math.round((x * 255) / (s.width - 1)) : 0;
    fillRect(s, { x, y: barsHeight, width: 1, height: s.height - barsHeight }, rgb(v, v, v));
  }
  const label = ` xenvfb ${s.width}x${s.height} `;
  const scale = s.width >= textWidth(label, 2) ? 2 : 1;
  const x = Math.floor((s.width - textWidth(label, scale)) / 2);
  drawText(s, Math.max(0, x), Math.floor(barsHeight / 2), label, { fg: rgb(255, 255, 255), bg: 0, scale });
}

export class StillWorkload implements Workload {
  readonly name = 'still';
  private drawn = 0;

  constructor(private readonly picture: Surface) {}

  get width(): number {
    return this.picture.width;
  }
  get height(): number {
    return this.picture.height;
  }
  get frames(): number {
    return this.drawn;
  }

  /**
   * The picture centred on a black framebuffer: a larger framebuffer (a mode switch to a
   * bigger size) shows black borders, a smaller one the middle of the picture, cropped.
   * An odd difference puts the extra pixel right / below: offset = floor((fb - picture) / 2).
   */
  start(fb: FramebufferTarget): void {
    const whole: Rect = { x: 0, y: 0, width: fb.width, height: fb.height };
    fillRect(fb, whole, 0);
    const at = stillOffset(fb, this.picture);
    blit(fb, at.x, at.y, this.picture);
    fb.damage(whole);
    this.drawn++;
  }

  stop(): void {
    // Nothing runs after start().
  }
}

/** Where the still picture's (0, 0) lands in a framebuffer (negative: cropped). */
export function stillOffset(fb: { width: number; height: number }, picture: { width: number; height: number }): { x: number; y: number } {
  return { x: Math.floor((fb.width - picture.width) / 2), y: Math.floor((fb.height - picture.height) / 2) };
}

export async function createStillWorkload(opts: WorkloadOptions): Promise<StillWorkload> {
  if (opts.image !== undefined) return new StillWorkload(await readPng(opts.image));
  const { width, height } = resolveSize(opts);
  const card = createSurface(width, height);
  drawTestCard(card);
  return new StillWorkload(card);
}
