// What the demo guest's pattern workload drew: its frames are a pure function of the frame
// number and the framebuffer size, so a test can redraw frame N in-process (the same
// PatternWorkload code the guest runs) and name the frame any picture is. Pictures are
// compared as RGB (the X byte and alpha are ignored).

import { createHash } from 'node:crypto';
import { PatternWorkload } from '../../frontend/workloads/pattern';
import { createSurface } from '../../frontend/workloads/canvas';

/** RGB bytes of an RGBA picture. */
export function rgbOfRgba(rgba: Uint8Array, pixels: number): Buffer {
  const out = Buffer.alloc(pixels * 3);
  for (let i = 0; i < pixels; i++) {
    out[i * 3] = rgba[i * 4]!;
    out[i * 3 + 1] = rgba[i * 4 + 1]!;
    out[i * 3 + 2] = rgba[i * 4 + 2]!;
  }
  return out;
}

function digest(rgb: Buffer): string {
  return createHash('sha1').update(rgb).digest('hex');
}

/**
 * The pattern's frames 1, 2, 3... drawn on demand. frameOf(rgb) finds the number of the frame
 * a picture is, searching forward from the last one found (pictures come in time order), up
 * to `limit` frames; null when it is none of them. frameOrTearOf(rgb) also names a picture
 * torn between two consecutive frames.
 */
export class PatternFrames {
  private readonly workload: PatternWorkload;
  private readonly fb: ReturnType<typeof createSurface> & { damage: () => void };
  private readonly seen = new Map<string, number>();
  private drawn = 0;
  /** RGB of the last RECENT_FRAMES frames drawn, oldest first. */
  private readonly recent: Array<{ n: number; rgb: Buffer }> = [];

  constructor(
    readonly width: number,
    readonly height: number,
    private readonly limit = 5000,
  ) {
    this.workload = new PatternWorkload(width, height, 25);
    this.fb = Object.assign(createSurface(width, height), { damage: () => undefined });
    this.workload.start(this.fb);
    this.workload.stop();
    this.remember();
  }

  /** RGB of the frame drawn last. */
  private currentRgb(): Buffer {
    const n = this.width * this.height;
    const out = Buffer.alloc(n * 3);
    const d = this.fb.data;
    for (let i = 0; i < n; i++) {
      out[i * 3] = d[i * 4 + 2]!;
      out[i * 3 + 1] = d[i * 4 + 1]!;
      out[i * 3 + 2] = d[i * 4]!;
    }
    return out;
  }

  private remember(): void {
    this.drawn = this.workload.frames;
    const rgb = this.currentRgb();
    this.seen.set(digest(rgb), this.drawn);
    this.recent.push({ n: this.drawn, rgb });
    if (this.recent.length > RECENT_FRAMES) this.recent.shift();
  }

  frameOf(rgb: Buffer): number | null {
    return this.find(rgb, false);
  }

  /**
   * frameOf, or n + 0.5 for a picture caught while the guest drew frame n + 1 over frame n
   * (every pixel is one of the two frames'): a live capture, like any viewer, holds such a
   * picture when the guest was preempted mid-draw at the backend's scan.
   */
  frameOrTearOf(rgb: Buffer): number | null {
    return this.find(rgb, true);
  }

  private find(rgb: Buffer, torn: boolean): number | null {
    const key = digest(rgb);
    // Every pair of recent frames first; after each new frame only the newest pair.
    let pairsFrom = 1;
    for (;;) {
      const n = this.seen.get(key);
      if (n !== undefined) return n;
      for (let i = pairsFrom; torn && i < this.recent.length; i++) {
        const a = this.recent[i - 1]!;
        const b = this.recent[i]!;
        if (b.n === a.n + 1 && isMix(rgb, a.rgb, b.rgb)) return a.n + 0.5;
      }
      if (this.drawn >= this.limit) return null;
      this.workload.tick();
      this.remember();
      pairsFrom = this.recent.length - 1;
    }
  }
}

/** Frames kept for torn pictures (a picture is searched for from the last one found). */
const RECENT_FRAMES = 32;

/** Is every RGB pixel of `rgb` the one of `a` or the one of `b`? */
function isMix(rgb: Buffer, a: Buffer, b: Buffer): boolean {
  for (let i = 0; i < rgb.length; i += 3) {
    if (rgb[i] === a[i] && rgb[i + 1] === a[i + 1] && rgb[i + 2] === a[i + 2]) continue;
    if (rgb[i] === b[i] && rgb[i + 1] === b[i + 1] && rgb[i + 2] === b[i + 2]) continue;
    return false;
  }
  return true;
}
