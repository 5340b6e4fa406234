// A Display fed by a guest's vfb device: the device sets the surface when it maps the
// framebuffer (null when the guest goes away) and reports damage from UPDATE events or tile
// scans. Listeners never see guest memory: the surface they get is a shadow copy
// (shadow.ts) that changes only inside the damage they are told about.
//
// The shadow exists only while someone looks: it is made (a copy of guest memory) the first
// time a listener or a reader asks for the surface, and dropped when the last listener goes or
// at a damage report that no one listens to. An idle backend (no client, no recorder) then holds neither the copy nor
// the guest's pages (8 MB each at 1920x1080); a client that comes gets the copy made when
// it asks, which is the whole of the guest screen at that moment.

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
  /** Called when the last listener has gone (backend/idle-memory.ts gives the heap back). */
  onUnwatched?: () => void;
}

export class GuestDisplay extends EventEmitter<DisplayEvents> implements Display {
  private refreshHook: (() => void) | undefined;
  /** The guest framebuffer (guest memory), or null. */
  private guest: Surface | null = null;
  /** Its shadow copy, made on demand (see the top of this file). */
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
  private readonly onUnwatched: (() => void) | undefined;
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
    this.onUnwatched = opts.onUnwatched;
    // The last viewer gone: its shadow (a framebuffer's worth) goes now, not at the next damage.
    EventEmitter.prototype.on.call(this, 'removeListener', () => {
      if (this.watched) return;
      this.shadow = null;
      this.onUnwatched?.();
    });
  }

  /** The shadow of the guest surface (never guest memory), or null. */
  surface(): Surface | null {
    return this.shadowNow()?.surface ?? null;
  }

  /**
   * The guest surface's size and format without its pixels (`data` left out): what a status
   * report needs, without making a shadow copy.
   */
  geometry(): Omit<Surface, 'data'> | null {
    const g = this.guest;
    return g ? { width: g.width, height: g.height, stride: g.stride, format: g.format } : null;
  }

  /** True while a shadow copy is held (tests, memory accounting). */
  get hasShadow(): boolean {
    return this.shadow !== null;
  }

  private shadowNow(): ShadowFramebuffer | null {
    if (!this.shadow && this.guest) this.shadow = new ShadowFramebuffer(this.guest);
    return this.shadow;
  }

  /** Someone listens for the display's changes (a viewer, a recorder). */
  get watched(): boolean {
    return this.listenerCount('damage') + this.listenerCount('copy') + this.listenerCount('resize') > 0;
  }

  cursor(): CursorState {
    return { ...this.pointer };
  }

  /** A new guest surface (guest memory): the shadow starts over as a copy of it. */
  setSurface(guest: Surface | null): void {
    this.guest = guest;
    this.shadow = null;
    this.stats.resizes++;
    // Listeners get the new shadow at once; with none, it is made when first asked for.
    if (this.watched) this.emit('resize', this.surface());
  }

  /** The source knows the cursor (shape null: the server's default arrow). */
  setCursor(cursor: Partial<CursorState>): void {
    this.pointer = { ...this.pointer, ...cursor };
    this.emit('cursor', this.cursor());
  }

  /** Rects in guest coordinates; clipped here so servers never see out-of-range damage. */
  damage(rects: readonly Rect[]): void {
    const guest = this.guest;
    if (!guest) return;
    const clipped = rects.map((r) => clipRect(r, guest.width, guest.height)).filter((r) => !isEmptyRect(r));
    if (clipped.length === 0) return;
    if (!this.watched) {
      // No one to tell: the shadow would only be kept up to date for nobody.
      this.shadow = null;
      this.stats.damageEvents++;
      this.stats.damageRects += clipped.length;
      return;
    }
    // A listener that never asked for the surface gets a shadow made now: the guest's
    // present pixels, which it has not seen, so the damage is reported as given.
    const fresh = !this.shadow;
    const shadow = this.shadowNow()!;
    if (fresh) return this.reportAsGiven(clipped);
    if (this.refineDamage) return this.refined(shadow, clipped);
    shadow.copyIn(clipped);
    this.reportAsGiven(clipped);
  }

  private reportAsGiven(rects: Rect[]): void {
    this.stats.damageEvents++;
    this.stats.damageRects += rects.length;
    this.emit('damage', rects);
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
