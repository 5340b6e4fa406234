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
 * to `limit` frames; null when it is none of them.
 */
export class PatternFrames {
  private readonly workload: PatternWorkload;
  private readonly fb: ReturnType<typeof createSurface> & { damage: () => void };
  private readonly seen = new Map<string, number>();
  private drawn = 0;

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
    this.seen.set(digest(this.currentRgb()), this.drawn);
  }

  frameOf(rgb: Buffer): number | null {
    const key = digest(rgb);
    for (;;) {
      const n = this.seen.get(key);
      if (n !== undefined) return n;
      if (this.drawn >= this.limit) return null;
      this.workload.tick();
      this.remember();
    }
  }
}
