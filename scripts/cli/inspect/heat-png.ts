// `xenvfb inspect --png FILE`: the heat map laid over a screenshot of the guest, each tile
// tinted red in proportion to its heat and outlined when the last scan found it.

import { PNG } from 'pngjs';
import type { HeatMap } from './heat';

/** Strongest tint (heat 1), as the share of red mixed in. */
const MAX_TINT = 0.65;

/** `screenshot`: a PNG of the guest (control socket), or null for a grey background. */
export function heatPng(heat: HeatMap, width: number, height: number, screenshot: Buffer | null): Buffer {
  const g = heat.geometry;
  let png: PNG;
  if (screenshot) png = PNG.sync.read(screenshot);
  else {
    png = new PNG({ width, height });
    png.data.fill(64);
  }
  if (!g) return PNG.sync.write(png);
  for (let y = 0; y < png.height; y++) {
    const row = Math.floor(y / g.tileH);
    if (row >= g.rows) break;
    for (let x = 0; x < png.width; x++) {
      const col = Math.floor(x / g.tileW);
      if (col >= g.cols) break;
      const i = row * g.cols + col;
      const a = heat.heat[i]! * MAX_TINT;
      const o = (y * png.width + x) * 4;
      const edge = heat.last[i] === 1 && (x % g.tileW === 0 || y % g.tileH === 0);
      png.data[o] = edge ? 255 : Math.round(png.data[o]! * (1 - a) + 255 * a);
      png.data[o + 1] = edge ? 255 : Math.round(png.data[o + 1]! * (1 - a));
      png.data[o + 2] = edge ? 0 : Math.round(png.data[o + 2]! * (1 - a));
      png.data[o + 3] = 255;
    }
  }
  return PNG.sync.write(png);
}
