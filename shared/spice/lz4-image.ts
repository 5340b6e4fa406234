// SPICE LZ4 images (SpiceImageType LZ4 = 109; spice-gtk decodes them when built with liblz4 and
// when it sent display cap LZ4_COMPRESSION; spice-html5 does not). The payload, as
// spice-common canvas_base.c canvas_get_lz4 reads it:
//   u8 top_down | u8 bitmap format (8 = 32BIT) | { u32 big-endian block size | LZ4 block }...
// The blocks decode one after another into packed rows of width * 4 bytes
// (LZ4_decompress_safe_continue), so each may stand alone. Blocks come from lz4js (npm),
// at most LZ4_IMAGE_BLOCK input bytes each.

import * as lz4 from 'lz4js';
import { SpiceBitmapFmt } from './constants';

/** Input bytes per LZ4 block (LZ4's 64 KiB window; spice-server's lz4-encoder.c also cuts by rows). */
export const LZ4_IMAGE_BLOCK = 64 * 1024;

/** An LZ4 block holding `src` as literals only (lz4js gives up on incompressible input). */
function literalBlock(src: Uint8Array): Uint8Array {
  const n = src.length;
  const extra = n >= 15 ? 1 + Math.floor((n - 15) / 255) : 0;
  const out = new Uint8Array(1 + extra + n);
  let o = 0;
  out[o++] = Math.min(n, 15) << 4;
  if (n >= 15) {
    let rest = n - 15;
    for (; rest >= 255; rest -= 255) out[o++] = 255;
    out[o++] = rest;
  }
  out.set(src, o);
  return out.subarray(0, o + n);
}

/** Encode width x height pixels (B, G, R, X rows, width * 4 bytes each) as an LZ4 image payload. */
export function encodeLz4Image(width: number, height: number, pixels: Uint8Array): Buffer {
  const total = width * height * 4;
  const parts: Uint8Array[] = [Uint8Array.from([1, SpiceBitmapFmt.FMT_32BIT])]; // top_down, format
  const hash = new Uint32Array(1 << 16);
  const dst = new Uint8Array(lz4.compressBound(LZ4_IMAGE_BLOCK));
  for (let at = 0; at < total; at += LZ4_IMAGE_BLOCK) {
    const src = pixels.subarray(at, Math.min(total, at + LZ4_IMAGE_BLOCK));
    hash.fill(0);
    const size = lz4.compressBlock(src, dst, 0, src.length, hash);
    const block = size > 0 && size < src.length ? dst.slice(0, size) : literalBlock(src);
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, block.length, false);
    parts.push(len, block);
  }
  return Buffer.concat(parts);
}
