// A Display fed by a guest's vfb device: the device sets the surface when it maps the
// framebuffer (null when the guest goes away) and reports damage from UPDATE events or tile
// scans. Listeners never see guest memory: the surface they get is a shadow copy
// (shadow.ts) that changes only inside the damage they are told about.

import { EventEmitter } from 'node:events';
import type { CursorState, Display, DisplayEvents, Surface } from './display';
import { clipRect, isEmptyRect, type Rect, rectArea } from '../../shared/region';
import { ShadowFramebuffer } from './shadow';

/**
 * Refresh requests (every client's non-incremental update requests) closer together than this
 * are served by one refresh: a refresh compares the whole guest frame with the shadow, and
 * clients must not be able to make the display do that more than ten times a second (it
 * only catches changes the guest did not report; reported damage flows regardless).
 */
export const REFRESH_MIN_INTERVAL_MS = 100;

export interface DisplayStats {
  damageEvents: number;
  damageRects: number;
  resizes: number;
  /** Shadow refinement (shadow.ts): pixels reported damaged, pixels found changed, copy hints, time. */
  refinedPixelsIn: number;
  refinedPixelsOut: number;
  copies: number;
  refineMs: number;
  /** Refreshes run, and requests that were folded into one already due. */
  refreshes: number;
  refreshesCoalesced: number;
}

export interface GuestDisplayOptions {
  /**
   * Refine damage against the shadow copy (shadow.ts): only pixels that really changed are
   * reported and vertical scrolls become 'copy' events. Off, damage is copied into the shadow
   * and reported as the guest gave it.
   */
  refineDamage?: boolean;
}

export class GuestDisplay extends EventEmitter<DisplayEvents> implements Display {
  private refreshHook: (() => void) | undefined;
  private shadow: ShadowFramebuffer | null = null;
  private pointer: CursorState = { shape: null, x: 0, y: 0, visible: true };
  readonly refineDamage: boolean;
  readonly stats: DisplayStats = {
    damageEvents: 0,
    damageRects: 0,
    resizes: 0,
    refinedPixelsIn: 0,
    refinedPixelsOut: 0,
    copies: 0,
    refineMs: 0,
    refreshes: 0,
    refreshesCoalesced: 0,
  };
  private lastRefresh = -Infinity;
  private refreshTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly name: string,
    opts: GuestDisplayOptions = {},
  ) {
    super();
    this.refineDamage = opts.refineDamage === true;
    // One listener per client and protocol: a busy console is not a leak.
    this.setMaxListeners(0);
  }

  /** The shadow of the guest surface (never guest memory), or null. */
  surface(): Surface | null {
    return this.shadow?.surface ?? null;
  }

  cursor(): CursorState {
    return { ...this.pointer };
  }

  /** A new guest surface (guest memory): the shadow starts over as a copy of it. */
  setSurface(guest: Surface | null): void {
    this.shadow = guest ? new ShadowFramebuffer(guest) : null;
    this.stats.resizes++;
    this.emit('resize', this.surface());
  }

  /** The source knows the cursor (shape null: the server's default arrow). */
  setCursor(cursor: Partial<CursorState>): void {
    this.pointer = { ...this.pointer, ...cursor };
    this.emit('cursor', this.cursor());
  }

  /** Rects in guest coordinates; clipped here so servers never see out-of-range damage. */
  damage(rects: readonly Rect[]): void {
    const shadow = this.shadow;
    if (!shadow) return;
    const s = shadow.surface;
    const clipped = rects.map((r) => clipRect(r, s.width, s.height)).filter((r) => !isEmptyRect(r));
    if (clipped.length === 0) return;
    if (this.refineDamage) return this.refined(shadow, clipped);
    shadow.copyIn(clipped);
    this.stats.damageEvents++;
    this.stats.damageRects += clipped.length;
    this.emit('damage', clipped);
  }

  /** 'copy' events first (only when someone listens), then what really changed. */
  private refined(shadow: ShadowFramebuffer, rects: Rect[]): void {
    const started = performance.now();
    const { copies, rects: changed } = shadow.refine(rects, { detectCopies: this.listenerCount('copy') > 0 });
    this.stats.refineMs += performance.now() - started;
    this.stats.refinedPixelsIn += rects.reduce((n, r) => n + rectArea(r), 0);
    this.stats.refinedPixelsOut += changed.reduce((n, r) => n + rectArea(r), 0);
    this.stats.copies += copies.length;
    for (const c of copies) this.emit('copy', c);
    if (changed.length === 0) return;
    this.stats.damageEvents++;
    this.stats.damageRects += changed.length;
    this.emit('damage', changed);
  }

  onRefreshRequest(hook: (() => void) | undefined): void {
    this.refreshHook = hook;
    if (!hook && this.refreshTimer) {
      clearTimeout(this.refreshTimer);
      this.refreshTimer = null;
    }
  }

  /** At once if the last refresh is older than REFRESH_MIN_INTERVAL_MS, else once when it is. */
  requestRefresh(): void {
    if (!this.refreshHook) return;
    if (this.refreshTimer) {
      this.stats.refreshesCoalesced++;
      return;
    }
    const wait = this.lastRefresh + REFRESH_MIN_INTERVAL_MS - performance.now();
    if (wait <= 0) return this.refresh();
    this.stats.refreshesCoalesced++;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null;
      this.refresh();
    }, wait);
    this.refreshTimer.unref();
  }

  private refresh(): void {
    this.lastRefresh = performance.now();
    this.stats.refreshes++;
    this.refreshHook?.();
  }
}
