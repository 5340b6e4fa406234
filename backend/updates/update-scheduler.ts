// The frame clock of one client, whatever its protocol: when it may get its next update, and
// which lossy areas are due for a lossless refresh. Pacing like TigerVNC's frame clock
// (common/rfb/VNCServerST.cxx, FrameRate = 60): one client gets at most one update per
// frameIntervalMs over time; damage arriving before its frame's slot is merged into the
// session's pending region, and a wake-up is armed for when the frame may go. The slots are a
// grid (GCRA's theoretical arrival time), not "last send + interval": a frame up to
// FRAME_TOLERANCE_MS ahead of its slot goes at once, so a guest drawing at the clock's own
// rate is never held for the jitter of its timer or of ours. A client's explicit request for the whole
// picture (RFB's non-incremental FramebufferUpdateRequest) is answered at once, as TigerVNC
// and LibVNCServer answer it, up to EXPLICIT_UPDATE_RATE a second; beyond that (a client
// flooding requests) it waits for the frame clock like damage does. Output is further throttled by the
// transport's backlog, checked by the session. Lossy areas (lossless-refresh.ts) still for losslessRefreshMs move to a
// refresh region the session sends losslessly with its next update.
// The timers are the only clock the session has; tests inject a fake one.

import { type Rect, subtractAll } from '../../shared/region';
import { TokenBucket } from '../../shared/token-bucket';
import { PendingRegion } from './pending-region';
import { LOSSLESS_REFRESH_MS, LossyRegion } from './lossless-refresh';

/** At most 60 updates a second to one client (TigerVNC FrameRate default). */
export const FRAME_INTERVAL_MS = 16;
/**
 * How far ahead of its slot a frame may go. With "last send + interval", a frame drawn at
 * the clock's own rate that arrived a little early was held, the send went later, and the
 * next frame was early by more: holds grew to a whole interval before a frame was dropped
 * (bench:latency scroll p50 11.7 ms with every frame scanned at once, docs/benchmarks.md).
 * A frame that came late moves the grid with it, so the tolerance must hold the jitter
 * between two frames (late, then early), not just one. Bursts stay bounded: two frames are
 * never closer than interval - tolerance, and over time one goes per interval.
 */
export const FRAME_TOLERANCE_MS = 8;
/**
 * Explicit requests a second answered ahead of the frame clock, and how many back to back.
 * 240 capped 1080p Raw at 246 updates/s where Xvnc gave 300-460 (bench:peers); a full-screen
 * frame costs 2-3 ms even in Raw, so the encoder, not this budget, bounds a reading client's
 * CPU, and the budget still stops a flood of tiny requests from skipping the frame clock.
 */
export const EXPLICIT_UPDATE_RATE = 500;
export const EXPLICIT_UPDATE_BURST = 8;
/** A lossy area sent lossy again within this window is "busy" (video): lower JPEG quality. */
export const BUSY_WINDOW_MS = 100;

/**
 * A wait as a timer's delay: whole milliseconds, rounded up. Node runs a timer after the
 * whole milliseconds of its delay (13.5 fires after 13), so a frame timer rounded down woke
 * before the frame could go, found mayUpdate() false and armed a second timer.
 */
export function timerMs(wait: number): number {
  return Math.max(0, Math.ceil(wait));
}

export interface SchedulerClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: SchedulerClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface UpdateSchedulerOptions {
  /** Ms per update to this client over time; 0 = unpaced. */
  frameIntervalMs?: number;
  /** How far ahead of its slot a frame may go (default FRAME_TOLERANCE_MS, at most half the interval). */
  frameToleranceMs?: number;
  /** Still time before a lossy area is re-sent losslessly. */
  losslessRefreshMs?: number;
  clock?: SchedulerClock;
  /** Called when a held-back frame may go or a lossless refresh became due. */
  wake(): void;
}

export class UpdateScheduler {
  readonly lossy = new LossyRegion();
  /** Lossy areas that are due: sent losslessly with the next update. */
  private readonly refresh = new PendingRegion();
  private readonly clock: SchedulerClock;
  private readonly frameMs: number;
  private readonly toleranceMs: number;
  private readonly stillMs: number;
  /** The next frame's slot (GCRA's theoretical arrival time). */
  private nextSlot = -Infinity;
  private readonly explicit: TokenBucket;
  private frameTimer: unknown = null;
  private refreshTimer: unknown = null;
  private refreshAt = Infinity;
  private disposed = false;
  /** Rects sent losslessly because they had been lossy. */
  refreshedRects = 0;

  constructor(private readonly opts: UpdateSchedulerOptions) {
    this.clock = opts.clock ?? realClock;
    this.frameMs = opts.frameIntervalMs ?? FRAME_INTERVAL_MS;
    this.toleranceMs = Math.min(opts.frameToleranceMs ?? FRAME_TOLERANCE_MS, this.frameMs / 2);
    this.stillMs = opts.losslessRefreshMs ?? LOSSLESS_REFRESH_MS;
    this.explicit = new TokenBucket(EXPLICIT_UPDATE_RATE, EXPLICIT_UPDATE_BURST, this.clock.now());
  }

  now(): number {
    return this.clock.now();
  }

  /**
   * May an update go now? If not, wake() is called once it may. `explicit`: the client asked
   * for this picture itself (not damage): it goes at once while the explicit budget lasts.
   */
  mayUpdate(explicit = false): boolean {
    if (this.frameMs <= 0) return true;
    const now = this.clock.now();
    const wait = this.nextSlot - this.toleranceMs - now;
    if (wait <= 0) return true;
    if (explicit && this.explicit.take(now)) return true;
    if (this.frameTimer === null && !this.disposed) {
      this.frameTimer = this.clock.setTimeout(() => {
        this.frameTimer = null;
        this.opts.wake();
      }, timerMs(wait));
    }
    return false;
  }

  /** Damage arrived: lossy areas it touches start their still time again. */
  damaged(rects: readonly Rect[]): void {
    if (this.lossy.isEmpty) return;
    const now = this.clock.now();
    for (const r of rects) this.lossy.touch(r, now);
  }

  /** Is some of `r` lossy at the client and changing fast (damaged within BUSY_WINDOW_MS)? */
  busy(r: Rect): boolean {
    return this.lossy.recentlyLossy(r, this.clock.now(), BUSY_WINDOW_MS);
  }

  /** Due lossless refresh inside `area`, minus what `damaged` will send anyway. */
  takeRefresh(area: Rect, damaged: readonly Rect[]): Rect[] {
    if (this.refresh.isEmpty) return [];
    return subtractAll(this.refresh.takeInside(area), damaged);
  }

  get refreshPending(): boolean {
    return !this.refresh.isEmpty;
  }

  /** One rect went out: lossy or not. */
  rectSent(r: Rect, lossy: boolean): void {
    if (lossy) this.lossy.addLossy(r, this.clock.now());
    else this.lossy.sentLossless(r);
  }

  /**
   * An update went out: the next slot is one interval after this one's (or after now, when
   * the update came later than its slot), and the refresh timer follows the lossy areas.
   * An explicit update sent ahead of the clock moves the slot no further than a damage frame
   * could (now + interval + tolerance), so a burst of them holds damage at most one interval.
   */
  updateSent(): void {
    const now = this.clock.now();
    this.nextSlot = Math.min(Math.max(this.nextSlot, now), now + this.toleranceMs) + this.frameMs;
    this.armRefresh();
  }

  /** The client's picture is gone (resize, reset): nothing is lossy or due any more. */
  reset(): void {
    this.lossy.clear();
    this.refresh.clear();
  }

  dispose(): void {
    this.disposed = true;
    if (this.frameTimer !== null) this.clock.clearTimeout(this.frameTimer);
    if (this.refreshTimer !== null) this.clock.clearTimeout(this.refreshTimer);
    this.frameTimer = this.refreshTimer = null;
  }

  private armRefresh(): void {
    const due = this.lossy.nextDue(this.stillMs);
    if (due === null || this.disposed) return;
    if (this.refreshTimer !== null) {
      if (due >= this.refreshAt) return;
      this.clock.clearTimeout(this.refreshTimer);
    }
    this.refreshAt = due;
    this.refreshTimer = this.clock.setTimeout(() => this.refreshDue(), timerMs(due - this.clock.now()));
  }

  private refreshDue(): void {
    this.refreshTimer = null;
    this.refreshAt = Infinity;
    const still = this.lossy.takeStill(this.clock.now(), this.stillMs);
    for (const r of still) this.refresh.add(r);
    // Areas touched since the timer was armed are not still yet: wait for them again.
    this.armRefresh();
    if (still.length > 0) this.opts.wake();
  }
}
