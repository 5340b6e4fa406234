// The SPICE LZ image codec for LZ_RGB images of type RGB32 (spice-common common/lz.c,
// lz_common.h; the stream grammar is what lz_decompress_tmpl.c reads). Written from the
// format, not from the C encoder. Pixels are B, G, R, X bytes; the pad byte is not sent.
//
// Header, 7 x u32 big-endian: magic "LZ  " | version 1.1 | type (8 = RGB32) | width | height |
//   stride (= width * 4) | top_down
// Then a stream of items until width * height pixels are produced:
//   ctrl < 32                     literal run: ctrl + 1 pixels follow, 3 bytes each (B, G, R)
//   ctrl = len3 << 5 | dist_hi5   match of L pixels at distance D pixels back (L >= 1, D >= 1):
//     len3 = L if L < 7, else 7 followed by bytes summing to L - 7 (each 255 but the last)
//     then u8 dist_lo; d = D - 1 = dist_hi5 << 8 | dist_lo when d < MAX_DISTANCE, else
//     dist_hi5 = 31, dist_lo = 255 and two more bytes (big-endian) hold d - MAX_DISTANCE.
// A match may overlap what it produces (D = 1 repeats the previous pixel: a run).

import { xerror } from '../errors';

/** lz_common.h LZ_MAGIC ("LZ  " read as a big-endian u32). */
export const LZ_MAGIC = 0x20205a4c;
/** lz_common.h LZ_VERSION (1.1). */
export const LZ_VERSION = 0x00010001;
/** lz_common.h LzImageType LZ_IMAGE_TYPE_RGB32. */
export const LZ_IMAGE_TYPE_RGB32 = 8;
/** lz.c MAX_COPY: longest literal run of one ctrl byte. */
export const LZ_MAX_COPY = 32;
/** lz.c MAX_DISTANCE: distances (minus 1) below this take 13 bits. */
export const LZ_MAX_DISTANCE = 8191;
/** lz.c MAX_FARDISTANCE: the largest distance minus 1 the stream can express. */
export const LZ_MAX_FARDISTANCE = 65535 + LZ_MAX_DISTANCE - 1;
/** Header: 7 x u32. */
export const LZ_HEADER_SIZE = 28;

const HASH_BITS = 15;
const HASH_SIZE = 1 << HASH_BITS;
/** Shortest match worth a reference (2 bytes for 2 pixels beats 6 literal bytes). */
const MIN_MATCH = 2;

function hash2(a: number, b: number): number {
  return (Math.imul(a ^ Math.imul(b, 0x9e3779b1), 0x85ebca6b) >>> (32 - HASH_BITS)) & (HASH_SIZE - 1);
}

/** Encode width x height pixels (B, G, R, X rows, stride width * 4) as an LZ_RGB RGB32 image. */
export function encodeLzRgb32(width: number, height: number, pixels: Uint8Array): Buffer {
  const n = width * height;
  if (pixels.length < n * 4) throw xerror('BYTES_E_RANGE', `LZ_RGB ${width}x${height} needs ${n * 4} bytes, got ${pixels.length}`);
  // 24-bit pixel values, pad dropped (the decoder writes pad = 0).
  const px = new Uint32Array(n);
  if (pixels.byteOffset % 4 === 0) {
    // x86 and ARM Linux are little-endian: a u32 read of B, G, R, X is 0xXXRRGGBB.
    const words = new Uint32Array(pixels.buffer, pixels.byteOffset, n);
    for (let i = 0; i < n; i++) px[i] = words[i]! & 0xffffff;
  } else for (let i = 0; i < n; i++) px[i] = pixels[i * 4]! | (pixels[i * 4 + 1]! << 8) | (pixels[i * 4 + 2]! << 16);

  // Worst case: every pixel literal = 3 bytes + one ctrl per 32.
  const out = new Uint8Array(LZ_HEADER_SIZE + n * 3 + Math.ceil(n / LZ_MAX_COPY) + 16);
  const dv = new DataView(out.buffer);
  [LZ_MAGIC, LZ_VERSION, LZ_IMAGE_TYPE_RGB32, width, height, width * 4, 1].forEach((v, i) => dv.setUint32(i * 4, v, false));
  let o = LZ_HEADER_SIZE;
  const table = new Int32Array(HASH_SIZE).fill(-1);

  const literals = (from: number, to: number): void => {
    while (from < to) {
      const run = Math.min(LZ_MAX_COPY, to - from);
      out[o++] = run - 1;
      for (let k = 0; k < run; k++) {
        const v = px[from + k]!;
        out[o++] = v & 0xff;
        out[o++] = (v >>> 8) & 0xff;
        out[o++] = (v >>> 16) & 0xff;
      }
      from += run;
    }
  };
  const match = (len: number, dist: number): void => {
    const d = dist - 1;
    const far = d >= LZ_MAX_DISTANCE;
    const hi = far ? 31 : d >> 8;
    out[o++] = ((len < 7 ? len : 7) << 5) | hi;
    if (len >= 7) {
      let rest = len - 7;
      for (; rest >= 255; rest -= 255) out[o++] = 255;
      out[o++] = rest;
    }
    if (far) {
      const f = d - LZ_MAX_DISTANCE;
      out[o++] = 255;
      out[o++] = f >>> 8;
      out[o++] = f & 0xff;
    } else {
      out[o++] = d & 0xff;
    }
  };

  let lit = 0;
  let i = 0;
  while (i < n) {
    let bestLen = 0;
    let bestDist = 0;
    if (i > 0 && px[i] === px[i - 1]) {
      // A run: distance 1.
      let l = 1;
      while (i + l < n && px[i + l] === px[i - 1]) l++;
      bestLen = l;
      bestDist = 1;
    }
    if (i + 1 < n) {
      const h = hash2(px[i]!, px[i + 1]!);
      const cand = table[h]!;
      table[h] = i;
      if (cand >= 0 && i - cand - 1 <= LZ_MAX_FARDISTANCE) {
        let l = 0;
        while (i + l < n && px[cand + l] === px[i + l]) l++;
        if (l > bestLen) {
          bestLen = l;
          bestDist = i - cand;
        }
      }
    }
    if (bestLen >= MIN_MATCH) {
      literals(lit, i);
      match(bestLen, bestDist);
      // Index a few positions inside the match so later rows find it.
      const end = i + bestLen;
      for (let k = i + 1; k + 1 < end && k < i + 8; k++) table[hash2(px[k]!, px[k + 1]!)] = k;
      i = end;
      lit = i;
    } else {
      i++;
    }
  }
  literals(lit, n);
  return Buffer.from(out.buffer, 0, o);
}

/**
 * Decode an LZ_RGB RGB32 image (for tests and tools): the header checks and the stream grammar
 * above, every size bounded by the header's pixel count. Returns B, G, R, 0 pixels.
 */
export function decodeLzRgb32(data: Uint8Array): { width: number; height: number; pixels: Uint8Array } {
  if (data.length < LZ_HEADER_SIZE) throw xerror('BYTES_E_SHORT', 'LZ header is 28 bytes');
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const [magic, version, type, width, height, stride] = [0, 1, 2, 3, 4, 5].map((k) => dv.getUint32(k * 4, false)) as number[];
  if (magic !== LZ_MAGIC || version !== LZ_VERSION || type !== LZ_IMAGE_TYPE_RGB32 || stride !== width! * 4) {
    throw xerror('BYTES_E_RANGE', `not an LZ RGB32 image (magic ${magic}, version ${version}, type ${type})`);
  }
  const n = width! * height!;
  const px = new Uint32Array(n);
  let i = LZ_HEADER_SIZE;
  let op = 0;
  const next = (): number => {
    if (i >= data.length) throw xerror('BYTES_E_SHORT', 'LZ stream ends early');
    return data[i++]!;
  };
  while (op < n) {
    const ctrl = next();
    if (ctrl < LZ_MAX_COPY) {
      const run = ctrl + 1;
      if (op + run > n) throw xerror('BYTES_E_RANGE', 'LZ literal run past the image');
      for (let k = 0; k < run; k++) px[op++] = next() | (next() << 8) | (next() << 16);
      continue;
    }
    let len = ctrl >> 5;
    if (len === 7) {
      let c: number;
      do {
        c = next();
        len += c;
      } while (c === 255);
    }
    let d = (ctrl & 31) << 8;
    const lo = next();
    d += lo;
    if (lo === 255 && (ctrl & 31) === 31) d = ((next() << 8) | next()) + LZ_MAX_DISTANCE;
    const ref = op - (d + 1);
    if (ref < 0 || op + len > n) throw xerror('BYTES_E_RANGE', 'LZ match outside the image');
    for (let k = 0; k < len; k++) px[op + k] = px[ref + k]!;
    op += len;
  }
  if (i !== data.length) throw xerror('BYTES_E_RANGE', `LZ stream has ${data.length - i} bytes past the image`);
  const pixels = new Uint8Array(px.buffer);
  return { width: width!, height: height!, pixels };
}
