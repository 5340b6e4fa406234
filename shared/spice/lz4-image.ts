// SPICE LZ4 images (SpiceImageType LZ4 = 109; spice-gtk decodes them when built with liblz4 and
// when it sent display cap LZ4_COMPRESSION; spice-html5 does not). The payload, as
// spice-common canvas_base.c canvas_get_lz4 reads it:
//   u8 top_down | u8 bitmap format (8 = 32BIT) | { u32 big-endian block size | LZ4 block }...
// The blocks decode one after another into packed rows of width * 4 bytes
// (LZ4_decompress_safe_continue), so each may stand alone; ours do.
//
// LZ4 block format (lz4 doc/lz4_Block_format.md): sequences of
//   token (u8: literal count << 4 | (match length - 4)) | [literal count - 15 as 255s + rest] |
//   literals | u16 LE offset (1..65535) | [match length - 19 as 255s + rest]
// ending with a literals-only sequence; the last 5 bytes are literals and the last match
// starts at least 12 bytes before the end.

/** Input bytes per LZ4 block (LZ4's 64 KiB window). */
export const LZ4_IMAGE_BLOCK = 64 * 1024;
/** lz4 format: shortest match, literals at the end, last match start distance from the end. */
const MIN_MATCH = 4;
const LAST_LITERALS = 5;
const MF_LIMIT = 12;
const HASH_BITS = 14;

function writeLength(out: Uint8Array, o: number, n: number): number {
  for (; n >= 255; n -= 255) out[o++] = 255;
  out[o++] = n;
  return o;
}

/** One LZ4 block of src (independent: matches only inside src). Greedy, hash of 4 bytes. */
export function lz4CompressBlock(src: Uint8Array): Uint8Array {
  const n = src.length;
  const out = new Uint8Array(n + Math.ceil(n / 255) + 16);
  const table = new Int32Array(1 << HASH_BITS).fill(-1);
  const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  let o = 0;
  let anchor = 0;
  let i = 0;
  const matchLimit = n - LAST_LITERALS;
  while (i + MF_LIMIT <= n) {
    const seq = dv.getUint32(i, true);
    const h = Math.imul(seq, 2654435761) >>> (32 - HASH_BITS);
    const cand = table[h]!;
    table[h] = i;
    if (cand < 0 || i - cand > 0xffff || dv.getUint32(cand, true) !== seq) {
      i++;
      continue;
    }
    let len = MIN_MATCH;
    while (i + len < matchLimit && src[cand + len] === src[i + len]) len++;
    const lit = i - anchor;
    const token = o++;
    out[token] = (Math.min(lit, 15) << 4) | Math.min(len - MIN_MATCH, 15);
    if (lit >= 15) o = writeLength(out, o, lit - 15);
    out.set(src.subarray(anchor, i), o);
    o += lit;
    const off = i - cand;
    out[o++] = off & 0xff;
    out[o++] = off >>> 8;
    if (len - MIN_MATCH >= 15) o = writeLength(out, o, len - MIN_MATCH - 15);
    i += len;
    anchor = i;
  }
  const lit = n - anchor;
  out[o++] = Math.min(lit, 15) << 4;
  if (lit >= 15) o = writeLength(out, o, lit - 15);
  out.set(src.subarray(anchor), o);
  return out.subarray(0, o + lit);
}

/** Encode width x height pixels (B, G, R, X rows, width * 4 bytes each) as an LZ4 image payload. */
export function encodeLz4Image(width: number, height: number, pixels: Uint8Array): Buffer {
  const total = width * height * 4;
  const parts: Uint8Array[] = [Uint8Array.from([1, 8])]; // top_down, SPICE_BITMAP_FMT_32BIT
  for (let at = 0; at < total; at += LZ4_IMAGE_BLOCK) {
    const block = lz4CompressBlock(pixels.subarray(at, Math.min(total, at + LZ4_IMAGE_BLOCK)));
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, block.length, false);
    parts.push(len, block);
  }
  return Buffer.concat(parts);
}

/** Decode one LZ4 block (tests and tools): every length checked against the input and `max`. */
export function lz4DecompressBlock(src: Uint8Array, max: number): Uint8Array {
  const out = new Uint8Array(max);
  let i = 0;
  let o = 0;
  const need = (k: number): void => {
    if (i + k > src.length) throw new RangeError('LZ4 block ends early');
  };
  /** An extended length: bytes added up while they are 255. */
  const readLength = (): number => {
    let sum = 0;
    for (;;) {
      need(1);
      const b = src[i++]!;
      sum += b;
      if (b !== 255) return sum;
    }
  };
  for (;;) {
    need(1);
    const token = src[i++]!;
    let lit = token >> 4;
    if (lit === 15) lit += readLength();
    need(lit);
    if (o + lit > max) throw new RangeError('LZ4 literals past the output');
    out.set(src.subarray(i, i + lit), o);
    i += lit;
    o += lit;
    if (i === src.length) return out.subarray(0, o);
    need(2);
    const off = src[i]! | (src[i + 1]! << 8);
    i += 2;
    let len = (token & 15) + MIN_MATCH;
    if ((token & 15) === 15) len += readLength();
    if (off === 0 || off > o || o + len > max) throw new RangeError('LZ4 match outside the output');
    for (let k = 0; k < len; k++, o++) out[o] = out[o - off]!;
  }
}
