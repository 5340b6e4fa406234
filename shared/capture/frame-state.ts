// The picture a capture describes at a point in time: apply records in order to get the
// framebuffer (packed rows in the geometry's pixel format). Pure; replay, seek, PNG export
// and FBS export all build frames with it.

import { xerror } from '../errors';
import type { Rect } from '../region';
import type { CaptureRecord, CopyRect, Geometry } from './format';

export class FrameState {
  geometry: Geometry | null = null;
  /** height rows of width * bpp bytes; empty while there is no geometry. */
  pixels: Uint8Array = new Uint8Array(0);

  get bytesPerPixel(): number {
    return this.geometry ? this.geometry.format.bitsPerPixel >> 3 : 0;
  }

  /**
   * Apply one record. Returns what changed on the surface: 'resize', the rects whose pixels
   * changed (copies included, as destination rects), or null when the picture is untouched.
   */
  apply(rec: CaptureRecord): { resize: true } | { rects: Rect[]; copies?: CopyRect[] } | null {
    switch (rec.type) {
      case 'geometry':
        this.setGeometry(rec.geometry);
        return { resize: true };
      case 'keyframe': {
        const same = this.geometry && sameGeometry(this.geometry, rec.geometry);
        this.setGeometry(rec.geometry);
        this.pixels.set(rec.pixels);
        return same ? { rects: [{ x: 0, y: 0, width: rec.geometry.width, height: rec.geometry.height }] } : { resize: true };
      }
      case 'damage':
        return { rects: this.applyDamage(rec.rects, rec.bytesPerPixel, rec.pixels) };
      case 'copy':
        return { rects: this.applyCopies(rec.copies), copies: rec.copies };
      default:
        return null;
    }
  }

  /** Start from a keyframe's picture, taking ownership of `pixels` (no copy). */
  adopt(g: Geometry, pixels: Uint8Array): void {
    this.geometry = g;
    this.pixels = pixels;
  }

  private setGeometry(g: Geometry | null): void {
    const size = g ? g.width * g.height * (g.format.bitsPerPixel >> 3) : 0;
    if (!g || !this.geometry || !sameGeometry(g, this.geometry)) this.pixels = new Uint8Array(size);
    this.geometry = g;
  }

  private requireGeometry(): Geometry {
    if (!this.geometry) throw xerror('CAP_E_NO_GEOMETRY', 'pixels came before any geometry or keyframe record');
    return this.geometry;
  }

  private applyDamage(rects: Rect[], bpp: number, data: Uint8Array): Rect[] {
    const g = this.requireGeometry();
    if (bpp !== this.bytesPerPixel)
      throw xerror('CAP_E_BAD_RECORD', `damage at ${bpp} bytes/pixel on a ${this.bytesPerPixel} bytes/pixel surface`);
    const stride = g.width * bpp;
    let o = 0;
    for (const r of rects) {
      const rowBytes = r.width * bpp;
      if (r.x + r.width > g.width || r.y + r.height > g.height) {
        throw xerror('CAP_E_BAD_RECORD', `damage rect ${JSON.stringify(r)} outside ${g.width}x${g.height}`);
      }
      for (let y = 0; y < r.height; y++, o += rowBytes) this.pixels.set(data.subarray(o, o + rowBytes), (r.y + y) * stride + r.x * bpp);
    }
    return rects;
  }

  private applyCopies(copies: CopyRect[]): Rect[] {
    const g = this.requireGeometry();
    const bpp = this.bytesPerPixel;
    const stride = g.width * bpp;
    const out: Rect[] = [];
    for (const c of copies) {
      const inside = (x: number, y: number): boolean => x + c.width <= g.width && y + c.height <= g.height;
      if (!inside(c.srcX, c.srcY) || !inside(c.dstX, c.dstY))
        throw xerror('CAP_E_BAD_RECORD', `copy ${JSON.stringify(c)} outside the surface`);
      const rowBytes = c.width * bpp;
      // Overlapping copies (scrolls): walk rows away from the destination, like memmove.
      const down = c.dstY > c.srcY;
      for (let i = 0; i < c.height; i++) {
        const y = down ? c.height - 1 - i : i;
        const from = (c.srcY + y) * stride + c.srcX * bpp;
        this.pixels.copyWithin((c.dstY + y) * stride + c.dstX * bpp, from, from + rowBytes);
      }
      out.push({ x: c.dstX, y: c.dstY, width: c.width, height: c.height });
    }
    return out;
  }

  /** Packed pixels of a rect (inside the surface). */
  readRect(r: Rect): Uint8Array {
    const g = this.requireGeometry();
    const bpp = this.bytesPerPixel;
    const out = new Uint8Array(r.width * r.height * bpp);
    for (let y = 0; y < r.height; y++) {
      const from = (r.y + y) * g.width * bpp + r.x * bpp;
      out.set(this.pixels.subarray(from, from + r.width * bpp), y * r.width * bpp);
    }
    return out;
  }
}

export function sameGeometry(a: Geometry, b: Geometry): boolean {
  const f = a.format;
  const h = b.format;
  return (
    a.width === b.width &&
    a.height === b.height &&
    f.bitsPerPixel === h.bitsPerPixel &&
    f.depth === h.depth &&
    f.bigEndian === h.bigEndian &&
    f.redMax === h.redMax &&
    f.greenMax === h.greenMax &&
    f.blueMax === h.blueMax &&
    f.redShift === h.redShift &&
    f.greenShift === h.greenShift &&
    f.blueShift === h.blueShift
  );
}
