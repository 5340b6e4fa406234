// The pattern workload: an animated scene that changes a little each frame, so the damage
// path (XENFB_TYPE_UPDATE batching, encoder choice) sees realistic partial updates:
//   - a vertical gradient background that never changes,
//   - a rainbow band that scrolls sideways a couple of pixels a frame,
//   - a solid box bouncing off the edges (changing colour at each bounce),
//   - a frame counter in the top-left corner.
// Each tick repaints and reports only the band, the box's old and new places, and the counter.

import type { Rect } from '../../shared/region';
import { clipRect, intersectRect, isEmptyRect, rectsOverlap, unionRect } from '../../shared/region';
import { drawText, fillRect, rgb, setPixel, textHeight, textWidth, type Rgb } from './canvas';
import { resolveFps, resolveSize, type FramebufferTarget, type Workload, type WorkloadOptions } from './workload';

export const PATTERN_DEFAULT_FPS = 25;
const BAND_SCROLL_PX = 2;
const BAND_PERIOD_PX = 256;
const BOX_MAX_SIZE = 64;
const BOX_VELOCITY = { x: 5, y: 3 };
const COUNTER_SCALE = 2;
const COUNTER_DIGITS = 8;
const COUNTER_MARGIN = 8;
const BOX_COLORS: readonly Rgb[] = [rgb(255, 200, 40), rgb(240, 60, 90), rgb(80, 220, 120), rgb(250, 250, 250)];

interface Box {
  x: number;
  y: number;
  vx: number;
  vy: number;
  size: number;
  color: number;
}

export class PatternWorkload implements Workload {
  readonly name = 'pattern';
  private fb: FramebufferTarget | undefined;
  private timer: NodeJS.Timeout | undefined;
  private drawn = 0;
  private bandOffset = 0;
  private band: Rect = { x: 0, y: 0, width: 0, height: 0 };
  private box: Box = { x: 0, y: 0, vx: BOX_VELOCITY.x, vy: BOX_VELOCITY.y, size: 1, color: 0 };
  private readonly rainbow = buildRainbow(BAND_PERIOD_PX);

  constructor(
    readonly width: number,
    readonly height: number,
    readonly fps: number,
  ) {}

  get frames(): number {
    return this.drawn;
  }

  /** Whether the animation timer is armed. */
  get running(): boolean {
    return this.timer !== undefined;
  }

  start(fb: FramebufferTarget): void {
    this.stop();
    this.fb = fb;
    // Lay out against the framebuffer we were given, which the frontend may have clamped.
    this.band = { x: 0, y: Math.floor(fb.height * 0.4), width: fb.width, height: Math.max(1, Math.floor(fb.height / 5)) };
    const size = Math.max(1, Math.min(BOX_MAX_SIZE, Math.floor(Math.min(fb.width, fb.height) / 4)));
    this.box = { x: 0, y: 0, vx: BOX_VELOCITY.x, vy: BOX_VELOCITY.y, size, color: 0 };
    const whole = { x: 0, y: 0, width: fb.width, height: fb.height };
    this.paint(fb, whole);
    this.drawn++;
    this.drawCounter(fb);
    fb.damage(whole);
    this.timer = setInterval(() => this.tick(), 1000 / this.fps);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Advance one frame; returns (and reports) the rectangles that changed. */
  tick(): Rect[] {
    const fb = this.fb;
    if (fb === undefined) return [];
    const before = this.boxRect();
    this.bandOffset = (this.bandOffset + BAND_SCROLL_PX) % BAND_PERIOD_PX;
    this.moveBox(fb);
    const after = this.boxRect();
    const boxDirty = rectsOverlap(before, after) ? [unionRect(before, after)] : [before, after];
    const dirty = [this.band, ...boxDirty].map((r) => clipRect(r, fb.width, fb.height)).filter((r) => !isEmptyRect(r));
    for (const r of dirty) this.paint(fb, r);
    this.drawn++;
    // The counter changes every frame and sits on top of everything else.
    dirty.push(this.drawCounter(fb));
    for (const r of dirty) fb.damage(r);
    return dirty;
  }

  private boxRect(): Rect {
    return { x: this.box.x, y: this.box.y, width: this.box.size, height: this.box.size };
  }

  private moveBox(fb: FramebufferTarget): void {
    const b = this.box;
    const maxX = Math.max(0, fb.width - b.size);
    const maxY = Math.max(0, fb.height - b.size);
    let bounced = false;
    b.x += b.vx;
    b.y += b.vy;
    if (b.x < 0 || b.x > maxX) {
      b.vx = -b.vx;
      b.x = Math.max(0, Math.min(maxX, b.x));
      bounced = true;
    }
    if (b.y < 0 || b.y > maxY) {
      b.vy = -b.vy;
      b.y = Math.max(0, Math.min(maxY, b.y));
      bounced = true;
    }
    if (bounced) b.color = (b.color + 1) % BOX_COLORS.length;
  }

  /** Repaint the background, band and box inside `r` (which must be inside the fb). */
  private paint(fb: FramebufferTarget, r: Rect): void {
    const bandEnd = this.band.y + this.band.height;
    for (let y = r.y; y < r.y + r.height; y++) {
      if (y >= this.band.y && y < bandEnd) {
        for (let x = r.x; x < r.x + r.width; x++) setPixel(fb, x, y, this.rainbow[(x + this.bandOffset) % BAND_PERIOD_PX]);
      } else {
        fillRect(fb, { x: r.x, y, width: r.width, height: 1 }, backgroundAt(y, fb.height));
      }
    }
    const boxPart = clipRect(intersectRect(this.boxRect(), r), fb.width, fb.height);
    fillRect(fb, boxPart, BOX_COLORS[this.box.color]);
  }

  private drawCounter(fb: FramebufferTarget): Rect {
    const text = `frame ${String(this.drawn).padStart(COUNTER_DIGITS, ' ')}`;
    const pad = COUNTER_SCALE * 2;
    const box = {
      x: COUNTER_MARGIN,
      y: COUNTER_MARGIN,
      width: textWidth(text, COUNTER_SCALE) + 2 * pad,
      height: textHeight(COUNTER_SCALE) + 2 * pad,
    };
    fillRect(fb, box, rgb(0, 0, 0));
    drawText(fb, box.x + pad, box.y + pad, text, { fg: rgb(255, 255, 255), scale: COUNTER_SCALE });
    return clipRect(box, fb.width, fb.height);
  }
}

function backgroundAt(y: number, height: number): Rgb {
  const t = height > 1 ? y / (height - 1) : 0;
  return rgb(16, Math.round(24 + 64 * t), Math.round(48 + 96 * t));
}

/** One period of a fully saturated hue cycle. */
function buildRainbow(period: number): Rgb[] {
  const out: Rgb[] = [];
  for (let i = 0; i < period; i++) {
    const h = (i / period) * 6;
    const f = Math.round((h - Math.floor(h)) * 255);
    const sector = Math.floor(h);
    const rgbBySector: Array<[number, number, number]> = [
      [255, f, 0],
      [255 - f, 255, 0],
      [0, 255, f],
      [0, 255 - f, 255],
      [f, 0, 255],
      [255, 0, 255 - f],
    ];
    const [r, g, b] = rgbBySector[sector];
    out.push(rgb(r, g, b));
  }
  return out;
}

export function createPatternWorkload(opts: WorkloadOptions): PatternWorkload {
  const { width, height } = resolveSize(opts);
  return new PatternWorkload(width, height, resolveFps(opts, PATTERN_DEFAULT_FPS));
}
