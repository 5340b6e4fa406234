// The 1920x1080 XRGB8888 workloads of bench:spice: each draws into a whole-screen pixel array
// and says which rectangles it changed. The same steps feed our server in-process, and, frame
// by frame over a pipe, our server in a child process and Xspice through an X client.

import type { Rect } from '../../../shared/region';

export const W = 1920;
export const H = 1080;

export interface Workload {
  name: string;
  /** Frames per second the side-by-side rows offer (the codec rows draw every 8 ms). */
  fps: number;
  init(px: Uint32Array): void;
  step(px: Uint32Array, f: number): Rect[];
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

function desktop(px: Uint32Array): void {
  const rnd = lcg(7);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) px[y * W + x] = y < 32 ? 0x2b3a4f : 0xdfe3e8;
  for (let w = 0; w < 6; w++) {
    const wx = Math.floor(rnd() * (W - 700));
    const wy = 40 + Math.floor(rnd() * (H - 560));
    for (let y = wy; y < wy + 500; y++) {
      for (let x = wx; x < wx + 680; x++) {
        const inText = y > wy + 30 && (y - wy) % 18 < 12 && rnd() < 0.35;
        px[y * W + x] = y < wy + 24 ? 0x3d6fb6 : inText ? 0x202020 : 0xffffff;
      }
    }
  }
}

export const WORKLOADS: Workload[] = [
  {
    name: 'full desktop frame',
    fps: 30,
    init: desktop,
    step: (px, f) => {
      px[f % (W * H)] ^= 0x010101;
      return [{ x: 0, y: 0, width: W, height: H }];
    },
  },
  {
    name: 'scrolling text band 1920x360',
    fps: 30,
    init: desktop,
    step: (px, f) => {
      const rnd = lcg(f);
      for (let y = 400; y < 760; y++)
        for (let x = 0; x < W; x++) px[y * W + x] = (y + f * 3) % 18 < 12 && rnd() < 0.3 ? 0x202020 : 0xffffff;
      return [{ x: 0, y: 400, width: W, height: 360 }];
    },
  },
  {
    name: 'video-like noise 640x360',
    fps: 30,
    init: desktop,
    step: (px, f) => {
      const rnd = lcg(f + 99);
      for (let y = 300; y < 660; y++) for (let x = 600; x < 1240; x++) px[y * W + x] = Math.floor(rnd() * 0xffffff);
      return [{ x: 600, y: 300, width: 640, height: 360 }];
    },
  },
];

/** A plasma that moves every frame over the whole screen: smooth colours, like decoded video. */
export const VIDEO: Workload = (() => {
  const wave = new Uint8Array(4096).map((_, i) => Math.round(127.5 + 127.5 * Math.sin((i / 4096) * 2 * Math.PI)));
  const draw = (px: Uint32Array, f: number): void => {
    for (let y = 0; y < H; y++) {
      const wy = wave[(y * 11 + f * 37) & 4095]!;
      for (let x = 0; x < W; x++) {
        const a = wave[(x * 7 + f * 23) & 4095]!;
        const b = wave[((x + y) * 5 + f * 51) & 4095]!;
        px[y * W + x] = (a << 16) | (((a + wy) >> 1) << 8) | ((b + wy) >> 1);
      }
    }
  };
  return {
    name: 'video-like plasma 1920x1080',
    fps: 25,
    init: (px) => draw(px, 0),
    step: (px, f) => {
      draw(px, f);
      return [{ x: 0, y: 0, width: W, height: H }];
    },
  };
})();

// A frame number a client can read back from its own decoded picture, lossy codecs included:
// MARKER_BITS blocks of MARKER_BLOCK x MARKER_BLOCK pixels in a row, white for 1, black for 0,
// least significant bit first, at the top-left corner of the frame's first changed rectangle.
export const MARKER_BITS = 12;
export const MARKER_BLOCK = 16;

/** Draw frame number `f` (modulo 2^MARKER_BITS) at (x, y). */
export function stampMarker(px: Uint32Array, x: number, y: number, f: number): void {
  for (let bit = 0; bit < MARKER_BITS; bit++) {
    const v = (f >> bit) & 1 ? 0xffffff : 0;
    for (let dy = 0; dy < MARKER_BLOCK; dy++)
      px.fill(v, (y + dy) * W + x + bit * MARKER_BLOCK, (y + dy) * W + x + (bit + 1) * MARKER_BLOCK);
  }
}

/** Copy rectangle `r` of the screen out as its own rows. */
export function crop(px: Uint32Array, r: Rect): Uint32Array {
  const out = new Uint32Array(r.width * r.height);
  for (let y = 0; y < r.height; y++) out.set(px.subarray((r.y + y) * W + r.x, (r.y + y) * W + r.x + r.width), y * r.width);
  return out;
}
