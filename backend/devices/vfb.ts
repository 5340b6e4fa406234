// The vfb backend device (xen/include/public/io/fbif.h), compatible with Linux xen-fbfront:
// the shared page and the framebuffer are named by frame numbers and foreign-mapped (privcmd),
// as QEMU's hw/display/xenfb.c does, or, with `grant-fb=1` (docs/dirty-tiles.md §2 key table), by grant refs
// mapped with gntdev. UPDATE events become Display damage; RESIZE events a new surface; a
// dirty-tile page (docs/dirty-tiles.md) is scanned into the same damage. Every value the
// guest writes is validated like QEMU's xenfb_configure_fb.

import type { BackendDeviceOps, DeviceContext } from './xenbus-backend';
import type { EventChannels, MappedRegion } from '../../shared/platform/types';
import {
  encodeFbInEvent,
  decodeFbOutEvent,
  parseFbAbi,
  readFbFrames,
  readFbPageHeader,
  validateFbGeometry,
  type FbAbi,
  type FbGeometry,
} from '../../shared/fbif';
import { FB_IN_RING, FB_OUT_RING, RingConsumer, RingProducer } from '../../shared/ring';
import { GuestDisplay } from '../display/guest-display';
import { pixelFormatForDepth } from '../display/pixel-format';
import { RateLimitedLog } from '../../shared/log';
import { errorCode, xerror } from '../../shared/errors';
import { readFlag, readFrameNumber, readGrantRef, readPort } from './nodes';
import { TileScanLoop, type TileLoopStats } from '../damage/tile-scan-loop';
import { ScanMonitor } from '../damage/scan-monitor';
import { PacedTask } from './paced-task';
import { DT_MAX_FB_SIDE, readTileHeader, validateTileHeader } from '../../shared/dirty-tiles/page';

/** How often we ask the guest to send updates (XENFB_TYPE_REFRESH_PERIOD), ms. */
export const VFB_REFRESH_PERIOD_MS = 20;
/**
 * Ring passes a second a guest's notifies can cost us, and how many may come back to back.
 * A frontend that follows our refresh period notifies about 50 times a second; past this
 * rate notifies coalesce into the next pass (an UPDATE flood or an event-channel storm
 * costs at most VFB_PASS_RATE passes of at most XENFB_OUT_RING_LEN events each).
 */
export const VFB_PASS_RATE = 200;
export const VFB_PASS_BURST = 20;

export interface VfbStats {
  /** Passes over the out ring (one per notify, fewer under a flood). */
  passes: number;
  /** Notifies folded into a later pass by the rate limit. */
  deferred: number;
  /** Notifies sent back after a pass that consumed events (a frontend may wait for ring room). */
  acks: number;
  updates: number;
  resizes: number;
  clipped: number;
  badEvents: number;
  overflows: number;
}

export interface VfbBackendOptions {
  videoramMiB?: number;
  width?: number;
  height?: number;
  /** Offer feature-dirty-tiles and scan the frontend's tile page (default true). */
  dirtyTiles?: boolean;
  /** Tile scan period (period_ms), default DT_DEFAULT_PERIOD_MS. */
  tilePeriodMs?: number;
  /**
   * Pace the frontend's tile switches from our scan timer and write `dirty-tiles-paced=1`
   * (docs/dirty-tiles.md §4.7; default true; false: v1 behaviour, for benches).
   */
  tilePaced?: boolean;
  /**
   * Ask a frontend that wrote `dirty-tiles-switch-on-mark=1` to switch right after its next
   * drawing step (docs/dirty-tiles.md §4.8; default true; false: our timer paces alone).
   */
  tileSwitchOnMark?: boolean;
  /** Offer feature-grant-fb (default true). */
  grantFb?: boolean;
  /** XENFB_TYPE_REFRESH_PERIOD sent to the guest, ms (default VFB_REFRESH_PERIOD_MS). */
  refreshPeriodMs?: number;
}

/** Maps the guest pages a frontend names: frames (privcmd) or grant refs (gntdev). */
type PageMapper = (refs: readonly number[], writable: boolean) => MappedRegion;

interface TileBinding {
  region: MappedRegion;
  loop: TileScanLoop;
}

interface Binding {
  page: MappedRegion;
  grantFb: boolean;
  tiles?: TileBinding;
  pageBytes: Uint8Array;
  fb: MappedRegion;
  evtchn: EventChannels;
  port: number;
  out: RingConsumer;
  in: RingProducer;
  geometry: FbGeometry;
  onEvent: (port: number) => void;
  /** Ring passes, paced to VFB_PASS_RATE. */
  pass: PacedTask;
}

export class VfbBackend implements BackendDeviceOps {
  readonly kind = 'vfb';
  readonly reassertConnected = true;
  readonly connectionNodes = ['request-update', 'request-dirty-tiles', 'dirty-tiles-paced'] as const;
  readonly stats: VfbStats = { passes: 0, deferred: 0, acks: 0, updates: 0, resizes: 0, clipped: 0, badEvents: 0, overflows: 0 };
  /** The last scans (tile scans or UPDATE batches) while someone watches (`xenvfb inspect`). */
  readonly monitor = new ScanMonitor();
  private binding: Binding | undefined;
  private rlog: RateLimitedLog | undefined;

  constructor(
    readonly display: GuestDisplay,
    private readonly opts: VfbBackendOptions = {},
  ) {}

  /** The frontend's pages are granted to us (grant-fb=1) rather than foreign-mapped. */
  get grantFb(): boolean {
    return this.binding?.grantFb ?? false;
  }

  /** Whether we scan a dirty-tile page for this frontend (request-dirty-tiles=1). */
  get dirtyTiles(): boolean {
    return this.binding?.tiles !== undefined;
  }

  /** Dirty-tile counters of the current connection (null on the UPDATE path). */
  get tileStats(): TileLoopStats | null {
    return this.binding?.tiles?.loop.stats ?? null;
  }

  /** The scan timer is armed (false on the UPDATE path and while the page is idle). */
  get tileTimerRunning(): boolean {
    return this.binding?.tiles?.loop.running ?? false;
  }

  async init(ctx: DeviceContext): Promise<void> {
    const { xs, backendPath } = ctx;
    await xs.write(`${backendPath}/feature-resize`, '1');
    if (this.opts.grantFb !== false) await xs.write(`${backendPath}/feature-grant-fb`, '1');
    if (this.opts.dirtyTiles !== false) await xs.write(`${backendPath}/feature-dirty-tiles`, '1');
    // A fresh handshake: the answer of a previous connection must not leak into this one.
    await xs.rmIfExists(`${backendPath}/request-dirty-tiles`);
    await xs.rmIfExists(`${backendPath}/dirty-tiles-paced`);
    if (this.opts.videoramMiB) await xs.write(`${backendPath}/videoram`, String(this.opts.videoramMiB));
    if (this.opts.width && this.opts.height) {
      await xs.write(`${backendPath}/width`, String(this.opts.width));
      await xs.write(`${backendPath}/height`, String(this.opts.height));
    }
  }

  async initialise(ctx: DeviceContext): Promise<void> {
    const { xs, platform, domid, frontendPath, backendPath, log } = ctx;
    this.rlog = new RateLimitedLog(log);
    const grantFb = this.opts.grantFb !== false && (await readFlag(xs, `${frontendPath}/grant-fb`));
    const mapper = this.pageMapper(ctx, grantFb);
    const pageRef = grantFb ? await readGrantRef(xs, `${frontendPath}/page-gref`) : await readFrameNumber(xs, `${frontendPath}/page-ref`);
    const remotePort = await readPort(xs, `${frontendPath}/event-channel`);
    const protocol = await xs.tryRead(`${frontendPath}/protocol`);
    const featureUpdate = (await xs.tryRead(`${frontendPath}/feature-update`)) === '1';

    const page = mapper([pageRef], true);
    let fb: MappedRegion | undefined;
    let tiles: TileBinding | undefined;
    try {
      const pageBytes = new Uint8Array(page.buffer);
      const abi = parseFbAbi(protocol, pageBytes);
      const h = readFbPageHeader(pageBytes);
      const geometry = validateFbGeometry({
        width: h.width,
        height: h.height,
        stride: h.lineLength,
        depth: h.depth,
        offset: 0,
        memLength: h.memLength,
      });
      fb = this.mapFramebuffer(mapper, pageBytes, abi, geometry.memLength);
      const evtchn = await platform.eventChannels();
      const port = await evtchn.bindInterdomain(domid, remotePort);
      tiles = await this.mapTilePage(ctx, geometry, () => {
        // A timer may fire while the process shuts its event channels down.
        try {
          evtchn.notify(port);
        } catch (e) {
          this.rlog?.warn('tile-notify', { code: errorCode(e) }, 'cannot notify the frontend');
        }
      });
      const binding: Binding = {
        page,
        grantFb,
        tiles,
        pageBytes,
        fb,
        evtchn,
        port,
        out: new RingConsumer(pageBytes, FB_OUT_RING),
        in: new RingProducer(pageBytes, FB_IN_RING),
        geometry,
        onEvent: (p) => {
          if (p === port) binding.pass.kick();
        },
        pass: new PacedTask(() => this.onEvent(), {
          rate: VFB_PASS_RATE,
          burst: VFB_PASS_BURST,
          onDeferred: () => this.stats.deferred++,
        }),
      };
      evtchn.on('event', binding.onEvent);
      this.binding = binding;
      this.publishSurface();
      this.display.onRefreshRequest(() => this.display.damage([{ x: 0, y: 0, width: geometry.width, height: geometry.height }]));
      // Whatever the guest drew before we looked (or while a previous backend ran) is news.
      this.display.damage([{ x: 0, y: 0, width: geometry.width, height: geometry.height }]);
      // request-update must be visible before the frontend sees Connected (fbfront reads it then).
      if (featureUpdate) await xs.write(`${backendPath}/request-update`, '1');
      else log.warn({}, 'frontend lacks feature-update: only full refreshes are possible');
      // Likewise request-dirty-tiles, after period_ms is on the page (docs/dirty-tiles.md r6).
      if (tiles) {
        tiles.loop.start();
        if (tiles.loop.scanner.pace) await xs.write(`${backendPath}/dirty-tiles-paced`, '1');
        await xs.write(`${backendPath}/request-dirty-tiles`, '1');
      }
      this.sendRefreshPeriod(this.opts.refreshPeriodMs ?? VFB_REFRESH_PERIOD_MS);
      // Events the frontend queued before we bound its port sent notifies nobody heard; a
      // guest whose ring is full waits for our notify: drain now, as Xen's
      // RING_FINAL_CHECK_FOR_REQUESTS does after (re)connecting.
      this.onEvent(false);
      log.info({ ...geometry, abi, port, grantFb, dirtyTiles: tiles !== undefined }, 'framebuffer mapped');
    } catch (e) {
      tiles?.loop.stop();
      tiles?.region.unmap();
      fb?.unmap();
      page.unmap();
      throw e;
    }
  }

  private pageMapper(ctx: DeviceContext, grantFb: boolean): PageMapper {
    const { platform, domid } = ctx;
    if (grantFb) return (refs, writable) => platform.grants.mapGrants(domid, refs, writable);
    const foreign = platform.foreign;
    if (!foreign) throw xerror('DEV_E_CONFIG', 'vfb needs foreign mapping rights over the guest (run in dom0) or a grant-fb frontend');
    return (frames, writable) => foreign.mapFrames(domid, frames, writable);
  }

  /**
   * Map and check the frontend's dirty-tile page (docs/dirty-tiles.md §2, §6), or return
   * undefined for the UPDATE path. A page that is invalid at connect is refused (no
   * request-dirty-tiles). A restarted backend re-attaching to a frontend already told to use
   * tiles (request-dirty-tiles=1 left from the running connection) must scan whatever it
   * finds: the page is never re-initialised here, garbage degrades to full refreshes.
   */
  private async mapTilePage(ctx: DeviceContext, geometry: FbGeometry, notify: () => void): Promise<TileBinding | undefined> {
    const { xs, frontendPath, backendPath, platform, domid, log } = ctx;
    const reattach = await readFlag(xs, `${backendPath}/request-dirty-tiles`);
    if (this.opts.dirtyTiles === false && !reattach) return undefined;
    if ((await xs.tryRead(`${frontendPath}/dirty-tiles-gref`)) === undefined) return undefined;
    let region: MappedRegion | undefined;
    try {
      const ref = await readGrantRef(xs, `${frontendPath}/dirty-tiles-gref`);
      region = platform.grants.mapGrants(domid, [ref], true);
      const page = new Uint8Array(region.buffer);
      const cover = this.tileCover(page, geometry, reattach);
      const switchOnMark = this.opts.tileSwitchOnMark !== false && (await readFlag(xs, `${frontendPath}/dirty-tiles-switch-on-mark`));
      const loop = new TileScanLoop(page, {
        fbWidth: cover.width,
        fbHeight: cover.height,
        ...(this.opts.tilePeriodMs ? { periodMs: this.opts.tilePeriodMs } : {}),
        pace: this.opts.tilePaced !== false,
        switchOnMark,
        damage: (rects) => this.display.damage(rects),
        notify,
        onScan: (res) => this.monitor.recordTileScan(res, cover.width, cover.height),
      });
      return { region, loop };
    } catch (e) {
      region?.unmap();
      log.warn({ err: e, code: errorCode(e), reattach }, 'dirty-tile page refused: UPDATE events only');
      return undefined;
    }
  }

  /**
   * The area the scanner works in. A frontend sizes its tiles for its largest mode, so a
   * RESIZE keeps the header valid (§3); the scanner then covers what the tiles cover and the
   * display clips to the current mode. At connect the page must cover the current mode
   * (throws DT_E_*); a page re-attached to is scanned as is (garbage degrades, §6).
   */
  private tileCover(page: Uint8Array, geometry: FbGeometry, reattach: boolean): { width: number; height: number } {
    const current = { width: geometry.width, height: geometry.height };
    const h = readTileHeader(page);
    try {
      validateTileHeader(h, geometry.width, geometry.height);
    } catch (e) {
      if (!reattach) throw e;
      return current;
    }
    return { width: Math.min(h.cols * h.tileW, DT_MAX_FB_SIDE), height: Math.min(h.rows * h.tileH, DT_MAX_FB_SIDE) };
  }

  /** Walk pd[] -> directory pages -> framebuffer pages (shared/fbif.ts), and map them all read-only. */
  private mapFramebuffer(map: PageMapper, pageBytes: Uint8Array, abi: FbAbi, memLength: number): MappedRegion {
    let dirs: MappedRegion | undefined;
    let frames: number[];
    try {
      frames = readFbFrames(pageBytes, abi, memLength, (dirFrames) => {
        dirs = map(dirFrames, false);
        return new Uint8Array(dirs.buffer);
      });
    } finally {
      dirs?.unmap();
    }
    return map(frames, false);
  }

  private publishSurface(): void {
    const b = this.binding;
    if (!b) return;
    const g = b.geometry;
    this.display.setSurface({
      width: g.width,
      height: g.height,
      stride: g.stride,
      format: pixelFormatForDepth(g.depth),
      data: new Uint8Array(b.fb.buffer, g.offset, g.stride * g.height),
    });
  }

  private sendRefreshPeriod(period: number): void {
    const b = this.binding;
    if (!b) return;
    if (b.in.push(encodeFbInEvent({ type: 'refresh-period', period }))) {
      b.evtchn.notify(b.port);
    }
  }

  /**
   * The frontend notified us (`notified`), or we just connected: consume the out ring (QEMU
   * xenfb_handle_events). At connect only a ring that held something is answered.
   */
  private onEvent(notified = true): void {
    const b = this.binding;
    if (!b) return;
    this.stats.passes++;
    const damage: { x: number; y: number; width: number; height: number }[] = [];
    let consumed = 0;
    let overflowed = false;
    try {
      consumed = b.out.drain((slot) => {
        let ev;
        try {
          ev = decodeFbOutEvent(slot);
        } catch (e) {
          this.stats.badEvents++;
          this.rlog?.warn('bad-event', { code: errorCode(e), type: slot[0] }, 'ignoring unknown vfb out event');
          return;
        }
        if (ev.type === 'update') {
          this.stats.updates++;
          const g = b.geometry;
          const inside =
            ev.x >= 0 && ev.y >= 0 && ev.width >= 0 && ev.height >= 0 && ev.x + ev.width <= g.width && ev.y + ev.height <= g.height;
          if (!inside) {
            this.stats.clipped++;
            this.rlog?.warn(
              'clip',
              { x: ev.x, y: ev.y, width: ev.width, height: ev.height },
              'UPDATE rect outside the framebuffer: clipped',
            );
          }
          damage.push({ x: ev.x, y: ev.y, width: ev.width, height: ev.height });
        } else {
          this.onResize(ev);
        }
      });
    } catch (e) {
      // Ring overflow (prod - cons > len): the batch was discarded; redraw everything.
      this.stats.overflows++;
      overflowed = true;
      this.rlog?.warn('overflow', { code: errorCode(e) }, 'vfb out ring overflow: full refresh');
      damage.push({ x: 0, y: 0, width: b.geometry.width, height: b.geometry.height });
    }
    if (damage.length) {
      this.monitor.recordUpdates(damage, b.geometry.width, b.geometry.height);
      this.display.damage(damage);
    }
    // The consumer's notify (QEMU xenfb_handle_events): a frontend whose out ring was full
    // waits for it (Linux fbfront flushes its stashed rect in its handler). A pass that
    // consumed nothing owes none: a dirty-tile frontend's switch answer carries no events, and
    // acking it woke the guest for nothing once per scan period.
    if (consumed > 0 || overflowed) {
      this.stats.acks++;
      b.evtchn.notify(b.port);
    }
    if (notified) b.tiles?.loop.onNotify();
  }

  private onResize(ev: { width: number; height: number; stride: number; depth: number; offset: number }): void {
    const b = this.binding!;
    try {
      b.geometry = validateFbGeometry({ ...ev, memLength: b.geometry.memLength });
    } catch (e) {
      this.stats.badEvents++;
      this.rlog?.warn('resize', { ...ev, code: errorCode(e) }, 'ignoring invalid RESIZE');
      return;
    }
    this.stats.resizes++;
    this.publishSurface();
  }

  async disconnect(ctx: DeviceContext): Promise<void> {
    const b = this.binding;
    this.binding = undefined;
    if (!b) return;
    this.display.onRefreshRequest(undefined);
    this.display.setSurface(null);
    b.evtchn.off('event', b.onEvent);
    b.pass.stop();
    b.tiles?.loop.stop();
    b.tiles?.region.unmap();
    await b.evtchn.unbind(b.port).catch((e: unknown) => ctx.log.warn({ err: e }, 'unbind failed'));
    b.fb.unmap();
    b.page.unmap();
  }
}
