// A small capture file whose every frame is known: a keyframe of 16x16 blocks of random
// colours at 0 ms, then every STEP_MS a damage record repainting a few blocks, with a
// keyframe now and then. Frame k (at k * STEP_MS) differs from frame k - 1, so a picture
// names its time. Built with the real CaptureWriter; tests read it back with CaptureFile.

import { CaptureWriter } from '../../backend/capture/capture-writer';
import { PIXEL_FORMAT_XRGB8888 } from '../../backend/display/pixel-format';
import type { Rect } from '../../shared/region';
import { prng } from './prng';

export const SYNTH_STEP_MS = 500;

export function writeSyntheticCapture(
  file: string,
  opts: { width?: number; height?: number; frames?: number; seed?: number } = {},
): {
  durationMs: number;
} {
  const width = opts.width ?? 160;
  const height = opts.height ?? 96;
  const frames = opts.frames ?? 10;
  const rand = prng(opts.seed ?? 7);
  const geometry = { width, height, format: PIXEL_FORMAT_XRGB8888 };
  const fb = new Uint8Array(width * height * 4);
  const paint = (r: Rect, color: number): void => {
    for (let y = r.y; y < r.y + r.height; y++) {
      for (let x = r.x; x < r.x + r.width; x++) new DataView(fb.buffer).setUint32((y * width + x) * 4, color & 0xffffff, true);
    }
  };
  const block = (): Rect => {
    const x = Math.floor(rand() * (width / 16)) * 16;
    const y = Math.floor(rand() * (height / 16)) * 16;
    return { x, y, width: Math.min(16, width - x), height: Math.min(16, height - y) };
  };
  for (let y = 0; y < height; y += 16) for (let x = 0; x < width; x += 16) paint({ x, y, width: 16, height: 16 }, rand() * 0xffffff);
  const w = new CaptureWriter(file, { keyframeIntervalMs: 2000 });
  w.append({ type: 'keyframe', timeMs: 0, geometry, pixels: fb.slice() });
  for (let k = 1; k < frames; k++) {
    const t = k * SYNTH_STEP_MS;
    const rects: Rect[] = [];
    for (let n = 0; n < 4; n++) {
      const r = block();
      if (rects.some((o) => o.x === r.x && o.y === r.y)) continue;
      paint(r, rand() * 0xffffff);
      rects.push(r);
    }
    if (k % 4 === 0) {
      w.append({ type: 'keyframe', timeMs: t, geometry, pixels: fb.slice() });
      continue;
    }
    const pixels = new Uint8Array(rects.reduce((n, r) => n + r.width * r.height * 4, 0));
    let o = 0;
    for (const r of rects) {
      for (let y = r.y; y < r.y + r.height; y++, o += r.width * 4)
        pixels.set(fb.subarray((y * width + r.x) * 4, (y * width + r.x + r.width) * 4), o);
    }
    w.append({ type: 'damage', timeMs: t, bytesPerPixel: 4, rects, pixels });
  }
  w.close();
  return { durationMs: (frames - 1) * SYNTH_STEP_MS };
}
