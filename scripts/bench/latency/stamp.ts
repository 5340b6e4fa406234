// The frame number the latency guest draws into its framebuffer and latency-client.c reads
// back: STAMP_BITS bits as STAMP_BLOCK-pixel squares along the top-left edge, white = 1,
// most significant first (y 0..7), and their complement below (y 8..15), so that a reader
// can tell a whole stamp from a torn or lossy one. Pure: draws into any Surface.

import type { Surface } from '../../../frontend/workloads/canvas';
import type { Rect } from '../../../shared/region';

export const STAMP_BITS = 24;
export const STAMP_BLOCK = 8;
export const STAMP_RECT: Rect = { x: 0, y: 0, width: STAMP_BITS * STAMP_BLOCK, height: 2 * STAMP_BLOCK };

function block(s: Surface, bit: number, row: number, white: boolean): void {
  const v = white ? 0xff : 0;
  for (let y = row * STAMP_BLOCK; y < (row + 1) * STAMP_BLOCK; y++) {
    const o = y * s.stride + bit * STAMP_BLOCK * 4;
    for (let i = 0; i < STAMP_BLOCK; i++) {
      s.data[o + i * 4] = v;
      s.data[o + i * 4 + 1] = v;
      s.data[o + i * 4 + 2] = v;
      s.data[o + i * 4 + 3] = 0;
    }
  }
}

/** Draw `seq` (taken modulo 2^STAMP_BITS); returns the rectangle it covers. */
export function drawStamp(s: Surface, seq: number): Rect {
  for (let i = 0; i < STAMP_BITS; i++) {
    const one = ((seq >>> (STAMP_BITS - 1 - i)) & 1) === 1;
    block(s, i, 0, one);
    block(s, i, 1, !one);
  }
  return STAMP_RECT;
}

/** Read a stamp back (the test's twin of latency-client.c's reader); -1 when torn. */
export function readStamp(s: Surface): number {
  let v = 0;
  for (let i = 0; i < STAMP_BITS; i++) {
    const at = (row: number) => {
      const o = (row * STAMP_BLOCK + STAMP_BLOCK / 2) * s.stride + (i * STAMP_BLOCK + STAMP_BLOCK / 2) * 4;
      return s.data[o]! + s.data[o + 1]! + s.data[o + 2]! > 3 * 127;
    };
    const b = at(0);
    if (b === at(1)) return -1;
    v = v * 2 + (b ? 1 : 0);
  }
  return v;
}
