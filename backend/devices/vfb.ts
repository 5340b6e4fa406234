// The vfb backend device (xen/include/public/io/fbif.h), compatible with Linux xen-fbfront:
// the shared page and the framebuffer are named by frame numbers and foreign-mapped (privcmd),
// as QEMU's hw/display/xenfb.c does. UPDATE events become Display damage; RESIZE events a
// new surface. Every value the guest writes is validated like QEMU's xenfb_configure_fb.

import type { BackendDeviceOps, DeviceContext } from './xenbus-backend';
import type { EventChannels, MappedRegion } from '../../shared/platform/types';
import {
  dirPagesNeeded,
  encodeFbInEvent,
  decodeFbOutEvent,
  parseFbAbi,
  pdLayout,
  readFbPageHeader,
  readPd,
  validateFbGeometry,
  type FbGeometry,
} from '../../shared/fbif';
import { FB_IN_RING, FB_OUT_RING, RingConsumer, RingProducer } from '../../shared/ring';
import { GuestDisplay, pixelFormatForDepth } from '../display/guest-display';
import { RateLimitedLog } from '../../shared/log';
import { xerror } from '../../shared/errors';
import { readFrameNumber, readPort } from './nodes';

const PAGE_SIZE = 4096;
/** How often we ask the guest to send updates (XENFB_TYPE_REFRESH_PERIOD), ms. */
export const VFB_REFRESH_PERIOD_MS = 20;

export interface VfbStats {
  updates: number;
  resizes: number;
  clipped: number;
  badEvents: number;
  overflows: number;
}

interface Binding {
  page: MappedRegion;
  pageBytes: Uint8Array;
  fb: MappedRegion;
  evtchn: EventChannels;
  port: number;
  out: RingConsumer;
  in: RingProducer;
  geometry: FbGeometry;
  onEvent: (port: number) => void;
}

export class VfbBackend implements BackendDeviceOps {
  readonly kind = 'vfb';
  readonly reassertConnected = true;
  readonly stats: VfbStats = { updates: 0, resizes: 0, clipped: 0, badEvents: 0, overflows: 0 };
  private binding: Binding | undefined;
  private rlog: RateLimitedLog | undefined;

  constructor(
    readonly display: GuestDisplay,
    private readonly opts: { videoramMiB?: number; width?: number; height?: number } = {},
  ) {}

  async init(ctx: DeviceContext): Promise<void> {
    const { xs, backendPath } = ctx;
    await xs.write(`${backendPath}/feature-resize`, '1');
    if (this.opts.videoramMiB) await xs.write(`${backendPath}/videoram`, String(this.opts.videoramMiB));
    if (this.opts.width && this.opts.height) {
      await xs.write(`${backendPath}/width`, String(this.opts.width));
      await xs.write(`${backendPath}/height`, String(this.opts.height));
    }
  }

  async initialise(ctx: DeviceContext): Promise<void> {
    const { xs, platform, domid, frontendPath, backendPath, log } = ctx;
    this.rlog = new RateLimitedLog(log);
    if (!platform.foreign) throw xerror('DEV_E_CONFIG', 'vfb needs foreign mapping rights over the guest (run in dom0)');
    const pageRef = await readFrameNumber(xs, `${frontendPath}/page-ref`);
    const remotePort = await readPort(xs, `${frontendPath}/event-channel`);
    const protocol = await xs.tryRead(`${frontendPath}/protocol`);
    const featureUpdate = (await xs.tryRead(`${frontendPath}/feature-update`)) === '1';

    const page = platform.foreign.mapFrames(domid, [pageRef], true);
    let fb: MappedRegion | undefined;
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
      fb = this.mapFramebuffer(ctx, pageBytes, abi, geometry.memLength);
      const evtchn = await platform.eventChannels();
      const port = await evtchn.bindInterdomain(domid, remotePort);
      const binding: Binding = {
        page,
        pageBytes,
        fb,
        evtchn,
        port,
        out: new RingConsumer(pageBytes, FB_OUT_RING),
        in: new RingProducer(pageBytes, FB_IN_RING),
        geometry,
        onEvent: (p) => {
          if (p === port) this.onEvent();
        },
      };
      evtchn.on('event', binding.onEvent);
      this.binding = binding;
      this.publishSurface();
      this.display.onRefreshRequest(() => this.display.damage([{ x: 0, y: 0, width: geometry.width, height: geometry.height }]));
      // request-update must be visible before the frontend sees Connected (fbfront reads it then).
      if (featureUpdate) await xs.write(`${backendPath}/request-update`, '1');
      else log.warn({}, 'frontend lacks feature-update: only full refreshes are possible');
      this.sendRefreshPeriod(VFB_REFRESH_PERIOD_MS);
      log.info({ ...geometry, abi, port }, 'framebuffer mapped');
    } catch (e) {
      fb?.unmap();
      page.unmap();
      throw e;
    }
  }

  /** Walk pd[] -> directory pages -> framebuffer frames, and map them all read-only. */
  private mapFramebuffer(ctx: DeviceContext, pageBytes: Uint8Array, abi: ReturnType<typeof parseFbAbi>, memLength: number): MappedRegion {
    const foreign = ctx.platform.foreign!;
    const fbPages = Math.ceil(memLength / PAGE_SIZE);
    const layout = pdLayout(abi);
    const nDirs = dirPagesNeeded(fbPages, abi);
    if (nDirs > layout.maxUsable) {
      throw xerror('FB_E_BAD_PD', `framebuffer of ${fbPages} pages needs ${nDirs} directory pages, at most ${layout.maxUsable} fit`);
    }
    const dirFrames = readPd(pageBytes, abi, nDirs);
    const dirs = foreign.mapFrames(ctx.domid, dirFrames, false);
    let frames: number[];
    try {
      // Copy the frame list out first: the guest may change it under us.
      const dirBytes = new Uint8Array(dirs.buffer).slice();
      const view = new DataView(dirBytes.buffer);
      frames = new Array<number>(fbPages);
      for (let i = 0; i < fbPages; i++) {
        const f = layout.entrySize === 8 ? Number(view.getBigUint64(i * 8, true)) : view.getUint32(i * 4, true);
        if (!Number.isSafeInteger(f)) throw xerror('FB_E_BAD_PD', `frame list entry ${i} is not a valid frame number`);
        frames[i] = f;
      }
    } finally {
      dirs.unmap();
    }
    return foreign.mapFrames(ctx.domid, frames, false);
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

  /** The frontend notified us: consume the out ring (QEMU xenfb_handle_events). */
  private onEvent(): void {
    const b = this.binding;
    if (!b) return;
    const damage: { x: number; y: number; width: number; height: number }[] = [];
    try {
      b.out.drain((slot) => {
        let ev;
        try {
          ev = decodeFbOutEvent(slot);
        } catch (e) {
          this.stats.badEvents++;
          this.rlog?.warn('bad-event', { code: (e as { code?: string }).code, type: slot[0] }, 'ignoring unknown vfb out event');
          return;
        }
        if (ev.type === 'update') {
          this.stats.updates++;
          const g = b.geometry;
          const inside =
            ev.x >= 0 && ev.y >= 0 && ev.width >= 0 && ev.height >= 0 && ev.x + ev.width <= g.width && ev.y + ev.height <= g.height;
          if (!inside) {
            this.stats.clipped++;
            this.rlog?.warn('clip', { x: ev.x, y: ev.y, width: ev.width, height: ev.height }, 'UPDATE rect outside the framebuffer: clipped');
          }
          damage.push({ x: ev.x, y: ev.y, width: ev.width, height: ev.height });
        } else {
          this.onResize(ev);
        }
      });
    } catch (e) {
      // Ring overflow (prod - cons > len): the batch was discarded; redraw everything.
      this.stats.overflows++;
      this.rlog?.warn('overflow', { code: (e as { code?: string }).code }, 'vfb out ring overflow: full refresh');
      damage.push({ x: 0, y: 0, width: b.geometry.width, height: b.geometry.height });
    }
    if (damage.length) this.display.damage(damage);
    b.evtchn.notify(b.port);
  }

  private onResize(ev: { width: number; height: number; stride: number; depth: number; offset: number }): void {
    const b = this.binding!;
    try {
      b.geometry = validateFbGeometry({ ...ev, memLength: b.geometry.memLength });
    } catch (e) {
      this.stats.badEvents++;
      this.rlog?.warn('resize', { ...ev, code: (e as { code?: string }).code }, 'ignoring invalid RESIZE');
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
    await b.evtchn.unbind(b.port).catch((e: unknown) => ctx.log.warn({ err: e }, 'unbind failed'));
    b.fb.unmap();
    b.page.unmap();
  }
}
