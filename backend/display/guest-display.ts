// A Display fed by a guest's vfb device: the device sets the surface when it maps the
// framebuffer (null when the guest goes away) and reports damage from UPDATE events.

import { EventEmitter } from 'node:events';
import type { Display, Surface, PixelFormat } from './display';
import { PIXEL_FORMAT_RGB565, PIXEL_FORMAT_XRGB8888 } from './display';
import { clipRect, isEmptyRect, type Rect } from '../../shared/region';
import { ShadowFramebuffer } from './shadow';

export interface DisplayStats {
  damageEvents: number;
  damageRects: number;
  resizes: number;
  /** Shadow refinement (shadow.ts): pixels reported damaged, pixels found changed, copy hints, time. */
  refinedPixelsIn: number;
  refinedPixelsOut: number;
  copies: number;
  refineMs: number;
}

export interface GuestDisplayOptions {
  /**
   * Keep a shadow copy of the guest framebuffer (shadow.ts): damage is refined against it,
   * vertical scrolls become 'copy' events, and servers read the shadow, not guest memory.
   */
  refineDamage?: boolean;
}

export class GuestDisplay extends EventEmitter implements Display {
  private current: Surface | null = null;
  private refreshHook: (() => void) | undefined;
  private shadow: ShadowFramebuffer | null = null;
  readonly refineDamage: boolean;
  readonly stats: DisplayStats = {
    damageEvents: 0,
    damageRects: 0,
    resizes: 0,
    refinedPixelsIn: 0,
    refinedPixelsOut: 0,
    copies: 0,
    refineMs: 0,
  };

  constructor(
    readonly name: string,
    opts: GuestDisplayOptions = {},
  ) {
    super();
    this.refineDamage = opts.refineDamage === true;
  }

  surface(): Surface | null {
    return this.current;
  }

  /** A new guest surface; with refinement the shadow starts over as a copy of it. */
  setSurface(surface: Surface | null): void {
    this.shadow = surface && this.refineDamage ? new ShadowFramebuffer(surface) : null;
    this.current = this.shadow ? this.shadow.surface : surface;
    this.stats.resizes++;
    this.emit('resize', surface);
  }

  /** Rects in guest coordinates; clipped here so servers never see out-of-range damage. */
  damage(rects: readonly Rect[]): void {
    const s = this.current;
    if (!s) return;
    const clipped = rects.map((r) => clipRect(r, s.width, s.height)).filter((r) => !isEmptyRect(r));
    if (clipped.length === 0) return;
    if (this.shadow) return this.refined(this.shadow, clipped);
    this.stats.damageEvents++;
    this.stats.damageRects += clipped.length;
    this.emit('damage', clipped);
  }

  /** 'copy' events first (only when someone listens), then what really changed. */
  private refined(shadow: ShadowFramebuffer, rects: Rect[]): void {
    const started = performance.now();
    const { copies, rects: changed } = shadow.refine(rects, { detectCopies: this.listenerCount('copy') > 0 });
    this.stats.refineMs += performance.now() - started;
    this.stats.refinedPixelsIn += rects.reduce((n, r) => n + r.width * r.height, 0);
    this.stats.refinedPixelsOut += changed.reduce((n, r) => n + r.width * r.height, 0);
    this.stats.copies += copies.length;
    for (const c of copies) this.emit('copy', c);
    if (changed.length === 0) return;
    this.stats.damageEvents++;
    this.stats.damageRects += changed.length;
    this.emit('damage', changed);
  }

  onRefreshRequest(hook: (() => void) | undefined): void {
    this.refreshHook = hook;
  }

  requestRefresh(): void {
    this.refreshHook?.();
  }
}

/** Pixel formats of the guest depths QEMU's xenfb accepts (8/16/24/32). */
export function pixelFormatForDepth(depth: number): PixelFormat {
  switch (depth) {
    case 32:
      return PIXEL_FORMAT_XRGB8888;
    case 24:
      return { ...PIXEL_FORMAT_XRGB8888, bitsPerPixel: 24 };
    case 16:
      return PIXEL_FORMAT_RGB565;
    case 8:
      // RGB332, as QEMU's pixman x8r8g8b8 fallback treats 8-bit guests.
      return {
        bitsPerPixel: 8,
        depth: 8,
        bigEndian: false,
        trueColour: true,
        redMax: 7,
        greenMax: 7,
        blueMax: 3,
        redShift: 5,
        greenShift: 2,
        blueShift: 0,
      };
    default:
      throw new RangeError(`unsupported guest depth ${depth}`);
  }
}
