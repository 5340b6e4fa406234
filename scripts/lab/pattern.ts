// The picture the lab's domU writes to /dev/fb0 and the dom0 checks expect to see over VNC.
// XRGB8888 little-endian (xen-fbfront's only format: B at byte 0, G at 1, R at 2), one
// pattern per geometry so that a stale screen after a mode change cannot pass.

/** 0x00RRGGBB of pixel (x, y) in a width x height pattern. */
export function patternPixel(x: number, y: number, width: number, height: number): number {
  const r = (x * 7 + height) & 0xff;
  const g = (y * 5 + width) & 0xff;
  const b = (x ^ y) & 0xff;
  return (r << 16) | (g << 8) | b;
}

/** The raw framebuffer contents: `height` rows of `stride` bytes, padding zero. */
export function patternFrame(width: number, height: number, stride: number): Buffer {
  const out = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) out.writeUInt32LE(patternPixel(x, y, width, height), y * stride + x * 4);
  }
  return out;
}

/** File name the domU's /init looks for (`pattern-WxHxSTRIDE.raw`). */
export function patternFileName(width: number, height: number, stride: number): string {
  return `pattern-${width}x${height}x${stride}.raw`;
}

/** First pixel of `pixels` (0x00RRGGBB, row-major, width x height) that differs, or null. */
export function firstMismatch(
  pixels: Uint32Array,
  width: number,
  height: number,
): { x: number; y: number; got: number; want: number; count: number } | null {
  let first: { x: number; y: number; got: number; want: number } | null = null;
  let count = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const got = pixels[y * width + x]! & 0xffffff;
      const want = patternPixel(x, y, width, height);
      if (got !== want) {
        count++;
        first ??= { x, y, got, want };
      }
    }
  }
  return first ? { ...first, count } : null;
}
