// The MJPEG video streams of one display channel. Damage is routed here first: what falls in a
// running stream marks it dirty and leaves the DRAW_COPY path (so no draw ever lands under a
// stream, and no STREAM_CLIP is needed); areas the detector finds video-like become new streams
// (STREAM_CREATE, then STREAM_ACTIVATE_REPORT for clients with the report cap). A dirty stream
// sends its whole rect as one JPEG (STREAM_DATA) when its frame interval allows and flow control
// lets it; a frame held back is not queued, the next one carries the newest pixels. A stream
// left still for STREAM_IDLE_MS is destroyed and its rect handed back for a lossless DRAW_COPY,
// so the client ends pixel-exact. Client reports steer quality, frame rate and the time margin
// (stream-rate.ts). spice-gtk shows a frame when its session clock reaches the frame's stamp and
// drops it if late (channel-display-mjpeg.c), hence stamps ahead of the session clock.

import { intersectRect, isEmptyRect, type Rect, subtractAll } from '../../shared/region';
import type { Logger } from '../../shared/log';
import { SpiceMsgDisplay, SpiceVideoCodecType } from '../../shared/spice/constants';
import {
  buildStreamActivateReport,
  buildStreamCreate,
  buildStreamData,
  buildStreamDestroy,
  STREAM_REPORT_INVALID_DROPS,
  type StreamReport,
} from '../../shared/spice/stream-messages';
import type { Surface } from '../display/display';
import { realClock, type SchedulerClock } from '../updates/update-scheduler';
import { encodeSurfaceJpeg } from './jpeg';
import { StreamDetector, type StreamDetectorOptions } from './stream-detector';
import { StreamRate } from './stream-rate';

/** Streams one client may hold at once (ids 0..n-1: spice-gtk keeps them in an array by id). */
export const SPICE_MAX_STREAMS = 8;
/** A stream with no damage for this long is destroyed and its rect re-sent losslessly. */
export const STREAM_IDLE_MS = 400;
/** STREAM_ACTIVATE_REPORT: a report every this many frames or this many ms (spice-server: 5 / 1000). */
export const STREAM_REPORT_WINDOW = 5;
export const STREAM_REPORT_TIMEOUT_MS = 1000;
/** Frames held back by flow control before the stream steps its quality down once. */
export const STREAM_HELD_BACK_PER_STEP = 5;

export interface VideoStreamsOptions {
  send(type: number, body: Uint8Array): void;
  /** The session's multimedia clock (ms), the one MAIN_INIT and MULTI_MEDIA_TIME tell the client. */
  mmTime(): number;
  /** The client has SPICE_DISPLAY_CAP_STREAM_REPORT. */
  reports: boolean;
  /** Called when a held-back frame may go or a stream may have gone still. */
  wake(): void;
  log: Logger;
  clock?: SchedulerClock;
  idleMs?: number;
  detector?: StreamDetectorOptions;
}

export interface VideoStreamStats {
  created: number;
  destroyed: number;
  frames: number;
  frameBytes: number;
  encodeMs: number;
  reports: number;
  /** Frames not sent because the client was behind. */
  heldBack: number;
}

interface Stream {
  id: number;
  uniqueId: number;
  rect: Rect;
  rate: StreamRate;
  dirty: boolean;
  lastFrameAt: number;
  lastDamageAt: number;
  lastStamp: number;
  heldBack: number;
  /** Flow control held its frame back: resume() brings the next flush, not a timer. */
  blocked: boolean;
}

export class VideoStreams {
  private readonly streams: Stream[] = [];
  private readonly detector: StreamDetector;
  private readonly clock: SchedulerClock;
  private readonly idleMs: number;
  private nextUniqueId = 1;
  private timer: unknown = null;
  private timerAt = Infinity;
  /** False once the client said it cannot decode our streams. */
  private enabled = true;
  readonly stats: VideoStreamStats = { created: 0, destroyed: 0, frames: 0, frameBytes: 0, encodeMs: 0, reports: 0, heldBack: 0 };

  constructor(private readonly opts: VideoStreamsOptions) {
    this.detector = new StreamDetector(opts.detector);
    this.clock = opts.clock ?? realClock;
    this.idleMs = opts.idleMs ?? STREAM_IDLE_MS;
  }

  /** The rects of the running streams. */
  get rects(): Rect[] {
    return this.streams.map((s) => s.rect);
  }

  /** Something to do at the next flush (a frame to send or a stream to expire). */
  get busy(): boolean {
    return this.streams.length > 0;
  }

  /** Does `r` touch a running stream? (COPY_BITS must not: frames land there asynchronously.) */
  overlaps(r: Rect): boolean {
    return this.streams.some((s) => !isEmptyRect(intersectRect(s.rect, r)));
  }

  /** A new surface: the caller destroyed the streams already (destroyAll); cells start cold. */
  resize(width: number, height: number): void {
    this.detector.reset(width, height);
  }

  /**
   * Damage as the guest reports it (each report one frame, timed as it comes, not as fast as
   * we manage to send): areas that turn out video-like become streams.
   */
  observe(rects: readonly Rect[]): void {
    if (!this.enabled || this.streams.length >= SPICE_MAX_STREAMS) return;
    const now = this.clock.now();
    for (const area of this.detector.observe(rects, now, this.rects)) {
      if (this.streams.length >= SPICE_MAX_STREAMS) break;
      this.create(area, now);
    }
  }

  /** Pending damage about to be drawn: the parts inside streams mark them dirty; returns the rest, for DRAW_COPY. */
  route(rects: readonly Rect[]): Rect[] {
    const now = this.clock.now();
    for (const s of this.streams) {
      if (rects.some((r) => !isEmptyRect(intersectRect(r, s.rect)))) {
        s.dirty = true;
        s.lastDamageAt = now;
      }
    }
    return this.streams.length > 0 ? subtractAll(rects, this.rects) : [...rects];
  }

  /** Send a frame for each dirty stream whose interval has passed, while `maySend()` holds. */
  sendFrames(surface: Surface, maySend: () => boolean): void {
    const now = this.clock.now();
    for (const s of this.streams) {
      if (!s.dirty || now - s.lastFrameAt < s.rate.intervalMs) continue;
      if (!maySend()) {
        s.blocked = true;
        this.stats.heldBack++;
        if (++s.heldBack % STREAM_HELD_BACK_PER_STEP === 0) s.rate.serverDrop();
        continue;
      }
      const t0 = performance.now();
      const jpeg = encodeSurfaceJpeg(surface, s.rect, s.rate.quality, true);
      this.stats.encodeMs += performance.now() - t0;
      // Stamps never go backwards (spice-gtk resets a stream whose frame times do).
      const stamp = Math.max(s.lastStamp + 1, Math.floor(this.opts.mmTime() + s.rate.marginMs));
      s.lastStamp = stamp;
      this.opts.send(SpiceMsgDisplay.STREAM_DATA, buildStreamData(s.id, stamp, jpeg));
      s.dirty = false;
      s.blocked = false;
      s.lastFrameAt = now;
      this.stats.frames++;
      this.stats.frameBytes += jpeg.length;
    }
    this.arm(now);
  }

  /** Destroy the streams that went still; returns their rects, to be sent losslessly now. */
  expire(): Rect[] {
    const now = this.clock.now();
    const still = this.streams.filter((s) => !s.dirty && now - s.lastDamageAt >= this.idleMs);
    for (const s of still) this.destroy(s);
    this.arm(now);
    return still.map((s) => s.rect);
  }

  /** Destroy every stream (a new surface is coming). */
  destroyAll(): void {
    for (const s of [...this.streams]) this.destroy(s);
  }

  /** A client STREAM_REPORT. Returns rects to re-send losslessly (a stream the client cannot show). */
  report(r: StreamReport): Rect[] {
    const s = this.streams.find((x) => x.id === r.streamId);
    if (r.numFrames === 0 && r.numDrops === STREAM_REPORT_INVALID_DROPS) {
      // The client has no such stream or cannot decode it: no more streams for it.
      this.opts.log.warn({ stream: r.streamId }, 'SPICE client cannot show our video stream; sending plain draws instead');
      this.enabled = false;
      const rects = this.rects;
      this.destroyAll();
      return rects;
    }
    if (!s || r.uniqueId !== s.uniqueId) return []; // a report about an older stream with this id
    this.stats.reports++;
    s.rate.report(r.numFrames, r.numDrops, r.lastFrameDelay);
    this.opts.log.debug(
      { stream: s.id, ...r, quality: s.rate.quality, intervalMs: s.rate.intervalMs, marginMs: s.rate.marginMs },
      'stream report',
    );
    return [];
  }

  /** Quality, interval and margin of each running stream (stats, tests). */
  describe(): { id: number; rect: Rect; quality: number; intervalMs: number; marginMs: number }[] {
    return this.streams.map((s) => ({
      id: s.id,
      rect: s.rect,
      quality: s.rate.quality,
      intervalMs: s.rate.intervalMs,
      marginMs: s.rate.marginMs,
    }));
  }

  dispose(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
  }

  private create(rect: Rect, now: number): void {
    let id = 0;
    while (this.streams.some((s) => s.id === id)) id++;
    const s: Stream = {
      id,
      uniqueId: this.nextUniqueId++,
      rect,
      rate: new StreamRate(),
      dirty: true,
      lastFrameAt: -Infinity,
      lastDamageAt: now,
      lastStamp: 0,
      heldBack: 0,
      blocked: false,
    };
    this.streams.push(s);
    this.opts.send(SpiceMsgDisplay.STREAM_CREATE, buildStreamCreate({ id, codecType: SpiceVideoCodecType.MJPEG, dest: rect }));
    if (this.opts.reports) {
      this.opts.send(
        SpiceMsgDisplay.STREAM_ACTIVATE_REPORT,
        buildStreamActivateReport(id, s.uniqueId, STREAM_REPORT_WINDOW, STREAM_REPORT_TIMEOUT_MS),
      );
    }
    this.stats.created++;
    this.opts.log.debug({ stream: id, rect }, 'video stream created');
  }

  private destroy(s: Stream): void {
    this.streams.splice(this.streams.indexOf(s), 1);
    this.opts.send(SpiceMsgDisplay.STREAM_DESTROY, buildStreamDestroy(s.id));
    this.stats.destroyed++;
    this.opts.log.debug({ stream: s.id, rect: s.rect }, 'video stream destroyed');
  }

  /** Wake the channel for the next frame due or the next stream to go still. */
  private arm(now: number): void {
    let next = Infinity;
    for (const s of this.streams) {
      if (s.blocked) continue;
      next = Math.min(next, s.dirty ? s.lastFrameAt + s.rate.intervalMs : s.lastDamageAt + this.idleMs);
    }
    if (next === Infinity || next >= this.timerAt) return;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timerAt = next;
    this.timer = this.clock.setTimeout(
      () => {
        this.timer = null;
        this.timerAt = Infinity;
        this.opts.wake();
      },
      Math.max(1, next - now),
    );
  }
}
