// A Display fed by a guest's vfb device: the device sets the surface when it maps the
// framebuffer (null when the guest goes away) and reports damage from UPDATE events.

import { EventEmitter } from 'node:events';
import type { Display, Surface, PixelFormat } from './display';
import { PIXEL_FORMAT_XRGB8888 } from './display';
import { clipRect, isEmptyRect, type Rect } from '../../shared/region';

export interface DisplayStats {
  damageEvents: number;
  damageRects: number;
  resizes: number;
}

export class GuestDisplay extends EventEmitter implements Display {
  private current: Surface | null = null;
  private refreshHook: (() => void) | undefined;
  readonly stats: DisplayStats = { damageEvents: 0, damageRects: 0, resizes: 0 };

  constructor(readonly name: string) {
    super();
  }

  surface(): Surface | null {
    return this.current;
  }

  setSurface(surface: Surface | null): void {
    this.current = surface;
    this.stats.resizes++;
    this.emit('resize', surface);
  }

  /** Rects in guest coordinates; clipped here so servers never see out-of-range damage. */
  damage(rects: readonly Rect[]): void {
    const s = this.current;
    if (!s) return;
    const clipped = rects.map((r) => clipRect(r, s.width, s.height)).filter((r) => !isEmptyRect(r));
    if (clipped.length === 0) return;
    this.stats.damageEvents++;
    this.stats.damageRects += clipped.length;
    this.emit('damage', clipped);
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
      return {
        bitsPerPixel: 16,
        depth: 16,
        bigEndian: false,
        trueColour: true,
        redMax: 31,
        greenMax: 63,
        blueMax: 31,
        redShift: 11,
        greenShift: 5,
        blueShift: 0,
      };
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
