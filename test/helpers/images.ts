// Test images: written and read with pngjs, independent of the code under test.

import { PNG } from 'pngjs';
import { prng } from './prng';

export type Rgb = [number, number, number];

/**
 * An RGB image of flat block x block squares: every other block grey, the others random
 * colours. Flat, aligned blocks let lossy JPEG clients be checked tightly too.
 */
export function blockImage(width: number, height: number, block: number, seed: number): { png: PNG; pixels: Rgb[][] } {
  const rnd = prng(seed);
  const png = new PNG({ width, height, colorType: 2 });
  const pixels: Rgb[][] = [];
  const colours = new Map<string, Rgb>();
  for (let y = 0; y < height; y++) {
    const row: Rgb[] = [];
    for (let x = 0; x < width; x++) {
      const bx = Math.floor(x / block);
      const by = Math.floor(y / block);
      const key = `${bx},${by}`;
      let c = colours.get(key);
      if (!c) {
        const v = Math.floor(rnd() * 256);
        c = (bx + by) % 2 === 0 ? [v, v, v] : [Math.floor(rnd() * 256), Math.floor(rnd() * 256), Math.floor(rnd() * 256)];
        colours.set(key, c);
      }
      row.push(c);
      const o = (y * width + x) * 4;
      png.data[o] = c[0];
      png.data[o + 1] = c[1];
      png.data[o + 2] = c[2];
      png.data[o + 3] = 255;
    }
    pixels.push(row);
  }
  return { png, pixels };
}

export function readPng(buf: Buffer): { width: number; height: number; pixels: Rgb[][] } {
  const png = PNG.sync.read(buf);
  const pixels: Rgb[][] = [];
  for (let y = 0; y < png.height; y++) {
    const row: Rgb[] = [];
    for (let x = 0; x < png.width; x++) {
      const o = (y * png.width + x) * 4;
      row.push([png.data[o]!, png.data[o + 1]!, png.data[o + 2]!]);
    }
    pixels.push(row);
  }
  return { width: png.width, height: png.height, pixels };
}
