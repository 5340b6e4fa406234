// Test-side helpers for the workload tests: a framebuffer that records damage, a checker
// that every changed pixel was reported, and a PNG writer independent of pngjs.

import { deflateSync } from 'node:zlib';
import type { Rect } from '../../../shared/region';
import type { FramebufferTarget } from '../../../frontend/workloads/workload';

export class RecordingFramebuffer implements FramebufferTarget {
  readonly data: Uint8Array;
  readonly damages: Rect[] = [];

  constructor(
    readonly width: number,
    readonly height: number,
    readonly stride = width * 4,
    fill = 0,
  ) {
    this.data = new Uint8Array(stride * height).fill(fill);
  }

  damage(rect: Rect): void {
    this.damages.push({ ...rect });
  }

  /** Damage reported since the last call. */
  takeDamage(): Rect[] {
    return this.damages.splice(0, this.damages.length);
  }

  pixel(x: number, y: number): [number, number, number, number] {
    const o = y * this.stride + x * 4;
    return [this.data[o], this.data[o + 1], this.data[o + 2], this.data[o + 3]];
  }
}

export function rectInside(r: Rect, width: number, height: number): boolean {
  return r.x >= 0 && r.y >= 0 && r.width >= 0 && r.height >= 0 && r.x + r.width <= width && r.y + r.height <= height;
}

/** Pixels whose bytes differ between two copies of a framebuffer and lie in no rect. */
export function unreportedChanges(fb: FramebufferTarget, before: Uint8Array, rects: Rect[]): Array<[number, number]> {
  const missed: Array<[number, number]> = [];
  for (let y = 0; y < fb.height; y++) {
    for (let x = 0; x < fb.width; x++) {
      const o = y * fb.stride + x * 4;
      const same =
        before[o] === fb.data[o] &&
        before[o + 1] === fb.data[o + 1] &&
        before[o + 2] === fb.data[o + 2] &&
        before[o + 3] === fb.data[o + 3];
      if (same) continue;
      const covered = rects.some((r) => x >= r.x && x < r.x + r.width && y >= r.y && y < r.y + r.height);
      if (!covered) missed.push([x, y]);
    }
  }
  return missed;
}

export function countChangedPixels(fb: FramebufferTarget, before: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < fb.data.length; i += 4) {
    if (before[i] !== fb.data[i] || before[i + 1] !== fb.data[i + 1] || before[i + 2] !== fb.data[i + 2]) n++;
  }
  return n;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, body: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])), 0);
  return Buffer.concat([head, body, crc]);
}

export interface RawPng {
  width: number;
  height: number;
  bitDepth: 1 | 2 | 4 | 8 | 16;
  /** 0 grey, 2 RGB, 3 palette, 4 grey + alpha, 6 RGBA (PNG spec 11.2.2). */
  colorType: 0 | 2 | 3 | 4 | 6;
  /** Unfiltered scanlines, packed as the PNG spec lays samples out (16-bit big-endian). */
  rows: Uint8Array[];
  palette?: Array<[number, number, number]>;
  /** tRNS alpha per palette entry. */
  paletteAlpha?: number[];
}

/** A minimal PNG encoder (filter type 0, one IDAT), built from the spec, not from pngjs. */
export function encodeRawPng(p: RawPng): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(p.width, 0);
  ihdr.writeUInt32BE(p.height, 4);
  ihdr[8] = p.bitDepth;
  ihdr[9] = p.colorType;
  const chunks = [chunk('IHDR', ihdr)];
  if (p.palette) chunks.push(chunk('PLTE', Uint8Array.from(p.palette.flat())));
  if (p.paletteAlpha) chunks.push(chunk('tRNS', Uint8Array.from(p.paletteAlpha)));
  const scanlines = Buffer.concat(p.rows.map((row) => Buffer.concat([Buffer.of(0), row])));
  chunks.push(chunk('IDAT', deflateSync(scanlines)));
  chunks.push(chunk('IEND', new Uint8Array(0)));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), ...chunks]);
}

/** Number of Node timers currently keeping the event loop alive or pending. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
