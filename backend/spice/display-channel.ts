// The display channel engine (spice.proto "channel DisplayChannel"): one primary surface that
// follows the guest's framebuffer (SURFACE_DESTROY/CREATE on mode changes), MARK after the
// first picture (spice-gtk's widget shows nothing before it: spice-widget.c), and one
// DRAW_COPY per damaged rectangle, cut into bands of at most SPICE_MAX_DRAW_PIXELS, each as
// LZ_RGB (or the forced codec), JPEG when photo-like (re-sent losslessly once still), or
// FROM_CACHE when the client holds the same image; areas that change like video go as MJPEG
// streams instead (video-streams.ts), re-sent losslessly when they stop. Updates
// are paced by the frame clock, the transport's backpressure and the SET_ACK window, so a
// client that never reads holds at most 2 * window messages of output.

import { clipRect, intersectRect, isEmptyRect, type Rect, subtractAll } from '../../shared/region';
import { hasCap, SPICE_IMAGE_FLAGS_CACHE_ME, SpiceDisplayCap, SpiceImageType, SpiceMsgDisplay } from '../../shared/spice/constants';
import {
  buildCopyBits,
  buildDrawCopy,
  buildInvalList,
  buildMonitorsConfig,
  buildSurfaceCreate,
  buildSurfaceDestroy,
  parseDisplayClientMessage,
} from '../../shared/spice/display-messages';
import type { CopyHint, Display, Surface } from '../display/display';
import { PIXEL_FORMAT_XRGB8888 } from '../display/pixel-format';
import { convertRect } from '../display/pixel-convert';
import { PendingRegion } from '../updates/pending-region';
import { analyseRect, PHOTO_MIN_AREA } from '../updates/classify';
import { type SchedulerClock, UpdateScheduler } from '../updates/update-scheduler';
import { type ChannelIo, SpiceChannel } from './channel';
import { imageKey, PixmapCache } from './image-cache';
import { chooseImageCodec, encodeImage, type ImageCodecName, isLossy } from './image-codecs';
import { VideoStreams } from './video-streams';
import type { StreamDetectorOptions } from './stream-detector';

const EMPTY = new Uint8Array(0);

/** How lossy (JPEG) areas are re-sent once still: LZ_RGB, which every client decodes. */
const LOSSLESS_FALLBACK: ImageCodecName = 'lz_rgb';

/** Largest DRAW_COPY, in pixels (1 MiB as BITMAP): bigger rects go as bands of rows. */
export const SPICE_MAX_DRAW_PIXELS = 256 * 1024;
/** At most this many updates a second to one client (like VNC's frame clock). */
export const SPICE_FRAME_INTERVAL_MS = 16;

export interface DisplayChannelOptions {
  display: Display;
  /** Force one image codec (tests, benchmarks); default: the best the client decodes. */
  codec?: ImageCodecName;
  frameIntervalMs?: number;
  /** Photo-like rects go as JPEG (smaller on the wire; jpeg-js costs far more CPU than LZ_RGB: npm run bench:spice). */
  jpegPhotos?: boolean;
  /** Still time before a JPEG area is re-sent losslessly (default LOSSLESS_REFRESH_MS). */
  losslessRefreshMs?: number;
  clock?: SchedulerClock;
  /** MJPEG streams for areas that change like video (default true; only for clients that decode MJPEG). */
  streams?: boolean;
  /** The session's multimedia clock (stream frame stamps); default: ms since the channel began. */
  mmTime?: () => number;
  /** Still time before a stream is destroyed (tests). */
  streamIdleMs?: number;
  streamDetector?: StreamDetectorOptions;
}

/** Does a client with these display caps decode MJPEG streams? (MJPEG is assumed without MULTI_CODEC, like spice-server.) */
export function clientTakesMjpeg(caps: readonly number[]): boolean {
  return !hasCap(caps, SpiceDisplayCap.MULTI_CODEC) || hasCap(caps, SpiceDisplayCap.CODEC_MJPEG);
}

export interface DisplayChannelStats {
  draws: number;
  pixels: number;
  imageBytes: number;
  /** Draws sent lossy (JPEG), each later re-sent losslessly once still. */
  lossyDraws: number;
  codec: ImageCodecName;
}

export class DisplayChannel extends SpiceChannel {
  private readonly pending = new PendingRegion();
  private readonly scheduler: UpdateScheduler;
  private size: { width: number; height: number } | null = null;
  private marked = false;
  private flushQueued = false;
  private nextImageId = 1n;
  private codec: ImageCodecName;
  /** Our record of the client's pixmap cache, once DISPLAY_INIT gave its size. */
  cache: PixmapCache | null = null;
  readonly drawStats: DisplayChannelStats;
  private readonly onDamage = (rects: Rect[]) => this.damage(rects);
  private readonly onResize = (surface: Surface | null) => this.resize(surface);
  private readonly onCopy = (hint: CopyHint) => this.copy(hint);
  /** COPY_BITS sent for the shadow's copy hints. */
  copies = 0;
  /** Video streams, for a client that decodes MJPEG (null when off). */
  readonly streams: VideoStreams | null;

  constructor(
    io: ChannelIo,
    private readonly opts: DisplayChannelOptions,
  ) {
    super(io);
    this.codec = chooseImageCodec(io.channelCaps, opts.codec);
    this.drawStats = { draws: 0, pixels: 0, imageBytes: 0, lossyDraws: 0, codec: this.codec };
    this.scheduler = new UpdateScheduler({
      frameIntervalMs: opts.frameIntervalMs ?? SPICE_FRAME_INTERVAL_MS,
      ...(opts.losslessRefreshMs !== undefined ? { losslessRefreshMs: opts.losslessRefreshMs } : {}),
      ...(opts.clock ? { clock: opts.clock } : {}),
      wake: () => this.flush(),
    });
    const t0 = performance.now();
    this.streams =
      opts.streams !== false && clientTakesMjpeg(io.channelCaps)
        ? new VideoStreams({
            send: (type, body) => this.send(type, body),
            mmTime: opts.mmTime ?? (() => Math.floor(performance.now() - t0) + 1),
            reports: hasCap(io.channelCaps, SpiceDisplayCap.STREAM_REPORT),
            wake: () => this.flush(),
            log: this.log,
            ...(opts.clock ? { clock: opts.clock } : {}),
            ...(opts.streamIdleMs !== undefined ? { idleMs: opts.streamIdleMs } : {}),
            ...(opts.streamDetector ? { detector: opts.streamDetector } : {}),
          })
        : null;
  }

  start(): void {
    this.startAcks();
    this.opts.display.on('damage', this.onDamage);
    this.opts.display.on('resize', this.onResize);
    this.opts.display.on('copy', this.onCopy);
    this.resize(this.opts.display.surface());
    this.opts.display.requestRefresh?.();
  }

  protected onMessage(type: number, body: Uint8Array): void {
    const m = parseDisplayClientMessage(type, body);
    if (m.kind === 'init') {
      // The client's pixmap cache (pixels): from here on repeated images go as FROM_CACHE.
      this.log.debug({ pixmapCache: m.pixmapCacheSize, glzWindow: m.glzWindowSize }, 'display init');
      if (!this.cache && m.pixmapCacheSize > 0) this.cache = new PixmapCache(m.pixmapCacheSize);
    } else if (m.kind === 'preferredCompression') this.log.debug({ compression: m.compression }, 'client prefers a compression');
    else if (m.kind === 'streamReport' && this.streams) {
      for (const r of this.streams.report(m)) this.pending.add(r);
      this.queueFlush();
    }
  }

  override resume(): void {
    this.flush();
  }

  private damage(rects: readonly Rect[]): void {
    if (!this.size) return;
    for (const r of rects) this.pending.add(clipRect(r, this.size.width, this.size.height));
    this.scheduler.damaged(rects);
    if (this.marked) this.streams?.observe(rects);
    this.queueFlush();
  }

  /**
   * The guest moved pixels (display 'copy': the damage that follows leaves dst out). COPY_BITS
   * when the client holds src as it is now, i.e. no pending update touches src; otherwise dst
   * joins the pending region and goes as pixels. Pending rects inside dst are drawn later with
   * the current pixels, so they stay right either way.
   */
  private copy(hint: CopyHint): void {
    if (!this.size) return;
    const dst = clipRect(hint.dst, this.size.width, this.size.height);
    const src = clipRect(hint.src, this.size.width, this.size.height);
    const exact = dst.width === src.width && dst.height === src.height && !isEmptyRect(dst);
    const srcPending = this.pending.rects.some((p) => !isEmptyRect(intersectRect(p, src)));
    // Stream frames land at the client later (at their stamp): never copy from or onto a stream.
    const streamed = !!this.streams && (this.streams.overlaps(src) || this.streams.overlaps(dst));
    if (exact && this.marked && !srcPending && !streamed && this.maySend) {
      this.send(SpiceMsgDisplay.COPY_BITS, buildCopyBits(dst, src.x, src.y));
      this.copies++;
      return;
    }
    this.pending.add(dst);
    this.queueFlush();
  }

  /** A new guest mode: the old surface goes, the new one comes with a full picture. */
  private resize(surface: Surface | null): void {
    this.streams?.destroyAll();
    if (this.size) this.send(SpiceMsgDisplay.SURFACE_DESTROY, buildSurfaceDestroy(0));
    this.size = null;
    this.marked = false;
    this.pending.clear();
    this.scheduler.reset();
    if (!surface) return;
    this.size = { width: surface.width, height: surface.height };
    this.streams?.resize(surface.width, surface.height);
    this.send(SpiceMsgDisplay.SURFACE_CREATE, buildSurfaceCreate(0, surface.width, surface.height));
    if (hasCap(this.io.channelCaps, SpiceDisplayCap.MONITORS_CONFIG)) {
      this.send(SpiceMsgDisplay.MONITORS_CONFIG, buildMonitorsConfig(surface.width, surface.height));
    }
    this.pending.add({ x: 0, y: 0, width: surface.width, height: surface.height });
    this.queueFlush();
  }

  private queueFlush(): void {
    if (this.flushQueued || this.closed) return;
    this.flushQueued = true;
    setImmediate(() => {
      this.flushQueued = false;
      this.flush();
    });
  }

  /** Send what is pending, as far as pacing and flow control allow; the rest stays pending. */
  private flush(): void {
    const surface = this.opts.display.surface();
    if (!surface || !this.size || (this.pending.isEmpty && !this.scheduler.refreshPending && !this.streams?.busy)) return;
    if (surface.width !== this.size.width || surface.height !== this.size.height) return; // a resize event is on its way
    if (!this.maySend || !this.scheduler.mayUpdate()) return;
    let rects = [...this.pending.rects];
    this.pending.clear();
    const lossless: Rect[] = [];
    let expired: Rect[] = [];
    if (this.streams && this.marked) {
      // Streams take what falls in them; streams gone still come back as lossless draws.
      rects = this.streams.route(rects);
      expired = this.streams.expire();
      lossless.push(...expired);
    }
    // Lossy areas that stayed still go again, losslessly (what is damaged anew goes anyway).
    const whole = { x: 0, y: 0, width: this.size.width, height: this.size.height };
    const refresh = this.scheduler.takeRefresh(whole, rects);
    lossless.push(...(this.streams ? subtractAll(refresh, this.streams.rects) : refresh));
    if (this.drawRects(surface, lossless, LOSSLESS_FALLBACK)) this.drawRects(surface, rects);
    else for (const r of rects) this.pending.add(r);
    // spice-html5 may still be decoding the stream's last JPEG (an <img> onload) and paint it
    // over our draw: count the area lossy, so it is drawn once more when still (from the cache).
    for (const r of expired) this.scheduler.rectSent(r, true);
    if (!this.marked) {
      this.marked = true;
      this.send(SpiceMsgDisplay.MARK, new Uint8Array(0));
    }
    this.streams?.sendFrames(surface, () => this.maySend);
    this.scheduler.updateSent();
  }

  /**
   * Draw rects as DRAW_COPYs in bands of at most SPICE_MAX_DRAW_PIXELS (the first picture of a
   * surface goes whole, like spice-server's dcc_push_surface_image: spicy-screenshot saves the
   * surface at the first draw it sees), with `codec` or the one codecFor() picks. Returns false
   * when flow control stopped it; what was not sent is pending again.
   */
  private drawRects(surface: Surface, rects: readonly Rect[], codec?: ImageCodecName): boolean {
    const maxPixels = this.marked ? SPICE_MAX_DRAW_PIXELS : Infinity;
    for (let i = 0; i < rects.length; i++) {
      const r = rects[i]!;
      const bandRows = Math.max(1, Math.floor(maxPixels / r.width));
      let y = r.y;
      for (; y < r.y + r.height && this.maySend; y += bandRows) {
        const band = { x: r.x, y, width: r.width, height: Math.min(bandRows, r.y + r.height - y) };
        this.draw(surface, band, codec ?? this.codecFor(surface, band));
      }
      if (y < r.y + r.height) {
        this.pending.add({ x: r.x, y, width: r.width, height: r.y + r.height - y });
        for (const rest of rects.slice(i + 1)) this.pending.add(rest);
        return false;
      }
    }
    return true;
  }

  /**
   * The codec for one rect: the forced one, else (with jpegPhotos) JPEG for photo-like content (classify.ts) once
   * the first picture is there (like spice-server, which never sends a surface's first picture
   * lossy: dcc_push_surface_image), else the client's lossless codec. JPEG areas are re-sent
   * losslessly once still.
   */
  private codecFor(surface: Surface, r: Rect): ImageCodecName {
    if (this.opts.codec || !this.opts.jpegPhotos || !this.marked || r.width * r.height < PHOTO_MIN_AREA) return this.codec;
    return analyseRect(surface, r).kind === 'photo' ? 'jpeg' : this.codec;
  }

  private draw(surface: Surface, r: Rect, codec: ImageCodecName): void {
    if (isEmptyRect(r)) return;
    const pixels = new Uint8Array(r.width * r.height * 4);
    convertRect(surface, r, PIXEL_FORMAT_XRGB8888, pixels, 0);
    let flags = 0;
    let key: string | null = null;
    if (this.cache && this.marked && !isLossy(codec) && this.cache.fits(r.width * r.height)) {
      key = imageKey(r.width, r.height, pixels);
      const cached = this.cache.lookup(key);
      if (cached !== undefined) {
        this.scheduler.rectSent(r, false);
        this.send(SpiceMsgDisplay.DRAW_COPY, buildDrawCopy(r, { id: cached, type: SpiceImageType.FROM_CACHE, head: EMPTY, data: EMPTY }));
        this.drawStats.draws++;
        this.drawStats.pixels += r.width * r.height;
        return;
      }
    }
    const image = encodeImage(codec, r.width, r.height, pixels);
    this.scheduler.rectSent(r, isLossy(codec));
    const id = this.nextImageId++;
    if (this.cache && key !== null) {
      const evicted = this.cache.insert(key, id, r.width * r.height);
      if (evicted.length > 0) this.send(SpiceMsgDisplay.INVAL_LIST, buildInvalList(evicted));
      flags = SPICE_IMAGE_FLAGS_CACHE_ME;
    }
    this.send(SpiceMsgDisplay.DRAW_COPY, buildDrawCopy(r, { id, flags, ...image }));
    this.drawStats.draws++;
    this.drawStats.pixels += r.width * r.height;
    this.drawStats.imageBytes += image.head.length + image.data.length;
    if (isLossy(codec)) this.drawStats.lossyDraws++;
  }

  protected override dispose(): void {
    this.opts.display.off('damage', this.onDamage);
    this.opts.display.off('resize', this.onResize);
    this.opts.display.off('copy', this.onCopy);
    this.scheduler.dispose();
    this.streams?.dispose();
  }
}
